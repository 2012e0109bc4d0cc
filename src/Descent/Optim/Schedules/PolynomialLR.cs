namespace Descent.Optim.Schedules;

/// <summary>Decays the lr polynomially to zero over <c>total_iters</c> periods, like <c>torch.optim.lr_scheduler.PolynomialLR</c>.</summary>
/// <remarks>
/// <code>lr_k = base_lr · (1 − min(k, T) / T)^p</code>
/// Defaults: T = 5, p = 1. The lr is 0 from period T on. Chainable: PyTorch's form multiplies the current lr by
/// ((1 − k/T) / (1 − (k − 1)/T))^p for 1 ≤ k ≤ T.
/// </remarks>
public sealed class PolynomialLR : LRScheduler
{
    /// <summary>Like <c>PolynomialLR(optimizer, total_iters=5, power=1.0)</c>.</summary>
    public PolynomialLR(Optimizer optimizer, int totalIters = 5, double power = 1.0) : base(optimizer)
    {
        if (totalIters < 1) throw new ArgumentException($"PolynomialLR total_iters must be a positive integer, but got {totalIters}");
        if (!(power >= 0) || double.IsInfinity(power)) throw new ArgumentException($"PolynomialLR power must be a finite number ≥ 0, but got {Py(power)}");
        TotalIters = totalIters;
        Power = power;
        InitialStep();
    }

    /// <summary>Number of periods until the lr reaches 0 (<c>total_iters</c>).</summary>
    public int TotalIters { get; }

    /// <summary>The exponent p (<c>power</c>).</summary>
    public double Power { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch) =>
        BaseLrs[group] * Math.Pow(1.0 - (double)Math.Min(TotalIters, epoch) / TotalIters, Power);

    /// <inheritdoc />
    protected override double RecursiveLr(int group, int epoch, double currentLr)
    {
        if (epoch == 0 || epoch > TotalIters) return currentLr;
        double decay = Math.Pow((1.0 - (double)epoch / TotalIters) / (1.0 - (double)(epoch - 1) / TotalIters), Power);
        return currentLr * decay;
    }
}
