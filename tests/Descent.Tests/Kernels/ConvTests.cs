using Descent.Kernels;
using Descent.Kernels.Reference;
using Xunit;

namespace Descent.Tests.Kernels;

public class ConvTests
{
    // n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW: more parameters than TheoryData takes.
    private static readonly int[][] Cases =
    [
        [2, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1],
        [3, 2, 8, 8, 5, 3, 3, 2, 2, 1, 1],
        [2, 4, 11, 10, 3, 5, 5, 1, 1, 2, 2],
        [2, 3, 9, 7, 4, 2, 3, 2, 1, 0, 1],
        [3, 5, 6, 7, 6, 1, 1, 1, 1, 0, 0],
        [2, 5, 6, 7, 6, 1, 1, 2, 2, 0, 0],
        [1, 3, 10, 10, 8, 3, 3, 1, 1, 0, 0],
        [4, 2, 13, 5, 3, 5, 3, 2, 3, 2, 1],
        [2, 1, 5, 5, 2, 5, 5, 1, 1, 0, 0],
        [2, 2, 6, 6, 3, 3, 3, 1, 1, 2, 2],
        [5, 3, 15, 17, 7, 3, 3, 2, 2, 0, 0],
        [8, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1],
        [8, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1],
        // Stride 1 with output rows as wide as the input's, fewer or more output rows than input rows, tiny widths.
        [2, 2, 6, 5, 3, 3, 5, 1, 1, 0, 2],
        [2, 3, 5, 4, 2, 1, 3, 1, 1, 1, 1],
        [3, 2, 3, 2, 2, 3, 3, 1, 1, 1, 1],
        [2, 2, 4, 1, 3, 3, 1, 1, 1, 1, 0],
    ];

    public static IEnumerable<object[]> Geometries() => Cases.Select(c => c.Cast<object>().ToArray());

