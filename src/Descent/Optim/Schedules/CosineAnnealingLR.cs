namespace Descent.Optim.Schedules;

/// <summary>
/// Cosine annealing from the base lr down to η_min over <c>T_max</c> periods, like
/// <c>torch.optim.lr_scheduler.CosineAnnealingLR</c> (the annealing of SGDR, without restarts).
/// </summary>
/// <remarks>
/// <code>lr_k = η_min + (base_lr − η_min) · (1 + cos(π k / T_max)) / 2</code>
/// Defaults: η_min = 0. There is no restart: past T_max the lr climbs back to base_lr at 2·T_max, and so on
/// (use <see cref="CosineAnnealingWarmRestarts"/> for restarts). The values are PyTorch's recursive form, which differs
/// from the formula above by up to 1e-13 relative: for k ≥ 1,
/// <code>
/// lr_k = lr_{k−1} + (base_lr − η_min)(1 − cos(π / T_max)) / 2                         if (k − 1 − T_max) mod 2T_max = 0
/// lr_k = (1 + cos(π k / T_max)) / (1 + cos(π (k − 1) / T_max)) · (lr_{k−1} − η_min) + η_min   otherwise
/// </code>
/// Paper: Loshchilov &amp; Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
/// </remarks>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Like <c>CosineAnnealingLR(optimizer, T_max, eta_min=0)</c>.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        if (tMax < 1) throw new ArgumentException($"CosineAnnealingLR T_max must be a positive integer, but got {tMax}");
        if (!(etaMin >= 0) || double.IsInfinity(etaMin)) throw new ArgumentException($"CosineAnnealingLR eta_min must be a finite number ≥ 0, but got {Py(etaMin)}");
        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>Half period of the cosine (<c>T_max</c>).</summary>
    public int TMax { get; }

    /// <summary>Lowest lr η_min (<c>eta_min</c>).</summary>
    public double EtaMin { get; }

    /// <inheritdoc />
    protected override bool FollowsRecursion => true;

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch) =>
        EtaMin + (BaseLrs[group] - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;

    /// <inheritdoc />
    protected override double RecursiveLr(int group, int epoch, double currentLr)
    {
        if (epoch == 0) return currentLr;
        // Right after a trough the ratio below would divide by 1 + cos(π) = 0.
        if ((epoch - 1 - TMax) % (2 * TMax) == 0)
            return currentLr + (BaseLrs[group] - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2;
        return (1 + Math.Cos(Math.PI * epoch / TMax)) / (1 + Math.Cos(Math.PI * (epoch - 1) / TMax)) * (currentLr - EtaMin) + EtaMin;
    }
}
