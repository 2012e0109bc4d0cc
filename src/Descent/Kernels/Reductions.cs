using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Descent.Kernels;

/// <summary>Whole-array reductions accumulated in double precision.</summary>
public static class Reductions
{
    /// <summary>
    /// Values summed in float before the sum goes to double: 64 per lane of the four accumulators at the
    /// widest vector width (4096 with AVX-512, 1024 with 128-bit vectors), so that each float partial sum
    /// adds at most 64 squares whatever the width, and the result is equally accurate on every CPU.
    /// </summary>
    private static readonly int Block =
        4 * 64 * (Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4);

    /// <summary>
    /// Σx², summed in float within blocks (see <see cref="Block"/>) and in double across them (float sums over millions of
    /// squares lose digits), chunk by chunk over the worker pool. Written out rather than taken from
    /// TensorPrimitives: it runs every step when a logger wants the gradient norm, and the generic library
    /// code would cost a short run tens of milliseconds of compilation the first time.
    /// </summary>
    public static unsafe double SumOfSquares(ReadOnlySpan<float> x)
    {
        int chunks = (x.Length + RangeParallel.ChunkSize - 1) / RangeParallel.ChunkSize;
        double* partials = stackalloc double[Math.Max(chunks, 1)];
        fixed (float* data = x)
        {
            var body = new SumOfSquaresBody { Data = data, Partials = partials };
            RangeParallel.For(x.Length, ref body);
        }
        double total = 0;
        for (int c = 0; c < chunks; c++) total += partials[c];
        return total;
    }

    private unsafe struct SumOfSquaresBody : IRangeBody
    {
        public float* Data;
        public double* Partials;

        public readonly void Apply(int start, int end)
        {
            // Called once per chunk, or once for the whole range when it runs inline: one sum per chunk either way.
            for (int chunk = start; chunk < end; chunk += RangeParallel.ChunkSize)
            {
                int chunkEnd = Math.Min(end, chunk + RangeParallel.ChunkSize);
                double s = 0;
                for (int i = chunk; i < chunkEnd; i += Block) s += BlockSumOfSquares(Data + i, Math.Min(Block, chunkEnd - i));
                Partials[chunk / RangeParallel.ChunkSize] = s;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float BlockSumOfSquares(float* x, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 64)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 64; i += 64)
            {
                var v0 = Vector512.Load(x + i);
                var v1 = Vector512.Load(x + i + 16);
                var v2 = Vector512.Load(x + i + 32);
                var v3 = Vector512.Load(x + i + 48);
                a0 = Vector512.FusedMultiplyAdd(v0, v0, a0);
                a1 = Vector512.FusedMultiplyAdd(v1, v1, a1);
                a2 = Vector512.FusedMultiplyAdd(v2, v2, a2);
                a3 = Vector512.FusedMultiplyAdd(v3, v3, a3);
            }
            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 32; i += 32)
            {
                var v0 = Vector256.Load(x + i);
                var v1 = Vector256.Load(x + i + 8);
                var v2 = Vector256.Load(x + i + 16);
                var v3 = Vector256.Load(x + i + 24);
                a0 = Vector256.FusedMultiplyAdd(v0, v0, a0);
                a1 = Vector256.FusedMultiplyAdd(v1, v1, a1);
                a2 = Vector256.FusedMultiplyAdd(v2, v2, a2);
                a3 = Vector256.FusedMultiplyAdd(v3, v3, a3);
            }
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector128.IsHardwareAccelerated && n >= 16)
        {
            // MultiplyAddEstimate: one instruction with NEON or FMA, a multiply and an add on plain SSE.
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 16; i += 16)
            {
                var v0 = Vector128.Load(x + i);
                var v1 = Vector128.Load(x + i + 4);
                var v2 = Vector128.Load(x + i + 8);
                var v3 = Vector128.Load(x + i + 12);
                a0 = Vector128.MultiplyAddEstimate(v0, v0, a0);
                a1 = Vector128.MultiplyAddEstimate(v1, v1, a1);
                a2 = Vector128.MultiplyAddEstimate(v2, v2, a2);
                a3 = Vector128.MultiplyAddEstimate(v3, v3, a3);
            }
            sum = Vector128.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < n; i++) sum += x[i] * x[i];
        return sum;
    }
}
