namespace Descent.Optim.Schedules;

/// <summary>
/// A linear warm-up in front of any schedule: the lr rises linearly from start_factor·base_lr over
/// <c>warmupSteps</c> periods, then <c>after</c> runs from its own period 0.
/// </summary>
/// <remarks>
/// <code>
/// lr_k = base_lr · (s + (1 − s) · k / N)     for k &lt; N
/// lr_k = after's lr at its period k − N      for k ≥ N
/// </code>
/// In PyTorch terms this is <c>SequentialLR(optimizer, [LinearLR(optimizer, start_factor=s, end_factor=1.0,
/// total_iters=N), after], milestones=[N])</c>: base_lr is the group's initial lr, and at period N the schedule after
/// the warm-up restarts at its epoch 0 from the base lrs (its closed form at 0, e.g. base_lr for a cosine or a step
/// decay). The warm-up lrs are LinearLR's closed form, equal to PyTorch's recursive LinearLR within 1e-15 relative.
/// Unlike SequentialLR, <c>after</c> may be a <see cref="ReduceLROnPlateau"/>: the warm-up then ignores the metrics
/// it is given, and at period N the lr goes back to the plateau schedule's base lrs with fresh counters.
/// Default: s = 1/3 (LinearLR's default start factor); s may be 0 (the first period then trains with lr 0).
/// </remarks>
public sealed class WarmupSchedule : LRScheduler
{
    private readonly LRScheduler _after;

    /// <summary>A warm-up over <paramref name="warmupSteps"/> periods from <paramref name="startFactor"/>·base_lr, then <paramref name="after"/>.</summary>
    public WarmupSchedule(Optimizer optimizer, int warmupSteps, LRScheduler after, double startFactor = 1.0 / 3) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (!ReferenceEquals(after.Optimizer, optimizer))
            throw new ArgumentException("WarmupSchedule: the schedule after the warm-up must drive the same optimizer");
        if (warmupSteps < 1) throw new ArgumentException($"WarmupSchedule warmup_steps must be a positive integer, but got {warmupSteps}");
        if (!(startFactor >= 0 && startFactor <= 1)) throw new ArgumentException($"WarmupSchedule start_factor must be in [0, 1], but got {Py(startFactor)}");
        _after = after;
        WarmupSteps = warmupSteps;
        StartFactor = startFactor;
        Restart();
    }

    /// <summary>Length of the warm-up in periods (N).</summary>
    public int WarmupSteps { get; }

    /// <summary>Fraction of the base lr at period 0 (s).</summary>
    public double StartFactor { get; }

    /// <summary>The schedule that runs after the warm-up.</summary>
    public LRScheduler After => _after;

    /// <inheritdoc />
    public override bool UsesMetric => _after.UsesMetric;

    /// <inheritdoc />
    protected override IReadOnlyList<LRScheduler> Children => [_after];

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch) =>
        BaseLrs[group] * (StartFactor + (1.0 - StartFactor) * Math.Min(WarmupSteps, epoch) / WarmupSteps);

    /// <inheritdoc />
    public override void Step()
    {
        int epoch = LastEpoch + 1;
        if (epoch < WarmupSteps) WriteWarmup(epoch);
        else
        {
            if (epoch == WarmupSteps) _after.Restart();
            else _after.Step();
            SyncLastLrs();
        }
        LastEpoch = epoch;
    }

    /// <summary>One period: the metric goes to the schedule after the warm-up once it runs.</summary>
    public override void Step(double metric)
    {
        if (LastEpoch + 1 <= WarmupSteps)
        {
            Step();
            return;
        }
        _after.Step(metric);
        SyncLastLrs();
        LastEpoch++;
    }

    /// <summary>Back to period 0 of the warm-up.</summary>
    internal override void Restart()
    {
        WriteWarmup(0);
        LastEpoch = 0;
    }

    /// <inheritdoc />
    internal override void Reinitialize() => Restart();

    private void WriteWarmup(int epoch)
    {
        var lrs = new double[GroupCount];
        for (int g = 0; g < GroupCount; g++) lrs[g] = ClosedFormLr(g, epoch);
        WriteLrs(lrs);
    }
}