    [Theory]
    [MemberData(nameof(Geometries))]
    public void ForwardMatchesReference(int n, int cIn, int h, int w, int cOut, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var random = new Random(n * 1000 + cIn * 100 + kh * 10 + sh);
        int oh = Conv.OutputSize(h, kh, sh, ph), ow = Conv.OutputSize(w, kw, sw, pw);
        var x = GemmTests.RandomArray(random, n * cIn * h * w);
        var weight = GemmTests.RandomArray(random, cOut * cIn * kh * kw);
        var bias = GemmTests.RandomArray(random, cOut);

        foreach (bool withBias in new[] { true, false })
        {
            var b = withBias ? bias : [];
            var actual = GemmTests.RandomArray(random, n * cOut * oh * ow);
            var expected = new float[actual.Length];
            Conv.Conv2dForward(x, n, cIn, h, w, weight, b, cOut, kh, kw, sh, sw, ph, pw, actual);
            ConvReference.Conv2dForward(x, n, cIn, h, w, weight, b, cOut, kh, kw, sh, sw, ph, pw, expected);
            AssertClose(expected, actual, cIn * kh * kw, $"y (bias {withBias})");
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void BackwardAccumulatesAllThreeGradientsLikeReference(int n, int cIn, int h, int w, int cOut, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var random = new Random(n * 999 + cOut * 100 + kw * 10 + sw);
        int oh = Conv.OutputSize(h, kh, sh, ph), ow = Conv.OutputSize(w, kw, sw, pw);
        var x = GemmTests.RandomArray(random, n * cIn * h * w);
        var weight = GemmTests.RandomArray(random, cOut * cIn * kh * kw);
        var gy = GemmTests.RandomArray(random, n * cOut * oh * ow);
        var gx = GemmTests.RandomArray(random, x.Length);
        var gWeight = GemmTests.RandomArray(random, weight.Length);
        var gBias = GemmTests.RandomArray(random, cOut);
        var (gxExpected, gWeightExpected, gBiasExpected) = ((float[])gx.Clone(), (float[])gWeight.Clone(), (float[])gBias.Clone());

        Conv.Conv2dBackward(n, cIn, h, w, cOut, kh, kw, sh, sw, ph, pw, x, weight, gy, gx, gWeight, gBias);
        ConvReference.Conv2dBackward(n, cIn, h, w, cOut, kh, kw, sh, sw, ph, pw, x, weight, gy, gxExpected, gWeightExpected, gBiasExpected);

        AssertClose(gxExpected, gx, cOut * kh * kw, "gx");
        AssertClose(gWeightExpected, gWeight, n * oh * ow, "gWeight");
        AssertClose(gBiasExpected, gBias, n * oh * ow, "gBias");
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void BackwardWithoutAccumulatingOverwritesTheInputGradient(int n, int cIn, int h, int w, int cOut, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var random = new Random(n * 777 + cIn * 100 + kh * 10 + sw);
        int oh = Conv.OutputSize(h, kh, sh, ph), ow = Conv.OutputSize(w, kw, sw, pw);
        var x = GemmTests.RandomArray(random, n * cIn * h * w);
        var weight = GemmTests.RandomArray(random, cOut * cIn * kh * kw);
        var gy = GemmTests.RandomArray(random, n * cOut * oh * ow);
        var gx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        var gxExpected = new float[x.Length];

        Conv.Conv2dBackward(n, cIn, h, w, cOut, kh, kw, sh, sw, ph, pw, x, weight, gy, gx, new float[weight.Length], [], accumulateGx: false);
        ConvReference.Conv2dBackward(n, cIn, h, w, cOut, kh, kw, sh, sw, ph, pw, x, weight, gy, gxExpected, new float[weight.Length], []);
        AssertClose(gxExpected, gx, cOut * kh * kw, "gx");
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void ReluMaxPoolFusionMatchesTheReferencesChained(int n, int cIn, int h, int w, int cOut, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        int oh = Conv.OutputSize(h, kh, sh, ph), ow = Conv.OutputSize(w, kw, sw, pw);
        if (oh < 2 || ow < 2) return;
        var random = new Random(n * 555 + cIn * 100 + kh * 10 + sw);
        var x = GemmTests.RandomArray(random, n * cIn * h * w);
        var weight = GemmTests.RandomArray(random, cOut * cIn * kh * kw);
        var bias = GemmTests.RandomArray(random, cOut);
        int pooled = n * cOut * (oh / 2) * (ow / 2);

        // Reference: convolution, ReLU, 2×2 max pool, each from Kernels.Reference, and back.
        var conv = new float[n * cOut * oh * ow];
        ConvReference.Conv2dForward(x, n, cIn, h, w, weight, bias, cOut, kh, kw, sh, sw, ph, pw, conv);
        var relu = new float[conv.Length];
        ElementwiseReference.Relu(conv, relu);
        var yExpected = new float[pooled];
        var indicesExpected = new int[pooled];
        PoolingReference.MaxPool2dForward(relu, n, cOut, oh, ow, 2, 2, 2, 2, 0, 0, yExpected, indicesExpected);

        var y = new float[pooled];
        var indices = new int[pooled];
        Conv.Conv2dReluMaxPool2x2Forward(x, n, cIn, h, w, weight, bias, cOut, kh, kw, sh, sw, ph, pw, y, indices);
        AssertClose(yExpected, y, cIn * kh * kw, "y");

        var gy = GemmTests.RandomArray(random, pooled);
        var gRelu = new float[conv.Length];
        PoolingReference.MaxPool2dBackward(gy, indicesExpected, n, cOut, oh, ow, 2, 2, 2, 2, 0, 0, gRelu);
        var gConv = new float[conv.Length];
        ElementwiseReference.ReluBackward(conv, gRelu, gConv);
        var (gxExpected, gWeightExpected, gBiasExpected) = (new float[x.Length], new float[weight.Length], new float[cOut]);
        ConvReference.Conv2dBackward(n, cIn, h, w, cOut, kh, kw, sh, sw, ph, pw, x, weight, gConv, gxExpected, gWeightExpected, gBiasExpected);

        var gx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        var (gWeight, gBias) = (new float[weight.Length], new float[cOut]);
        Conv.Conv2dReluMaxPool2x2Backward(n, cIn, h, w, cOut, kh, kw, sh, sw, ph, pw, x, weight, gy, y, indices, gx, gWeight, gBias, accumulateGx: false);
        AssertClose(gxExpected, gx, cOut * kh * kw, "gx");
        AssertClose(gWeightExpected, gWeight, n * oh * ow, "gWeight");
        AssertClose(gBiasExpected, gBias, n * oh * ow, "gBias");
    }

    [Fact]
    public void BackwardWithoutInputOrBiasGradientOnlyTouchesTheFilterGradient()
    {
        var random = new Random(9);
        const int n = 3, cIn = 2, h = 6, w = 5, cOut = 4, k = 3;
        var x = GemmTests.RandomArray(random, n * cIn * h * w);
        var weight = GemmTests.RandomArray(random, cOut * cIn * k * k);
        var gy = GemmTests.RandomArray(random, n * cOut * h * w);
        var gWeight = new float[weight.Length];
        var gWeightExpected = new float[weight.Length];

        Conv.Conv2dBackward(n, cIn, h, w, cOut, k, k, 1, 1, 1, 1, x, weight, gy, [], gWeight, []);
        ConvReference.Conv2dBackward(n, cIn, h, w, cOut, k, k, 1, 1, 1, 1, x, weight, gy, [], gWeightExpected, []);
        AssertClose(gWeightExpected, gWeight, n * h * w, "gWeight");
    }

    private struct NestedBackwardBody : IParallelBody
    {
        public float[][] Results;

        public void Run(int index)
        {
            var random = new Random(31);
            var x = GemmTests.RandomArray(random, 4 * 3 * 8 * 8);
            var weight = GemmTests.RandomArray(random, 5 * 3 * 9);
            var gy = GemmTests.RandomArray(random, 4 * 5 * 8 * 8);
            var gWeight = new float[weight.Length];
            var gBias = new float[5];
            Conv.Conv2dBackward(4, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1, x, weight, gy, [], gWeight, gBias);
            Results[index] = [.. gWeight, .. gBias];
        }
    }

    [Fact]
    public void BackwardCalledFromInsideAParallelLoopGivesTheSameGradients()
    {
        var body = new NestedBackwardBody { Results = new float[4][] };
        WorkerPool.For(4, ref body);
        var alone = new NestedBackwardBody { Results = new float[1][] };
        alone.Run(0);
        foreach (var result in body.Results) AssertClose(alone.Results[0], result, 4 * 64, "nested gradients");
    }

    [Theory]
    [InlineData(28, 3, 1, 1, 28)]
    [InlineData(28, 2, 2, 0, 14)]
    [InlineData(7, 3, 2, 1, 4)]
    [InlineData(5, 5, 1, 0, 1)]
    public void OutputSizeFollowsTheFloorFormula(int input, int kernel, int stride, int pad, int expected)
        => Assert.Equal(expected, Conv.OutputSize(input, kernel, stride, pad));

    [Fact]
    public void RejectsAKernelLargerThanThePaddedInput()
        => Assert.Throws<ArgumentException>(() => Conv.OutputSize(3, 5, 1, 0));

    [Fact]
    public void RejectsAnOutputThatIsTooShort()
    {
        var x = new float[2 * 4 * 4];
        var weight = new float[3 * 2 * 9];
        Assert.Throws<ArgumentException>(() =>
            Conv.Conv2dForward(x, 1, 2, 4, 4, weight, [], 3, 3, 3, 1, 1, 1, 1, new float[3 * 16 - 1]));
    }

    private static void AssertClose(float[] expected, float[] actual, int sumLength, string what)
    {
        float tolerance = 1e-5f * MathF.Sqrt(sumLength);
        for (int i = 0; i < expected.Length; i++)
        {
            float error = MathF.Abs(actual[i] - expected[i]);
            if (!(error <= tolerance * (1 + MathF.Abs(expected[i]))))
                Assert.Fail($"{what}[{i}] = {actual[i]}, expected {expected[i]}");
        }
    }
}
