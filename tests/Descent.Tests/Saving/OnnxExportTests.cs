using Descent.IO;
using Descent.Nn;
using Descent.Tests.Fixtures;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Descent.Tests.Saving;

/// <summary>Exported graphs run in ONNX Runtime and give Descent's outputs (evaluation mode).</summary>
public sealed class OnnxExportTests
{
    /// <summary>A few training-mode batches, so BatchNorm's running statistics are far from 0 and 1.</summary>
    private static void Warm(Module model, int[] sampleShape)
    {
        model.Train();
        using (Descent.Autodiff.Tape.NoGrad())
            for (int i = 0; i < 3; i++) model.Forward(TestData.Uniform(10 + i, -2, 3, [8, .. sampleShape]));
        model.Eval();
    }

    private static float[] RunInOnnxRuntime(byte[] onnx, Tensor input)
    {
        using var session = new InferenceSession(onnx);
        var tensor = new DenseTensor<float>(input.ToArray(), input.Shape.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", tensor)]);
        return results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
    }

    private static void AssertOnnxRuntimeAgrees(Module model, int[] sampleShape)
    {
        Warm(model, sampleShape);
        var onnx = OnnxExporter.ToBytes(model, sampleShape);
        var input = TestData.Uniform(99, -2, 2, [5, .. sampleShape]);
        var expected = model.Forward(input).ToArray();
        Fixture.AssertClose(expected, RunInOnnxRuntime(onnx, input), 1e-5, 0, "ONNX Runtime vs Descent");
    }

    [Theory]
    [InlineData("relu", true, 0.3)]
    [InlineData("gelu", true, 0.0)]
    [InlineData("elu", false, 0.5)]
    public void MlpAgrees(string activation, bool batchNorm, double dropout)
    {
        Rng.ManualSeed(1);
        var spec = new ModelSpec { Kind = "mlp", InputShape = [1, 6, 5], Hidden = [32, 16], Outputs = 7, Activation = activation, BatchNorm = batchNorm, Dropout = dropout };
        AssertOnnxRuntimeAgrees(spec.Build(), spec.InputShape);
    }

    [Theory]
    [InlineData("relu", true)]
    [InlineData("leaky-relu", false)]
    public void CnnAgrees(string activation, bool batchNorm)
    {
        Rng.ManualSeed(2);
        var spec = new ModelSpec { Kind = "cnn", InputShape = [3, 9, 8], Outputs = 4, Activation = activation, BatchNorm = batchNorm, Dropout = 0.2 };
        AssertOnnxRuntimeAgrees(spec.Build(), spec.InputShape);
    }

    [Fact]
    public void EveryOtherLayerAgrees()
    {
        Rng.ManualSeed(3);
        var model = new Sequential(
            new Conv2d(2, 4, (3, 2), (2, 1), (1, 0)),
            new AvgPool2d(2, 1, 1),
            new Sigmoid(),
            new MaxPool2d(3, 2, 1),
            new Flatten(2),                  // [N, 4, H·W]: Reshape, then a Linear over the last axis (MatMul)
            new Linear(12, 6),
            new LayerNorm(6),
            new Tanh(),
            new Flatten(),
            new Linear(24, 5, bias: false),
            new Sequential(new LayerNorm(5, elementwiseAffine: false), new BatchNorm1d(5, affine: false), new GELU()));
        AssertOnnxRuntimeAgrees(model, [2, 8, 7]);
    }

    [Fact]
    public void ExportRestoresTrainingMode()
    {
        var model = new Sequential(new Linear(3, 2));
        OnnxExporter.ToBytes(model, [3]);
        Assert.True(model.Training);
    }

    [Fact]
    public void UnsupportedLayersAreNamed()
    {
        var model = new Sequential(new Linear(3, 2), new BatchNorm1d(2, trackRunningStats: false));
        var e = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(model, [3]));
        Assert.Contains("running statistics", e.Message);
    }

    [Fact]
    public void SampleShapeThatDoesNotFitIsRefused() =>
        Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new Sequential(new Linear(3, 2)), [4]));
}
