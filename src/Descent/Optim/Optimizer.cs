using Descent.Kernels;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Hyperparameters every optimizer has, per parameter group. Subclasses are records so that a group can
/// override a few values with <c>defaults with { Lr = 0.1 }</c>. <see cref="Lr"/> is read at every step,
/// so a schedule that changes it takes effect at once, as in PyTorch.
/// </summary>
public abstract record OptimizerOptions
{
    /// <summary>Learning rate (<c>lr</c>).</summary>
    public double Lr { get; set; }

    /// <summary>Weight decay (<c>weight_decay</c>); what it means (L2 or decoupled) is the optimizer's rule.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Throws with PyTorch's wording when a value is out of range.</summary>
    public virtual void Validate()
    {
        if (!(Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(Lr), $"Invalid learning rate: {Fmt(Lr)}");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), $"Invalid weight_decay value: {Fmt(WeightDecay)}");
    }

    /// <summary>Formats a hyperparameter as Python prints it.</summary>
    protected static string Fmt(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture).Replace("E", "e");
}

/// <summary>A set of parameters sharing hyperparameters, like one entry of <c>optimizer.param_groups</c>.</summary>
public sealed class ParamGroup<TOptions> where TOptions : OptimizerOptions
{
    /// <summary>
    /// Creates a group; <paramref name="options"/> is copied so groups never share a record. Frozen parameters
    /// (<see cref="Tensor.RequiresGrad"/> off, <see cref="Module.Freeze()"/>) are left out: they get no gradient, and
    /// PyTorch's <c>step()</c> skips a parameter without one, so weight decay and momentum never move them either.
    /// </summary>
    public ParamGroup(IEnumerable<Parameter> parameters, TOptions options)
    {
        Params = parameters.Where(p => p.RequiresGrad).ToList();
        Options = options with { };
    }

    /// <summary>The group's parameters.</summary>
    public IReadOnlyList<Parameter> Params { get; }

    /// <summary>The group's hyperparameters (mutable: schedules write <c>Lr</c>).</summary>
    public TOptions Options { get; internal set; }

    /// <summary>Start of this group in the optimizer's arena.</summary>
    public int Offset { get; internal set; }

    /// <summary>Number of scalars in this group.</summary>
    public int Length { get; internal set; }
}

/// <summary>
/// Base of every optimizer, like <c>torch.optim.Optimizer</c>. The constructor packs all parameters into one
/// <see cref="ParameterArena"/>, group after group, so each group is one contiguous span and
/// <see cref="Step()"/> is one fused pass per group.
/// </summary>
/// <remarks>
/// Every packed parameter always has a gradient buffer (zeros after <see cref="ZeroGrad"/>), which is PyTorch
/// 1.13's <c>zero_grad(set_to_none=False)</c>: a parameter that took no part in a backward pass is still
/// stepped with a zero gradient (momentum keeps moving it).
/// </remarks>
public abstract class Optimizer
{
    /// <summary>The flat storage of every parameter and gradient this optimizer updates.</summary>
    public ParameterArena Arena { get; protected init; } = null!;

    /// <summary>Number of steps taken.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Hyperparameters of each group, for schedules and logging.</summary>
    public abstract IReadOnlyList<OptimizerOptions> GroupOptions { get; }

    /// <summary>Sets every gradient to zero in one pass, like <c>optimizer.zero_grad()</c>.</summary>
    public void ZeroGrad() => Arena.ZeroGrad();

    /// <summary>Updates the parameters from their gradients, like <c>optimizer.step()</c>.</summary>
    public abstract void Step();

    /// <summary>True for optimizers that must re-evaluate the loss during a step (LBFGS): call <see cref="Step(Func{float})"/>.</summary>
    public virtual bool RequiresClosure => false;

    /// <summary>Calls <paramref name="closure"/> (which recomputes loss and gradients) and steps; returns the loss.</summary>
    public virtual float Step(Func<float> closure)
    {
        float loss = closure();
        Step();
        return loss;
    }

    /// <summary>A deep copy of the hyperparameters and state, like <c>optimizer.state_dict()</c>.</summary>
    public abstract OptimizerStateDict StateDict();

