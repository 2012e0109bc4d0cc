using Descent.Lab.Experiments;

namespace Descent.Tests.Experiments;

/// <summary>
/// The Robbins–Monro condition on numbers: each claim is checked against closed forms — the constant step's stationary
/// loss, the step sums, and the exact second-moment recursion — not against the experiment's own output.
/// </summary>
public class StepSizeExperimentTests : IClassFixture<StepSizeExperimentTests.DefaultRun>
{
    public sealed class DefaultRun
    {
        public StepSizeExperimentResult Result { get; } = StepSizeExperiment.Run(new StepSizeExperimentOptions { Steps = 20_000, Runs = 200 });
    }

    private readonly StepSizeExperimentResult _result;

    public StepSizeExperimentTests(DefaultRun run) => _result = run.Result;

    [Fact]
    public void The_constant_step_stalls_at_the_noise_floor()
    {
        // Stationary variance of θ ← (1 − ελ)θ − εσξ is εσ²/(λ(2 − ελ)); f = ½λθ², summed over λ = 1.6 and 1.2.
        double floor = 0.5 / (2 * (2 - 0.8)) + 0.5 / (2 * (2 - 0.6));
        Assert.Equal(floor, _result.NoiseFloor, 12);
        var constant = _result["constant ε"];
        Assert.InRange(constant.LossAt(20_000), 0.75 * floor, 1.25 * floor);
        Assert.InRange(constant.LossAt(2_000), 0.75 * floor, 1.25 * floor);
    }

    [Fact]
    public void The_step_eps_over_t_converges_at_rate_one_over_t()
    {
        var row = _result["ε/t"];
        double last = row.LossAt(20_000), earlier = row.LossAt(2_000);
        Assert.True(last < _result.NoiseFloor / 1000, $"f = {last}");
        // E f ≈ Σ ½λ ε²σ² / ((2ελ − 1) t) once the start is forgotten: ten times the steps, a tenth of the loss.
        double predicted = 0.5 * 1.6 * 0.25 / ((2 * 0.8 - 1) * 20_000) + 0.5 * 1.2 * 0.25 / ((2 * 0.6 - 1) * 20_000);
        Assert.InRange(last, 0.7 * predicted, 1.5 * predicted);
        Assert.InRange(earlier / last, 6, 14);
        // Σ ηₜ diverges (ε(ln T + γ)), Σ ηₜ² converges (ε²π²/6): both halves of the condition.
        Assert.Equal(0.5 * (Math.Log(20_000) + 0.5772156649), row.StepSum, 3);
        Assert.InRange(row.StepSquareSum, 0.25 * Math.PI * Math.PI / 6 - 1e-4, 0.25 * Math.PI * Math.PI / 6);
    }

    [Fact]
    public void The_step_eps_over_t_squared_stops_short_after_a_finite_distance()
    {
        var row = _result["ε/t²"];
        Assert.InRange(row.StepSum, 0.5 * Math.PI * Math.PI / 6 - 1e-4, 0.5 * Math.PI * Math.PI / 6);
        // Without noise θ stops at θ₀ Π(1 − ελ/t²) = θ₀ sin(π√(ελ))/(π√(ελ)); the noise only adds to f.
        double Stop(double a) => 5 * Math.Sin(Math.PI * Math.Sqrt(a)) / (Math.PI * Math.Sqrt(a));
        double noiseless = 0.5 * 1.6 * Stop(0.8) * Stop(0.8) + 0.5 * 1.2 * Stop(0.6) * Stop(0.6);
        Assert.True(row.LossAt(20_000) > noiseless, $"f = {row.LossAt(20_000)}, noiseless stop {noiseless}");
        Assert.True(row.LossAt(20_000) > 2 * _result.NoiseFloor);
        Assert.InRange(row.LossAt(2_000) / row.LossAt(20_000), 0.9, 1.1);
    }

    [Fact]
    public void The_step_eps_over_root_t_converges_more_slowly_than_eps_over_t()
    {
        var root = _result["ε/√t"];
        Assert.True(root.LossAt(20_000) < root.LossAt(2_000) / 2);
        Assert.True(root.LossAt(20_000) > 10 * _result["ε/t"].LossAt(20_000));
        Assert.True(root.StepSquareSum > 0.25 * Math.Log(20_000), "Σ ε²/t grows like ε² ln T");
    }

    [Fact]
    public void The_averaged_runs_follow_the_exact_second_moment_recursion()
    {
        foreach (var row in _result.Rows)
            foreach (long t in new long[] { 10, 100, 1000, 20_000 })
                Assert.InRange(row.LossAt(t), 0.7 * row.ExpectedLossAt(t), 1.3 * row.ExpectedLossAt(t));
    }
}
