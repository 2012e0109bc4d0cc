using System.Globalization;
using System.Runtime.CompilerServices;

namespace Descent.Optim.Schedules;

/// <summary>
/// Base of the learning-rate schedules, like <c>torch.optim.lr_scheduler._LRScheduler</c> (1.13): it sets the lr
/// of every parameter group of an <see cref="Optim.Optimizer"/> as a function of the number of <see cref="Step()"/>
/// calls. Whether a step is an iteration or an epoch is the caller's choice.
/// </summary>
/// <remarks>
/// <para>
/// Protocol (as PyTorch): the constructor remembers each group's <em>initial lr</em> (the lr the group had when the
/// first schedule was attached to the optimizer, PyTorch's <c>group['initial_lr']</c>) as <see cref="BaseLrs"/> and
/// performs the initial step, so after construction <see cref="LastEpoch"/> is 0 and the optimizer already holds the
/// lr for period 0. Each <see cref="Step()"/> increments <see cref="LastEpoch"/> and writes the lr for that period.
/// Canonical loop: <c>for k: train with lr_k; optimizer.Step(); scheduler.Step();</c>.
/// </para>
/// <para>
/// Values: a schedule on its own writes its closed form, the lr as a pure function of the step computed from the base
/// lrs (equal to PyTorch's recursive form within 1e-15 relative). PyTorch's schedules are <em>chainable</em>: most
/// compute the new lr from the group's current lr, so another schedule (or user code) that changed the lr keeps its
/// effect. When a group's lr is not what this schedule wrote last, the schedule switches to PyTorch's recursive
/// update from the current lr for that group, which makes <see cref="ChainedScheduler"/> and hand-written lr changes
/// behave exactly as in PyTorch. <see cref="CosineAnnealingLR"/> and <see cref="MultiplicativeLR"/> always use
/// PyTorch's recursion (the cosine recursion drifts from its closed form by up to 1e-13 and PyTorch's numbers win).
/// </para>
/// <para>
/// State: <see cref="StateDict"/> holds the step counter, the base lrs, the lrs last written and the schedule's own
/// mutable fields (e.g. ReduceLROnPlateau's best value). <see cref="LoadStateDict"/> restores them and writes the
/// saved lrs back into the optimizer, so a fresh optimizer and schedule resume the same lr sequence.
/// </para>
/// </remarks>
public abstract class LRScheduler
{
    private static readonly ConditionalWeakTable<Optimizer, double[]> InitialLrTable = new();

    private double[] _baseLrs;
    private double[] _lastLrs;
    private double[] _written;
    private readonly bool[] _onClosedForm;

