using Descent.Data;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Tests.Training;

/// <summary>
/// The trainer on tensor targets: the loss follows the task unless one is given, custom losses and metrics plug in,
/// and what <see cref="Trainer.Evaluate"/> reports equals the closed forms computed here from the model's outputs.
/// </summary>
public class TrainerTargetsTests
{
    /// <summary>y = x·w + 0.5 + noise for 3 features and 2 targets.</summary>
    private static InMemoryDataset Regression(int n, int seed)
    {
        var random = new Random(seed);
        var x = new float[n * 3];
        var y = new float[n * 2];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 3; j++) x[i * 3 + j] = (float)(random.NextDouble() * 2 - 1);
            y[i * 2] = x[i * 3] - 2 * x[i * 3 + 1] + 0.5f + (float)(0.1 * (random.NextDouble() - 0.5));
            y[i * 2 + 1] = 3 * x[i * 3 + 2] + (float)(0.1 * (random.NextDouble() - 0.5));
        }
        return new InMemoryDataset(x, y, [3], targetSize: 2);
    }

    [Fact]
    public void A_regression_trains_on_mse_and_reports_metrics_equal_to_their_closed_forms()
    {
        var train = Regression(400, 1);
        var test = Regression(100, 2);
        Rng.ManualSeed(0);
        var model = new Linear(3, 2);
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.1));
        trainer.Metrics.AddRange([new MeanSquaredError(), new MeanAbsoluteError(), new R2Score()]);
        var history = trainer.Fit(new DataLoader(train, 16, shuffle: true), test, epochs: 20);

        Assert.True(double.IsNaN(history[^1].TrainAccuracy));
        Assert.Equal(["mse", "mae", "r2"], history[^1].TrainMetrics!.Keys);
        var evaluation = trainer.Evaluate(test);
        var output = trainer.PredictOutputs(test);
        Assert.Equal([100, 2], output.Shape.ToArray());

        double squares = 0, absolute = 0;
        var residual = new double[2];
        var mean = new double[2];
        for (int i = 0; i < 100; i++)
            for (int k = 0; k < 2; k++) mean[k] += test.Targets[i * 2 + k] / 100.0;
        var total = new double[2];
        for (int i = 0; i < 100; i++)
            for (int k = 0; k < 2; k++)
            {
                double e = output.Data[i * 2 + k] - test.Targets[i * 2 + k];
                squares += e * e;
                absolute += Math.Abs(e);
                residual[k] += e * e;
                total[k] += Math.Pow(test.Targets[i * 2 + k] - mean[k], 2);
            }
        // scikit-learn's r2_score averages the outputs' R² uniformly.
        double r2 = (1 - residual[0] / total[0] + 1 - residual[1] / total[1]) / 2;
        Assert.Equal(squares / 200, evaluation.Values["mse"], 6);
        Assert.Equal(squares / 200, evaluation.Loss, 6);
        Assert.Equal(absolute / 200, evaluation.Values["mae"], 6);
        Assert.Equal(r2, evaluation.Values["r2"], 6);
        Assert.True(r2 > 0.99, $"R² {r2}: a linear target should be learned");
        Assert.True(double.IsNaN(evaluation.Accuracy));
        Assert.Equal(evaluation.Values["mse"], history[^1].ValMetrics!["mse"], 12);
    }

    [Fact]
    public void A_custom_loss_replaces_the_default_and_is_what_evaluation_reports()
    {
        var data = Regression(64, 3);
        Rng.ManualSeed(1);
        var model = new Linear(3, 2);
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.05), (o, t) => Functional.HuberLoss(o, t, delta: 0.5));
        var evaluation = trainer.Evaluate(data);
        var output = trainer.PredictOutputs(data);
        double sum = 0;
        for (int i = 0; i < output.Numel; i++)
        {
            double e = Math.Abs(output.Data[i] - data.Targets[i]);
            sum += e < 0.5 ? 0.5 * e * e : 0.5 * (e - 0.25);
        }
        Assert.Equal(sum / output.Numel, evaluation.Loss, 6);
    }

    /// <summary>Counts the samples it sees, to show when the trainer updates and resets a metric.</summary>
    private sealed class SampleCount : IMetric
    {
        private long _count;
        public string Name => "samples";
        public void Update(Tensor output, Tensor target) => _count += output.Shape[0];
        public void Reset() => _count = 0;
        public double Compute() => _count;
    }

    [Fact]
    public void Classification_metrics_are_fed_every_batch_and_reset_every_epoch()
    {
        var digits = Datasets.Digits();
        var (train, test) = Splits.TrainTestSplit(digits, 0.25, seed: 0);
        Rng.ManualSeed(0);
        var model = Models.Mlp(64, [32], 10);
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.01));
        trainer.Metrics.AddRange([new SampleCount(), new TopKAccuracy(2)]);
        var history = trainer.Fit(new DataLoader(train, 50, shuffle: true), test, epochs: 2);
        Assert.All(history, e => Assert.Equal(train.Count, e.TrainMetrics!["samples"]));
        Assert.All(history, e => Assert.Equal(test.Count, e.ValMetrics!["samples"]));

        var evaluation = trainer.Evaluate(test, batchSize: 37);
        var scores = trainer.PredictOutputs(test);
        int inTopTwo = 0, top = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var row = scores.Data.Slice(i * 10, 10).ToArray();
            var order = Enumerable.Range(0, 10).OrderByDescending(j => row[j]).ThenBy(j => j).ToArray();
            if (order[0] == test.Labels[i]) top++;
            if (order[0] == test.Labels[i] || order[1] == test.Labels[i]) inTopTwo++;
        }
        Assert.Equal((double)inTopTwo / test.Count, evaluation.Values["top2_accuracy"], 12);
        Assert.Equal((double)top / test.Count, evaluation.Accuracy, 12);
    }

    [Fact]
    public void A_regression_dataset_has_targets_not_labels_and_splits_without_stratifying()
    {
        var data = Regression(10, 4);
        Assert.Equal(TaskKind.Regression, data.Task);
        Assert.Equal(2, data.TargetSize);
        Assert.Throws<InvalidOperationException>(() => data.Labels);
        Assert.Throws<InvalidOperationException>(() => Splits.TrainTestSplit(data, 0.3, stratify: true));
        var (train, test) = Splits.TrainTestSplit(data, 0.3);
        Assert.Equal(7, train.Count);
        Assert.Equal(3, test.Count);
        var batch = new DataLoader(test, 3).Epoch(0).First();
        Assert.Equal([3, 2], batch.Target.Shape.ToArray());
        Assert.Throws<InvalidOperationException>(() => batch.Y);
        Assert.Equal(test.Targets, batch.Target.Data.ToArray());
    }
}
