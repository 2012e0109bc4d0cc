namespace Descent.Optim.Schedules;

/// <summary>
/// Scales the lr by a constant factor until <c>total_iters</c>, then restores it, like
/// <c>torch.optim.lr_scheduler.ConstantLR</c>.
/// </summary>
/// <remarks>
/// <code>lr_k = base_lr · factor   (k &lt; total_iters);   base_lr   (k ≥ total_iters)</code>
/// Defaults: factor = 1/3, total_iters = 5. Chainable: PyTorch's form multiplies the current lr by factor at k = 0 and
/// by 1/factor at k = total_iters.
/// </remarks>
public sealed class ConstantLR : LRScheduler
{
    /// <summary>Like <c>ConstantLR(optimizer, factor=1/3, total_iters=5)</c>.</summary>
    public ConstantLR(Optimizer optimizer, double factor = 1.0 / 3, int totalIters = 5) : base(optimizer)
    {
        if (!(factor >= 0 && factor <= 1)) throw new ArgumentException("Constant multiplicative factor expected to be between 0 and 1.");
        if (totalIters < 1) throw new ArgumentException($"ConstantLR total_iters must be a positive integer, but got {totalIters}");
        Factor = factor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>The factor applied before <see cref="TotalIters"/> (<c>factor</c>).</summary>
    public double Factor { get; }

    /// <summary>Number of periods with the reduced lr (<c>total_iters</c>).</summary>
    public int TotalIters { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch) =>
        BaseLrs[group] * (Factor + (epoch >= TotalIters ? 1 - Factor : 0.0));

    /// <inheritdoc />
    protected override double RecursiveLr(int group, int epoch, double currentLr) =>
        epoch == 0 ? currentLr * Factor : epoch == TotalIters ? currentLr * (1.0 / Factor) : currentLr;
}
