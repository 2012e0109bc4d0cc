using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Descent.Kernels;

/// <summary>The register-tiled inner kernels <see cref="Gemm"/> can run; tests pin each one.</summary>
internal enum GemmKernel
{
    /// <summary>Plain scalar code, 4×4 tiles: runs anywhere.</summary>
    Scalar,

    /// <summary>
    /// Portable 128-bit vectors (SSE on x86 without AVX2, NEON on ARM64), 6×8 tiles held in twelve registers;
    /// multiply-adds are fused where the CPU has the instruction.
    /// </summary>
    Vector128,

    /// <summary>
    /// AVX without FMA (x86 of 2011–2013, or AVX2 switched off), 6×16 tiles held in twelve 256-bit registers,
    /// each multiply-add a multiply and an add: twice the width of <see cref="Vector128"/> on the same CPU.
    /// </summary>
    Avx,

    /// <summary>AVX2 + FMA, 6×16 tiles held in twelve 256-bit registers.</summary>
    Avx2,

    /// <summary>AVX-512, 8×32 tiles held in sixteen 512-bit registers.</summary>
    Avx512,
}

/// <summary>
/// Single-precision matrix multiplication for row-major matrices: the core that linear layers, their
/// gradients and convolutions (through im2col) run on.
/// </summary>
/// <remarks>
/// The algorithm is the GotoBLAS/BLIS one: the shared dimension is cut into KC-deep slices; for each slice a
/// KC×NC block of B is packed into NR-wide column panels and MC×KC blocks of A into MR-high row panels (both
/// zero-padded to whole panels, so edge tiles need no special inner loop), and a register-tiled micro-kernel
/// multiplies an MR-row panel by an NR-column panel with fused multiply-adds, keeping the MR×NR tile of C in
/// registers for the whole slice. Transposed operands are handled while packing, so all four transpose
/// combinations run at the same speed. Large products use every core of <see cref="WorkerPool"/>: B is packed
/// cooperatively, then row blocks (and, for short wide products, column blocks) of C are shared out.
/// Packing buffers are per thread and reused across calls.
/// </remarks>
public static unsafe class Gemm
{
    /// <summary>Below this many multiply-adds, waking the other cores costs more than it saves.</summary>
    private const long ParallelMinMultiplyAdds = 48L * 48 * 48;

    /// <summary>The fastest kernel this CPU runs.</summary>
    internal static GemmKernel BestKernel { get; } =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? GemmKernel.Avx512
        : Fma.IsSupported && Avx2.IsSupported ? GemmKernel.Avx2
        : Avx.IsSupported ? GemmKernel.Avx
        : Vector128.IsHardwareAccelerated ? GemmKernel.Vector128
        : GemmKernel.Scalar;

    /// <summary>
    /// Computes C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/> is true, where C is
    /// m×n, op(A) is m×k and op(B) is k×n, all row-major and contiguous.
    /// </summary>
    /// <param name="transA">False: A is stored m×k (row length k). True: A is stored k×m (row length m) and op(A) = Aᵀ.</param>
    /// <param name="transB">False: B is stored k×n (row length n). True: B is stored n×k (row length k) and op(B) = Bᵀ.</param>
    /// <param name="m">Rows of C and of op(A).</param>
    /// <param name="n">Columns of C and of op(B).</param>
    /// <param name="k">The shared dimension: columns of op(A), rows of op(B).</param>
    /// <param name="a">At least m·k elements.</param>
    /// <param name="b">At least k·n elements.</param>
    /// <param name="c">At least m·n elements; must not overlap A or B.</param>
    /// <param name="accumulate">Add the product to the existing contents of C instead of overwriting them.</param>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
        => Sgemm(BestKernel, transA, transB, m, n, k, a, b, c, accumulate);

