namespace Descent.Optim.Schedules;

/// <summary>
/// Runs schedules one after another, switching at milestones, like <c>torch.optim.lr_scheduler.SequentialLR</c> (1.13).
/// </summary>
/// <remarks>
/// <para>
/// Construction resets every group's lr to its initial lr, moves every child's epoch counter back by one (undoing
/// their constructors' steps) and redoes only the first child's initial step. Each <see cref="Step()"/> advances the
/// counter k; the active child is the one after the last milestone ≤ k. At a milestone the new child restarts at its
/// own epoch 0 (PyTorch's <c>step(0)</c>: its closed form at 0 from the base lrs — MultiplicativeLR keeps the current
/// lr); otherwise the active child steps. So each child counts its own periods from 0 at its milestone, e.g.
/// <c>SequentialLR([LinearLR(s, 1, N), CosineAnnealingLR(T)], [N])</c> is a linear warm-up over N periods followed by a
/// cosine over T periods starting at the base lr (see <see cref="WarmupSchedule"/>).
/// </para>
/// <para>
/// The children must drive this optimizer; ReduceLROnPlateau cannot be one (it steps on a metric; a warm-up in front
/// of it is <see cref="WarmupSchedule"/>). A SequentialLR, ChainedScheduler or WarmupSchedule child restarts from its
/// construction state at its milestone (PyTorch 1.13 fails there; later versions restart composites).
/// </para>
/// </remarks>
public sealed class SequentialLR : LRScheduler
{
    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Like <c>SequentialLR(optimizer, schedulers, milestones)</c>: milestones has one entry fewer than schedulers.</summary>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedulers.Count == 0) throw new ArgumentException("SequentialLR needs at least one scheduler");
        for (int i = 0; i < schedulers.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(schedulers[i]);
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
                throw new ArgumentException($"Sequential Schedulers expects all schedulers to belong to the same optimizer, but got schedulers at index {i} to be different than the optimizer passed in.");
            if (schedulers[i].UsesMetric)
                throw new ArgumentException($"SequentialLR cannot drive {schedulers[i].GetType().Name} (index {i}): it steps on a metric");
        }
        if (milestones.Count != schedulers.Count - 1)
            throw new ArgumentException("Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, " +
                $"but got number of schedulers {schedulers.Count} and the number of milestones to be equal to {milestones.Count}");
        for (int i = 1; i < milestones.Count; i++)
            if (milestones[i] < milestones[i - 1])
                throw new ArgumentException($"SequentialLR milestones must be in non-decreasing order, but got [{string.Join(", ", milestones)}]");
        _schedulers = schedulers.ToArray();
        _milestones = milestones.ToArray();

        LastEpoch = 0;
        WriteLrs(InitialLrs(optimizer));
        foreach (var s in _schedulers) s.RewindOne();
        var first = _schedulers[0];
        if (first.LastEpoch < 0) first.Reinitialize();
        else first.Step();
        SyncLastLrs();
    }

    /// <summary>The children, in order.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;

    /// <summary>The periods at which the next child takes over.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <inheritdoc />
    protected override IReadOnlyList<LRScheduler> Children => _schedulers;

    /// <inheritdoc />
    public override void Step()
    {
        int epoch = LastEpoch + 1;
        int index = 0;
        while (index < _milestones.Length && _milestones[index] <= epoch) index++;
        var active = _schedulers[index];
        if (index > 0 && _milestones[index - 1] == epoch) active.Restart();
        else active.Step();
        LastEpoch = epoch;
        SyncLastLrs();
    }

    /// <summary>Back to the construction state: initial lrs, the first child at its epoch 0.</summary>
    internal override void Restart()
    {
        LastEpoch = 0;
        WriteLrs(InitialLrs(Optimizer));
        _schedulers[0].Reinitialize();
        SyncLastLrs();
    }

    /// <inheritdoc />
    internal override void Reinitialize() => Restart();
}
