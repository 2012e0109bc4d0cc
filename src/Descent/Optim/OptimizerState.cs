using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// An optimizer with a typed state per parameter group (<see cref="AdamState"/>, <see cref="SgdState"/>, ...):
/// what PyTorch keeps in <c>optimizer.state[p]</c> for each parameter of the group, concatenated in the group's
/// order. PyTorch's names (<c>exp_avg</c>, <c>step</c>, ...) appear only where the state is written to and read
/// from an <see cref="OptimizerStateDict"/> (<see cref="SaveState"/>, <see cref="LoadState"/>).
/// </summary>
public abstract class Optimizer<TOptions, TState> : Optimizer<TOptions> where TOptions : OptimizerOptions where TState : class
{
    private readonly TState?[] _states;

    /// <summary>One group with <paramref name="defaults"/>.</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, TOptions defaults) : base(parameters, defaults) => _states = new TState?[ParamGroups.Count];

    /// <summary>Several groups, each with its own hyperparameters; a parameter may be in one group only.</summary>
    protected Optimizer(IEnumerable<ParamGroup<TOptions>> groups) : base(groups) => _states = new TState?[ParamGroups.Count];

    /// <summary>
    /// The state of group <paramref name="groupIndex"/>, like <c>optimizer.state</c> for the group's parameters;
    /// null until the group's first step (as PyTorch fills <c>state</c> lazily). The buffers are the
    /// optimizer's own, read-only views that the next step changes.
    /// </summary>
    public TState? State(int groupIndex) => _states[groupIndex];

    /// <summary>The state of group <paramref name="groupIndex"/>, made by <see cref="NewState"/> when it has none yet.</summary>
    protected TState StateOf(int groupIndex) => _states[groupIndex] ??= NewState(ParamGroups[groupIndex]);

    /// <summary>A group's state before its first step (zero buffers, step 0, as PyTorch's lazy initialization).</summary>
    protected abstract TState NewState(ParamGroup<TOptions> group);

    /// <summary>Applies the update rule to one group, advancing <paramref name="state"/>.</summary>
    protected abstract void StepGroup(TOptions options, TState state, ArenaSlice slice);

    /// <inheritdoc />
    protected sealed override void StepGroup(int groupIndex, TOptions options, ArenaSlice slice) => StepGroup(options, StateOf(groupIndex), slice);

    /// <summary>Writes <paramref name="state"/> to <paramref name="entries"/> under PyTorch's names.</summary>
    protected abstract void SaveState(TState state, GroupStateEntries entries);

    /// <summary>
    /// Reads a state written by <see cref="SaveState"/> from <paramref name="entries"/> (never empty: a group
    /// without entries starts afresh); throws when an entry is missing or does not fit the group.
    /// </summary>
    protected abstract TState LoadState(GroupStateEntries entries);

    private protected sealed override void SaveGroupState(int groupIndex, GroupStateEntries entries)
    {
        if (_states[groupIndex] is { } state) SaveState(state, entries);
    }

    private protected sealed override object? ReadGroupState(int groupIndex, GroupStateEntries entries) => entries.IsEmpty ? null : LoadState(entries);

    private protected sealed override void RestoreGroupState(int groupIndex, object? state) => _states[groupIndex] = (TState?)state;
}

/// <summary>
/// One parameter group's entries in an <see cref="OptimizerStateDict"/>: the optimizer's state of that group
/// under PyTorch's names, written by <c>Add</c> when the dict is built and read back by <see cref="Buffer"/>,
/// <see cref="OptionalBuffer"/> and <see cref="Scalar"/> when it is loaded. Buffers are copied both ways.
/// </summary>
public sealed class GroupStateEntries
{
    private readonly IReadOnlyDictionary<string, float[]> _buffers;
    private readonly IReadOnlyDictionary<string, double> _scalars;
    private readonly bool _saving;
    private readonly string _prefix;

    private GroupStateEntries(int groupIndex, int groupLength, IReadOnlyDictionary<string, float[]> buffers, IReadOnlyDictionary<string, double> scalars, bool saving)
    {
        GroupIndex = groupIndex;
        GroupLength = groupLength;
        _buffers = buffers;
        _scalars = scalars;
        _saving = saving;
        _prefix = $"{groupIndex}.";
    }

    /// <summary>Entries to be added to the dictionaries of a state dict being built.</summary>
    internal static GroupStateEntries ForSaving(int groupIndex, int groupLength, Dictionary<string, float[]> buffers, Dictionary<string, double> scalars) =>
        new(groupIndex, groupLength, buffers, scalars, saving: true);

    /// <summary>Entries to be read from a state dict being loaded.</summary>
    internal static GroupStateEntries ForLoading(int groupIndex, int groupLength, OptimizerStateDict state) =>
        new(groupIndex, groupLength, state.Buffers, state.Scalars, saving: false);

    /// <summary>The group's index in the optimizer.</summary>
    public int GroupIndex { get; }

    /// <summary>Number of scalars in the group: the length of its per-element buffers.</summary>
    public int GroupLength { get; }

    /// <summary>True when the dict holds nothing for this group (it had not stepped when the dict was made).</summary>
    public bool IsEmpty => !_buffers.Keys.Concat(_scalars.Keys).Any(key => key.StartsWith(_prefix, StringComparison.Ordinal));

    /// <summary>Adds a copy of <paramref name="buffer"/> as <paramref name="name"/>; a null buffer (not created yet) is left out.</summary>
    public void Add(string name, float[]? buffer)
    {
        if (buffer is not null) Writable(_buffers)[_prefix + name] = (float[])buffer.Clone();
    }

    /// <summary>Adds the scalar <paramref name="name"/>.</summary>
    public void Add(string name, double value) => Writable(_scalars)[_prefix + name] = value;

    /// <summary>A copy of the per-element buffer <paramref name="name"/>; throws when it is missing or of another length than the group.</summary>
    public float[] Buffer(string name) =>
        OptionalBuffer(name) ?? throw new ArgumentException($"loaded state dict has no '{name}' for group {GroupIndex}");

    /// <summary>
    /// A copy of buffer <paramref name="name"/>, or null when the dict has none. With <paramref name="perElement"/>
    /// (the default) it must hold one value per element of the group; otherwise (a history) any length.
    /// </summary>
    public float[]? OptionalBuffer(string name, bool perElement = true)
    {
        if (!_buffers.TryGetValue(_prefix + name, out var buffer)) return null;
        if (perElement && buffer.Length != GroupLength)
            throw new ArgumentException($"loaded state dict's '{name}' of group {GroupIndex} holds {buffer.Length} values but the group holds {GroupLength}");
        return (float[])buffer.Clone();
    }

    /// <summary>The scalar <paramref name="name"/>; throws when it is missing.</summary>
    public double Scalar(string name) =>
        _scalars.TryGetValue(_prefix + name, out double value) ? value : throw new ArgumentException($"loaded state dict has no '{name}' for group {GroupIndex}");

    private Dictionary<string, T> Writable<T>(IReadOnlyDictionary<string, T> entries) =>
        _saving ? (Dictionary<string, T>)entries : throw new InvalidOperationException("these entries are being loaded, not saved");
}
