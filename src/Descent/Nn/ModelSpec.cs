using System.Text.Json;
using System.Text.Json.Serialization;

namespace Descent.Nn;

/// <summary>
/// The architecture of one of the ready-made <see cref="Models"/>, as data: enough to rebuild the network from a
/// model file alone. It travels in a safetensors file's metadata under <see cref="MetadataKey"/> as JSON, e.g.
/// <c>{"kind":"mlp","input_shape":[1,28,28],"hidden":[256,128],"outputs":10,"activation":"relu","batch_norm":false,"dropout":0}</c>.
/// </summary>
/// <remarks>
/// <c>mlp</c> is <see cref="Models.Mlp"/> (with a <see cref="Flatten"/> first when the input has more than one
/// dimension), <c>linear</c> the same without hidden layers, <c>cnn</c> is <see cref="Models.Cnn"/> on
/// [channels, height, width] inputs.
/// </remarks>
public sealed record ModelSpec
{
    /// <summary>The metadata key under which model files store the architecture.</summary>
    public const string MetadataKey = "descent.model";

    /// <summary>The kinds <see cref="Kind"/> may take.</summary>
    public static readonly string[] Kinds = ["mlp", "linear", "cnn"];

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary><c>mlp</c>, <c>linear</c> or <c>cnn</c>.</summary>
    public string Kind { get; init; } = "mlp";

    /// <summary>The shape of one sample, without the batch dimension: [features] or [channels, height, width].</summary>
    public int[] InputShape { get; init; } = [];

    /// <summary>Hidden layer sizes of an <c>mlp</c>; empty for the other kinds.</summary>
    public int[] Hidden { get; init; } = [];

    /// <summary>Output size (classes, or targets of a regression).</summary>
    public int Outputs { get; init; }

    /// <summary>One of <see cref="Activations.Names"/>.</summary>
    public string Activation { get; init; } = "relu";

    /// <summary>Whether hidden layers are batch-normalized.</summary>
    [JsonPropertyName("batch_norm")]
    public bool BatchNorm { get; init; }

    /// <summary>Dropout probability after every hidden activation; 0 for none.</summary>
    public double Dropout { get; init; }

    /// <summary>Builds the network with freshly initialized weights (drawn from <see cref="Rng.Default"/>).</summary>
    /// <exception cref="ArgumentException">The description is not one <see cref="Models"/> can build.</exception>
    public Sequential Build()
    {
        Validate();
        return Kind switch
        {
            "cnn" => Models.Cnn(InputShape[0], InputShape[1], InputShape[2], Outputs, Activation, BatchNorm, Dropout),
            _ => Models.Mlp((int)InputSize, Hidden, Outputs, Activation, flattenInput: InputShape.Length > 1, batchNorm: BatchNorm, dropout: Dropout),
        };
    }

