using Descent.Optim;
using Descent.Lab.Playground;

namespace Descent.Tests.Playground;

/// <summary>Each preset's claim, asserted on the numbers of its runs.</summary>
public class PresetTests
{
    private static Dictionary<string, Trajectory> Run(string preset, int panel = 0, double clipNorm = 1) =>
        Presets.Get(preset, clipNorm).Panels[panel].Runs.Select(TrajectoryRunner.Run).ToDictionary(t => t.Label);

    private static double FromSaddle(Trajectory t, int step) => Vec2.Distance(t.Points[step].Position, new Vec2(0, 0));

    [Fact]
    public void Saddle_sgd_stalls_adaptive_methods_escape_then_momentum_and_nag_race_past_them()
    {
        var runs = Run("saddle");
        Assert.Equal(1e-6, runs["sgd"].Start.Y, 12);
        // Plain SGD slides down the ridge to the saddle and is still there after 100 steps.
        Assert.True(FromSaddle(runs["sgd"], 100) < 1e-3, $"sgd is {FromSaddle(runs["sgd"], 100):G3} from the saddle after 100 steps");
        Assert.False(runs["sgd"].Metrics().EscapedSaddle);
        // The adaptive methods divide the 1e-6 gradient by its own size and have left well before.
        foreach (var name in new[] { "adam", "rmsprop", "adagrad", "adadelta" })
        {
            Assert.True(FromSaddle(runs[name], 100) > 0.5, $"{name} is only {FromSaddle(runs[name], 100):G3} from the saddle after 100 steps");
            Assert.True(runs[name].Metrics().EscapedSaddle);
        }
        // Momentum and NAG linger near the saddle, then accelerate and end farther away than Adam, RMSProp and AdaGrad.
        double adaptiveFarthest = new[] { "adam", "rmsprop", "adagrad" }.Max(n => FromSaddle(runs[n], 200));
        foreach (var name in new[] { "momentum", "nesterov" })
        {
            Assert.True(FromSaddle(runs[name], 75) < 0.05, $"{name} is {FromSaddle(runs[name], 75):G3} from the saddle after 75 steps");
            Assert.True(FromSaddle(runs[name], 200) > 10 * adaptiveFarthest, $"{name} ends {FromSaddle(runs[name], 200):G3} away, the adaptive methods up to {adaptiveFarthest:G3}");
            Assert.True(runs[name].Metrics().EscapedSaddle);
        }
    }

    [Fact]
    public void Ravine_sgd_zig_zags_across_the_valley_where_momentum_does_not()
    {
        var runs = Run("ravine");
        var across = TestFunctions.IllConditioned.Hessian(0, 0).Eigen().LargestDirection;
        var sgd = runs["sgd lr 0.036"];
        int steps = sgd.Steps;
        Assert.True(sgd.Reversals(across) >= 0.9 * steps, $"sgd turned back across the valley {sgd.Reversals(across)} times in {steps} steps");
        Assert.Equal(sgd.Reversals(across), sgd.Metrics().ZigZags);
        foreach (var name in new[] { "momentum lr 0.0036", "nesterov lr 0.0036" })
        {
            var t = runs[name];
            Assert.True(t.Reversals(across) <= 0.2 * steps, $"{name} turned back across the valley {t.Reversals(across)} times in {steps} steps");
            Assert.True(t.Metrics().DistanceToNearestMinimum < sgd.Metrics().DistanceToNearestMinimum, $"{name} ends farther from the minimum than sgd");
        }
    }

