namespace Descent.Optim.Schedules;

/// <summary>
/// Changes the lr factor linearly from <c>start_factor</c> to <c>end_factor</c> over <c>total_iters</c> periods, like
/// <c>torch.optim.lr_scheduler.LinearLR</c> (a warm-up when start &lt; end, a decay when start &gt; end).
/// </summary>
/// <remarks>
/// <code>lr_k = base_lr · (s + (e − s) · min(k, T) / T)</code>
/// Defaults: s = 1/3, e = 1, T = 5. s must be in (0, 1] (PyTorch ≥ 2.0's rule: 1.13 accepted 0 and then divided by
/// zero), e in [0, 1]. Chainable: PyTorch's form multiplies the current lr by s at k = 0 and by
/// 1 + (e − s)/(T·s + (k − 1)(e − s)) for 1 ≤ k ≤ T.
/// </remarks>
public class LinearLR : LRScheduler
{
    /// <summary>Like <c>LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)</c>.</summary>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5) : base(optimizer)
    {
        if (!(startFactor > 0 && startFactor <= 1))
            throw new ArgumentException("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.");
        if (!(endFactor >= 0 && endFactor <= 1)) throw new ArgumentException("Ending multiplicative factor expected to be between 0 and 1.");
        if (totalIters < 1) throw new ArgumentException($"LinearLR total_iters must be a positive integer, but got {totalIters}");
        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>The factor at period 0 (<c>start_factor</c>).</summary>
    public double StartFactor { get; }

    /// <summary>The factor from period <see cref="TotalIters"/> on (<c>end_factor</c>).</summary>
    public double EndFactor { get; }

    /// <summary>Length of the linear change (<c>total_iters</c>).</summary>
    public int TotalIters { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch) =>
        BaseLrs[group] * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, epoch) / TotalIters);

    /// <inheritdoc />
    protected override double RecursiveLr(int group, int epoch, double currentLr)
    {
        if (epoch == 0) return currentLr * StartFactor;
        if (epoch > TotalIters) return currentLr;
        return currentLr * (1.0 + (EndFactor - StartFactor) / (TotalIters * StartFactor + (epoch - 1) * (EndFactor - StartFactor)));
    }
}
