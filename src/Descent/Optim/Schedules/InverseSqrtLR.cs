namespace Descent.Optim.Schedules;

/// <summary>
/// The Transformer's inverse-square-root schedule with linear warm-up, scaled so that the lr peaks at the base lr ε₀
/// at the end of the warm-up.
/// </summary>
/// <remarks>
/// <code>lr_k = ε₀ · min(1/√t, t / w^1.5) · √w,   t = k + 1</code>
/// i.e. ε₀·t/w while t ≤ w and ε₀·√(w/t) after. t counts updates from 1 (period k = 0 is the first update), so no
/// period has lr 0. The paper's form d_model^−0.5 · min(t^−0.5, t·w^−1.5) (Vaswani et al., "Attention Is All You
/// Need", 2017, §5.3, w = 4000) is this schedule with ε₀ = (d_model·w)^−0.5. PyTorch has no class for it; in PyTorch
/// terms it is <c>LambdaLR(optimizer, lambda k: min((k + 1) ** -0.5, (k + 1) * w ** -1.5) * w ** 0.5)</c>. Not
/// chainable.
/// </remarks>
public sealed class InverseSqrtLR : LRScheduler
{
    /// <summary>Warm-up over <paramref name="warmupSteps"/> periods (w), then ε₀·√(w/t).</summary>
    public InverseSqrtLR(Optimizer optimizer, int warmupSteps) : base(optimizer)
    {
        if (warmupSteps < 1) throw new ArgumentException($"InverseSqrtLR warmup_steps must be a positive integer, but got {warmupSteps}");
        WarmupSteps = warmupSteps;
        InitialStep();
    }

    /// <summary>Length of the warm-up (w).</summary>
    public int WarmupSteps { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch)
    {
        double t = epoch + 1.0;
        return BaseLrs[group] * Math.Min(1 / Math.Sqrt(t), t / Math.Pow(WarmupSteps, 1.5)) * Math.Sqrt(WarmupSteps);
    }
}
