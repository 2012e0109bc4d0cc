namespace Descent.Optim.Schedules;

/// <summary>Multiplies the lr by γ every <c>step_size</c> periods, like <c>torch.optim.lr_scheduler.StepLR</c>.</summary>
/// <remarks>
/// <code>lr_k = base_lr · γ^⌊k / step_size⌋</code>
/// Defaults: γ = 0.1. Chainable: PyTorch's form multiplies the current lr by γ when k &gt; 0 and k mod step_size = 0.
/// </remarks>
public sealed class StepLR : LRScheduler
{
    /// <summary>Like <c>StepLR(optimizer, step_size, gamma=0.1)</c>.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        if (stepSize < 1) throw new ArgumentException($"StepLR step_size must be a positive integer, but got {stepSize}");
        if (!(gamma > 0) || double.IsInfinity(gamma)) throw new ArgumentException($"StepLR gamma must be a positive number, but got {Py(gamma)}");
        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Period of the decay (<c>step_size</c>).</summary>
    public int StepSize { get; }

    /// <summary>Decay factor γ (<c>gamma</c>).</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch) => BaseLrs[group] * Math.Pow(Gamma, epoch / StepSize);

    /// <inheritdoc />
    protected override double RecursiveLr(int group, int epoch, double currentLr) =>
        epoch == 0 || epoch % StepSize != 0 ? currentLr : currentLr * Gamma;
}
