namespace Descent.Optim.Schedules;

/// <summary>
/// Moves the momentum coefficient (SGD's and RMSprop's momentum μ, the Adam family's β₁) over time; the lr is left alone.
/// </summary>
/// <remarks>
/// <code>
/// μ_k = μ_start + (μ_end − μ_start) · min(k, N) / N     (linear form)
/// μ_k = f(k)                                          (function form)
/// </code>
/// The lectures suggest lowering μ as training proceeds (Goodfellow, Bengio &amp; Courville, "Deep Learning", §8.3.2);
/// the linear form then has μ_start &gt; μ_end. PyTorch has no such class: the closest is OneCycleLR's momentum
/// cycling. Like the lr schedules, the constructor applies period 0 and each <see cref="LRScheduler.Step()"/> the next
/// period; combine it with an lr schedule through <see cref="ChainedScheduler"/> or by stepping both. The optimizer's
/// options must implement <see cref="IMomentumOptions"/>; values must lie in [0, 1).
/// </remarks>
public sealed class MomentumSchedule : LRScheduler
{
    private const string NoMomentum = "MomentumSchedule needs an optimizer with a momentum or beta1 (options implementing IMomentumOptions)";
    private readonly Func<int, double> _momentumAt;
    private double[] _lastMomentum = [];

    /// <summary>A linear change from <paramref name="start"/> to <paramref name="end"/> over <paramref name="totalSteps"/> periods, then constant.</summary>
    public MomentumSchedule(Optimizer optimizer, double start, double end, int totalSteps) : base(optimizer, recordsInitialLr: false)
    {
        MomentumGroups(optimizer, NoMomentum);
        CheckMomentum(start, "start");
        CheckMomentum(end, "end");
        if (totalSteps < 1) throw new ArgumentException($"MomentumSchedule total_steps must be a positive integer, but got {totalSteps}");
        _momentumAt = k => start + (end - start) * Math.Min(k, totalSteps) / totalSteps;
        InitialStep();
    }

    /// <summary>The momentum of period k given by <paramref name="momentumAt"/>.</summary>
    public MomentumSchedule(Optimizer optimizer, Func<int, double> momentumAt) : base(optimizer, recordsInitialLr: false)
    {
        ArgumentNullException.ThrowIfNull(momentumAt);
        MomentumGroups(optimizer, NoMomentum);
        _momentumAt = momentumAt;
        InitialStep();
    }

    /// <summary>Each group's momentum coefficient as this schedule last set it.</summary>
    public IReadOnlyList<double> GetLastMomentum() => (double[])_lastMomentum.Clone();

    /// <inheritdoc />
    protected override bool DrivesLr => false;

    /// <inheritdoc />
    public override void Step()
    {
        int epoch = LastEpoch + 1;
        OnEpoch(epoch);
        LastEpoch = epoch;
        SyncLastLrs();
    }

    /// <inheritdoc />
    protected override void OnEpoch(int epoch)
    {
        double momentum = _momentumAt(epoch);
        CheckMomentum(momentum, $"value at period {epoch}");
        var groups = MomentumGroups(Optimizer, NoMomentum);
        foreach (var g in groups) g.MomentumCoefficient = momentum;
        _lastMomentum = Enumerable.Repeat(momentum, groups.Length).ToArray();
    }

    /// <summary>Back to period 0.</summary>
    internal override void Restart() => InitialStep();

    /// <inheritdoc />
    internal override void Reinitialize() => InitialStep();

    private static void CheckMomentum(double value, string what)
    {
        if (!(value >= 0 && value < 1)) throw new ArgumentException($"MomentumSchedule {what} must be in [0, 1), but got {Py(value)}");
    }
}
