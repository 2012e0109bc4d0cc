namespace Descent.Kernels.Reference;

/// <summary>Scalar twins of <see cref="Broadcasting"/> and <see cref="AxisReduction"/>: index arithmetic per element, no fast paths.</summary>
internal static class BroadcastReference
{
    private static int SourceIndex(int flat, ReadOnlySpan<int> outShape, ReadOnlySpan<int> strides)
    {
        int index = 0;
        for (int d = outShape.Length - 1; d >= 0; d--)
        {
            int coord = flat % outShape[d];
            flat /= outShape[d];
            index += coord * strides[d];
        }
        return index;
    }

    private static double Apply(BinaryOp op, double a, double b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Subtract => a - b,
        BinaryOp.Multiply => a * b,
        _ => a / b,
    };

    public static void Binary(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<float> b, ReadOnlySpan<int> bStrides, ReadOnlySpan<int> outShape, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++)
            y[i] = (float)Apply(op, a[SourceIndex(i, outShape, aStrides)], b[SourceIndex(i, outShape, bStrides)]);
    }

    public static void BinaryBackward(BinaryOp op, bool forFirst, ReadOnlySpan<float> gy, ReadOnlySpan<float> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<float> b, ReadOnlySpan<int> bStrides, ReadOnlySpan<int> outShape, Span<float> g)
    {
        for (int i = 0; i < gy.Length; i++)
        {
            double av = a[SourceIndex(i, outShape, aStrides)], bv = b[SourceIndex(i, outShape, bStrides)];
            double d = op switch
            {
                BinaryOp.Add => gy[i],
                BinaryOp.Subtract => forFirst ? gy[i] : -gy[i],
                BinaryOp.Multiply => forFirst ? gy[i] * bv : gy[i] * av,
                _ => forFirst ? gy[i] / bv : -gy[i] * av / (bv * bv),
            };
            g[SourceIndex(i, outShape, forFirst ? aStrides : bStrides)] += (float)d;
        }
    }

    public static void Sum(ReadOnlySpan<float> x, int outer, int dim, int inner, Span<float> y)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double s = 0;
                for (int d = 0; d < dim; d++) s += x[(o * dim + d) * inner + i];
                y[o * inner + i] = (float)s;
            }
    }

    public static void Max(ReadOnlySpan<float> x, int outer, int dim, int inner, Span<float> y, Span<int> argmax)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                for (int d = 1; d < dim; d++)
                    if (x[(o * dim + d) * inner + i] > x[(o * dim + best) * inner + i]) best = d;
                y[o * inner + i] = x[(o * dim + best) * inner + i];
                argmax[o * inner + i] = best;
            }
    }
}
