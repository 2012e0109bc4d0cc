namespace Descent.Optim.Schedules;

/// <summary>
/// Cosine annealing with warm restarts (SGDR), like <c>torch.optim.lr_scheduler.CosineAnnealingWarmRestarts</c>:
/// the lr anneals from the base lr towards η_min over T_i periods, then jumps back to the base lr.
/// </summary>
/// <remarks>
/// <code>lr_k = η_min + (base_lr − η_min) · (1 + cos(π T_cur / T_i)) / 2</code>
/// T_cur counts the periods since the last restart; the first cycle has T_0 periods, each next one T_mult times as many
/// (T_i = T_0 · T_mult^i). Defaults: T_mult = 1, η_min = 0. Not chainable (computed from the base lrs, as PyTorch).
/// Paper: Loshchilov &amp; Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
/// </remarks>
public sealed class CosineAnnealingWarmRestarts : LRScheduler
{
    /// <summary>Like <c>CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0)</c>.</summary>
    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0, int tMult = 1, double etaMin = 0) : base(optimizer)
    {
        if (t0 <= 0) throw new ArgumentException($"Expected positive integer T_0, but got {t0}");
        if (tMult < 1) throw new ArgumentException($"Expected integer T_mult >= 1, but got {tMult}");
        if (!(etaMin >= 0) || double.IsInfinity(etaMin)) throw new ArgumentException($"CosineAnnealingWarmRestarts eta_min must be a finite number ≥ 0, but got {Py(etaMin)}");
        T0 = t0;
        TMult = tMult;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>Length of the first cycle (<c>T_0</c>).</summary>
    public int T0 { get; }

    /// <summary>Growth factor of the cycle length (<c>T_mult</c>).</summary>
    public int TMult { get; }

    /// <summary>Lowest lr η_min (<c>eta_min</c>).</summary>
    public double EtaMin { get; }

    /// <summary>Periods since the last restart and the current cycle length at <paramref name="epoch"/>.</summary>
    public (long TCur, long Ti) CyclePosition(int epoch)
    {
        if (TMult == 1) return (epoch % T0, T0);
        long cur = epoch, ti = T0;
        while (cur >= ti)
        {
            cur -= ti;
            ti *= TMult;
        }
        return (cur, ti);
    }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch)
    {
        var (tCur, ti) = CyclePosition(epoch);
        return EtaMin + (BaseLrs[group] - EtaMin) * (1 + Math.Cos(Math.PI * tCur / ti)) / 2;
    }
}
