using Descent.Kernels;
using Descent.Kernels.Reference;

namespace Descent.Tests.Ops;

/// <summary>Every element-wise kernel against its scalar twin at every length up to past two 512-bit vectors.</summary>
public class ElementwiseKernelTests
{
    public static TheoryData<int> Lengths()
    {
        var d = new TheoryData<int>();
        foreach (var n in Enumerable.Range(0, 50).Concat([63, 64, 65, 127, 128, 129, 1000, 4099])) d.Add(n);
        return d;
    }

    private static float[] Data(int n, int seed)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 8 - 4);
        return a;
    }

    private static void Close(float[] expected, float[] actual, double tol = 1e-6)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"index {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Kernels_equal_their_reference_twins(int n)
    {
        var x = Data(n, n);
        var gy = Data(n, n + 1);
        var g0 = Data(n, n + 2);
        float[] y1 = new float[n], y2 = new float[n], ga = (float[])g0.Clone(), gb = (float[])g0.Clone();

        Elementwise.Relu(x, y1); ElementwiseReference.Relu(x, y2); Close(y2, y1);
        Elementwise.ReluBackward(x, gy, ga); ElementwiseReference.ReluBackward(x, gy, gb); Close(gb, ga);
        var written = Enumerable.Repeat(float.NaN, n).ToArray();
        var fromZeros = new float[n];
        Elementwise.ReluBackward(x, gy, written, accumulate: false); ElementwiseReference.ReluBackward(x, gy, fromZeros); Close(fromZeros, written);
        Elementwise.LeakyRelu(x, 0.2f, y1); ElementwiseReference.LeakyRelu(x, 0.2f, y2); Close(y2, y1);
        Elementwise.LeakyReluBackward(x, 0.2f, gy, ga); ElementwiseReference.LeakyReluBackward(x, 0.2f, gy, gb); Close(gb, ga);
        Elementwise.Sigmoid(x, y1); ElementwiseReference.Sigmoid(x, y2); Close(y2, y1, 1e-5);
        Elementwise.SigmoidBackward(y2, gy, ga); ElementwiseReference.SigmoidBackward(y2, gy, gb); Close(gb, ga, 1e-5);
        Elementwise.Tanh(x, y1); ElementwiseReference.Tanh(x, y2); Close(y2, y1, 1e-5);
        Elementwise.TanhBackward(y2, gy, ga); ElementwiseReference.TanhBackward(y2, gy, gb); Close(gb, ga, 1e-5);
        if (n > 0)
        {
            int dim = n % 7 + 1, rows = n / dim * dim;
            Elementwise.SoftmaxRows(x.AsSpan(0, rows), dim, y1.AsSpan(0, rows)); ElementwiseReference.Softmax(x.AsSpan(0, rows), dim, y2.AsSpan(0, rows)); Close(y2[..rows], y1[..rows], 1e-5);
            Elementwise.LogSoftmaxRows(x.AsSpan(0, rows), dim, y1.AsSpan(0, rows)); ElementwiseReference.LogSoftmax(x.AsSpan(0, rows), dim, y2.AsSpan(0, rows)); Close(y2[..rows], y1[..rows], 1e-5);
        }
    }

    [Fact]
    public void Tanh_is_relatively_accurate_near_zero_and_everywhere()
    {
        // Relative error against double-precision tanh, at magnitudes from 1e-30 to saturation, on both
        // sides of the switch between the polynomial and the exponential form (|x| = 0.625), vector body and tail.
        var values = new List<float> { 0f, 1e-30f, -1e-12f, 1e-7f, -3e-4f, 0.01f, 0.3f, -0.6249f, 0.625f, 0.6251f, -1f, 2.5f, -9f, 20f, -90f };
        var r = new Random(7);
        for (int i = 0; i < 4000; i++) values.Add((float)((r.NextDouble() * 2 - 1) * Math.Pow(10, r.NextDouble() * 8 - 6)));
        var x = values.ToArray();
        var y = new float[x.Length];
        Elementwise.Tanh(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = Math.Tanh(x[i]);
            Assert.True(Math.Abs(y[i] - exact) <= 4e-7 * Math.Abs(exact), $"tanh({x[i]:R}) = {y[i]:R}, exact {exact:R}");
        }
        Assert.Equal(0f, y[0]);
        var special = new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity };
        var ys = new float[3];
        Elementwise.Tanh(special, ys);
        Assert.True(float.IsNaN(ys[0]));
        Assert.Equal([1f, -1f], ys[1..]);
    }

    [Fact]
    public void Erf_matches_known_values()
    {
        // Abramowitz & Stegun table values.
        (float x, double erf)[] table = [(0f, 0), (0.1f, 0.1124629160), (0.5f, 0.5204998778), (1f, 0.8427007929), (1.5f, 0.9661051465), (2f, 0.9953222650), (3f, 0.9999779095), (-1f, -0.8427007929)];
        foreach (var (x, e) in table) Assert.Equal(e, Elementwise.Erf(x), 6);
    }

    [Fact]
    public void Log_softmax_is_stable_for_huge_logits()
    {
        float[] x = [800f, -800f, 0f], y = new float[3];
        Elementwise.LogSoftmaxRows(x, 3, y);
        Assert.Equal(0f, y[0]);
        Assert.Equal(-1600f, y[1]);
        Assert.Equal(-800f, y[2]);
    }
}
