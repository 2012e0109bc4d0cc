namespace Descent.Nn;

/// <summary>
/// What <see cref="Module.LoadMatching(string)"/> did with each tensor, under state-dict names: PyTorch's
/// <c>load_state_dict(strict=False)</c> returns <c>missing_keys</c> and <c>unexpected_keys</c>; this adds the
/// entries refused because their shape differs (PyTorch raises on those).
/// </summary>
/// <param name="Loaded">Parameters and buffers copied from the file (name and shape matched).</param>
/// <param name="Skipped">Names in both, with the file's and the model's shape, left at the model's initializer
/// because the shapes differ (a new output layer, a wider input).</param>
/// <param name="Left">The model's names the file does not have (PyTorch's <c>missing_keys</c>), left at their initializer.</param>
/// <param name="Unused">The file's names the model does not have (PyTorch's <c>unexpected_keys</c>).</param>
public sealed record LoadMatchingReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<(string Name, int[] FileShape, int[] ModelShape)> Skipped,
    IReadOnlyList<string> Left,
    IReadOnlyList<string> Unused);

public abstract partial class Module
{
    /// <summary>
    /// Starts from a trained or related model: copies every tensor of the safetensors file whose name and shape
    /// match one of this module's parameters or buffers, and leaves the rest at their initializer — like
    /// <c>model.load_state_dict(load_file(path), strict=False)</c> after dropping the entries whose shape differs
    /// (e.g. a classifier head for another number of classes). Returns what was loaded, skipped and left.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors (nothing is changed then).</exception>
    public LoadMatchingReport LoadMatching(string path) => LoadMatching(Safetensors.Read(path).Tensors);

    /// <summary>The in-memory form of <see cref="LoadMatching(string)"/>: copies the entries of <paramref name="state"/> whose name and shape match.</summary>
    public LoadMatchingReport LoadMatching(IReadOnlyDictionary<string, Tensor> state)
    {
        var named = NamedParameters().Select(p => (p.Name, Tensor: (Tensor)p.Parameter)).Concat(NamedBuffers()).ToList();
        var loaded = new List<string>();
        var skipped = new List<(string, int[], int[])>();
        var left = new List<string>();
        foreach (var (name, tensor) in named)
        {
            if (!state.TryGetValue(name, out var source)) left.Add(name);
            else if (!ShapeUtil.SameShape(source.Shape, tensor.Shape)) skipped.Add((name, source.ShapeArray.ToArray(), tensor.ShapeArray.ToArray()));
            else
            {
                source.Data.CopyTo(tensor.Data);
                loaded.Add(name);
            }
        }
        var mine = named.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var unused = state.Keys.Where(k => !mine.Contains(k)).Order(StringComparer.Ordinal).ToList();
        return new LoadMatchingReport(loaded, skipped, left, unused);
    }

    /// <summary>
    /// Freezes every parameter of this module and its descendants, like <c>module.requires_grad_(False)</c>:
    /// backward computes no gradient for them, and an optimizer built afterwards leaves them out (freeze before
    /// building the optimizer). Returns this module.
    /// </summary>
    public Module Freeze() => SetRequiresGrad(Parameters(), false);

    /// <summary>Undoes <see cref="Freeze()"/>, like <c>module.requires_grad_(True)</c>; build a new optimizer to train them. Returns this module.</summary>
    public Module Unfreeze() => SetRequiresGrad(Parameters(), true);

    /// <summary>
    /// Freezes the parameters under each of <paramref name="names"/>: a child's name (in a <see cref="Sequential"/>
    /// its index, <c>"0"</c>, as in PyTorch's state-dict names) or a dotted path (<c>"0.weight"</c>, <c>"features.3"</c>).
    /// Returns the state-dict names of the parameters frozen.
    /// </summary>
    /// <exception cref="ArgumentException">A name that matches no parameter (nothing is changed then).</exception>
    public IReadOnlyList<string> Freeze(params IEnumerable<string> names) => SetRequiresGrad(names, false);

    /// <summary>Unfreezes the parameters under each of <paramref name="names"/> (see <see cref="Freeze(IEnumerable{string})"/>); returns their names.</summary>
    /// <exception cref="ArgumentException">A name that matches no parameter (nothing is changed then).</exception>
    public IReadOnlyList<string> Unfreeze(params IEnumerable<string> names) => SetRequiresGrad(names, true);

    /// <summary>The parameters that train (<see cref="Tensor.RequiresGrad"/> on), like <c>[p for p in model.parameters() if p.requires_grad]</c>.</summary>
    public IReadOnlyList<Parameter> TrainableParameters() => Parameters().Where(p => p.RequiresGrad).ToList();

    private IReadOnlyList<string> SetRequiresGrad(IEnumerable<string> names, bool requiresGrad)
    {
        var all = NamedParameters().ToList();
        var chosen = new List<(string Name, Parameter Parameter)>();
        foreach (var name in names)
        {
            var under = all.Where(p => p.Name == name || p.Name.StartsWith(name + ".", StringComparison.Ordinal)).ToList();
            if (under.Count == 0)
                throw new ArgumentException($"'{name}' names no parameter of {Describe()} (layers with parameters: {string.Join(", ", all.Select(p => p.Name[..Math.Max(0, p.Name.LastIndexOf('.'))]).Distinct())})");
            chosen.AddRange(under.Where(u => !chosen.Contains(u)));
        }
        SetRequiresGrad(chosen.Select(c => c.Parameter), requiresGrad);
        return chosen.Select(c => c.Name).ToList();
    }

    private Module SetRequiresGrad(IEnumerable<Parameter> parameters, bool requiresGrad)
    {
        foreach (var p in parameters) p.RequiresGrad = requiresGrad;
        return this;
    }
}
