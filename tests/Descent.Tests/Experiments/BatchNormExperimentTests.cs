using Descent.Lab.Experiments;
using Descent.TensorBoard;

namespace Descent.Tests.Experiments;

/// <summary>
/// The BatchNorm paper's claims at the experiment's default settings on digits (a few seconds): BN reaches
/// the target sooner, and tolerates 5× the learning rate where the baseline does not.
/// </summary>
public class BatchNormExperimentTests : IClassFixture<BatchNormExperimentTests.DefaultRun>
{
    public sealed class DefaultRun
    {
        public BatchNormExperimentResult Result { get; } = BatchNormExperiment.Run(new BatchNormExperimentOptions { Steps = 600 });
    }

    private readonly BatchNormExperimentResult _result;

    public BatchNormExperimentTests(DefaultRun run) => _result = run.Result;

    [Fact]
    public void Batch_norm_reaches_the_target_in_fewer_steps_than_the_baseline()
    {
        var baseline = _result["Baseline"];
        var bn = _result["BN-Baseline"];
        Assert.NotNull(baseline.StepsToTarget);
        Assert.NotNull(bn.StepsToTarget);
        Assert.True(bn.StepsToTarget < baseline.StepsToTarget, $"BN {bn.StepsToTarget} steps, baseline {baseline.StepsToTarget}");
        Assert.True(bn.MaxAccuracy >= baseline.MaxAccuracy, $"BN best {bn.MaxAccuracy}, baseline best {baseline.MaxAccuracy}");
    }

    [Fact]
    public void The_untrained_network_at_step_0_never_counts_as_reaching_the_target()
    {
        // Chance accuracy on 10 classes is ~0.1, so at a target of 0.01 every row "reaches" it at step 0.
        var low = BatchNormExperiment.Run(new BatchNormExperimentOptions { Steps = 20, EvalEvery = 10, Target = 0.01 });
        Assert.All(low.Rows, r => Assert.Equal(10L, r.StepsToTarget));
    }

    [Fact]
    public void Batch_norm_tolerates_five_times_the_learning_rate_where_the_baseline_does_not()
    {
        var baseline5 = _result["Baseline-x5"];
        var bn5 = _result["BN-x5"];
        Assert.Equal(0.1, baseline5.Lr, 9);
        Assert.Null(baseline5.StepsToTarget);
        Assert.True(baseline5.Diverged || baseline5.FinalAccuracy < 0.5, $"Baseline-x5 final accuracy {baseline5.FinalAccuracy}");
        Assert.NotNull(bn5.StepsToTarget);
        Assert.False(bn5.Diverged);
        Assert.True(bn5.FinalAccuracy > 0.95, $"BN-x5 final accuracy {bn5.FinalAccuracy}");
        Assert.True(bn5.StepsToTarget < _result["Baseline"].StepsToTarget);
    }

    [Fact]
    public void Every_row_of_the_paper_is_there_with_its_learning_rate()
    {
        Assert.Equal(["Baseline", "Baseline-x5", "BN-Baseline", "BN-x5", "BN-x30", "BN-x5-Sigmoid"], _result.Rows.Select(r => r.Variant.Name));
        Assert.Equal([0.02, 0.1, 0.02, 0.1, 0.6, 0.1], _result.Rows.Select(r => Math.Round(r.Lr, 9)));
        Assert.Equal(0.97, _result.Target);
        foreach (var row in _result.Rows)
        {
            Assert.Equal(0, row.ValAccuracy[0].Step);
            Assert.Equal(row.ValAccuracy.Max(p => p.Accuracy), row.MaxAccuracy);
            Assert.Contains(row.ValAccuracy, p => p.Step == row.StepOfMax && p.Accuracy == row.MaxAccuracy);
            if (row.StepsToTarget is { } s) Assert.True(row.ValAccuracy.First(p => p.Accuracy >= _result.Target).Step == s);
            if (!row.Diverged) Assert.Equal(600, row.TrainLoss[^1].Step);
        }
    }

    [Fact]
    public void The_paper_target_is_the_baseline_best_accuracy_and_runs_are_logged()
    {
        var logDir = Path.Combine(Path.GetTempPath(), "descent-bn-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = BatchNormExperiment.Run(new BatchNormExperimentOptions
            {
                Steps = 60, EvalEvery = 20, TargetFromBaseline = true, LogDir = logDir,
                Rows = [new("Baseline", false, 1), new("BN-Baseline", true, 1)],
            });
            Assert.Equal(result["Baseline"].MaxAccuracy, result.Target);
            Assert.Equal(result["Baseline"].StepOfMax, result["Baseline"].StepsToTarget);
            var run = EventFileReader.ReadRun(Path.Combine(logDir, "BN-Baseline"));
            Assert.Equal([0L, 20, 40, 60], run.Scalars["val/accuracy"].Select(p => p.Step));
            Assert.Equal(60, run.Scalars["train/loss"].Count);
            Assert.Equal((float)result["BN-Baseline"].MaxAccuracy, run.Scalars["hparam/max_accuracy"].Single().Value);
            Assert.NotNull(run.HParams);
        }
        finally
        {
            if (Directory.Exists(logDir)) Directory.Delete(logDir, true);
        }
    }

    [Fact]
    public void Batch_norm_and_baseline_start_from_the_same_linear_weights()
    {
        var options = new BatchNormExperimentOptions();
        var plain = BatchNormExperiment.Network(new("a", false, 1), 64, 10, options);
        var normalized = BatchNormExperiment.Network(new("b", true, 1), 64, 10, options);
        var plainLinears = plain.Layers.OfType<Descent.Nn.Linear>().ToList();
        var bnLinears = normalized.Layers.OfType<Descent.Nn.Linear>().ToList();
        Assert.Equal(plainLinears.Count, bnLinears.Count);
        for (int i = 0; i < plainLinears.Count; i++)
            Assert.Equal(plainLinears[i].Weight.ToArray(), bnLinears[i].Weight.ToArray());
        Assert.Equal(3, normalized.Layers.OfType<Descent.Nn.BatchNorm1d>().Count());
    }

    [Fact]
    public void Pictures_are_written_as_svg()
    {
        var dir = Path.Combine(Path.GetTempPath(), "descent-bn-pictures-" + Guid.NewGuid().ToString("N"));
        try
        {
            var files = BatchNormExperiment.WritePictures(_result, dir);
            Assert.Equal(2, files.Count);
            foreach (var f in files)
            {
                var svg = File.ReadAllText(f);
                System.Xml.Linq.XDocument.Parse(svg);
                Assert.Contains("BN-x5-Sigmoid", svg);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData(0, 32, 0.02)]
    [InlineData(10, 1, 0.02)]
    [InlineData(10, 32, -1)]
    public void Bad_options_are_refused(int steps, int batchSize, double lr) =>
        Assert.Throws<ArgumentException>(() => BatchNormExperiment.Run(new BatchNormExperimentOptions { Steps = steps, BatchSize = batchSize, Lr = lr }));
}