    /// <summary><see cref="Sgemm(bool, bool, int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, bool)"/> with a chosen inner kernel.</summary>
    internal static void Sgemm(GemmKernel kernel, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (a.Length < (long)m * k) throw new ArgumentException($"A needs {(long)m * k} elements, has {a.Length}.", nameof(a));
        if (b.Length < (long)k * n) throw new ArgumentException($"B needs {(long)k * n} elements, has {b.Length}.", nameof(b));
        if (c.Length < (long)m * n) throw new ArgumentException($"C needs {(long)m * n} elements, has {c.Length}.", nameof(c));
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) c[..(m * n)].Clear();
            return;
        }

        var shape = TileShape.For(kernel);
        bool parallel = (long)m * n * k >= ParallelMinMultiplyAdds && WorkerPool.CanParallelize;
        fixed (float* pa = a, pb = b, pc = c)
        {
            var operands = new Operands
            {
                A = pa, B = pb, C = pc,
                LdA = transA ? m : k, LdB = transB ? k : n, LdC = n,
                TransA = transA, TransB = transB,
            };
            if (parallel) RunParallel(in shape, in operands, m, n, k, accumulate);
            else RunSequential(in shape, in operands, m, n, k, accumulate);
        }
    }

    /// <summary>Where the operands live and how they are laid out.</summary>
    private struct Operands
    {
        public float* A, B, C;
        public int LdA, LdB, LdC;
        public bool TransA, TransB;
    }

    /// <summary>Tile and block sizes of one micro-kernel, and the micro-kernel itself.</summary>
    private readonly struct TileShape
    {
        public readonly int MR, NR, KC, MC, NC;
        public readonly delegate*<nint, float*, float*, float*, nint, bool, void> Micro;

        /// <summary>
        /// A kernel for the left half of a panel (MR×NR/2), or null: a last panel with few columns then costs
        /// half a full tile instead of a whole one (a 196-wide product spends 12 % of its time on 4 columns).
        /// </summary>
        public readonly delegate*<nint, float*, float*, float*, nint, bool, void> MicroHalf;

        private TileShape(int mr, int nr, int kc, int mc, int nc,
            delegate*<nint, float*, float*, float*, nint, bool, void> micro,
            delegate*<nint, float*, float*, float*, nint, bool, void> microHalf)
        {
            MR = mr; NR = nr; KC = kc; MC = mc; NC = nc; Micro = micro; MicroHalf = microHalf;
        }

        // KC·NR·4 bytes (one B panel) stays in L1 while MC·KC·4 bytes (the packed A block) stays in L2.
        public static TileShape For(GemmKernel kernel) => kernel switch
        {
            GemmKernel.Avx512 => new TileShape(8, 32, 256, 192, 4096, &MicroAvx512, &MicroAvx512Half),
            GemmKernel.Avx2 => new TileShape(6, 16, 256, 192, 4096, &MicroAvx2, &MicroAvx2Half),
            GemmKernel.Avx => new TileShape(6, 16, 256, 192, 4096, &MicroAvx, &MicroAvxHalf),
            GemmKernel.Vector128 => new TileShape(6, 8, 256, 192, 4096, &Micro128, &Micro128Half),
            _ => new TileShape(4, 4, 256, 128, 4096, &MicroScalar, null),
        };
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Depth of each KC slice: the shared dimension cut into equal slices of at most KC, so that k = 288 runs as
    /// 2 × 144 rather than 256 + 32, whose short tail would pay the full cost of loading and storing C.
    /// </summary>
    private static int DepthStep(int kc, int k)
    {
        int slices = (k + kc - 1) / kc;
        return Math.Min(kc, RoundUp((k + slices - 1) / slices, 8));
    }

    private static void RunSequential(in TileShape s, in Operands o, int m, int n, int k, bool accumulate)
    {
        int depthStep = DepthStep(s.KC, k);
        float* packB = PackBuffers.B(s.KC * RoundUp(Math.Min(n, s.NC), s.NR));
        float* packA = PackBuffers.A(s.KC * RoundUp(Math.Min(m, s.MC), s.MR));
        for (int jc = 0; jc < n; jc += s.NC)
        {
            int nc = Math.Min(s.NC, n - jc);
            for (int pc = 0; pc < k; pc += depthStep)
            {
                int kc = Math.Min(depthStep, k - pc);
                bool add = accumulate || pc > 0;
                for (int panel = 0, panels = (nc + s.NR - 1) / s.NR; panel < panels; panel++)
                    PackBPanel(in s, in o, pc, kc, jc, nc, panel, packB);
                for (int ic = 0; ic < m; ic += s.MC)
                {
                    int mc = Math.Min(s.MC, m - ic);
                    PackABlock(in s, in o, ic, mc, pc, kc, packA);
                    MacroKernel(in s, mc, nc, kc, packA, packB, o.C + (long)ic * o.LdC + jc, o.LdC, add);
                }
            }
        }
    }

    private static void RunParallel(in TileShape s, in Operands o, int m, int n, int k, bool accumulate)
    {
        int depthStep = DepthStep(s.KC, k);
        int threads = WorkerPool.Workers;
        int mc, rowBlocks;
        bool columnSplit = m <= s.MC;
        if (columnSplit)
        {
            // Too few rows to share: every task takes all rows and a slice of the columns, packs its own slice
            // of B (so it lands in its own core's cache) and packs A once per thread.
            mc = m;
            rowBlocks = 1;
        }
        else
        {
            // Row blocks are the unit of work; a few per thread let a slow core's share move to the other.
            mc = Math.Min(s.MC, RoundUp((m + 4 * threads - 1) / (4 * threads), s.MR));
            mc = Math.Max(mc, Math.Min(s.MC, 4 * s.MR));
            rowBlocks = (m + mc - 1) / mc;
        }

        var pack = new PackBBody { Shape = s, Operands = o };
        var compute = new ComputeBody
        {
            Shape = s, Operands = o, RowsPerBlock = mc, RowBlocks = rowBlocks, M = m, PackOwnB = columnSplit,
        };
        for (int jc = 0; jc < n; jc += s.NC)
        {
            int nc = Math.Min(s.NC, n - jc);
            int panels = (nc + s.NR - 1) / s.NR;
            int colBlocks = columnSplit ? Math.Min(panels, 2 * threads) : 1;
            int panelsPerColBlock = (panels + colBlocks - 1) / colBlocks;
            colBlocks = (panels + panelsPerColBlock - 1) / panelsPerColBlock;

            float* sharedPackB = columnSplit ? null : PackBuffers.B(s.KC * panels * s.NR);
            pack.PackB = sharedPackB;
            pack.ColumnStart = jc;
            pack.Columns = nc;
            compute.PackB = sharedPackB;
            compute.ColumnStart = jc;
            compute.Columns = nc;
            compute.ColBlockWidth = panelsPerColBlock * s.NR;
            compute.ColBlocks = colBlocks;
            for (int pc = 0; pc < k; pc += depthStep)
            {
                int kc = Math.Min(depthStep, k - pc);
                if (!columnSplit)
                {
                    pack.DepthStart = pc;
                    pack.Depth = kc;
                    WorkerPool.For(panels, ref pack);
                }

                compute.DepthStart = pc;
                compute.Depth = kc;
                compute.Add = accumulate || pc > 0;
                compute.Epoch = Interlocked.Increment(ref _packEpoch);
                WorkerPool.For(rowBlocks * colBlocks, ref compute);
            }
        }
    }

    /// <summary>Identifies one compute phase, so a thread knows whether the A block it packed last is still current.</summary>
    private static long _packEpoch;

    private struct PackBBody : IParallelBody
    {
        public TileShape Shape;
        public Operands Operands;
        public int DepthStart, Depth, ColumnStart, Columns;
        public float* PackB;

        public readonly void Run(int index) =>
            PackBPanel(in Shape, in Operands, DepthStart, Depth, ColumnStart, Columns, index, PackB);
    }

    private struct ComputeBody : IParallelBody
    {
        public TileShape Shape;
        public Operands Operands;
        public int M, RowsPerBlock, RowBlocks;
        public int ColumnStart, Columns, ColBlockWidth, ColBlocks;
        public int DepthStart, Depth;
        public bool Add, PackOwnB;
        public long Epoch;
        public float* PackB;

        public readonly void Run(int index)
        {
            int rowBlock = index / ColBlocks, colBlock = index % ColBlocks;
            int rowStart = rowBlock * RowsPerBlock;
            int rows = Math.Min(RowsPerBlock, M - rowStart);
            int colStart = colBlock * ColBlockWidth;
            int cols = Math.Min(ColBlockWidth, Columns - colStart);

            float* packA = PackBuffers.A(Shape.KC * RoundUp(RowsPerBlock, Shape.MR));
            // Consecutive indices share a row block and usually land on the same thread: pack it once.
            if (PackBuffers.PackedEpoch != Epoch || PackBuffers.PackedRowBlock != rowBlock)
            {
                PackABlock(in Shape, in Operands, rowStart, rows, DepthStart, Depth, packA);
                PackBuffers.PackedEpoch = Epoch;
                PackBuffers.PackedRowBlock = rowBlock;
            }
            float* packB;
            if (PackOwnB)
            {
                packB = PackBuffers.B(Shape.KC * ColBlockWidth);
                for (int panel = 0, panels = (cols + Shape.NR - 1) / Shape.NR; panel < panels; panel++)
                    PackBPanel(in Shape, in Operands, DepthStart, Depth, ColumnStart + colStart, cols, panel, packB);
            }
            else
            {
                packB = PackB + (long)colStart * Depth;
            }
            MacroKernel(in Shape, rows, cols, Depth, packA, packB,
                Operands.C + (long)rowStart * Operands.LdC + ColumnStart + colStart, Operands.LdC, Add);
        }
    }

    /// <summary>Per-thread, 64-byte aligned, pinned packing buffers that only grow.</summary>
    private static class PackBuffers
    {
        [ThreadStatic] private static float[]? _a, _b;
        [ThreadStatic] private static nint _aPtr, _bPtr;
        [ThreadStatic] public static long PackedEpoch;
        [ThreadStatic] public static int PackedRowBlock;

        public static float* A(int floats)
        {
            if (_a is null || _a.Length < floats + 16)
            {
                _aPtr = Allocate(floats, out _a);
                PackedEpoch = 0;
            }
            return (float*)_aPtr;
        }

        public static float* B(int floats)
        {
            if (_b is null || _b.Length < floats + 16) _bPtr = Allocate(floats, out _b);
            return (float*)_bPtr;
        }

        private static nint Allocate(int floats, out float[] array)
        {
            array = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
            nint start = (nint)Unsafe.AsPointer(ref array[0]);
            return (start + 63) & ~(nint)63;
        }
    }

    /// <summary>
    /// Multiplies an mc×kc packed A block by a kc×nc packed B block into C. Each B panel is reused across all
    /// row panels of A before the next is touched, so it stays in L1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MacroKernel(in TileShape s, int mc, int nc, int kc, float* packA, float* packB, float* c, int ldc, bool add)
    {
        int mr = s.MR, nr = s.NR;
        var micro = s.Micro;
        float* edge = stackalloc float[8 * 32 + 16];
        edge = (float*)(((nint)edge + 63) & ~(nint)63);
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* bPanel = packB + (long)jr * kc;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                float* aPanel = packA + (long)ir * kc;
                float* cTile = c + (long)ir * ldc + jr;
                if (rows == mr && cols == nr)
                {
                    micro(kc, aPanel, bPanel, cTile, ldc, add);
                    continue;
                }
                if (cols <= nr / 2 && s.MicroHalf != null) s.MicroHalf(kc, aPanel, bPanel, edge, nr, false);
                else micro(kc, aPanel, bPanel, edge, nr, false);
                for (int i = 0; i < rows; i++)
                {
                    float* src = edge + i * nr;
                    float* dst = cTile + (long)i * ldc;
                    if (add) for (int j = 0; j < cols; j++) dst[j] += src[j];
                    else for (int j = 0; j < cols; j++) dst[j] = src[j];
                }
            }
        }
    }

    /// <summary>
    /// Packs rows [rowStart, rowStart+rows) × depth [depthStart, depthStart+depth) of op(A) into MR-row panels,
    /// each stored depth-major (MR consecutive floats per depth step), zero-padding the last panel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackABlock(in TileShape s, in Operands o, int rowStart, int rows, int depthStart, int depth, float* dst)
    {
        int mr = s.MR;
        for (int ir = 0; ir < rows; ir += mr, dst += (long)mr * depth)
        {
            int panelRows = Math.Min(mr, rows - ir);
            int row = rowStart + ir;
            if (o.TransA)
            {
                // Stored k×m: the MR rows of one depth step are contiguous.
                float* src = o.A + (long)depthStart * o.LdA + row;
                CopyStridedRows(src, o.LdA, dst, mr, depth, panelRows);
            }
            else
            {
                float* src = o.A + (long)row * o.LdA + depthStart;
                TransposeInto(src, o.LdA, dst, mr, panelRows, depth);
            }
        }
    }

    /// <summary>
    /// Packs column panel <paramref name="panel"/> (NR columns from <paramref name="columnStart"/> + panel·NR) of
    /// op(B) over depth [depthStart, depthStart+depth), stored depth-major, zero-padded past the last column.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBPanel(in TileShape s, in Operands o, int depthStart, int depth, int columnStart, int columns, int panel, float* packB)
    {
        int nr = s.NR;
        int jr = panel * nr;
        int panelCols = Math.Min(nr, columns - jr);
        float* dst = packB + (long)jr * depth;
        int col = columnStart + jr;
        if (o.TransB)
        {
            float* src = o.B + (long)col * o.LdB + depthStart;
            TransposeInto(src, o.LdB, dst, nr, panelCols, depth);
        }
        else
        {
            float* src = o.B + (long)depthStart * o.LdB + col;
            CopyStridedRows(src, o.LdB, dst, nr, depth, panelCols);
        }
    }

    /// <summary>
    /// dst[p·width + j] = src[p·srcStride + j] for p &lt; depth, j &lt; count, and 0 for count ≤ j &lt; width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyStridedRows(float* src, int srcStride, float* dst, int width, int depth, int count)
    {
        if (count == width && width == 32 && Vector512.IsHardwareAccelerated)
        {
            for (int p = 0; p < depth; p++, src += srcStride, dst += 32)
            {
                Vector512.Store(Vector512.Load(src), dst);
                Vector512.Store(Vector512.Load(src + 16), dst + 16);
            }
            return;
        }
        if (count == width && width % 8 == 0 && Avx.IsSupported)
        {
            for (int p = 0; p < depth; p++, src += srcStride, dst += width)
                for (int j = 0; j < width; j += 8)
                    Avx.Store(dst + j, Avx.LoadVector256(src + j));
            return;
        }
        if (count == width && width % 4 == 0 && Vector128.IsHardwareAccelerated)
        {
            for (int p = 0; p < depth; p++, src += srcStride, dst += width)
                for (int j = 0; j < width; j += 4)
                    Vector128.Store(Vector128.Load(src + j), dst + j);
            return;
        }
        // A last, partial panel (a 196-wide product ends in 4 columns): clear the row with whole vectors, then copy.
        for (int p = 0; p < depth; p++, src += srcStride, dst += width)
        {
            ZeroFloats(dst, width);
            for (int j = 0; j < count; j++) dst[j] = src[j];
        }
    }

    /// <summary>Clears <paramref name="count"/> floats with the widest vectors the CPU has, then a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ZeroFloats(float* dst, int count)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 16 <= count; j += 16) Vector512.Store(Vector512<float>.Zero, dst + j);
        if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= count; j += 8) Vector256.Store(Vector256<float>.Zero, dst + j);
        if (Vector128.IsHardwareAccelerated)
            for (; j + 4 <= count; j += 4) Vector128.Store(Vector128<float>.Zero, dst + j);
        for (; j < count; j++) dst[j] = 0f;
    }

    /// <summary>
    /// dst[p·width + r] = src[r·srcStride + p] for r &lt; count, p &lt; depth, and 0 for count ≤ r &lt; width:
    /// gathers <paramref name="count"/> source rows into depth-major panel order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeInto(float* src, int srcStride, float* dst, int width, int count, int depth)
    {
        int r = 0;
        if (Avx.IsSupported)
        {
            for (; r + 8 <= count; r += 8)
            {
                float* rowBlock = src + (long)r * srcStride;
                int p = 0;
                for (; p + 8 <= depth; p += 8)
                    Transpose8x8(rowBlock + p, srcStride, dst + (long)p * width + r, width);
                for (; p < depth; p++)
                    for (int i = 0; i < 8; i++)
                        dst[(long)p * width + r + i] = rowBlock[(long)i * srcStride + p];
            }
        }
        if (r < width)
        {
            // Rows past the last block of 8: clear them in each depth step with vectors (a 9-row operand padded to
            // 32 would otherwise take 23 scalar stores per step), then gather the few real ones.
            for (int p = 0; p < depth; p++) ZeroFloats(dst + (long)p * width + r, width - r);
            for (; r < count; r++)
            {
                float* row = src + (long)r * srcStride;
                for (int p = 0; p < depth; p++) dst[(long)p * width + r] = row[p];
            }
        }
    }

    /// <summary>Writes the transpose of the 8×8 block at <paramref name="src"/> to <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, int srcStride, float* dst, int dstStride)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * (long)srcStride);
        var r3 = Avx.LoadVector256(src + 3 * (long)srcStride);
        var r4 = Avx.LoadVector256(src + 4 * (long)srcStride);
        var r5 = Avx.LoadVector256(src + 5 * (long)srcStride);
        var r6 = Avx.LoadVector256(src + 6 * (long)srcStride);
        var r7 = Avx.LoadVector256(src + 7 * (long)srcStride);

        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);

        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);

        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * (long)dstStride, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * (long)dstStride, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * (long)dstStride, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * (long)dstStride, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * (long)dstStride, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * (long)dstStride, Avx.Permute2x128(s3, s7, 0x31));
    }

    /// <summary>
    /// C[8×32] (+)= A panel · B panel over kc depth steps. The 16 accumulators are named locals so the JIT keeps
    /// all of them in registers; each depth step is two B loads, eight broadcasts and sixteen FMAs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroAvx512(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var av = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(av, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(av, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(av, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(av, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(av, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(av, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(av, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(av, b1, c71);
            a += 8;
            b += 32;
        }
        StoreRow512(c, c00, c01, add);
        StoreRow512(c + ldc, c10, c11, add);
        StoreRow512(c + 2 * ldc, c20, c21, add);
        StoreRow512(c + 3 * ldc, c30, c31, add);
        StoreRow512(c + 4 * ldc, c40, c41, add);
        StoreRow512(c + 5 * ldc, c50, c51, add);
        StoreRow512(c + 6 * ldc, c60, c61, add);
        StoreRow512(c + 7 * ldc, c70, c71, add);
    }

    /// <summary>
    /// The left 16 columns of <see cref="MicroAvx512"/>: reads the same 32-wide B panel and writes C[8×16]
    /// (the caller's edge tile, whose other columns it ignores).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroAvx512Half(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> c4 = default, c5 = default, c6 = default, c7 = default;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            a += 8;
            b += 32;
        }
        StoreHalf512(c, c0, add);
        StoreHalf512(c + ldc, c1, add);
        StoreHalf512(c + 2 * ldc, c2, add);
        StoreHalf512(c + 3 * ldc, c3, add);
        StoreHalf512(c + 4 * ldc, c4, add);
        StoreHalf512(c + 5 * ldc, c5, add);
        StoreHalf512(c + 6 * ldc, c6, add);
        StoreHalf512(c + 7 * ldc, c7, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalf512(float* c, Vector512<float> value, bool add)
    {
        if (add) value += Vector512.Load(c);
        Vector512.Store(value, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow512(float* c, Vector512<float> left, Vector512<float> right, bool add)
    {
        if (add)
        {
            left += Vector512.Load(c);
            right += Vector512.Load(c + 16);
        }
        Vector512.Store(left, c);
        Vector512.Store(right, c + 16);
    }

    /// <summary>C[6×16] (+)= A panel · B panel: 12 accumulators, 2 B registers and a broadcast fill the 16 ymm registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroAvx2(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var av = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            a += 6;
            b += 16;
        }
        StoreRow256(c, c00, c01, add);
        StoreRow256(c + ldc, c10, c11, add);
        StoreRow256(c + 2 * ldc, c20, c21, add);
        StoreRow256(c + 3 * ldc, c30, c31, add);
        StoreRow256(c + 4 * ldc, c40, c41, add);
        StoreRow256(c + 5 * ldc, c50, c51, add);
    }

    /// <summary>The left 8 columns of <see cref="MicroAvx2"/>, reading the same 16-wide B panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroAvx2Half(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            c0 = Fma.MultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Fma.MultiplyAdd(Vector256.Create(a[1]), b0, c1);
            c2 = Fma.MultiplyAdd(Vector256.Create(a[2]), b0, c2);
            c3 = Fma.MultiplyAdd(Vector256.Create(a[3]), b0, c3);
            c4 = Fma.MultiplyAdd(Vector256.Create(a[4]), b0, c4);
            c5 = Fma.MultiplyAdd(Vector256.Create(a[5]), b0, c5);
            a += 6;
            b += 16;
        }
        StoreHalf256(c, c0, add);
        StoreHalf256(c + ldc, c1, add);
        StoreHalf256(c + 2 * ldc, c2, add);
        StoreHalf256(c + 3 * ldc, c3, add);
        StoreHalf256(c + 4 * ldc, c4, add);
        StoreHalf256(c + 5 * ldc, c5, add);
    }

    /// <summary>
    /// <see cref="MicroAvx2"/> for AVX without FMA: a multiply and an add per step (12 accumulators, 2 B
    /// registers, a broadcast and a product fill the 16 ymm registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroAvx(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var av = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Avx.Add(Avx.Multiply(av, b0), c00);
            c01 = Avx.Add(Avx.Multiply(av, b1), c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Avx.Add(Avx.Multiply(av, b0), c10);
            c11 = Avx.Add(Avx.Multiply(av, b1), c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Avx.Add(Avx.Multiply(av, b0), c20);
            c21 = Avx.Add(Avx.Multiply(av, b1), c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Avx.Add(Avx.Multiply(av, b0), c30);
            c31 = Avx.Add(Avx.Multiply(av, b1), c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Avx.Add(Avx.Multiply(av, b0), c40);
            c41 = Avx.Add(Avx.Multiply(av, b1), c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Avx.Add(Avx.Multiply(av, b0), c50);
            c51 = Avx.Add(Avx.Multiply(av, b1), c51);
            a += 6;
            b += 16;
        }
        StoreRowAvx(c, c00, c01, add);
        StoreRowAvx(c + ldc, c10, c11, add);
        StoreRowAvx(c + 2 * ldc, c20, c21, add);
        StoreRowAvx(c + 3 * ldc, c30, c31, add);
        StoreRowAvx(c + 4 * ldc, c40, c41, add);
        StoreRowAvx(c + 5 * ldc, c50, c51, add);
    }

    /// <summary>The left 8 columns of <see cref="MicroAvx"/>, reading the same 16-wide B panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroAvxHalf(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b);
            c0 = Avx.Add(Avx.Multiply(Avx.BroadcastScalarToVector256(a + 0), b0), c0);
            c1 = Avx.Add(Avx.Multiply(Avx.BroadcastScalarToVector256(a + 1), b0), c1);
            c2 = Avx.Add(Avx.Multiply(Avx.BroadcastScalarToVector256(a + 2), b0), c2);
            c3 = Avx.Add(Avx.Multiply(Avx.BroadcastScalarToVector256(a + 3), b0), c3);
            c4 = Avx.Add(Avx.Multiply(Avx.BroadcastScalarToVector256(a + 4), b0), c4);
            c5 = Avx.Add(Avx.Multiply(Avx.BroadcastScalarToVector256(a + 5), b0), c5);
            a += 6;
            b += 16;
        }
        StoreHalfAvx(c, c0, add);
        StoreHalfAvx(c + ldc, c1, add);
        StoreHalfAvx(c + 2 * ldc, c2, add);
        StoreHalfAvx(c + 3 * ldc, c3, add);
        StoreHalfAvx(c + 4 * ldc, c4, add);
        StoreHalfAvx(c + 5 * ldc, c5, add);
    }

    // Operators on Vector256 are software loops when Vector256 is not accelerated (AVX without AVX2): the
    // AVX kernels name their instructions.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalfAvx(float* c, Vector256<float> value, bool add)
    {
        if (add) value = Avx.Add(value, Avx.LoadVector256(c));
        Avx.Store(c, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRowAvx(float* c, Vector256<float> left, Vector256<float> right, bool add)
    {
        if (add)
        {
            left = Avx.Add(left, Avx.LoadVector256(c));
            right = Avx.Add(right, Avx.LoadVector256(c + 8));
        }
        Avx.Store(c, left);
        Avx.Store(c + 8, right);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalf256(float* c, Vector256<float> value, bool add)
    {
        if (add) value += Avx.LoadVector256(c);
        Avx.Store(c, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow256(float* c, Vector256<float> left, Vector256<float> right, bool add)
    {
        if (add)
        {
            left += Avx.LoadVector256(c);
            right += Avx.LoadVector256(c + 8);
        }
        Avx.Store(c, left);
        Avx.Store(c + 8, right);
    }

    /// <summary>
    /// C[6×8] (+)= A panel · B panel on 128-bit vectors: 12 accumulators, 2 B registers and a broadcast fit the
    /// 16 registers of SSE (NEON has 32). <see cref="Vector128.MultiplyAddEstimate(Vector128{float}, Vector128{float}, Vector128{float})"/>
    /// is one fused instruction where the CPU has it (NEON, x86 with FMA) and a multiply and an add elsewhere,
    /// never the slow software-exact fused form.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro128(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector128<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector128<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            var av = Vector128.Create(a[0]);
            c00 = Vector128.MultiplyAddEstimate(av, b0, c00);
            c01 = Vector128.MultiplyAddEstimate(av, b1, c01);
            av = Vector128.Create(a[1]);
            c10 = Vector128.MultiplyAddEstimate(av, b0, c10);
            c11 = Vector128.MultiplyAddEstimate(av, b1, c11);
            av = Vector128.Create(a[2]);
            c20 = Vector128.MultiplyAddEstimate(av, b0, c20);
            c21 = Vector128.MultiplyAddEstimate(av, b1, c21);
            av = Vector128.Create(a[3]);
            c30 = Vector128.MultiplyAddEstimate(av, b0, c30);
            c31 = Vector128.MultiplyAddEstimate(av, b1, c31);
            av = Vector128.Create(a[4]);
            c40 = Vector128.MultiplyAddEstimate(av, b0, c40);
            c41 = Vector128.MultiplyAddEstimate(av, b1, c41);
            av = Vector128.Create(a[5]);
            c50 = Vector128.MultiplyAddEstimate(av, b0, c50);
            c51 = Vector128.MultiplyAddEstimate(av, b1, c51);
            a += 6;
            b += 8;
        }
        StoreRow128(c, c00, c01, add);
        StoreRow128(c + ldc, c10, c11, add);
        StoreRow128(c + 2 * ldc, c20, c21, add);
        StoreRow128(c + 3 * ldc, c30, c31, add);
        StoreRow128(c + 4 * ldc, c40, c41, add);
        StoreRow128(c + 5 * ldc, c50, c51, add);
    }

    /// <summary>The left 4 columns of <see cref="Micro128"/>, reading the same 8-wide B panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro128Half(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector128<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            c0 = Vector128.MultiplyAddEstimate(Vector128.Create(a[0]), b0, c0);
            c1 = Vector128.MultiplyAddEstimate(Vector128.Create(a[1]), b0, c1);
            c2 = Vector128.MultiplyAddEstimate(Vector128.Create(a[2]), b0, c2);
            c3 = Vector128.MultiplyAddEstimate(Vector128.Create(a[3]), b0, c3);
            c4 = Vector128.MultiplyAddEstimate(Vector128.Create(a[4]), b0, c4);
            c5 = Vector128.MultiplyAddEstimate(Vector128.Create(a[5]), b0, c5);
            a += 6;
            b += 8;
        }
        StoreHalf128(c, c0, add);
        StoreHalf128(c + ldc, c1, add);
        StoreHalf128(c + 2 * ldc, c2, add);
        StoreHalf128(c + 3 * ldc, c3, add);
        StoreHalf128(c + 4 * ldc, c4, add);
        StoreHalf128(c + 5 * ldc, c5, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalf128(float* c, Vector128<float> value, bool add)
    {
        if (add) value += Vector128.Load(c);
        Vector128.Store(value, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow128(float* c, Vector128<float> left, Vector128<float> right, bool add)
    {
        if (add)
        {
            left += Vector128.Load(c);
            right += Vector128.Load(c + 4);
        }
        Vector128.Store(left, c);
        Vector128.Store(right, c + 4);
    }

    /// <summary>C[4×4] (+)= A panel · B panel in scalar code, for CPUs without vector units .NET uses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroScalar(nint kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (nint p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            a += 4;
            b += 4;
        }
        StoreRowScalar(c, c00, c01, c02, c03, add);
        StoreRowScalar(c + ldc, c10, c11, c12, c13, add);
        StoreRowScalar(c + 2 * ldc, c20, c21, c22, c23, add);
        StoreRowScalar(c + 3 * ldc, c30, c31, c32, c33, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRowScalar(float* c, float v0, float v1, float v2, float v3, bool add)
    {
        if (add)
        {
            c[0] += v0; c[1] += v1; c[2] += v2; c[3] += v3;
        }
        else
        {
            c[0] = v0; c[1] = v1; c[2] = v2; c[3] = v3;
        }
    }
}
