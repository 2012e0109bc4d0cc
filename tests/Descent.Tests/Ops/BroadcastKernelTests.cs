using Descent.Kernels;
using Descent.Kernels.Reference;

namespace Descent.Tests.Ops;

/// <summary>Broadcasting and axis-reduction kernels against their index-arithmetic twins over many shapes.</summary>
public class BroadcastKernelTests
{
    public static TheoryData<int[], int[]> ShapePairs() => new()
    {
        { [5], [5] }, { [17], [1] }, { [3, 4], [4] }, { [3, 4], [3, 1] }, { [2, 3, 4], [3, 1] }, { [2, 1, 4], [1, 3, 1] },
        { [4, 1], [1, 33] }, { [2, 3, 5, 7], [5, 1] }, { [1], [6, 2] }, { [65], [65] }, { [3, 129], [129] }, { [2, 2, 2, 2, 3], [2, 1, 1, 3] },
    };

    private static float[] Data(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 + 0.5)).ToArray();
    }

    [Theory]
    [MemberData(nameof(ShapePairs))]
    public void Binary_ops_and_their_gradients_equal_the_reference(int[] aShape, int[] bShape)
    {
        var outShape = ShapeUtil.Broadcast(aShape, bShape);
        var aStrides = ShapeUtil.BroadcastStrides(aShape, outShape);
        var bStrides = ShapeUtil.BroadcastStrides(bShape, outShape);
        var a = Data(ShapeUtil.Numel(aShape), 1);
        var b = Data(ShapeUtil.Numel(bShape), 2);
        int n = ShapeUtil.Numel(outShape);
        var gy = Data(n, 3);
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            float[] y1 = new float[n], y2 = new float[n];
            Broadcasting.Binary(op, a, aStrides, b, bStrides, outShape, y1);
            BroadcastReference.Binary(op, a, aStrides, b, bStrides, outShape, y2);
            for (int i = 0; i < n; i++) Assert.Equal(y2[i], y1[i], 1e-5f * (1 + Math.Abs(y2[i])));
            foreach (bool first in new[] { true, false })
            {
                int gn = first ? a.Length : b.Length;
                float[] g1 = new float[gn], g2 = new float[gn];
                Broadcasting.BinaryBackward(op, first, gy, a, aStrides, b, bStrides, outShape, g1);
                BroadcastReference.BinaryBackward(op, first, gy, a, aStrides, b, bStrides, outShape, g2);
                for (int i = 0; i < gn; i++) Assert.True(Math.Abs(g1[i] - g2[i]) <= 1e-4 * (1 + Math.Abs(g2[i])), $"{op} d/d{(first ? "a" : "b")}[{i}]: {g1[i]} vs {g2[i]}");
            }
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 7, 1)]
    [InlineData(1, 33, 5)]
    [InlineData(4, 5, 17)]
    [InlineData(2, 64, 65)]
    [InlineData(7, 129, 1)]
    public void Axis_reductions_equal_the_reference(int outer, int dim, int inner)
    {
        var x = Data(outer * dim * inner, outer + dim + inner);
        float[] s1 = new float[outer * inner], s2 = new float[outer * inner], m1 = new float[outer * inner], m2 = new float[outer * inner];
        int[] i1 = new int[outer * inner], i2 = new int[outer * inner];
        AxisReduction.Sum(x, outer, dim, inner, s1);
        BroadcastReference.Sum(x, outer, dim, inner, s2);
        for (int i = 0; i < s1.Length; i++) Assert.Equal(s2[i], s1[i], 1e-4f * (1 + Math.Abs(s2[i])));
        AxisReduction.Max(x, outer, dim, inner, m1, i1);
        BroadcastReference.Max(x, outer, dim, inner, m2, i2);
        Assert.Equal(m2, m1);
        Assert.Equal(i2, i1);
    }
}
