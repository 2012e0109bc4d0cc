using System.Text.Json;
using Descent.Nn;
using Descent.Tests.Fixtures;
using Descent.Tests.Logging;

namespace Descent.Tests.Saving;

/// <summary>
/// Model files exchanged with PyTorch 1.13 (tests/fixtures/safetensors/generate_safetensors.py): PyTorch loads the
/// files Descent writes with <c>load_state_dict(strict=True)</c> and gets Descent's logits; Descent loads the files
/// PyTorch writes and gets PyTorch's logits.
/// </summary>
public sealed class SafetensorsFixtureTests
{
    private static JsonElement Golden => Fixture.Load("safetensors/safetensors.json");

    // The seeded models behind descent_*.safetensors: the test rebuilds them and demands the committed bytes.
    private static readonly (string Name, ModelSpec Spec, int Seed)[] DescentModels =
    [
        ("descent_mlp", new ModelSpec { Kind = "mlp", InputShape = [12], Hidden = [20, 10], Outputs = 4, Activation = "relu", BatchNorm = true, Dropout = 0.1 }, 3),
        ("descent_cnn", new ModelSpec { Kind = "cnn", InputShape = [1, 5, 6], Outputs = 3, Activation = "leaky-relu", BatchNorm = true }, 4),
    ];

    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "safetensors", name + ".safetensors");

    /// <summary>The model from its seed, with BatchNorm's statistics and affine parameters moved away from 1 and 0.</summary>
    private static Sequential SeededModel(ModelSpec spec, int seed)
    {
        Rng.ManualSeed(seed);
        var model = spec.Build();
        foreach (var (name, tensor) in model.NamedParameters().Select(p => (p.Name, (Tensor)p.Parameter)).Concat(model.NamedBuffers()))
        {
            var d = tensor.Data;
            bool batchNorm = model.Layers[int.Parse(name.Split('.')[0])] is BatchNorm;
            if (!batchNorm) continue;
            for (int i = 0; i < d.Length; i++)
                d[i] = name.Split('.')[1] switch
                {
                    "weight" => 1f + 0.3f * MathF.Sin(i + 1),
                    "bias" => 0.2f * MathF.Cos(2 * i),
                    "running_mean" => 0.4f * MathF.Sin(0.7f * i),
                    "running_var" => 0.6f + MathF.Cos(0.3f * i) * MathF.Cos(0.3f * i),
                    _ => 7f, // num_batches_tracked
                };
        }
        return model;
    }

    /// <summary>
    /// Descent's files are byte for byte the committed ones PyTorch loaded. With DESCENT_WRITE_FIXTURES=1 the test
    /// writes them into the source tree instead (run it before the Python generator when the format changes).
    /// </summary>
    [Fact]
    public void DescentWritesTheBytesPyTorchLoaded()
    {
        if (Environment.GetEnvironmentVariable("DESCENT_WRITE_FIXTURES") == "1")
        {
            var source = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../fixtures/safetensors"));
            foreach (var (name, spec, seed) in DescentModels)
                ModelFile.Save(Path.Combine(source, name + ".safetensors"), SeededModel(spec, seed), spec);
        }
        using var dir = new TempDirectory();
        foreach (var (name, spec, seed) in DescentModels)
        {
            var path = dir.Sub(name + ".safetensors");
            ModelFile.Save(path, SeededModel(spec, seed), spec);
            Assert.Equal(File.ReadAllBytes(FixturePath(name)), File.ReadAllBytes(path));
        }
    }

    [Theory]
    [InlineData("descent_mlp")]
    [InlineData("descent_cnn")]
    [InlineData("torch_mlp")]
    [InlineData("torch_cnn")]
    public void LogitsMatchPyTorch(string name)
    {
        var golden = Golden.GetProperty(name);
        var file = ModelFile.Load(FixturePath(name));
        var logits = file.Model.Forward(Fixture.Tensor(golden.GetProperty("input")));
        Assert.Equal(Fixture.Ints(golden.GetProperty("logits").GetProperty("shape")), logits.Shape.ToArray());
        Fixture.AssertClose(Fixture.Floats(golden.GetProperty("logits").GetProperty("data")), logits.Data, 1e-5, 0, name);
    }

    [Theory]
    [InlineData("descent_mlp")]
    [InlineData("torch_cnn")]
    public void StateDictNamesArePyTorchs(string name)
    {
        var expected = Golden.GetProperty(name).GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).Order(StringComparer.Ordinal);
        var model = ModelSpec.FromJson(Golden.GetProperty(name).GetProperty("spec").GetRawText()).Build();
        Assert.Equal(expected, model.StateDict().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void PyTorchsNumBatchesTrackedReadsAsItsValue()
    {
        var file = Safetensors.Read(FixturePath("torch_mlp"));
        Assert.Equal(11f, file.Tensors["2.num_batches_tracked"].Item());
        Assert.Equal("pt", file.Metadata["format"]);
    }
}