    /// <summary>The number of values (parameters and buffers) the built network holds, computed without building it.</summary>
    /// <exception cref="ArgumentException">The description is invalid, or its size does not fit in a <see cref="long"/>.</exception>
    public long StateSize()
    {
        Validate();
        try
        {
            return CountState();
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"the {Kind} architecture (input_shape {ShapeUtil.Format(InputShape)}, hidden [{string.Join(", ", Hidden)}], outputs {Outputs}) holds more values than can be counted");
        }
    }

    private long CountState()
    {
        checked
        {
            long bn(long c) => BatchNorm ? 4 * c + 1 : 0;
            if (Kind == "cnn")
            {
                long c = InputShape[0], flat = 64L * (InputShape[1] / 4) * (InputShape[2] / 4);
                return 32 * c * 9 + 32 + bn(32) + 64 * 32 * 9 + 64 + bn(64) + flat * 128 + 128 + bn(128) + 128L * Outputs + Outputs;
            }
            long total = 0, previous = InputSize;
            foreach (int h in Hidden)
            {
                total += previous * h + h + bn(h);
                previous = h;
            }
            return total + previous * Outputs + Outputs;
        }
    }

    /// <summary>The product of <see cref="InputShape"/>, saturated at <see cref="long.MaxValue"/> so that a huge shape cannot wrap around to a small one.</summary>
    private long InputSize => InputShape.Aggregate(1L, (a, b) => a > long.MaxValue / Math.Max(b, 1) ? long.MaxValue : a * b);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value that is out of range.</summary>
    public void Validate()
    {
        if (!Kinds.Contains(Kind)) throw new ArgumentException($"model kind '{Kind}' is unknown (expected one of: {string.Join(", ", Kinds)})");
        if (InputShape is null || InputShape.Length == 0 || InputShape.Any(d => d < 1))
            throw new ArgumentException($"input_shape must be a non-empty list of positive sizes, got {ShapeUtil.Format(InputShape ?? [])}");
        if (InputSize > int.MaxValue) throw new ArgumentException($"input_shape {ShapeUtil.Format(InputShape)} holds more than {int.MaxValue} values");
        if (Outputs < 1) throw new ArgumentException($"outputs must be positive, got {Outputs}");
        if (Hidden is null || Hidden.Any(h => h < 1)) throw new ArgumentException($"hidden sizes must be positive, got [{string.Join(", ", Hidden ?? [])}]");
        if (Kind != "mlp" && Hidden.Length > 0) throw new ArgumentException($"a {Kind} model has no hidden sizes, got [{string.Join(", ", Hidden)}]");
        if (Kind == "cnn" && (InputShape.Length != 3 || InputShape[1] < 4 || InputShape[2] < 4))
            throw new ArgumentException($"a cnn model needs input_shape [channels, height, width] with height and width at least 4, got {ShapeUtil.Format(InputShape)}");
        if (Kind == "cnn" && 64L * (InputShape[1] / 4) * (InputShape[2] / 4) > int.MaxValue)
            throw new ArgumentException($"a cnn model on input_shape {ShapeUtil.Format(InputShape)} would flatten to more than {int.MaxValue} features");
        if (!Activations.Names.Contains(Activation)) throw new ArgumentException($"unknown activation '{Activation}' (expected one of: {string.Join(", ", Activations.Names)})");
        Functional.CheckDropoutProbability(Dropout);
    }

    /// <summary>The description as JSON (snake_case names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a description written by <see cref="ToJson"/>; throws <see cref="InvalidDataException"/> when it is not one.</summary>
    public static ModelSpec FromJson(string json)
    {
        ModelSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize<ModelSpec>(json, Json);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new InvalidDataException(Printable.Escape($"the model description is not valid JSON ({e.Message})"));
        }
        if (spec is null) throw new InvalidDataException("the model description is empty");
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(Printable.Escape($"the model description is invalid: {e.Message}"));
        }
        return spec;
    }
}

/// <summary>A model rebuilt from a safetensors file: its architecture, the network with the file's weights, and all metadata.</summary>
/// <param name="Spec">The architecture recorded under <see cref="ModelSpec.MetadataKey"/>.</param>
/// <param name="Model">The network, in evaluation mode, holding the file's parameters and buffers.</param>
/// <param name="Metadata">The file's whole <c>__metadata__</c> map (preprocessing, class names, …).</param>
public sealed record ModelFile(ModelSpec Spec, Sequential Model, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>Writes <paramref name="model"/> with its architecture and any <paramref name="metadata"/> to <paramref name="path"/>.</summary>
    public static void Save(string path, Module model, ModelSpec spec, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var all = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal) { [ModelSpec.MetadataKey] = spec.ToJson() };
        model.Save(path, all);
    }

    /// <summary>Rebuilds the network described in a model file and loads its weights.</summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors, has no architecture, or its tensors do not fit it.</exception>
    public static ModelFile Load(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Load(stream, path);
    }

    /// <summary>Rebuilds the network described in model-file data read from a seekable <paramref name="stream"/>; <paramref name="path"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The data is not valid safetensors, has no architecture, or its tensors do not fit it.</exception>
    public static ModelFile Load(Stream stream, string path)
    {
        var file = Safetensors.Read(stream, path);
        if (!file.Metadata.TryGetValue(ModelSpec.MetadataKey, out var json))
            throw Invalid(path, $"the file records no architecture (no '{ModelSpec.MetadataKey}' in its metadata); load it into a model you build with Module.Load");
        ModelSpec spec;
        try
        {
            spec = ModelSpec.FromJson(json);
        }
        catch (InvalidDataException e)
        {
            throw Invalid(path, $"{e.Message}", e);
        }
        // Checked before building, so a hostile description cannot make Descent allocate more than the file holds.
        long held = file.Tensors.Values.Sum(t => (long)t.Numel), needed;
        try
        {
            needed = spec.StateSize();
        }
        catch (ArgumentException e)
        {
            throw Invalid(path, $"{e.Message}", e);
        }
        if (needed != held) throw Invalid(path, $"the recorded {spec.Kind} architecture holds {needed} values but the file holds {held}");
        var model = spec.Build();
        try
        {
            model.LoadStateDict(file.Tensors);
        }
        catch (ArgumentException e)
        {
            throw Invalid(path, $"{e.Message}", e);
        }
        model.Eval();
        return new ModelFile(spec, model, file.Metadata);
    }

    private static InvalidDataException Invalid(string path, string problem, Exception? inner = null) => new(Printable.Escape($"{path}: {problem}"), inner);
}