    /// <summary>
    /// Attaches to <paramref name="optimizer"/>. With <paramref name="recordsInitialLr"/> the group lrs are recorded as
    /// the optimizer's initial lrs unless a schedule recorded them before (PyTorch's <c>setdefault('initial_lr')</c>),
    /// and <see cref="BaseLrs"/> are those initial lrs; otherwise <see cref="BaseLrs"/> are the current lrs.
    /// Derived constructors call <see cref="InitialStep"/> once their fields are set.
    /// </summary>
    protected LRScheduler(Optimizer optimizer, bool recordsInitialLr = true)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        var current = CurrentLrs(optimizer);
        GroupCount = current.Length;
        _baseLrs = recordsInitialLr ? (double[])InitialLrTable.GetValue(optimizer, _ => (double[])current.Clone()).Clone() : (double[])current.Clone();
        _written = (double[])_baseLrs.Clone();
        _onClosedForm = Enumerable.Repeat(true, GroupCount).ToArray();
        _lastLrs = current;
        LastEpoch = -1;
    }

    /// <summary>The optimizer whose group lrs this schedule sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Each group's base lr (PyTorch's <c>base_lrs</c>): the lr the schedule's formulas scale.</summary>
    public IReadOnlyList<double> BaseLrs => _baseLrs;

    /// <summary>
    /// Number of <see cref="Step()"/> calls since construction (PyTorch's <c>last_epoch</c>): the index of the period
    /// whose lr the optimizer holds now.
    /// </summary>
    public int LastEpoch { get; protected set; }

    /// <summary>True when the schedule steps on a metric (<see cref="ReduceLROnPlateau"/>): call <see cref="Step(double)"/>.</summary>
    public virtual bool UsesMetric => false;

    /// <summary>Number of parameter groups.</summary>
    protected int GroupCount { get; }

    /// <summary>Each group's lr as this schedule last set it, like <c>get_last_lr()</c>.</summary>
    public IReadOnlyList<double> GetLastLr() => (double[])_lastLrs.Clone();

    /// <summary>Advances one period and writes its lr into every group, like <c>scheduler.step()</c>.</summary>
    public virtual void Step()
    {
        LastEpoch++;
        ApplyFormula();
    }

    /// <summary>Advances one period given the monitored metric; only schedules with <see cref="UsesMetric"/> take one.</summary>
    public virtual void Step(double metric) =>
        throw new InvalidOperationException($"{GetType().Name} does not step on a metric: call Step()");

    /// <summary>The lr of <paramref name="group"/> at <paramref name="epoch"/> from <see cref="BaseLrs"/>; the base lr (a constant schedule) unless overridden.</summary>
    protected virtual double ClosedFormLr(int group, int epoch) => _baseLrs[group];

    /// <summary>
    /// PyTorch's chainable update (its <c>get_lr</c>) from the group's current lr; schedules that overwrite the lr
    /// (LambdaLR, CyclicLR, OneCycleLR, ...) return their closed form.
    /// </summary>
    protected virtual double RecursiveLr(int group, int epoch, double currentLr) => ClosedFormLr(group, epoch);

    /// <summary>False for schedules that leave the lr alone (<see cref="MomentumSchedule"/>): loading their state writes no lr.</summary>
    protected virtual bool DrivesLr => true;

    /// <summary>True for schedules that always take PyTorch's recursive form.</summary>
    protected virtual bool FollowsRecursion => false;

    /// <summary>The lr a restart at epoch 0 writes (PyTorch's <c>step(0)</c> inside SequentialLR): the closed form at 0.</summary>
    protected virtual double RestartLr(int group, double currentLr) => ClosedFormLr(group, 0);

    /// <summary>Sets what follows from the epoch besides the lr (momentum cycling); called after each lr update.</summary>
    protected virtual void OnEpoch(int epoch) { }

    /// <summary>The constructor's initial step: from <see cref="LastEpoch"/> −1 to 0.</summary>
    protected void InitialStep()
    {
        LastEpoch = -1;
        Step();
    }

    /// <summary>Replaces the base lrs (CyclicLR's base_lr, OneCycleLR's max_lr/div_factor).</summary>
    protected void SetBaseLrs(IReadOnlyList<double> baseLrs) => _baseLrs = baseLrs.ToArray();

    /// <summary>Records <paramref name="initialLrs"/> as the optimizer's initial lrs (OneCycleLR overwrites them, as PyTorch).</summary>
    protected static void SetInitialLrs(Optimizer optimizer, IReadOnlyList<double> initialLrs) =>
        InitialLrTable.AddOrUpdate(optimizer, initialLrs.ToArray());

    /// <summary>The optimizer's initial lrs: recorded by the first schedule attached to it, else its current lrs.</summary>
    protected static double[] InitialLrs(Optimizer optimizer) =>
        InitialLrTable.TryGetValue(optimizer, out var lrs) ? (double[])lrs.Clone() : CurrentLrs(optimizer);

    /// <summary>Writes one lr per group into the optimizer and remembers them as the last lrs.</summary>
    protected void WriteLrs(IReadOnlyList<double> lrs)
    {
        var groups = Optimizer.GroupOptions;
        for (int g = 0; g < GroupCount; g++) groups[g].Lr = lrs[g];
        _lastLrs = lrs.ToArray();
        _written = (double[])_lastLrs.Clone();
    }

    /// <summary>Takes the optimizer's current lrs as this schedule's last lrs (for schedules that only sometimes write).</summary>
    protected void SyncLastLrs()
    {
        _lastLrs = CurrentLrs(Optimizer);
        _written = (double[])_lastLrs.Clone();
    }

    /// <summary>Number of groups of <paramref name="optimizer"/> (0 for null, which the base constructor then refuses).</summary>
    protected static int GroupsOf(Optimizer? optimizer) => optimizer?.GroupOptions.Count ?? 0;

    /// <summary>The lrs the optimizer's groups hold now.</summary>
    protected static double[] CurrentLrs(Optimizer optimizer) => optimizer.GroupOptions.Select(g => g.Lr).ToArray();

    /// <summary>Each group's options as <see cref="IMomentumOptions"/>; throws PyTorch's error (or <paramref name="error"/>) when a group has none.</summary>
    protected static IMomentumOptions[] MomentumGroups(Optimizer optimizer, string error = "optimizer must support momentum with `cycle_momentum` option enabled")
    {
        var groups = optimizer.GroupOptions;
        var result = new IMomentumOptions[groups.Count];
        for (int g = 0; g < groups.Count; g++) result[g] = groups[g] as IMomentumOptions ?? throw new ArgumentException(error);
        return result;
    }

    private void ApplyFormula()
    {
        var groups = Optimizer.GroupOptions;
        var lrs = new double[GroupCount];
        for (int g = 0; g < GroupCount; g++)
        {
            double current = groups[g].Lr;
            bool closed = !FollowsRecursion && _onClosedForm[g] && current.Equals(_written[g]);
            lrs[g] = closed ? ClosedFormLr(g, LastEpoch) : RecursiveLr(g, LastEpoch, current);
            _onClosedForm[g] = closed;
        }
        WriteLrs(lrs);
        OnEpoch(LastEpoch);
    }

    /// <summary>PyTorch's <c>step(0)</c>, used by SequentialLR at a milestone: back to epoch 0 at the closed form from the base lrs.</summary>
    internal virtual void Restart()
    {
        LastEpoch = 0;
        var current = CurrentLrs(Optimizer);
        var lrs = new double[GroupCount];
        for (int g = 0; g < GroupCount; g++) lrs[g] = RestartLr(g, current[g]);
        Array.Fill(_onClosedForm, true);
        WriteLrs(lrs);
        OnEpoch(0);
    }

    /// <summary>Back to the state right after construction, redoing the initial step on the current lrs.</summary>
    internal virtual void Reinitialize()
    {
        _written = (double[])_baseLrs.Clone();
        Array.Fill(_onClosedForm, true);
        InitialStep();
    }

    /// <summary>Moves the epoch counter back by one without touching the lrs (SequentialLR's construction).</summary>
    internal void RewindOne() => LastEpoch--;

    /// <summary>Schedules this one drives (SequentialLR, ChainedScheduler, WarmupSchedule), saved with its state.</summary>
    protected virtual IReadOnlyList<LRScheduler> Children => [];

    /// <summary>The schedule's own mutable fields for <see cref="StateDict"/>.</summary>
    protected virtual IReadOnlyDictionary<string, double> SaveFields() => new Dictionary<string, double>();

    /// <summary>Restores what <see cref="SaveFields"/> returned.</summary>
    protected virtual void LoadFields(IReadOnlyDictionary<string, double> fields) { }

    /// <summary>The schedule's state, like <c>scheduler.state_dict()</c>.</summary>
    public ScheduleState StateDict() =>
        new(GetType().Name, LastEpoch, (double[])_baseLrs.Clone(), (double[])_lastLrs.Clone(), SaveFields(), Children.Select(c => c.StateDict()).ToList());

    /// <summary>
    /// Restores what <see cref="StateDict"/> returned on a schedule built with the same arguments, and writes the saved
    /// lrs into the optimizer; the lr sequence then continues as if never interrupted.
    /// </summary>
    public void LoadStateDict(ScheduleState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Scheduler != GetType().Name)
            throw new ArgumentException($"cannot load a {state.Scheduler} state into {GetType().Name}");
        if (state.BaseLrs.Count != GroupCount || state.LastLrs.Count != GroupCount)
            throw new ArgumentException($"the saved {state.Scheduler} state has {state.BaseLrs.Count} parameter groups but the optimizer has {GroupCount}");
        var children = Children;
        if (state.Children.Count != children.Count)
            throw new ArgumentException($"the saved {state.Scheduler} state has {state.Children.Count} child schedules but this one has {children.Count}");
        for (int i = 0; i < children.Count; i++) children[i].LoadStateDict(state.Children[i]);
        LastEpoch = state.LastEpoch;
        _baseLrs = state.BaseLrs.ToArray();
        LoadFields(state.Fields);
        if (DrivesLr) WriteLrs(state.LastLrs);
        else SyncLastLrs();
        for (int g = 0; g < GroupCount; g++)
            _onClosedForm[g] = children.Count == 0 && !FollowsRecursion && _lastLrs[g].Equals(ClosedFormLr(g, LastEpoch));
        if (children.Count == 0) OnEpoch(LastEpoch);
    }

    /// <summary>Formats a value as Python prints it (<c>repr</c>), for PyTorch's error messages.</summary>
    internal static string Py(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        string s = value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
        if (!s.Contains('.') && !s.Contains('e')) s += ".0";
        return s;
    }

    /// <summary>Formats an integer as Python prints it.</summary>
    internal static string Py(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A schedule's state as data, like <c>scheduler.state_dict()</c>: the kind of schedule, the step counter
/// (<c>last_epoch</c>), the base lrs, the lrs last written, the schedule's own mutable fields, and the states of the
/// schedules it drives (SequentialLR, ChainedScheduler, WarmupSchedule).
/// </summary>
public sealed record ScheduleState(
    string Scheduler,
    int LastEpoch,
    IReadOnlyList<double> BaseLrs,
    IReadOnlyList<double> LastLrs,
    IReadOnlyDictionary<string, double> Fields,
    IReadOnlyList<ScheduleState> Children);
