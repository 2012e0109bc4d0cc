using Descent.Kernels;

namespace Descent.Tests.Kernels;

public class ReductionsTests
{
    public static TheoryData<int> Lengths()
    {
        var d = new TheoryData<int>();
        foreach (var n in Enumerable.Range(0, 70).Concat([127, 128, 129, 4095, 4096, 4097, 65_537, 131_073, 300_001])) d.Add(n);
        return d;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Sum_of_squares_matches_a_double_precision_loop(int n)
    {
        var r = new Random(n);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)((r.NextDouble() * 2 - 1) * Math.Pow(10, r.Next(-3, 3)));
        double exact = 0;
        foreach (float v in x) exact += (double)v * v;
        double got = Reductions.SumOfSquares(x);
        Assert.True(Math.Abs(got - exact) <= 1e-6 * exact, $"n = {n}: {got:R} against {exact:R}");
    }
}
