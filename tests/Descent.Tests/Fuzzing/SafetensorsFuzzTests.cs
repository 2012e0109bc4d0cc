using System.Text.Json.Nodes;
using CsCheck;
using Descent.Nn;
using Xunit.Abstractions;
using Entry = Descent.Tests.Fuzzing.SafetensorsBytes.Entry;

namespace Descent.Tests.Fuzzing;

/// <summary>
/// Safetensors files and the model files built on them: generated well-formed files read back to the tensors and
/// metadata they were written with; mutants (bytes, header JSON, the model description in the metadata) load or raise
/// <see cref="InvalidDataException"/>.
/// </summary>
public sealed class SafetensorsFuzzTests(ITestOutputHelper output)
{
    internal sealed record Case(byte[] Bytes, List<Entry>? Tensors, Dictionary<string, string>? Metadata);

    private static readonly Gen<string> Texts = Gen.OneOf("", "x", "a \"quoted\" word", "back\\slash", "line\nbreak", "é 日本", "{\"json\": [1]}", "\u0001");

    private static readonly Gen<Entry> Tensor =
        from shape in Gen.Int[0, 3].Array[0, 3]
        from int64 in Gen.Bool
        let numel = shape.Aggregate(1, (a, b) => a * b)
        from data in int64
            ? Gen.Long[-(1L << 24), 1L << 24].Array[numel].Select(SafetensorsBytes.Longs)
            : Gen.Float.Array[numel].Select(SafetensorsBytes.Floats)
        select new Entry("", int64 ? "I64" : "F32", shape, data);

    private static readonly Gen<Case> WellFormed =
        from tensors in Tensor.List[0, 4]
        from suffixes in Gen.OneOf("", ".weight", " ü", ".0.bias").Array[tensors.Count]
        from metadata in Gen.Select(Texts, Texts).Array[0, 3]
        let named = tensors.Select((t, i) => t with { Name = $"t{i}{suffixes[i]}" }).ToList()
        let map = metadata.Select((p, i) => (Key: $"k{i}{p.Item1}", Value: p.Item2)).ToDictionary(p => p.Key, p => p.Value)
        select new Case(SafetensorsBytes.Encode(named, map.Count > 0 ? map : null), named, map);

    private static float[] Values(Entry e) => e.Dtype == "F32"
        ? [.. Enumerable.Range(0, e.Data.Length / 4).Select(i => BitConverter.ToSingle(e.Data, 4 * i))]
        : [.. Enumerable.Range(0, e.Data.Length / 8).Select(i => (float)BitConverter.ToInt64(e.Data, 8 * i))];

    private static bool Parse(Case c)
    {
        var file = Safetensors.Read(new MemoryStream(c.Bytes), Fuzz.Source);
        if (c.Tensors is not null)
        {
            Assert.Equal(c.Tensors.Select(t => t.Name).Order(), file.Tensors.Keys.Order());
            foreach (var t in c.Tensors)
            {
                Assert.Equal(t.Shape, file.Tensors[t.Name].Shape.ToArray());
                Assert.Equal(Values(t), file.Tensors[t.Name].ToArray());
            }
            Assert.Equal(c.Metadata!.OrderBy(p => p.Key), file.Metadata.OrderBy(p => p.Key));
        }
        return true;
    }

    /// <summary>A model file of <paramref name="spec"/> with weights drawn from <paramref name="seed"/>.</summary>
    private static (byte[] Bytes, Dictionary<string, Tensor> State) ModelBytes(ModelSpec spec, int seed) =>
        ModelBytes(spec, seed, SafetensorsBytes.Quoted(spec.ToJson()));

    /// <summary>
    /// A model file whose description is <paramref name="quotedSpec"/>, already a JSON string literal: a text in which
    /// <c>@SPEC@</c> is replaced, so that many descriptions can share one encoding of the weights.
    /// </summary>
    private static (byte[] Bytes, Dictionary<string, Tensor> State) ModelBytes(ModelSpec spec, int seed, string quotedSpec)
    {
        Rng.ManualSeed(seed);
        var model = spec.Build();
        var state = model.StateDict();
        var integers = model.IntegerBufferNames();
        var entries = state.Select(p => integers.Contains(p.Key)
            ? new Entry(p.Key, "I64", p.Value.Shape.ToArray(), SafetensorsBytes.Longs([.. p.Value.ToArray().Select(v => (long)v)]))
            : new Entry(p.Key, "F32", p.Value.Shape.ToArray(), SafetensorsBytes.Floats(p.Value.ToArray())));
        var metadata = new Dictionary<string, string> { [ModelSpec.MetadataKey] = "@SPEC@", ["classes"] = "[\"a\",\"b\"]" };
        var (header, data) = SafetensorsBytes.Split(SafetensorsBytes.Encode(entries, metadata));
        return (SafetensorsBytes.Frame(header.TrimEnd().Replace("\"@SPEC@\"", quotedSpec), data), state);
    }

