using Descent.Optim;
using Descent.Optim.Schedules;
using Descent.Lab.Playground;

namespace Descent.Tests.Playground;

/// <summary>The runner: every optimizer, noise, accumulation, clipping, schedules, divergence and the metrics.</summary>
public class TrajectoryRunnerTests
{
    public static TheoryData<string> Names() => new(PlaygroundOptimizers.Names);

    private static Trajectory Run(string optimizer, TestFunction? f = null, int steps = 200, double? lr = null, double noise = 0, int seed = 0, int accumulate = 1) =>
        TrajectoryRunner.Run(new PlaygroundRun
        {
            Function = f ?? TestFunctions.Quadratic,
            Optimizer = optimizer,
            Settings = new OptimizerSettings { Lr = lr },
            Steps = steps,
            Noise = noise,
            Seed = seed,
            Accumulate = accumulate,
        });

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_optimizer_runs_at_its_default_learning_rate_and_lowers_the_loss(string name)
    {
        var t = Run(name);
        Assert.Equal(201, t.Points.Count);
        Assert.Equal(Enumerable.Range(0, 201), t.Points.Select(p => p.Step));
        Assert.Equal(PlaygroundOptimizers.DefaultLr(name, TestFunctions.Quadratic), t.Lr);
        Assert.All(t.Points, p => Assert.True(p.IsFinite));
        Assert.True(t.Final.Loss < 0.1 * t.Start.Loss, $"{name}: loss {t.Start.Loss} → {t.Final.Loss}");
        Assert.False(t.Metrics().Diverged);
    }

    [Fact]
    public void Noise_is_seeded_shrinks_with_accumulation_and_never_reaches_gd()
    {
        var a = Run("sgd", noise: 0.5, seed: 3);
        Assert.Equal(a.Points, Run("sgd", noise: 0.5, seed: 3).Points);
        Assert.NotEqual(a.Points, Run("sgd", noise: 0.5, seed: 4).Points);
        var exact = Run("sgd");
        Assert.Equal(exact.Points, Run("gd", lr: exact.Lr, noise: 0.5, seed: 3).Points);
        // Averaging 16 noisy gradients per step is a 16× larger mini-batch: the path stays 4× closer to the exact one.
        double Deviation(Trajectory t) => t.Points.Zip(exact.Points, (p, q) => Vec2.Distance(p.Position, q.Position)).Average();
        double single = Deviation(a), averaged = Deviation(Run("sgd", noise: 0.5, seed: 3, accumulate: 16));
        Assert.True(averaged < 0.5 * single, $"mean deviation {single:G3} with one draw, {averaged:G3} with 16");
    }

    [Fact]
    public void Clipping_bounds_every_step_and_a_schedule_changes_the_learning_rate()
    {
        var clipped = TrajectoryRunner.Run(new PlaygroundRun { Function = TestFunctions.Rosenbrock, Optimizer = "sgd", Settings = new() { Lr = 0.001 }, ClipNorm = 2, Steps = 100 });
        Assert.True(clipped.Metrics().LargestStep <= 0.002 + 1e-7, $"largest step {clipped.Metrics().LargestStep}");

        // StepLR with γ = 1e-9 after 10 steps makes each step far below a float32 ulp of the point: it must stop there.
        var frozen = TrajectoryRunner.Run(new PlaygroundRun
        {
            Function = TestFunctions.Quadratic,
            Optimizer = "adam",
            Steps = 30,
            Schedule = opt => Schedules.Create("step", opt, new ScheduleOptions { StepSize = 10, Gamma = 1e-9 }),
        });
        Assert.NotEqual(frozen.Points[9].Position, frozen.Points[10].Position);
        Assert.All(frozen.Points.Skip(11), p => Assert.Equal(frozen.Points[10].Position, p.Position));
    }

    [Fact]
    public void Newton_is_exact_on_quadratics_and_moves_away_from_a_saddle()
    {
        var ill = Run("newton", TestFunctions.IllConditioned, steps: 1);
        // Exact but for the float32 gradient: its rounding (6e-8 × |∇f| ≈ 6e-6) divided by the flat curvature 1.
        Assert.True(ill.Final.Position.Length < 1e-5, $"one Newton step on the ill-conditioned bowl ends at {ill.Final.Position}");
        var booth = Run("newton", TestFunctions.Booth, steps: 1);
        Assert.True(Vec2.Distance(booth.Final.Position, new Vec2(1, 3)) < 1e-5);
        // |H| instead of H: along the negative curvature the step goes downhill, so y doubles instead of vanishing.
        var saddle = TrajectoryRunner.Run(new PlaygroundRun { Function = TestFunctions.Saddle, Optimizer = "newton", Start = new Vec2(0.3, 0.01), Steps = 3 });
        Assert.Equal(0, saddle.Points[1].X);
        Assert.Equal(0.02, saddle.Points[1].Y, 6);
        Assert.Equal(0.08, saddle.Points[3].Y, 6);
        Assert.Throws<ArgumentException>(() => TrajectoryRunner.Run(new PlaygroundRun { Function = TestFunctions.Quadratic, Optimizer = "newton", Settings = new() { Maximize = true } }));
    }

    [Fact]
    public void A_run_that_overflows_keeps_one_row_per_step_and_is_reported_diverged()
    {
        var t = Run("sgd", lr: 5, steps: 300);
        Assert.Equal(301, t.Points.Count);
        Assert.False(t.Final.IsFinite);
        Assert.True(float.IsNaN(t.Final.X));
        var m = t.Metrics();
        Assert.True(m.Diverged);
        Assert.Null(m.DistanceToNearestMinimum);
        Assert.Null(m.StepsToTolerance);
    }

    [Fact]
    public void Metrics_apply_only_where_they_mean_something()
    {
        var quadratic = Run("sgd").Metrics();
        Assert.Null(quadratic.EscapedSaddle);
        Assert.NotNull(quadratic.ZigZags);
        Assert.Equal(TrajectoryMetrics.DefaultTolerance, 1e-3);
        var saddle = Run("adam", TestFunctions.Saddle).Metrics();
        Assert.Null(saddle.DistanceToNearestMinimum);
        Assert.Null(saddle.StepsToTolerance);
        Assert.Null(saddle.ZigZags);
        Assert.True(saddle.EscapedSaddle);
        Assert.False(saddle.Diverged);
    }

    [Fact]
    public void Unknown_optimizer_lists_gd_newton_and_the_registry()
    {
        var e = Assert.Throws<ArgumentException>(() => Run("adamm"));
        Assert.Contains("unknown optimizer 'adamm'", e.Message);
        Assert.Contains("gd, newton, sgd, momentum", e.Message);
        Assert.Equal(["gd", "newton", .. Optimizers.Names], PlaygroundOptimizers.Names);
    }
}
