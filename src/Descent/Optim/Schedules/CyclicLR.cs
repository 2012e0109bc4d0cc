namespace Descent.Optim.Schedules;

/// <summary>The amplitude policy of <see cref="CyclicLR"/> (<c>mode</c>).</summary>
public enum CyclicMode
{
    /// <summary><c>'triangular'</c>: constant amplitude.</summary>
    Triangular,
    /// <summary><c>'triangular2'</c>: the amplitude halves every cycle.</summary>
    Triangular2,
    /// <summary><c>'exp_range'</c>: the amplitude is scaled by γ^k (k counts periods, not cycles).</summary>
    ExpRange,
}

/// <summary>
/// Cyclical learning rates, like <c>torch.optim.lr_scheduler.CyclicLR</c>: the lr goes back and forth between base_lr
/// and max_lr (triangle waves), the momentum the opposite way between max_momentum and base_momentum.
/// </summary>
/// <remarks>
/// <para>
/// With N = step_size_up + step_size_down and r = step_size_up / N: cycle = ⌊1 + k/N⌋, x = 1 + k/N − cycle,
/// s = x/r if x ≤ r else (x − 1)/(r − 1), and
/// <code>
/// lr_k       = base_lr + (max_lr − base_lr) · s · scale
/// momentum_k = max_momentum − (max_momentum − base_momentum) · s · scale
/// </code>
/// with scale = 1 (triangular), 1/2^(cycle−1) (triangular2), γ^k (exp_range).
/// </para>
/// <para>
/// Defaults: step_size_up = 2000, step_size_down = step_size_up, mode triangular, γ = 1, cycle_momentum = true,
/// base_momentum = 0.8, max_momentum = 0.9. The constructor sets each group's lr to base_lr and, with
/// cycle_momentum, its momentum to base_momentum. The momentum is SGD's momentum or the Adam family's β₁ through
/// <see cref="IMomentumOptions"/> (PyTorch 1.13 cycles <c>momentum</c> only; ≥ 2.x also <c>betas[0]</c>). Meant to be
/// stepped per batch. Not chainable.
/// </para>
/// <para>Paper: Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.</para>
/// </remarks>
public sealed class CyclicLR : LRScheduler
{
    private readonly double[] _maxLrs;
    private readonly double[] _baseMomentums, _maxMomentums;
    private readonly double _totalSize, _stepRatio;

    /// <summary>Like <c>CyclicLR(optimizer, base_lr, max_lr, step_size_up=2000, ...)</c> with the same bounds for every group.</summary>
    public CyclicLR(Optimizer optimizer, double baseLr, double maxLr, int stepSizeUp = 2000, int? stepSizeDown = null,
        CyclicMode mode = CyclicMode.Triangular, double gamma = 1.0, bool cycleMomentum = true, double baseMomentum = 0.8, double maxMomentum = 0.9)
        : this(optimizer, Enumerable.Repeat(baseLr, GroupsOf(optimizer)).ToArray(), Enumerable.Repeat(maxLr, GroupsOf(optimizer)).ToArray(),
            stepSizeUp, stepSizeDown, mode, gamma, cycleMomentum, baseMomentum, maxMomentum) { }

    /// <summary>Like <c>CyclicLR(optimizer, [base_lr0, ...], [max_lr0, ...], ...)</c>: bounds per group.</summary>
    public CyclicLR(Optimizer optimizer, IReadOnlyList<double> baseLr, IReadOnlyList<double> maxLr, int stepSizeUp = 2000, int? stepSizeDown = null,
        CyclicMode mode = CyclicMode.Triangular, double gamma = 1.0, bool cycleMomentum = true, double baseMomentum = 0.8, double maxMomentum = 0.9)
        : base(StartAtBaseLr(optimizer, baseLr))
    {
        if (maxLr.Count != GroupCount) throw new ArgumentException($"expected {GroupCount} values for max_lr, got {maxLr.Count}");
        if (stepSizeUp < 1) throw new ArgumentException($"CyclicLR step_size_up must be a positive integer, but got {stepSizeUp}");
        if (stepSizeDown is < 0) throw new ArgumentException($"CyclicLR step_size_down must be an integer ≥ 0, but got {stepSizeDown}");
        if (!Enum.IsDefined(mode)) throw new ArgumentException("mode is invalid and scale_fn is None");
        if (!(gamma > 0) || double.IsInfinity(gamma)) throw new ArgumentException($"CyclicLR gamma must be a positive number, but got {Py(gamma)}");
        _maxLrs = maxLr.ToArray();
        double up = stepSizeUp, down = stepSizeDown ?? stepSizeUp;
        _totalSize = up + down;
        _stepRatio = up / _totalSize;
        StepSizeUp = stepSizeUp;
        StepSizeDown = stepSizeDown ?? stepSizeUp;
        Mode = mode;
        Gamma = gamma;
        CycleMomentum = cycleMomentum;
        _baseMomentums = Enumerable.Repeat(baseMomentum, GroupCount).ToArray();
        _maxMomentums = Enumerable.Repeat(maxMomentum, GroupCount).ToArray();
        if (cycleMomentum)
            foreach (var m in MomentumGroups(optimizer)) m.MomentumCoefficient = baseMomentum;
        InitialStep();
        SetBaseLrs(baseLr);
    }

    /// <summary>Periods in the rising half of a cycle (<c>step_size_up</c>).</summary>
    public int StepSizeUp { get; }

    /// <summary>Periods in the falling half of a cycle (<c>step_size_down</c>).</summary>
    public int StepSizeDown { get; }

    /// <summary>The amplitude policy (<c>mode</c>).</summary>
    public CyclicMode Mode { get; }

    /// <summary>Base of exp_range's scale γ^k (<c>gamma</c>).</summary>
    public double Gamma { get; }

    /// <summary>Whether the momentum is cycled (<c>cycle_momentum</c>).</summary>
    public bool CycleMomentum { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch)
    {
        var (factor, scale) = Position(epoch);
        double baseHeight = (_maxLrs[group] - BaseLrs[group]) * factor;
        return BaseLrs[group] + baseHeight * scale;
    }

    /// <inheritdoc />
    protected override void OnEpoch(int epoch)
    {
        if (!CycleMomentum) return;
        var (factor, scale) = Position(epoch);
        var groups = MomentumGroups(Optimizer);
        for (int g = 0; g < GroupCount; g++)
        {
            double baseHeight = (_maxMomentums[g] - _baseMomentums[g]) * factor;
            groups[g].MomentumCoefficient = _maxMomentums[g] - baseHeight * scale;
        }
    }

    private (double Factor, double Scale) Position(int epoch)
    {
        double ratio = epoch / _totalSize;
        double cycle = Math.Floor(1 + ratio);
        double x = 1.0 + ratio - cycle;
        double factor = x <= _stepRatio ? x / _stepRatio : (x - 1) / (_stepRatio - 1);
        double scale = Mode switch
        {
            CyclicMode.Triangular => 1.0,
            CyclicMode.Triangular2 => 1 / Math.Pow(2.0, cycle - 1),
            _ => Math.Pow(Gamma, epoch),
        };
        return (factor, scale);
    }

    private static Optimizer StartAtBaseLr(Optimizer optimizer, IReadOnlyList<double> baseLr)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(baseLr);
        var groups = optimizer.GroupOptions;
        if (baseLr.Count != groups.Count) throw new ArgumentException($"expected {groups.Count} values for base_lr, got {baseLr.Count}");
        for (int g = 0; g < groups.Count; g++) groups[g].Lr = baseLr[g];
        return optimizer;
    }
}