    [Fact]
    public void Cliff_without_clipping_is_thrown_back_and_with_clip_norm_every_step_is_bounded()
    {
        var runs = Run("cliff");
        var unclipped = runs["sgd"].Metrics();
        Assert.True(unclipped.LargestStep > 5, $"largest step without clipping {unclipped.LargestStep:G3}");
        Assert.True(runs["sgd"].Points.Min(p => p.X) < -4, "the wall should throw sgd far back down the bowl");
        var clipped = runs["sgd, clip-norm 1"];
        Assert.True(clipped.Metrics().LargestStep <= 0.1 * 1 + 1e-6, $"largest clipped step {clipped.Metrics().LargestStep:G4} exceeds lr × max_norm");
        Assert.True(clipped.Metrics().DistanceToNearestMinimum < 0.15, $"clipped sgd ends {clipped.Metrics().DistanceToNearestMinimum:G3} from the minimum at the wall's foot");
        Assert.True(unclipped.LargestStep > 50 * clipped.Metrics().LargestStep);
        var tighter = Run("cliff", clipNorm: 0.5)["sgd, clip-norm 0.5"];
        Assert.True(tighter.Metrics().LargestStep <= 0.05 + 1e-6, $"with --clip-norm 0.5 the largest step is {tighter.Metrics().LargestStep:G4}");
    }

    [Fact]
    public void Learning_rate_too_small_barely_moves_right_converges_too_large_diverges()
    {
        var runs = Run("lr");
        var small = runs["lr 0.002 (too small)"];
        Assert.True(small.Final.Loss > 0.5 * small.Start.Loss, $"lr 0.002 went from loss {small.Start.Loss} to {small.Final.Loss} in {small.Steps} steps");
        Assert.Null(small.Metrics().StepsToTolerance);
        var right = runs["lr 0.6 (about right)"].Metrics();
        Assert.True(right.StepsToTolerance <= 15 && right.FinalLoss < 1e-10, $"lr 0.6: steps to tolerance {right.StepsToTolerance}, final loss {right.FinalLoss}");
        Assert.False(right.Diverged);
        var large = runs["lr 1.05 (too large)"];
        Assert.True(large.Metrics().Diverged);
        Assert.True(large.Final.Loss > 1000 * large.Start.Loss, $"lr 1.05 ends at loss {large.Final.Loss}");
    }

    [Fact]
    public void Newton_reaches_the_quadratic_in_one_step_and_rosenbrock_far_sooner_than_gradient_descent()
    {
        var quadratic = Run("newton", 0);
        var newton = quadratic["newton"];
        Assert.Equal(1, newton.Metrics().StepsToTolerance);
        Assert.True(Vec2.Distance(newton.Points[1].Position, new Vec2(0, 0)) < 1e-6, $"after one Newton step the point is {newton.Points[1].Position}");
        Assert.True(quadratic["gd lr 0.1"].Metrics().StepsToTolerance > 50);

        var rosenbrock = Run("newton", 1);
        int newtonSteps = rosenbrock["newton"].Metrics().StepsToTolerance ?? int.MaxValue;
        Assert.True(newtonSteps <= 10, $"Newton needed {newtonSteps} steps on Rosenbrock");
        Assert.Null(rosenbrock["gd lr 0.001"].Metrics().StepsToTolerance);
        // Given all the time it needs, gradient descent gets there too, a hundred times slower or worse.
        var longRun = TrajectoryRunner.Run(Presets.Get("newton").Panels[1].Runs[0] with { Steps = 30_000 });
        int gdSteps = longRun.Metrics().StepsToTolerance ?? int.MaxValue;
        Assert.True(gdSteps > 100 * newtonSteps, $"gradient descent needed {gdSteps} steps, Newton {newtonSteps}");
    }

    [Fact]
    public void Unknown_preset_lists_the_names()
    {
        var e = Assert.Throws<ArgumentException>(() => Presets.Get("valley"));
        Assert.Contains("saddle, ravine, cliff, lr, newton", e.Message);
        Assert.All(Presets.Names, n => Assert.NotEmpty(Presets.Get(n).Claim));
        Assert.All(Presets.Names.SelectMany(n => Presets.Get(n).Panels).SelectMany(p => p.Runs),
            r => Assert.Contains(r.Optimizer, PlaygroundOptimizers.Names));
        Assert.Contains("sgd", Optimizers.Names);
    }
}
