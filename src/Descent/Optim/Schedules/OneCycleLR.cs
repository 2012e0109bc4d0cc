namespace Descent.Optim.Schedules;

/// <summary>How <see cref="OneCycleLR"/> moves between two values (<c>anneal_strategy</c>).</summary>
public enum AnnealStrategy
{
    /// <summary><c>'cos'</c>: v = end + (start − end)/2 · (1 + cos(π·pct)).</summary>
    Cos,
    /// <summary><c>'linear'</c>: v = start + (end − start)·pct.</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy, like <c>torch.optim.lr_scheduler.OneCycleLR</c>: the lr rises from max_lr/div_factor to max_lr,
/// then falls to max_lr/(div_factor·final_div_factor), while the momentum (SGD's momentum, the Adam family's β₁) moves
/// the opposite way between max_momentum and base_momentum.
/// </summary>
/// <remarks>
/// <para>
/// N = total_steps (or epochs·steps_per_epoch); initial = max_lr/div_factor, min = initial/final_div_factor. Phases,
/// with end indices as floats: two-phase: [0, pct_start·N − 1] initial → max_lr (momentum max → base), then up to
/// N − 1: max_lr → min (momentum base → max). Three-phase: initial → max_lr up to pct_start·N − 1, max_lr → initial up
/// to 2·pct_start·N − 2 (momentum base → max), initial → min up to N − 1 (momentum stays max). At period k in a phase
/// from <c>start</c> to <c>end</c>, pct = (k − start)/(end − start) and each value is annealed with
/// <see cref="AnnealStrategy"/>. Step may be called N times after construction; one more throws, as PyTorch.
/// </para>
/// <para>
/// Defaults: pct_start = 0.3, anneal 'cos', cycle_momentum = true, base_momentum = 0.85, max_momentum = 0.95,
/// div_factor = 25, final_div_factor = 1e4, three_phase = false. The constructor sets every group's momentum to
/// max_momentum and records max_lr/div_factor as the optimizer's initial lr (both unconditional, as PyTorch).
/// Not chainable. With cycle_momentum the optimizer's options must implement <see cref="IMomentumOptions"/>.
/// </para>
/// <para>Paper: Smith &amp; Topin, "Super-Convergence: Very Fast Training of Neural Networks Using Large Learning Rates", 2017.</para>
/// </remarks>
public sealed class OneCycleLR : LRScheduler
{
    private readonly record struct Phase(double EndStep, int StartLr, int EndLr, int StartMomentum, int EndMomentum);

    // Value slots of a phase: 0 initial lr, 1 max lr, 2 min lr; momentum 0 max, 1 base.
    private readonly Phase[] _phases;
    private readonly double[][] _lrs;
    private readonly double[] _maxMomentum, _baseMomentum;

