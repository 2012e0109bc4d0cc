using Descent.Data;
using Descent.Data.Transforms;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Tests.Data;

public sealed class CrossValidationTests
{
    private static Module SmallMlp(int fold)
    {
        Rng.ManualSeed(0);
        return Models.Mlp(64, [32], 10);
    }

    private static Optimizer Sgd(Module model) => new SGD(model.Parameters(), lr: 0.05, momentum: 0.9);

    [Fact]
    public void EachFold_TrainsAFreshModel_AndTheMeanAndStdSummarizeTheFolds()
    {
        var digits = Datasets.Digits();
        var models = new List<Module>();
        var configured = new List<int>();
        var reported = new List<int>();
        var options = new CrossValidationOptions
        {
            Folds = 3,
            Epochs = 3,
            BatchSize = 32,
            Preprocessing = new PreprocessingOptions(),
            ConfigureTrainer = (trainer, fold) => configured.Add(fold),
            OnFoldEnd = result => reported.Add(result.Fold),
        };

        var result = CrossValidation.Run(digits, fold => { var m = SmallMlp(fold); models.Add(m); return m; }, Sgd, options);

        Assert.Equal(3, result.Folds.Count);
        Assert.Equal([0, 1, 2], configured);
        Assert.Equal([0, 1, 2], reported);
        Assert.Equal(3, models.Distinct().Count());
        Assert.Equal(1797, result.Folds.Sum(f => f.ValidationSamples));
        Assert.All(result.Folds, f => Assert.Equal(1797 - f.ValidationSamples, f.TrainSamples));
        Assert.All(result.Folds, f => Assert.Equal(3, f.History.Count));
        Assert.All(result.Folds, f => Assert.Equal(f.History[^1].ValAccuracy, f.Validation.Accuracy));
        Assert.All(result.Folds, f => Assert.True(f.Validation.Accuracy > 0.85, $"fold {f.Fold}: {f.Validation.Accuracy}"));

        var accuracies = result.Folds.Select(f => f.Validation.Accuracy).ToArray();
        double mean = accuracies.Average();
        Assert.Equal(mean, result.MeanAccuracy, 12);
        Assert.Equal(Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / 3), result.StdAccuracy, 12);
        Assert.Equal(result.Folds.Average(f => f.Validation.Loss), result.MeanLoss, 12);
        Assert.StartsWith("3-fold cross-validation: accuracy ", result.ToString());
    }

    [Fact]
    public void Folds_AreTheSplitsKFold_AndTheRunIsReproducible()
    {
        var digits = Datasets.Digits();
        var options = new CrossValidationOptions { Folds = 2, Epochs = 1, Seed = 5 };

        var first = CrossValidation.Run(digits, SmallMlp, Sgd, options);
        var second = CrossValidation.Run(digits, SmallMlp, Sgd, options);

        var folds = Splits.KFold(digits, 2, seed: 5);
        Assert.Equal(folds.Select(f => f.Validation.Length), first.Folds.Select(f => f.ValidationSamples));
        Assert.Equal(first.Folds.Select(f => (f.Validation.Loss, f.Validation.Accuracy, f.Validation.Samples)), second.Folds.Select(f => (f.Validation.Loss, f.Validation.Accuracy, f.Validation.Samples)));
    }

    [Fact]
    public void Augmentation_AppliesToTheTrainingPartsOfImageData()
    {
        var images = Datasets.Digits().WithSampleShape(1, 8, 8);
        var options = new CrossValidationOptions
        {
            Folds = 2,
            Epochs = 2,
            Preprocessing = new PreprocessingOptions { Mode = StandardizationMode.PerChannel },
            Augmentation = Augmentation.Parse("translate:1"),
        };

        var result = CrossValidation.Run(images, _ => { Rng.ManualSeed(0); return Models.Mlp(64, [16], 10, flattenInput: true); }, Sgd, options);

        Assert.Equal(2, result.Folds.Count);
        Assert.True(result.MeanAccuracy > 0.5, result.ToString());
    }

    [Fact]
    public void OneFold_IsRejected()
    {
        var options = new CrossValidationOptions { Folds = 1 };

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CrossValidation.Run(Datasets.Digits(), SmallMlp, Sgd, options));

        Assert.StartsWith("folds must be at least 2, got 1", e.Message);
    }
}
