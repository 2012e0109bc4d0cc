using System.Numerics.Tensors;

namespace Descent.Kernels;

/// <summary>
/// Reductions along one axis of a row-major tensor seen as [outer, dim, inner]: the axis is the middle
/// dimension, so every reduction over any axis of any rank is one of these calls.
/// </summary>
public static class AxisReduction
{
    /// <summary>y[o, i] = Σ_d x[o, d, i].</summary>
    public static void Sum(ReadOnlySpan<float> x, int outer, int dim, int inner, Span<float> y)
    {
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++) y[o] = TensorPrimitives.Sum(x.Slice(o * dim, dim));
            return;
        }
        for (int o = 0; o < outer; o++)
        {
            var yo = y.Slice(o * inner, inner);
            x.Slice(o * dim * inner, inner).CopyTo(yo);
            for (int d = 1; d < dim; d++) TensorPrimitives.Add(yo, x.Slice((o * dim + d) * inner, inner), yo);
        }
    }

    /// <summary>gx[o, d, i] += scale · gy[o, i] (the backward of a sum, or of a mean with scale 1/dim).</summary>
    public static void SumBackward(ReadOnlySpan<float> gy, int outer, int dim, int inner, float scale, Span<float> gx)
    {
        for (int o = 0; o < outer; o++)
        {
            var go = gy.Slice(o * inner, inner);
            for (int d = 0; d < dim; d++)
            {
                var gxs = gx.Slice((o * dim + d) * inner, inner);
                if (inner == 1) gxs[0] += scale * go[0];
                else TensorPrimitives.MultiplyAdd(go, scale, gxs, gxs);
            }
        }
    }

    /// <summary>y[o, i] = max_d x[o, d, i] and the index d of the first maximum (PyTorch's tie rule).</summary>
    public static void Max(ReadOnlySpan<float> x, int outer, int dim, int inner, Span<float> y, Span<int> argmax)
    {
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int baseIndex = o * dim * inner + i;
                float best = x[baseIndex];
                int bestD = 0;
                for (int d = 1; d < dim; d++)
                {
                    float v = x[baseIndex + d * inner];
                    if (v > best || float.IsNaN(v) && !float.IsNaN(best)) { best = v; bestD = d; }
                }
                y[o * inner + i] = best;
                argmax[o * inner + i] = bestD;
            }
        }
    }

    /// <summary>gx[o, argmax, i] += gy[o, i].</summary>
    public static void MaxBackward(ReadOnlySpan<float> gy, ReadOnlySpan<int> argmax, int outer, int dim, int inner, Span<float> gx)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
                gx[(o * dim + argmax[o * inner + i]) * inner + i] += gy[o * inner + i];
    }
}
