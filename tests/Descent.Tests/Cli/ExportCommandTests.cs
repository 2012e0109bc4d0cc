using Descent.Nn;
using Descent.Tests.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Descent.Tests.Cli;

/// <summary><c>descent export</c>: a model file in, an ONNX file that ONNX Runtime runs out; bad input is one line and exit 2.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ExportsAModelFileThatOnnxRuntimeRuns()
    {
        Rng.ManualSeed(5);
        var spec = new ModelSpec { Kind = "cnn", InputShape = [1, 8, 8], Outputs = 3, BatchNorm = true };
        var model = spec.Build();
        ModelFile.Save(_dir.Sub("m.safetensors"), model, spec);
        var (code, stdout, err) = CliRunner.Run("export", "--model", _dir.Sub("m.safetensors"), "--onnx", _dir.Sub("out/m.onnx"));
        Assert.True(code == 0, err);
        Assert.Contains("ONNX opset 17", stdout);

        var input = TestData.Random(1, 2, 1, 8, 8);
        using var session = new InferenceSession(_dir.Sub("out/m.onnx"));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(input.ToArray(), [2, 1, 8, 8]))]);
        var expected = model.Eval().Forward(input).ToArray();
        var actual = results.Single().AsEnumerable<float>().ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"{i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void MissingModelFileIsOneLine() =>
        Assert.Contains("--model", CliRunner.AssertUsageError("export", "--model", _dir.Sub("none.safetensors"), "--onnx", _dir.Sub("m.onnx")));

    [Fact]
    public void FileWithoutArchitectureIsOneLineAndWritesNothing()
    {
        new Sequential(new Linear(2, 2)).Save(_dir.Sub("bare.safetensors"));
        Assert.Contains("records no architecture", CliRunner.AssertUsageError("export", "--model", _dir.Sub("bare.safetensors"), "--onnx", _dir.Sub("out/m.onnx")));
        Assert.False(Directory.Exists(_dir.Sub("out")));
    }

    [Fact]
    public void CorruptModelFileIsOneLine()
    {
        File.WriteAllBytes(_dir.Sub("bad.safetensors"), [255, 255, 255, 255, 0, 0, 0, 0, 1, 2]);
        Assert.Contains("not a valid safetensors file", CliRunner.AssertUsageError("export", "--model", _dir.Sub("bad.safetensors"), "--onnx", _dir.Sub("m.onnx")));
    }
}
