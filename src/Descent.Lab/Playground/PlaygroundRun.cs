using Descent.Optim;
using Descent.Optim.Schedules;

namespace Descent.Lab.Playground;

/// <summary>
/// One optimizer run on a test function: what <see cref="TrajectoryRunner.Run"/> does, as data. Everything but
/// <see cref="Function"/> and <see cref="Optimizer"/> has a default.
/// </summary>
public sealed record PlaygroundRun
{
    /// <summary>The loss surface.</summary>
    public required TestFunction Function { get; init; }

    /// <summary>An optimizer name from <see cref="PlaygroundOptimizers.Names"/>.</summary>
    public required string Optimizer { get; init; }

    /// <summary>Hyperparameters by PyTorch's names; a null <see cref="OptimizerSettings.Lr"/> means <see cref="PlaygroundOptimizers.DefaultLr"/>.</summary>
    public OptimizerSettings Settings { get; init; } = new();

    /// <summary>The most steps a run may take: its trace holds one row per step, and a 2-D path does not need more.</summary>
    public const int MaxSteps = 1_000_000;

    /// <summary>Number of optimizer steps (default 200, at most <see cref="MaxSteps"/>).</summary>
    public int Steps { get; init; } = 200;

    /// <summary>The start point; null means the function's <see cref="TestFunction.DefaultStart"/>.</summary>
    public Vec2? Start { get; init; }

    /// <summary>Standard deviation of the Gaussian noise added to each gradient coordinate (default 0: exact gradients; <c>gd</c> always gets exact ones).</summary>
    public double Noise { get; init; }

    /// <summary>Seed of the noise.</summary>
    public int Seed { get; init; }

    /// <summary>When set, gradients are clipped to this global L2 norm before each step (<c>clip_grad_norm_</c>).</summary>
    public double? ClipNorm { get; init; }

    /// <summary>
    /// Gradient evaluations averaged per step (default 1), like accumulating mini-batches: with noise σ the averaged
    /// gradient's noise is σ/√N.
    /// </summary>
    public int Accumulate { get; init; } = 1;

    /// <summary>Builds a learning-rate schedule on the run's optimizer, stepped once after every optimizer step (a metric schedule gets the loss).</summary>
    public Func<Optimizer, LRScheduler?>? Schedule { get; init; }

    /// <summary>Newton's smallest curvature (see <see cref="NewtonOptions.Damping"/>).</summary>
    public double NewtonDamping { get; init; } = 1e-3;

    /// <summary>The name in legends and tables; null means the optimizer's name.</summary>
    public string? Label { get; init; }
}
