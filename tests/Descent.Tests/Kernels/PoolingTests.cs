using Descent.Kernels;
using Descent.Kernels.Reference;
using Xunit;

namespace Descent.Tests.Kernels;

public class PoolingTests
{
    public static TheoryData<int, int, int, int, int, int, int, int, int, int> Geometries() => new()
    {
        // n, c, h, w, kh, kw, strideH, strideW, padH, padW
        { 2, 3, 8, 8, 2, 2, 2, 2, 0, 0 },
        { 2, 3, 7, 9, 3, 3, 2, 2, 1, 1 },
        { 1, 2, 10, 7, 3, 2, 1, 1, 1, 1 },
        { 2, 2, 9, 9, 3, 3, 3, 3, 0, 0 },
        { 3, 4, 6, 5, 2, 3, 1, 2, 1, 1 },
        { 1, 1, 5, 5, 5, 5, 1, 1, 2, 2 },
        { 4, 3, 11, 13, 4, 4, 3, 3, 2, 2 },
        { 2, 2, 7, 7, 2, 2, 2, 2, 1, 1 },
        { 16, 32, 28, 28, 2, 2, 2, 2, 0, 0 },
        { 3, 5, 14, 15, 2, 2, 2, 2, 0, 0 },
        // 2×2 pools whose rows end in a partial group of four outputs (7, 5, 6), or have exactly four.
        { 2, 3, 14, 14, 2, 2, 2, 2, 0, 0 },
        { 2, 2, 6, 10, 2, 2, 2, 2, 0, 0 },
        { 1, 2, 4, 13, 2, 2, 2, 2, 0, 0 },
        { 1, 2, 4, 9, 2, 2, 2, 2, 0, 0 },
    };