    private static readonly ModelSpec[] Specs =
    [
        new() { Kind = "mlp", InputShape = [3], Hidden = [4], Outputs = 2, BatchNorm = true, Dropout = 0.5 },
        new() { Kind = "linear", InputShape = [2, 2], Outputs = 3, Activation = "tanh" },
        new() { Kind = "cnn", InputShape = [1, 4, 4], Outputs = 2 },
    ];

    [Fact]
    public void FilesLoadOrRaiseInvalidData()
    {
        // The small models only: the fuzzing is in the header, and the cnn's 100 KB of weights would only slow it.
        var seeds = Specs.Where(s => s.Kind != "cnn").Select((s, i) => ModelBytes(s, i).Bytes).Append(SafetensorsBytes.Encode([], null)).ToArray();
        var headerMutants = Gen.Int.Select(n =>
        {
            var random = new Random(n);
            var (header, data) = SafetensorsBytes.Split(seeds[random.Next(seeds.Length)]);
            return new Case(SafetensorsBytes.Frame(JsonMutator.Mutate(header, random), data), null, null);
        });
        var byteMutants = Mutator.Of(seeds).Select(b => new Case(b, null, null));
        Fuzz.Run(output, "safetensors", Gen.OneOf(WellFormed, byteMutants, headerMutants, headerMutants), Parse, c => Fuzz.Hex(c.Bytes));
    }

    internal sealed record ModelCase(byte[] Bytes, ModelSpec? Spec, Dictionary<string, Tensor>? State);

    private static readonly Gen<ModelSpec> Architectures =
        from kind in Gen.OneOf("mlp", "linear")
        from input in Gen.Int[1, 3].Array[1, 2]
        from hidden in Gen.Int[1, 4].Array[0, 2]
        from outputs in Gen.Int[1, 3]
        from activation in Gen.OneOf(Activations.Names)
        from batchNorm in Gen.Bool
        from dropout in Gen.OneOf(0.0, 0.25)
        select new ModelSpec
        {
            Kind = kind, InputShape = input, Hidden = kind == "mlp" ? hidden : [], Outputs = outputs, Activation = activation,
            BatchNorm = batchNorm, Dropout = dropout,
        };

    private static bool ParseModel(ModelCase c)
    {
        var file = ModelFile.Load(new MemoryStream(c.Bytes), Fuzz.Source);
        if (c.Spec is not null)
        {
            Assert.Equal(c.Spec.ToJson(), file.Spec.ToJson());
            var state = file.Model.StateDict();
            Assert.Equal(c.State!.Keys.Order(), state.Keys.Order());
            foreach (var (name, tensor) in c.State) Assert.Equal(tensor.ToArray(), state[name].ToArray());
        }
        return true;
    }

    /// <summary>The model description in the metadata is a parser of its own: its values are mutated in place, the weights kept.</summary>
    [Fact]
    public void ModelFilesLoadOrRaiseInvalidData()
    {
        var wellFormed = Gen.Select(Architectures, Gen.Int).Select(p =>
        {
            var (bytes, state) = ModelBytes(p.Item1, p.Item2);
            return new ModelCase(bytes, p.Item1, state);
        });
        var seeds = Specs.Select((s, i) => ModelBytes(s, i).Bytes).ToArray();
        var templates = Specs.Select(s => SafetensorsBytes.Split(ModelBytes(s, 0, "\"@SPEC@\"").Bytes)).ToArray();
        var specMutants = Gen.Int.Select(n =>
        {
            var random = new Random(n);
            int which = random.Next(Specs.Length);
            string json = random.Next(2) == 0 ? JsonMutator.Mutate(Specs[which].ToJson(), random) : Replace(Specs[which].ToJson(), random);
            var (header, data) = templates[which];
            return new ModelCase(SafetensorsBytes.Frame(header.TrimEnd().Replace("\"@SPEC@\"", SafetensorsBytes.Quoted(json)), data), null, null);
        });
        // Byte mutants of the small models: the cnn's 100 KB of weights would only slow the search for header damage.
        var byteMutants = Mutator.Of(seeds[..^1]).Select(b => new ModelCase(b, null, null));
        Fuzz.Run(output, "model file", Gen.OneOf(wellFormed, specMutants, specMutants, byteMutants), ParseModel, c => Fuzz.Hex(c.Bytes));
    }

    private static readonly JsonNode?[] Replacements = [null, "x", "", true, new JsonArray(), new JsonObject(), -1, 0, 1, 1e300, 2.5, int.MaxValue, new JsonArray(int.MaxValue, int.MaxValue, int.MaxValue), new JsonArray(65536, 65536, 65536, 65536), "cnn", "linear", "gelu"];

    /// <summary>One value of a JSON object replaced (or removed) by a boundary value of another type or size.</summary>
    internal static string Replace(string json, Random random)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        var key = node.Select(p => p.Key).ElementAt(random.Next(node.Count));
        int pick = random.Next(Replacements.Length + 1);
        if (pick == Replacements.Length) node.Remove(key);
        else node[key] = Replacements[pick]?.DeepClone();
        return node.ToJsonString();
    }
}
