using Descent.Lab.Experiments;
using Descent.Nn;
using Descent.Training;

namespace Descent.Tests.Experiments;

/// <summary>
/// The batch-size trade-off at the experiment's defaults, on steps and epochs (never on timings): with the learning
/// rate scaled linearly, small batches need the same epochs and proportionally more steps; past the cap, larger
/// batches need more epochs; full-batch gradient descent makes the least progress per epoch.
/// </summary>
public class BatchSizeExperimentTests : IClassFixture<BatchSizeExperimentTests.DefaultRun>
{
    public sealed class DefaultRun
    {
        public BatchSizeExperimentResult Result { get; } = BatchSizeExperiment.Run(new BatchSizeExperimentOptions { BatchSizes = [1, 8, 32, 128, 512, 0] });
    }

    private readonly BatchSizeExperimentResult _result;

    public BatchSizeExperimentTests(DefaultRun run) => _result = run.Result;

    [Fact]
    public void The_learning_rate_follows_the_linear_rule_up_to_the_cap()
    {
        Assert.Equal([0.002, 0.016, 0.064, 0.256, 0.5, 0.5], _result.Rows.Select(r => Math.Round(r.Lr, 9)));
        Assert.True(_result[0].FullBatch);
        Assert.Equal(_result.TrainSamples, _result[0].BatchSize);
    }

    [Fact]
    public void Full_batch_descent_makes_the_least_progress_per_epoch()
    {
        double full = _result[0].Curve[^1].TrainLoss;
        foreach (var row in _result.Rows.Where(r => !r.FullBatch))
            Assert.True(row.Curve[^1].TrainLoss < full, $"batch {row.Name}: {row.Curve[^1].TrainLoss} against full batch {full}");
        Assert.Equal(_result.Options.Epochs, _result[0].Curve[^1].Steps);
    }

    [Fact]
    public void Below_the_cap_the_epochs_to_target_stay_and_the_steps_shrink_with_the_batch()
    {
        var small = new[] { 1, 8, 32 }.Select(b => _result[b].Target).ToList();
        Assert.All(small, t => Assert.NotNull(t));
        Assert.True(small.Max(t => t!.Epoch) - small.Min(t => t!.Epoch) <= 1, string.Join(", ", small.Select(t => t!.Epoch)));
        Assert.True(small[0]!.Steps > 5 * small[1]!.Steps && small[1]!.Steps > 3 * small[2]!.Steps);
        // Past the cap each step is no larger, so a larger batch needs more epochs.
        var capped = _result[512].Target;
        Assert.True(capped is null || capped.Epoch > small[2]!.Epoch + 2, $"batch 512 reached the target at epoch {capped?.Epoch}");
    }

    [Fact]
    public void The_noise_scale_matches_per_example_gradients_taken_by_hand()
    {
        // tr(Σ)/|G|² from two examples: G = (g₁ + g₂)/2 and tr(Σ) = (|g₁|² + |g₂|²)/2 − |G|².
        var data = DataPreparation.Load("digits", null, asImages: false, valFraction: 0, seed: 0);
        var two = ((Descent.Data.InMemoryDataset)data.Train).Subset([0, 1]);
        var model = BatchSizeExperiment.Network(new BatchSizeExperimentOptions(), data);
        var grads = new List<float[]>();
        for (int i = 0; i < 2; i++)
        {
            model.ZeroGrad();
            var x = Tensor.FromArray(two.GetFeatures(i).ToArray(), 1, 64);
            Functional.CrossEntropy(model.Forward(x), [two.Labels[i]]).Backward();
            grads.Add(model.Parameters().SelectMany(p => p.Grad!.Data.ToArray()).ToArray());
        }
        double g2 = grads[0].Zip(grads[1], (a, b) => Math.Pow((a + b) / 2.0, 2)).Sum();
        double trace = grads.Sum(g => g.Sum(v => (double)v * v)) / 2 - g2;
        Assert.Equal(trace / g2, BatchSizeExperiment.NoiseScale(BatchSizeExperiment.Network(new BatchSizeExperimentOptions(), data), two), 3);
        Assert.InRange(_result.NoiseScaleAtStart, 1, _result.TrainSamples);
    }
}