    /// <summary>Restores what <see cref="StateDict"/> returned; the groups must have the same sizes.</summary>
    public abstract void LoadStateDict(OptimizerStateDict state);

    /// <summary>
    /// The vector width the update rules run at: the widest this CPU has unless a test asks for another
    /// (every width gives the same bits; the scalar loop is the rules' specification).
    /// </summary>
    internal VectorWidth VectorWidth
    {
        get => _vectorWidth;
        set => _vectorWidth = UpdateRules.IsSupported(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), $"this CPU has no {value} vectors");
    }

    private VectorWidth _vectorWidth = UpdateRules.DefaultWidth;

    /// <summary>Applies <paramref name="rule"/> to elements [0, <paramref name="length"/>) at <see cref="VectorWidth"/>, split across cores when long.</summary>
    private protected void ApplyRule<TRule>(int length, ref TRule rule) where TRule : struct, IUpdateRule =>
        UpdateRules.Run(_vectorWidth, length, ref rule);
}

/// <summary>
/// Optimizer state as data, under PyTorch's names: the kind of optimizer, the step count, each group's
/// hyperparameters and length, and each group's state entries keyed <c>"{group}.{name}"</c> (<c>"0.exp_avg"</c>,
/// <c>"1.step"</c>): buffers (one value per element of the group, in the group's order, unless the optimizer
/// says otherwise) and scalars. A group without state yet (most optimizers before the group's first step) has
/// no entries.
/// </summary>
public sealed record OptimizerStateDict(string Optimizer, long Step, IReadOnlyList<OptimizerOptions> ParamGroups, IReadOnlyList<int> GroupLengths, IReadOnlyDictionary<string, float[]> Buffers, IReadOnlyDictionary<string, double> Scalars);

/// <summary>
/// Options with a momentum-like coefficient that a schedule may drive (OneCycleLR's momentum cycling, a
/// momentum schedule): SGD's and RMSprop's <c>momentum</c>, the Adam family's β₁.
/// </summary>
public interface IMomentumOptions
{
    /// <summary>The coefficient: <c>momentum</c>, or <c>betas[0]</c> for optimizers with betas.</summary>
    double MomentumCoefficient { get; set; }
}

/// <summary>
/// One parameter group's place in the arena: element i of the group is <c>Data[Offset + i]</c> with gradient
/// <c>Grad[Offset + i]</c>. Arrays rather than spans so that a step can be split across worker threads
/// (see <see cref="Kernels.RangeParallel"/>).
/// </summary>
public readonly record struct ArenaSlice(float[] Data, float[] Grad, int Offset, int Length)
{
    /// <summary>The group's parameter values.</summary>
    public Span<float> Param => Data.AsSpan(Offset, Length);
    /// <summary>The group's gradients.</summary>
    public Span<float> Gradient => Grad.AsSpan(Offset, Length);
}

/// <summary>The typed base of the optimizers: groups of <typeparamref name="TOptions"/> over one arena.</summary>
public abstract class Optimizer<TOptions> : Optimizer where TOptions : OptimizerOptions
{
    private readonly List<ParamGroup<TOptions>> _groups;

    /// <summary>One group with <paramref name="defaults"/>.</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, TOptions defaults)
        : this([new ParamGroup<TOptions>(parameters, defaults)]) { }

    /// <summary>Several groups, each with its own hyperparameters; a parameter may be in one group only.</summary>
    protected Optimizer(IEnumerable<ParamGroup<TOptions>> groups)
    {
        _groups = groups.ToList();
        if (_groups.Count == 0) throw new ArgumentException("optimizer got an empty parameter list");
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        var all = new List<Parameter>();
        foreach (var g in _groups)
        {
            g.Options.Validate();
            if (g.Params.Count == 0) throw new ArgumentException("optimizer got a parameter group with no parameters (or only frozen ones)");
            foreach (var p in g.Params)
            {
                if (!seen.Add(p)) throw new ArgumentException($"some parameters appear in more than one parameter group (a parameter of shape {ShapeUtil.Format(p.Shape)})");
                all.Add(p);
            }
        }
        Arena = ParameterArena.Pack(all);
        int offset = 0;
        foreach (var g in _groups)
        {
            g.Offset = offset;
            g.Length = g.Params.Sum(p => p.Numel);
            offset += g.Length;
        }
    }

