using Descent.Optim;

namespace Descent.Lab.Playground;

/// <summary>
/// Runs an optimizer on a test function and records its path: the playground's engine. The point (x, y) is the
/// only parameter of a tiny module, so the registry's optimizers run unchanged, in float32, exactly as they do on
/// a network; the function and its gradient are evaluated in double at that float32 point.
/// </summary>
public static class TrajectoryRunner
{
    /// <summary>
    /// Runs <paramref name="run"/> and returns one <see cref="TracePoint"/> per step from 0 (the start) to
    /// <see cref="PlaygroundRun.Steps"/>. Each step is PyTorch's loop: gradient (with noise, averaged over
    /// <see cref="PlaygroundRun.Accumulate"/> draws, then clipped) → <c>optimizer.step()</c> (with a closure for
    /// L-BFGS) → <c>scheduler.step()</c>. The loss recorded is the exact f at the new point. Once the point or its
    /// loss is no longer finite the run stops and the remaining rows are NaN.
    /// </summary>
    public static Trajectory Run(PlaygroundRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.Steps is < 0 or > PlaygroundRun.MaxSteps)
            throw new ArgumentOutOfRangeException(nameof(run), $"steps must be from 0 to {PlaygroundRun.MaxSteps}, got {run.Steps}");
        if (run.Accumulate < 1) throw new ArgumentOutOfRangeException(nameof(run), $"accumulate must be a positive integer, got {run.Accumulate}");
        if (run.ClipNorm is { } c && !(c > 0)) throw new ArgumentOutOfRangeException(nameof(run), $"max_norm must be positive, got {c}");
        var f = run.Function;
        string name = PlaygroundOptimizers.Check(run.Optimizer);
        var start = run.Start ?? f.DefaultStart;
        if (!start.IsFinite) throw new ArgumentException($"the start point must be finite, got {start}");
        double lr = run.Settings.Lr ?? PlaygroundOptimizers.DefaultLr(name, f);
        var point = new PointModule(start);
        var optimizer = PlaygroundOptimizers.Create(name, point, run.Settings with { Lr = lr }, f, run.NewtonDamping);
        var schedule = run.Schedule?.Invoke(optimizer);
        var noise = run.Noise > 0 && name != "gd" ? new GradientNoise(run.Noise, run.Seed) : null;
        float[] data = optimizer.Arena.Data, grad = optimizer.Arena.Grad;

        float Evaluate()
        {
            var p = new Vec2(data[0], data[1]);
            var g = f.Gradient(p);
            if (noise is not null)
            {
                var sum = new Vec2(0, 0);
                for (int i = 0; i < run.Accumulate; i++) sum += noise.Perturb(g);
                g = (1.0 / run.Accumulate) * sum;
            }
            grad[0] = (float)g.X;
            grad[1] = (float)g.Y;
            if (run.ClipNorm is { } maxNorm) GradientClipping.ClipGradNorm(optimizer.Arena, maxNorm);
            return (float)f.Value(p);
        }

        var points = new TracePoint[run.Steps + 1];
        points[0] = Record(0);
        bool stopped = !points[0].IsFinite;
        for (int k = 1; k <= run.Steps; k++)
        {
            if (stopped)
            {
                points[k] = new TracePoint(k, float.NaN, float.NaN, float.NaN);
                continue;
            }
            if (optimizer.RequiresClosure) optimizer.Step(Evaluate);
            else
            {
                Evaluate();
                optimizer.Step();
            }
            points[k] = Record(k);
            stopped = !points[k].IsFinite;
            if (schedule is not null && !stopped)
            {
                if (schedule.UsesMetric) schedule.Step(points[k].Loss);
                else schedule.Step();
            }
        }
        return new Trajectory(run.Label ?? name, name, f, lr, points);

        TracePoint Record(int step) => new(step, data[0], data[1], (float)f.Value(data[0], data[1]));
    }
}