    /// <summary>Small integers, so windows often hold ties and the first-maximum rule is exercised.</summary>
    private static float[] DataWithTies(Random random, int length)
    {
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = random.Next(-3, 4);
        return data;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void MaxForwardAndBackwardMatchReference(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var random = new Random(n * 100 + h * 10 + kh);
        int oh = Conv.OutputSize(h, kh, sh, ph), ow = Conv.OutputSize(w, kw, sw, pw);
        var x = DataWithTies(random, n * c * h * w);
        var y = new float[n * c * oh * ow];
        var indices = new int[y.Length];
        var yExpected = new float[y.Length];
        var indicesExpected = new int[y.Length];

        Pooling.MaxPool2dForward(x, n, c, h, w, kh, kw, sh, sw, ph, pw, y, indices);
        PoolingReference.MaxPool2dForward(x, n, c, h, w, kh, kw, sh, sw, ph, pw, yExpected, indicesExpected);
        Assert.Equal(yExpected, y);
        Assert.Equal(indicesExpected, indices);

        var gy = GemmTests.RandomArray(random, y.Length);
        var gx = GemmTests.RandomArray(random, x.Length);
        var gxExpected = (float[])gx.Clone();
        Pooling.MaxPool2dBackward(gy, indices, n, c, h, w, kh, kw, sh, sw, ph, pw, gx);
        PoolingReference.MaxPool2dBackward(gy, indicesExpected, n, c, h, w, kh, kw, sh, sw, ph, pw, gxExpected);
        AssertClose(gxExpected, gx);

        // Overwriting: whatever the buffer held (NaN here) is gone, and pixels no window chose are zero.
        var overwritten = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        var fromZeros = new float[x.Length];
        Pooling.MaxPool2dBackward(gy, indices, n, c, h, w, kh, kw, sh, sw, ph, pw, overwritten, accumulate: false);
        PoolingReference.MaxPool2dBackward(gy, indicesExpected, n, c, h, w, kh, kw, sh, sw, ph, pw, fromZeros);
        AssertClose(fromZeros, overwritten);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void AvgForwardAndBackwardMatchReference(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var random = new Random(n * 101 + w * 10 + kw);
        int oh = Conv.OutputSize(h, kh, sh, ph), ow = Conv.OutputSize(w, kw, sw, pw);
        var x = GemmTests.RandomArray(random, n * c * h * w);
        var y = new float[n * c * oh * ow];
        var yExpected = new float[y.Length];
        Pooling.AvgPool2dForward(x, n, c, h, w, kh, kw, sh, sw, ph, pw, y);
        PoolingReference.AvgPool2dForward(x, n, c, h, w, kh, kw, sh, sw, ph, pw, yExpected);
        AssertClose(yExpected, y);

        var gy = GemmTests.RandomArray(random, y.Length);
        var gx = GemmTests.RandomArray(random, x.Length);
        var gxExpected = (float[])gx.Clone();
        Pooling.AvgPool2dBackward(gy, n, c, h, w, kh, kw, sh, sw, ph, pw, gx);
        PoolingReference.AvgPool2dBackward(gy, n, c, h, w, kh, kw, sh, sw, ph, pw, gxExpected);
        AssertClose(gxExpected, gx);

        var overwritten = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        var fromZeros = new float[x.Length];
        Pooling.AvgPool2dBackward(gy, n, c, h, w, kh, kw, sh, sw, ph, pw, overwritten, accumulate: false);
        PoolingReference.AvgPool2dBackward(gy, n, c, h, w, kh, kw, sh, sw, ph, pw, fromZeros);
        AssertClose(fromZeros, overwritten);
    }

    [Fact]
    public void PaddingNeverWinsAMaxEvenWhenEveryPixelIsNegative()
    {
        var x = new float[] { -5, -4, -3, -2 };
        var y = new float[9];
        var indices = new int[9];
        Pooling.MaxPool2dForward(x, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, y, indices);
        // 3×3 output over a 2×2 input padded by one; the corner windows each see a single pixel.
        Assert.Equal([-5f, -4f, -4f, -3f, -2f, -2f, -3f, -2f, -2f], y);
        Assert.Equal([0, 1, 1, 2, 3, 3, 2, 3, 3], indices);
    }

    [Fact]
    public void AveragePaddingCountsInTheDivisor()
    {
        var x = new float[] { 4, 4, 4, 4 };
        var y = new float[9];
        Pooling.AvgPool2dForward(x, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, y);
        Assert.Equal(1f, y[0]);
        Assert.Equal(2f, y[1]);
        Assert.Equal(4f, y[4]);
    }

    [Fact]
    public void NaNPropagatesThroughMax()
    {
        var x = new float[] { 1, float.NaN, 3, 2 };
        var y = new float[1];
        var indices = new int[1];
        Pooling.MaxPool2dForward(x, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0, y, indices);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(1, indices[0]);
    }

    /// <summary>NaNs in every position of a window, across the four-wide vector loop of the 2×2 pool and its tail.</summary>
    [Fact]
    public void NaNPropagatesThroughMaxInEveryWindowPosition()
    {
        const int h = 2, w = 20;   // ten windows: two vectors of four and a tail of two
        var x = new float[h * w];
        for (int i = 0; i < x.Length; i++) x[i] = i % 3 - 1;
        int[] nanAt = [0, 3, w + 4, w + 7, 9, 10, w + 11, 15, w + 18];
        foreach (int at in nanAt) x[at] = float.NaN;
        var y = new float[w / 2];
        var indices = new int[w / 2];
        var yExpected = new float[w / 2];
        var indicesExpected = new int[w / 2];
        Pooling.MaxPool2dForward(x, 1, 1, h, w, 2, 2, 2, 2, 0, 0, y, indices);
        PoolingReference.MaxPool2dForward(x, 1, 1, h, w, 2, 2, 2, 2, 0, 0, yExpected, indicesExpected);
        Assert.Equal(indicesExpected, indices);
        for (int o = 0; o < y.Length; o++) Assert.Equal(float.IsNaN(yExpected[o]), float.IsNaN(y[o]));
        Assert.Equal(nanAt.Length - 1, y.Count(float.IsNaN));   // 10 and w + 11 share a window
    }

    [Fact]
    public void RejectsPaddingLargerThanHalfTheKernel()
        => Assert.Throws<ArgumentException>(() =>
            Pooling.AvgPool2dForward(new float[16], 1, 1, 4, 4, 2, 2, 2, 2, 2, 0, new float[16]));

    private static void AssertClose(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            float error = MathF.Abs(actual[i] - expected[i]);
            if (!(error <= 1e-5f * (1 + MathF.Abs(expected[i]))))
                Assert.Fail($"[{i}] = {actual[i]}, expected {expected[i]}");
        }
    }
}