    /// <summary>The parameter groups, like <c>optimizer.param_groups</c>.</summary>
    public IReadOnlyList<ParamGroup<TOptions>> ParamGroups => _groups;

    /// <inheritdoc />
    public override IReadOnlyList<OptimizerOptions> GroupOptions => _groupOptions ??= new GroupOptionsView(_groups);

    private GroupOptionsView? _groupOptions;

    /// <summary>A live, allocation-free view of the groups' options: loggers and schedules read it every step.</summary>
    private sealed class GroupOptionsView(List<ParamGroup<TOptions>> groups) : IReadOnlyList<OptimizerOptions>
    {
        public OptimizerOptions this[int index] => groups[index].Options;

        public int Count => groups.Count;

        public IEnumerator<OptimizerOptions> GetEnumerator()
        {
            foreach (var g in groups) yield return g.Options;
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <inheritdoc />
    public override void Step()
    {
        StepCount++;
        for (int i = 0; i < _groups.Count; i++)
        {
            var g = _groups[i];
            StepGroup(i, g.Options, new ArenaSlice(Arena.Data, Arena.Grad, g.Offset, g.Length));
        }
    }

    /// <summary>
    /// Applies the update rule to one group: <paramref name="slice"/> addresses the group's parameters and
    /// gradients in the arena.
    /// </summary>
    protected abstract void StepGroup(int groupIndex, TOptions options, ArenaSlice slice);

    /// <summary>Adds group <paramref name="groupIndex"/>'s state to a state dict being built (nothing for an optimizer without state).</summary>
    private protected virtual void SaveGroupState(int groupIndex, GroupStateEntries entries) { }

    /// <summary>
    /// Reads group <paramref name="groupIndex"/>'s state from <paramref name="entries"/> without applying it
    /// (null: the group starts afresh); throws when the entries do not fit the group.
    /// </summary>
    private protected virtual object? ReadGroupState(int groupIndex, GroupStateEntries entries) => null;

    /// <summary>Makes <paramref name="state"/>, from <see cref="ReadGroupState"/>, group <paramref name="groupIndex"/>'s state.</summary>
    private protected virtual void RestoreGroupState(int groupIndex, object? state) { }

    /// <inheritdoc />
    public override OptimizerStateDict StateDict()
    {
        var buffers = new Dictionary<string, float[]>();
        var scalars = new Dictionary<string, double>();
        for (int i = 0; i < _groups.Count; i++) SaveGroupState(i, GroupStateEntries.ForSaving(i, _groups[i].Length, buffers, scalars));
        return new OptimizerStateDict(GetType().Name, StepCount, _groups.Select(g => (OptimizerOptions)(g.Options with { })).ToList(),
            _groups.Select(g => g.Length).ToList(), buffers, scalars);
    }

    /// <inheritdoc />
    public override void LoadStateDict(OptimizerStateDict state)
    {
        if (state.Optimizer != GetType().Name)
            throw new ArgumentException($"cannot load a {state.Optimizer} state dict into {GetType().Name}");
        if (state.ParamGroups.Count != _groups.Count)
            throw new ArgumentException($"loaded state dict has {state.ParamGroups.Count} parameter groups but the optimizer has {_groups.Count}");
        for (int i = 0; i < _groups.Count; i++)
            if (state.GroupLengths[i] != _groups[i].Length)
                throw new ArgumentException($"loaded state dict's group {i} holds {state.GroupLengths[i]} values but the optimizer's group {i} holds {_groups[i].Length}");
        // Every group is read before anything changes, so that a refused state dict leaves the optimizer as it was.
        var groupStates = new object?[_groups.Count];
        for (int i = 0; i < _groups.Count; i++)
            groupStates[i] = ReadGroupState(i, GroupStateEntries.ForLoading(i, _groups[i].Length, state));
        StepCount = state.Step;
        for (int i = 0; i < _groups.Count; i++)
        {
            _groups[i].Options = ((TOptions)state.ParamGroups[i]) with { };
            RestoreGroupState(i, groupStates[i]);
        }
    }
}
