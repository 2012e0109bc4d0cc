using System.Numerics.Tensors;

namespace Descent.Kernels;

/// <summary>The binary element-wise operations of autodiff.</summary>
public enum BinaryOp { Add, Subtract, Multiply, Divide }

/// <summary>
/// Broadcasting element-wise kernels (NumPy/PyTorch rules). Same-shape operands take the
/// <see cref="TensorPrimitives"/> fast path; broadcast operands walk the output with per-operand strides
/// (stride 0 on a broadcast dimension), innermost dimension as the tight loop.
/// </summary>
public static class Broadcasting
{
    /// <summary>y = a ∘ b with <paramref name="aStrides"/>/<paramref name="bStrides"/> aligned to <paramref name="outShape"/>.</summary>
    public static void Binary(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<float> b, ReadOnlySpan<int> bStrides, ReadOnlySpan<int> outShape, Span<float> y)
    {
        if (a.Length == y.Length && b.Length == y.Length)
        {
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(a, b, y); return;
                case BinaryOp.Subtract: TensorPrimitives.Subtract(a, b, y); return;
                case BinaryOp.Multiply: TensorPrimitives.Multiply(a, b, y); return;
                case BinaryOp.Divide: TensorPrimitives.Divide(a, b, y); return;
            }
        }
        if (b.Length == 1)
        {
            float s = b[0];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(a, s, y); return;
                case BinaryOp.Subtract: TensorPrimitives.Subtract(a, s, y); return;
                case BinaryOp.Multiply: TensorPrimitives.Multiply(a, s, y); return;
                case BinaryOp.Divide: TensorPrimitives.Divide(a, s, y); return;
            }
        }
        int rank = outShape.Length;
        if (rank == 0) { y[0] = Apply(op, a[0], b[0]); return; }
        Span<int> counter = stackalloc int[rank];
        counter.Clear();
        int inner = outShape[rank - 1], sa = aStrides[rank - 1], sb = bStrides[rank - 1];
        int ia = 0, ib = 0;
        for (int o = 0; o < y.Length; o += inner)
        {
            for (int j = 0, pa = ia, pb = ib; j < inner; j++, pa += sa, pb += sb) y[o + j] = Apply(op, a[pa], b[pb]);
            Advance(counter, outShape, aStrides, bStrides, ref ia, ref ib);
        }
    }

    /// <summary>
    /// Adds the gradient of a broadcast binary op into one operand's gradient, summing over the dimensions
    /// that operand was broadcast along. <paramref name="forFirst"/> picks ∂/∂a or ∂/∂b.
    /// </summary>
    public static void BinaryBackward(BinaryOp op, bool forFirst, ReadOnlySpan<float> gy, ReadOnlySpan<float> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<float> b, ReadOnlySpan<int> bStrides, ReadOnlySpan<int> outShape, Span<float> g)
    {
        int rank = outShape.Length;
        if (a.Length == gy.Length && b.Length == gy.Length)
        {
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(g, gy, g); return;
                case BinaryOp.Subtract: if (forFirst) TensorPrimitives.Add(g, gy, g); else TensorPrimitives.Subtract(g, gy, g); return;
                case BinaryOp.Multiply: TensorPrimitives.MultiplyAdd(gy, forFirst ? b : a, g, g); return;
            }
        }
        Span<int> counter = stackalloc int[Math.Max(rank, 1)];
        counter.Clear();
        var gStrides = forFirst ? aStrides : bStrides;
        if (rank == 0) { g[0] += Partial(op, forFirst, gy[0], a[0], b[0]); return; }
        int inner = outShape[rank - 1], sa = aStrides[rank - 1], sb = bStrides[rank - 1], sg = gStrides[rank - 1];
        int ia = 0, ib = 0;
        for (int o = 0; o < gy.Length; o += inner)
        {
            int ig = forFirst ? ia : ib;
            for (int j = 0, pa = ia, pb = ib, pg = ig; j < inner; j++, pa += sa, pb += sb, pg += sg)
                g[pg] += Partial(op, forFirst, gy[o + j], a[pa], b[pb]);
            Advance(counter, outShape, aStrides, bStrides, ref ia, ref ib);
        }
    }

    private static void Advance(Span<int> counter, ReadOnlySpan<int> shape, ReadOnlySpan<int> aStrides, ReadOnlySpan<int> bStrides, ref int ia, ref int ib)
    {
        for (int d = shape.Length - 2; d >= 0; d--)
        {
            counter[d]++;
            ia += aStrides[d];
            ib += bStrides[d];
            if (counter[d] < shape[d]) return;
            ia -= aStrides[d] * shape[d];
            ib -= bStrides[d] * shape[d];
            counter[d] = 0;
        }
    }

    private static float Apply(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Subtract => a - b,
        BinaryOp.Multiply => a * b,
        _ => a / b,
    };

    private static float Partial(BinaryOp op, bool forFirst, float gy, float a, float b) => op switch
    {
        BinaryOp.Add => gy,
        BinaryOp.Subtract => forFirst ? gy : -gy,
        BinaryOp.Multiply => forFirst ? gy * b : gy * a,
        _ => forFirst ? gy / b : -gy * a / (b * b),
    };
}
