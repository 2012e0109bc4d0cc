using Descent.Nn;
using Descent.Optim;

namespace Descent.Lab.Playground;

/// <summary>Hyperparameters of <see cref="Newton"/>.</summary>
public sealed record NewtonOptions : OptimizerOptions
{
    /// <summary>Full Newton steps (lr 1) by default.</summary>
    public NewtonOptions() => Lr = 1;

    /// <summary>
    /// Smallest curvature the step divides by: each eigenvalue λ of the Hessian is replaced by max(|λ|, damping),
    /// so a flat direction gives a long but finite step (default 1e-3).
    /// </summary>
    public double Damping { get; set; } = 1e-3;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (!(Damping > 0)) throw new ArgumentOutOfRangeException(nameof(Damping), $"Invalid damping value: {Fmt(Damping)} (must be positive)");
        if (WeightDecay != 0) throw new ArgumentException("newton has no weight_decay option");
    }
}

/// <summary>
/// Newton's method with the exact Hessian on the playground's 2-D point: Δθ = −lr·|H|⁻¹∇f, where |H| is the
/// Hessian with each eigenvalue λ replaced by max(|λ|, damping). There is no such optimizer in PyTorch; it is
/// here to show what second-order information buys.
/// </summary>
/// <remarks>
/// <para>
/// Where the Hessian is positive definite with curvatures above the damping, the step is exactly Newton's
/// H⁻¹∇f: a quadratic's minimum is reached in one step, whatever its conditioning. Taking |λ| instead of λ
/// (the "saddle-free" Newton step of Dauphin et al., 2014) keeps the step pointing downhill where the Hessian is
/// indefinite: plain Newton jumps straight to a saddle point (it solves ∇f = 0, and a saddle is a solution),
/// this one moves away from it along the negative-curvature direction. The gradient is the one the arena holds,
/// so gradient noise and clipping apply to it as to every other optimizer.
/// </para>
/// </remarks>
public sealed class Newton : Optimizer<NewtonOptions>
{
    private readonly Func<Vec2, Hessian2> _hessian;

    /// <summary>Newton's method on <paramref name="point"/> (two elements: x and y), with <paramref name="hessian"/> evaluated at the current point.</summary>
    public Newton(Parameter point, Func<Vec2, Hessian2> hessian, NewtonOptions? options = null)
        : base([new ParamGroup<NewtonOptions>([point], options ?? new NewtonOptions())])
    {
        if (point.Numel != 2) throw new ArgumentException($"Newton works on a 2-D point, got a parameter of {point.Numel} elements");
        _hessian = hessian;
    }

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, NewtonOptions options, ArenaSlice slice)
    {
        var theta = slice.Param;
        var grad = slice.Gradient;
        var g = new Vec2(grad[0], grad[1]);
        var (small, smallDir, large, largeDir) = _hessian(new Vec2(theta[0], theta[1])).Eigen();
        var step = (smallDir.Dot(g) / Math.Max(Math.Abs(small), options.Damping)) * smallDir
                 + (largeDir.Dot(g) / Math.Max(Math.Abs(large), options.Damping)) * largeDir;
        theta[0] = (float)(theta[0] - options.Lr * step.X);
        theta[1] = (float)(theta[1] - options.Lr * step.Y);
    }
}