    /// <summary>Like <c>OneCycleLR(optimizer, max_lr, total_steps, epochs, steps_per_epoch, ...)</c> with one max_lr for every group.</summary>
    public OneCycleLR(Optimizer optimizer, double maxLr, int? totalSteps = null, int? epochs = null, int? stepsPerEpoch = null,
        double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true,
        double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : this(optimizer, Enumerable.Repeat(maxLr, GroupsOf(optimizer)).ToArray(), totalSteps, epochs, stepsPerEpoch, pctStart,
            annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase) { }

    /// <summary>Like <c>OneCycleLR(optimizer, [max_lr0, max_lr1, ...], ...)</c>: one max_lr per group.</summary>
    public OneCycleLR(Optimizer optimizer, IReadOnlyList<double> maxLr, int? totalSteps = null, int? epochs = null, int? stepsPerEpoch = null,
        double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true,
        double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(maxLr);
        if (totalSteps is null && epochs is null && stepsPerEpoch is null)
            throw new ArgumentException("You must define either total_steps OR (epochs AND steps_per_epoch)");
        if (totalSteps is { } n)
        {
            if (n <= 0) throw new ArgumentException($"Expected positive integer total_steps, but got {n}");
            TotalSteps = n;
        }
        else
        {
            if (epochs is not > 0) throw new ArgumentException($"Expected positive integer epochs, but got {PyInt(epochs)}");
            if (stepsPerEpoch is not > 0) throw new ArgumentException($"Expected positive integer steps_per_epoch, but got {PyInt(stepsPerEpoch)}");
            TotalSteps = checked(epochs.Value * stepsPerEpoch.Value);
        }
        _phases = threePhase
            ?
            [
                new Phase(pctStart * TotalSteps - 1, 0, 1, 0, 1),
                new Phase(2 * pctStart * TotalSteps - 2, 1, 0, 1, 0),
                new Phase(TotalSteps - 1, 0, 2, 0, 0),
            ]
            :
            [
                new Phase(pctStart * TotalSteps - 1, 0, 1, 0, 1),
                new Phase(TotalSteps - 1, 1, 2, 1, 0),
            ];
        if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentException($"Expected float between 0 and 1 pct_start, but got {Py(pctStart)}");
        if (!Enum.IsDefined(annealStrategy))
            throw new ArgumentException($"anneal_strategy must by one of 'cos' or 'linear', instead got {annealStrategy}");
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            // PyTorch divides by zero (and fails) at the first period that falls into an empty phase.
            if (_phases[i].EndStep == start)
                throw new ArgumentException($"OneCycleLR phase {i + 1} spans no steps with total_steps={TotalSteps} and pct_start={Py(pctStart)}; use more steps or another pct_start");
            start = _phases[i].EndStep;
        }
        if (maxLr.Count != GroupCount) throw new ArgumentException($"expected {GroupCount} values for max_lr, got {maxLr.Count}");
        if (!(divFactor > 0) || !(finalDivFactor > 0))
            throw new ArgumentException($"OneCycleLR div_factor and final_div_factor must be positive, but got {Py(divFactor)} and {Py(finalDivFactor)}");
        PctStart = pctStart;
        Strategy = annealStrategy;
        CycleMomentum = cycleMomentum;
        ThreePhase = threePhase;

        var initial = new double[GroupCount];
        _lrs = new double[GroupCount][];
        for (int g = 0; g < GroupCount; g++)
        {
            if (!(maxLr[g] >= 0) || double.IsInfinity(maxLr[g])) throw new ArgumentException($"OneCycleLR max_lr must be a finite number ≥ 0, but got {Py(maxLr[g])}");
            initial[g] = maxLr[g] / divFactor;
            _lrs[g] = [initial[g], maxLr[g], initial[g] / finalDivFactor];
        }
        SetInitialLrs(optimizer, initial);
        SetBaseLrs(initial);

        _maxMomentum = Enumerable.Repeat(maxMomentum, GroupCount).ToArray();
        _baseMomentum = Enumerable.Repeat(baseMomentum, GroupCount).ToArray();
        if (cycleMomentum)
            foreach (var m in MomentumGroups(optimizer)) m.MomentumCoefficient = maxMomentum;
        InitialStep();
    }

    /// <summary>Number of periods in the cycle (N).</summary>
    public int TotalSteps { get; }

    /// <summary>Fraction of the cycle spent raising the lr (<c>pct_start</c>).</summary>
    public double PctStart { get; }

    /// <summary>The annealing function (<c>anneal_strategy</c>).</summary>
    public AnnealStrategy Strategy { get; }

    /// <summary>Whether the momentum is cycled (<c>cycle_momentum</c>).</summary>
    public bool CycleMomentum { get; }

    /// <summary>Whether the schedule has the paper's third phase (<c>three_phase</c>).</summary>
    public bool ThreePhase { get; }

    /// <inheritdoc />
    public override void Step()
    {
        if (LastEpoch + 1 > TotalSteps)
            throw new InvalidOperationException($"Tried to step {LastEpoch + 2} times. The specified number of total steps is {TotalSteps}");
        base.Step();
    }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch)
    {
        var (phase, pct) = Locate(epoch);
        return Anneal(_lrs[group][phase.StartLr], _lrs[group][phase.EndLr], pct);
    }

    /// <inheritdoc />
    protected override void OnEpoch(int epoch)
    {
        if (!CycleMomentum) return;
        var (phase, pct) = Locate(epoch);
        var groups = MomentumGroups(Optimizer);
        for (int g = 0; g < GroupCount; g++)
        {
            double start = phase.StartMomentum == 0 ? _maxMomentum[g] : _baseMomentum[g];
            double end = phase.EndMomentum == 0 ? _maxMomentum[g] : _baseMomentum[g];
            groups[g].MomentumCoefficient = Anneal(start, end, pct);
        }
    }

    private (Phase Phase, double Pct) Locate(int step)
    {
        double start = 0;
        int i = 0;
        for (; i < _phases.Length - 1 && step > _phases[i].EndStep; i++) start = _phases[i].EndStep;
        return (_phases[i], (step - start) / (_phases[i].EndStep - start));
    }

    private double Anneal(double start, double end, double pct) => Strategy == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;

    private static string PyInt(int? value) => value is { } v ? Py(v) : "None";
}
