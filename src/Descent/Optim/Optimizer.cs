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
    /// <summary>Creates a group; <paramref name="options"/> is copied so groups never share a record.</summary>
    public ParamGroup(IEnumerable<Parameter> parameters, TOptions options)
    {
        Params = parameters.ToList();
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

    /// <summary>
    /// Steps like <see cref="Step()"/> and returns the global L2 norm of the gradients it stepped with — the
    /// value <c>torch.nn.utils.clip_grad_norm_</c> returns, which loggers record as <c>grad_norm</c>.
    /// </summary>
    /// <remarks>
    /// A separate pass over every gradient costs about as much as a third of an SGD step; the built-in
    /// optimizers measure the norm inside their update pass, which reads every gradient anyway, so it costs
    /// almost nothing. This default measures it in a pass of its own before stepping.
    /// </remarks>
    public virtual double StepWithGradNorm()
    {
        double norm = GradientClipping.GradNorm(Arena);
        Step();
        return norm;
    }

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
}

/// <summary>
/// Optimizer state as data: the kind of optimizer, the step count, each group's hyperparameters and each
/// named state buffer (one flat buffer per group, aligned with the group's parameters).
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
            if (g.Params.Count == 0) throw new ArgumentException("optimizer got a parameter group with no parameters");
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
            _groupMeasured = false;
            StepGroup(i, g.Options, new ArenaSlice(Arena.Data, Arena.Grad, g.Offset, g.Length));
            // A rule that cannot sum squares as it goes (or an optimizer written outside Descent) left the group
            // unmeasured; a step only reads gradients, so a pass of its own now gives the same value.
            if (_measuringGradNorm && !_groupMeasured) _gradSquares += Reductions.SumOfSquares(Arena.Grad.AsSpan(g.Offset, g.Length));
        }
    }

    private double[]? _gradNormPartials;
    private double _gradSquares;
    private bool _measuringGradNorm, _groupMeasured;

    /// <inheritdoc />
    public override double StepWithGradNorm()
    {
        _gradNormPartials ??= new double[Math.Max(1, (_groups.Max(g => g.Length) + RangeParallel.ChunkSize - 1) / RangeParallel.ChunkSize)];
        _gradSquares = 0;
        _measuringGradNorm = true;
        try
        {
            Step();
            return Math.Sqrt(_gradSquares);
        }
        finally
        {
            _measuringGradNorm = false;
        }
    }

    /// <summary>
    /// Runs a rule over a group's slice as <see cref="RangeParallel.For"/> does; within
    /// <see cref="StepWithGradNorm"/> the rule also sums the squares of the gradients it reads.
    /// </summary>
    private protected void ApplyRule<TRule>(ArenaSlice slice, ref TRule rule) where TRule : struct, IGradSquaresRule
    {
        if (!_measuringGradNorm)
        {
            RangeParallel.For(slice.Length, ref rule);
            return;
        }
        var partials = _gradNormPartials!;
        var measuring = new GradNormMeasuringRule<TRule>(rule, partials);
        RangeParallel.For(slice.Length, ref measuring);
        int chunks = (slice.Length + RangeParallel.ChunkSize - 1) / RangeParallel.ChunkSize;
        for (int c = 0; c < chunks; c++) _gradSquares += partials[c];
        _groupMeasured = true;
    }

    /// <summary>
    /// Applies the update rule to one group: <paramref name="slice"/> addresses the group's parameters and
    /// gradients in the arena; per-group state buffers are indexed from 0 to <c>slice.Length</c>.
    /// </summary>
    protected abstract void StepGroup(int groupIndex, TOptions options, ArenaSlice slice);

    private GroupBuffers? _declaredBuffers;
    private double[]? _groupSteps;

    /// <summary>
    /// Declares the optimizer's per-element state, one buffer per name and group, named as in PyTorch's state
    /// dict (<c>exp_avg</c>, ...) and created zero-filled on first use by <see cref="StateBuffer"/>; with
    /// <paramref name="countSteps"/>, also a per-group step count (PyTorch's <c>state['step']</c>) kept by
    /// <see cref="NextGroupStep"/>. The state dict then saves and restores both. Call once, from the constructor.
    /// </summary>
    protected void DeclareState(bool countSteps, params string[] bufferNames)
    {
        _declaredBuffers = new GroupBuffers(_groups.Count, bufferNames);
        if (countSteps) _groupSteps = new double[_groups.Count];
    }

    /// <summary>Buffer <paramref name="name"/> of group <paramref name="group"/> (declared with <see cref="DeclareState"/>), one value per element of the group.</summary>
    protected float[] StateBuffer(string name, int group) =>
        (_declaredBuffers ?? throw new InvalidOperationException("no state buffers were declared")).Get(name, group, _groups[group].Length);

    /// <summary>Counts one more step of group <paramref name="group"/> and returns the count (1 on the first step).</summary>
    protected double NextGroupStep(int group) =>
        ++(_groupSteps ?? throw new InvalidOperationException("the optimizer does not count steps"))[group];

    /// <summary>The named per-group state buffers, for the state dict: by default those declared with <see cref="DeclareState"/>.</summary>
    protected virtual IEnumerable<(string Name, int Group, float[]? Buffer)> StateBuffers() => _declaredBuffers?.All() ?? [];

    /// <summary>Restores one named per-group buffer (null when the state was not created yet).</summary>
    protected virtual void SetStateBuffer(string name, int group, float[]? buffer) =>
        (_declaredBuffers ?? throw new ArgumentException($"unknown state buffer '{name}'")).Set(name, group, buffer);

    /// <summary>Named per-group scalar state (e.g. Adam's <c>step</c>, NAdam's <c>mu_product</c>), for the state dict: by default the step counts.</summary>
    protected virtual IEnumerable<(string Name, int Group, double Value)> StateScalars() =>
        _groupSteps?.Select((t, g) => ("step", g, t)) ?? [];

    /// <summary>Restores one named per-group scalar saved by <see cref="StateScalars"/>.</summary>
    protected virtual void SetStateScalar(string name, int group, double value)
    {
        if (name == "step" && _groupSteps is not null) _groupSteps[group] = value;
    }

    /// <inheritdoc />
    public override OptimizerStateDict StateDict()
    {
        var buffers = new Dictionary<string, float[]>();
        foreach (var (name, group, buffer) in StateBuffers())
            if (buffer is not null) buffers[$"{group}.{name}"] = (float[])buffer.Clone();
        var scalars = new Dictionary<string, double>();
        foreach (var (name, group, value) in StateScalars()) scalars[$"{group}.{name}"] = value;
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
        StepCount = state.Step;
        for (int i = 0; i < _groups.Count; i++) _groups[i].Options = ((TOptions)state.ParamGroups[i]) with { };
        foreach (var (name, group, current) in StateBuffers().ToList())
        {
            if (!state.Buffers.TryGetValue($"{group}.{name}", out var b)) { SetStateBuffer(name, group, null); continue; }
            // Per-element buffers match their group; history-shaped ones (LBFGS) keep their own length.
            if (current is not null && current.Length == _groups[group].Length && b.Length != current.Length)
                throw new ArgumentException($"loaded state dict's '{name}' of group {group} holds {b.Length} values but the group holds {_groups[group].Length}");
            SetStateBuffer(name, group, (float[])b.Clone());
        }
        foreach (var (key, value) in state.Scalars)
        {
            int dot = key.IndexOf('.');
            SetStateScalar(key[(dot + 1)..], int.Parse(key[..dot], System.Globalization.CultureInfo.InvariantCulture), value);
        }
    }
}
