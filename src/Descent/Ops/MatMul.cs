using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>
    /// 2-D matrix product op(a)·op(b), like <c>torch.mm</c>, where op transposes when the flag is set
    /// (no transposed copy is made: the flags go to the GEMM kernel).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        if (a.Rank != 2 || b.Rank != 2)
            throw new ArgumentException($"MatMul needs 2-D tensors, got {ShapeUtil.Format(a.Shape)} and {ShapeUtil.Format(b.Shape)}");
        int m = transposeA ? a.Shape[1] : a.Shape[0];
        int k = transposeA ? a.Shape[0] : a.Shape[1];
        int kb = transposeB ? b.Shape[1] : b.Shape[0];
        int n = transposeB ? b.Shape[0] : b.Shape[1];
        if (k != kb)
            throw new ArgumentException($"MatMul: inner dimensions differ: {ShapeUtil.Format(a.Shape)}{(transposeA ? "ᵀ" : "")} · {ShapeUtil.Format(b.Shape)}{(transposeB ? "ᵀ" : "")}");
        var y = Tape.NewOutput([m, n]);
        Gemm.Sgemm(transposeA, transposeB, m, n, k, a.Data, b.Data, y.Data, accumulate: false);
        if (Tape.ShouldRecord(a, b))
        {
            Tape.Record("matmul", y, [a, b], gy =>
            {
                if (Tape.GradOf(a, out bool accumulateA) is { } ga)
                {
                    // dA = dY·op(B)ᵀ, stored transposed when A was used transposed.
                    if (!transposeA) Gemm.Sgemm(false, !transposeB, m, k, n, gy.Data, b.Data, ga.Data, accumulateA);
                    else Gemm.Sgemm(transposeB, true, k, m, n, b.Data, gy.Data, ga.Data, accumulateA);
                }
                if (Tape.GradOf(b, out bool accumulateB) is { } gb)
                {
                    if (!transposeB) Gemm.Sgemm(!transposeA, false, k, n, m, a.Data, gy.Data, gb.Data, accumulateB);
                    else Gemm.Sgemm(true, transposeA, n, k, m, gy.Data, a.Data, gb.Data, accumulateB);
                }
            });
        }
        return y;
    }
}

public partial class Tensor
{
    /// <summary>Matrix product with this tensor on the left, like <c>a @ b</c>.</summary>
    public Tensor MatMul(Tensor other) => Functional.MatMul(this, other);
}
