namespace Descent.Optim.Schedules;

/// <summary>Multiplies the lr by γ every period, like <c>torch.optim.lr_scheduler.ExponentialLR</c>.</summary>
/// <remarks>
/// <code>lr_k = base_lr · γ^k</code>
/// γ has no default (as PyTorch). Chainable: PyTorch's form multiplies the current lr by γ when k &gt; 0.
/// </remarks>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Like <c>ExponentialLR(optimizer, gamma)</c>.</summary>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        if (!(gamma > 0) || double.IsInfinity(gamma)) throw new ArgumentException($"ExponentialLR gamma must be a positive number, but got {Py(gamma)}");
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Decay factor γ per period (<c>gamma</c>).</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch) => BaseLrs[group] * Math.Pow(Gamma, epoch);

    /// <inheritdoc />
    protected override double RecursiveLr(int group, int epoch, double currentLr) => epoch == 0 ? currentLr : currentLr * Gamma;
}
