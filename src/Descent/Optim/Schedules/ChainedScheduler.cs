namespace Descent.Optim.Schedules;

/// <summary>
/// Steps several schedules at once, like <c>torch.optim.lr_scheduler.ChainedScheduler</c>: each <see cref="Step()"/>
/// calls every child's step in order.
/// </summary>
/// <remarks>
/// The effects multiply for chainable children (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR,
/// PolynomialLR, CosineAnnealingLR, MultiplicativeLR), which update the lr the previous child left: e.g.
/// ConstantLR(0.1, 4) then ExponentialLR(0.9) gives lr_k = base_lr · (0.1 if k &lt; 4 else 1) · 0.9^k. A child that
/// overwrites the lr (LambdaLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, ...) discards what came before it.
/// Construction changes nothing: the children's constructors already chained their initial steps.
/// ReduceLROnPlateau cannot be a child. <see cref="LRScheduler.LastEpoch"/> counts this scheduler's steps (PyTorch's
/// ChainedScheduler keeps no counter of its own).
/// </remarks>
public sealed class ChainedScheduler : LRScheduler
{
    private readonly LRScheduler[] _schedulers;

    /// <summary>Like <c>ChainedScheduler(schedulers)</c>.</summary>
    public ChainedScheduler(IReadOnlyList<LRScheduler> schedulers) : base(FirstOptimizer(schedulers))
    {
        for (int i = 0; i < schedulers.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(schedulers[i]);
            if (!ReferenceEquals(schedulers[i].Optimizer, Optimizer))
                throw new ArgumentException($"ChainedScheduler expects all schedulers to belong to the same optimizer, but got schedulers at index 0 and {i} to be different");
            if (schedulers[i].UsesMetric)
                throw new ArgumentException($"ChainedScheduler cannot drive {schedulers[i].GetType().Name} (index {i}): it steps on a metric");
        }
        _schedulers = schedulers.ToArray();
        LastEpoch = 0;
        SyncLastLrs();
    }

    /// <summary>The children, in the order they step.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;

    /// <inheritdoc />
    protected override IReadOnlyList<LRScheduler> Children => _schedulers;

    /// <inheritdoc />
    public override void Step()
    {
        foreach (var s in _schedulers) s.Step();
        LastEpoch++;
        SyncLastLrs();
    }

    /// <summary>Back to the construction state: initial lrs, then every child's initial step in order.</summary>
    internal override void Restart()
    {
        WriteLrs(InitialLrs(Optimizer));
        Reinitialize();
    }

    /// <summary>Every child's initial step again, in order, on the current lrs.</summary>
    internal override void Reinitialize()
    {
        foreach (var s in _schedulers) s.Reinitialize();
        LastEpoch = 0;
        SyncLastLrs();
    }

    private static Optimizer FirstOptimizer(IReadOnlyList<LRScheduler> schedulers)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        if (schedulers.Count == 0) throw new ArgumentException("ChainedScheduler needs at least one scheduler");
        ArgumentNullException.ThrowIfNull(schedulers[0]);
        return schedulers[0].Optimizer;
    }
}
