using System.Text;

namespace Descent.Nn;

/// <summary>
/// Base class of layers and models, like <c>nn.Module</c>: named parameters and sub-modules,
/// <see cref="Train"/>/<see cref="Eval"/> mode, <see cref="ZeroGrad"/> and a state dict.
/// Subclasses implement <see cref="Forward"/> and register what they own in their constructor.
/// </summary>
public abstract partial class Module
{
    private readonly List<(string Name, Parameter Parameter)> _parameters = [];
    private readonly List<(string Name, Module Module)> _children = [];
    private readonly List<(string Name, Tensor Buffer)> _buffers = [];
    private readonly HashSet<string> _integerBuffers = [];

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>The layer's name in error messages, e.g. <c>Linear(784 → 512)</c>.</summary>
    public virtual string Describe() => GetType().Name;

    /// <summary>Computes the output for <paramref name="input"/>.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>Registers a parameter under <paramref name="name"/>.</summary>
    protected Parameter RegisterParameter(string name, Parameter parameter)
    {
        _parameters.Add((name, parameter));
        return parameter;
    }

    /// <summary>
    /// Registers state that is saved and loaded with the model but is not trained (BatchNorm's running
    /// statistics), like <c>register_buffer</c>. An <paramref name="integer"/> buffer holds whole numbers that PyTorch
    /// keeps as int64 (<c>num_batches_tracked</c>); model files store it as such.
    /// </summary>
    protected Tensor RegisterBuffer(string name, Tensor buffer, bool integer = false)
    {
        _buffers.Add((name, buffer));
        if (integer) _integerBuffers.Add(name);
        return buffer;
    }

    /// <summary>The dotted names of the buffers that PyTorch keeps as int64 (BatchNorm's <c>num_batches_tracked</c>).</summary>
    public IReadOnlySet<string> IntegerBufferNames()
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        CollectIntegerBuffers(this, "", result);
        return result;
    }

    private static void CollectIntegerBuffers(Module m, string prefix, HashSet<string> into)
    {
        foreach (var n in m._integerBuffers) into.Add(prefix + n);
        foreach (var (n, c) in m._children) CollectIntegerBuffers(c, prefix + n + ".", into);
    }

    /// <summary>Every buffer with its dotted path, like <c>named_buffers()</c>. These are the live tensors.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers()
    {
        var result = new List<(string, Tensor)>();
        CollectBuffers(this, "", result);
        return result;
    }

    private static void CollectBuffers(Module m, string prefix, List<(string, Tensor)> into)
    {
        foreach (var (n, b) in m._buffers) into.Add((prefix + n, b));
        foreach (var (n, c) in m._children) CollectBuffers(c, prefix + n + ".", into);
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>Every parameter with its dotted path (<c>0.weight</c>, <c>fc.bias</c>), like <c>named_parameters()</c>.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        var result = new List<(string, Parameter)>();
        Collect(this, "", result);
        return result;
    }

    private static void Collect(Module m, string prefix, List<(string, Parameter)> into)
    {
        foreach (var (n, p) in m._parameters) into.Add((prefix + n, p));
        foreach (var (n, c) in m._children) Collect(c, prefix + n + ".", into);
    }

    /// <summary>Every parameter, like <c>parameters()</c>.</summary>
    public IReadOnlyList<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter).ToList();

    /// <summary>Total number of trainable scalars.</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Numel);

    /// <summary>Sets training mode on this module and every descendant; returns this module.</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        foreach (var (_, c) in _children) c.Train(mode);
        return this;
    }

    /// <summary>Evaluation mode, like <c>model.eval()</c>; returns this module.</summary>
    public Module Eval() => Train(false);

    /// <summary>Zeroes every parameter's gradient (PyTorch 1.13's <c>set_to_none=False</c> behaviour).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad?.Data.Clear();
    }

    /// <summary>A copy of every parameter's and buffer's values by dotted name, like <c>state_dict()</c>.</summary>
    public Dictionary<string, Tensor> StateDict() =>
        NamedParameters().Select(p => (p.Name, (Tensor)p.Parameter)).Concat(NamedBuffers()).ToDictionary(p => p.Item1, p => p.Item2.Clone());

    /// <summary>
    /// Copies values in from a state dict, like <c>load_state_dict(strict=True)</c>: names and shapes must match
    /// exactly, and everything is checked before anything is copied.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var named = NamedParameters().Select(p => (p.Name, Parameter: (Tensor)p.Parameter)).Concat(NamedBuffers()).ToList();
        var missing = named.Where(p => !state.ContainsKey(p.Name)).Select(p => p.Name).ToList();
        var unexpected = state.Keys.Where(k => named.All(p => p.Name != k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new ArgumentException($"state dict does not fit {Describe()}: missing keys [{string.Join(", ", missing)}], unexpected keys [{string.Join(", ", unexpected)}]");
        foreach (var (name, p) in named)
            if (!ShapeUtil.SameShape(state[name].Shape, p.Shape))
                throw new ArgumentException($"state dict entry '{name}' has shape {ShapeUtil.Format(state[name].Shape)} but the parameter has shape {ShapeUtil.Format(p.Shape)}");
        foreach (var (name, p) in named) state[name].Data.CopyTo(p.Data);
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        Print(this, "", 0, sb);
        return sb.ToString().TrimEnd();
    }

    private static void Print(Module m, string name, int depth, StringBuilder sb)
    {
        sb.Append(new string(' ', depth * 2)).Append(name.Length > 0 ? name + ": " : "").AppendLine(m.Describe());
        foreach (var (n, c) in m._children) Print(c, n, depth + 1, sb);
    }
}
