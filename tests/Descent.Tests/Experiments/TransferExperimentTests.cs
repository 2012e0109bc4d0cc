using Descent.Lab.Experiments;

namespace Descent.Tests.Experiments;

/// <summary>
/// Starting from a related model on Fashion-MNIST (needs Debian's dataset-fashion-mnist): at 30 examples per class,
/// fine-tuning the body pre-trained on classes 0–4 beats training from scratch, over three seeds.
/// </summary>
public class TransferExperimentTests
{
    [SkippableFact]
    public void At_thirty_examples_per_class_fine_tuning_beats_training_from_scratch()
    {
        SystemPackages.FashionMnist.Require();
        var result = TransferExperiment.Run(new TransferExperimentOptions { Shots = [30] });
        var scratch = result[30, "scratch"];
        var finetune = result[30, "finetune"];
        var frozen = result[30, "frozen"];
        Assert.Equal(3, scratch.Accuracies.Count);
        Assert.True(result.PretrainAccuracy > 0.8, $"pre-trained accuracy on classes 0–4: {result.PretrainAccuracy}");
        Assert.True(finetune.Mean > scratch.Mean + 0.015, $"fine-tune {finetune.Mean} ± {finetune.Std}, scratch {scratch.Mean} ± {scratch.Std}");
        // Seed by seed the methods see the same examples: fine-tuning wins each time, not only on average.
        Assert.All(finetune.Accuracies.Zip(scratch.Accuracies), pair => Assert.True(pair.First > pair.Second + 0.005, $"fine-tune {pair.First}, scratch {pair.Second}"));
        // Chance on five classes is 20 %: every method learns something from 150 images.
        Assert.All(new[] { scratch, finetune, frozen }, c => Assert.True(c.Mean > 0.8, $"{c.Method}: {c.Mean}"));
    }

    [Fact]
    public void The_standard_deviation_is_the_sample_one_over_seeds()
    {
        var cell = new TransferCell(30, "scratch", [0.8, 0.9, 1.0]);
        Assert.Equal(0.9, cell.Mean, 12);
        Assert.Equal(0.1, cell.Std, 12);
    }
}
