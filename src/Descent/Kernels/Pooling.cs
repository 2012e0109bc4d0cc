using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Descent.Kernels;

/// <summary>
/// 2-D max and average pooling over NCHW tensors with PyTorch's semantics: floor output sizes (no ceil mode),
/// padding that never wins a max (as if it held −∞) and that counts in the average's divisor
/// (<c>count_include_pad=True</c>).
/// </summary>
/// <remarks>
/// Every (image, channel) plane is independent, so large inputs are split over the worker threads by planes.
/// Padding may be at most half the kernel, as PyTorch requires, so every window holds at least one real pixel.
/// </remarks>
public static unsafe class Pooling
{
    /// <summary>Below this many window reads, a pooling call stays on the calling thread.</summary>
    private const long ParallelMinWork = 1L << 15;

    /// <summary>
    /// y[plane, oy, ox] = max of the kh×kw window at (oy·strideH − padH, ox·strideW − padW), and
    /// indices[plane, oy, ox] = the position of that maximum within its input plane (iy·w + ix), as PyTorch's
    /// <c>max_pool2d(..., return_indices=True)</c> reports it. Ties go to the first position in row-major order;
    /// a NaN in the window wins, so NaNs propagate.
    /// </summary>
    /// <param name="x">Input, [n, c, h, w].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="kh">Window height.</param>
    /// <param name="kw">Window width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Implicit −∞ rows above and below; at most kh / 2.</param>
    /// <param name="padW">Implicit −∞ columns left and right; at most kw / 2.</param>
    /// <param name="y">Output, [n, c, oh, ow] with oh, ow from <see cref="Conv.OutputSize"/>; overwritten.</param>
    /// <param name="indices">Argmax positions, same shape as <paramref name="y"/>; overwritten.</param>
    public static void MaxPool2dForward(ReadOnlySpan<float> x, int n, int c, int h, int w,
        int kh, int kw, int strideH, int strideW, int padH, int padW, Span<float> y, Span<int> indices)
    {
        var g = Geometry.Create(n, c, h, w, kh, kw, strideH, strideW, padH, padW);
        g.Check(x.Length, nameof(x), g.InputElements);
        g.Check(y.Length, nameof(y), g.OutputElements);
        g.Check(indices.Length, nameof(indices), g.OutputElements);
        fixed (float* px = x, py = y)
        fixed (int* pi = indices)
        {
            var body = new MaxForwardBody { G = g, X = px, Y = py, Indices = pi };
            Run(in g, ref body);
        }
    }

    /// <summary>
    /// Gradient of <see cref="MaxPool2dForward"/>: adds each gy element onto the input pixel that won its
    /// window, gx[plane, indices[plane, o]] += gy[plane, o]. Accumulates into <paramref name="gx"/>, or
    /// overwrites it (zero where no window's maximum lies) when <paramref name="accumulate"/> is false.
    /// </summary>
    /// <param name="gy">Gradient of the loss with respect to y, [n, c, oh, ow].</param>
    /// <param name="indices">The argmax positions recorded by the forward pass.</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="kh">Window height.</param>
    /// <param name="kw">Window width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Vertical padding.</param>
    /// <param name="padW">Horizontal padding.</param>
    /// <param name="gx">Input gradient, [n, c, h, w].</param>
    /// <param name="accumulate">Add into <paramref name="gx"/> (true) or overwrite it.</param>
    public static void MaxPool2dBackward(ReadOnlySpan<float> gy, ReadOnlySpan<int> indices, int n, int c, int h, int w,
        int kh, int kw, int strideH, int strideW, int padH, int padW, Span<float> gx, bool accumulate = true)
    {
        var g = Geometry.Create(n, c, h, w, kh, kw, strideH, strideW, padH, padW);
        g.Check(gy.Length, nameof(gy), g.OutputElements);
        g.Check(indices.Length, nameof(indices), g.OutputElements);
        g.Check(gx.Length, nameof(gx), g.InputElements);
        fixed (float* pgy = gy, pgx = gx)
        fixed (int* pi = indices)
        {
            var body = new MaxBackwardBody { G = g, GY = pgy, GX = pgx, Indices = pi, Accumulate = accumulate };
            Run(in g, ref body);
        }
    }

    /// <summary>
    /// y[plane, oy, ox] = sum of the in-bounds pixels of the kh×kw window divided by kh·kw: padding counts as
    /// zeros in the average, PyTorch's <c>count_include_pad=True</c> default.
    /// </summary>
    /// <param name="x">Input, [n, c, h, w].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="kh">Window height.</param>
    /// <param name="kw">Window width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Zero rows above and below; at most kh / 2.</param>
    /// <param name="padW">Zero columns left and right; at most kw / 2.</param>
    /// <param name="y">Output, [n, c, oh, ow]; overwritten.</param>
    public static void AvgPool2dForward(ReadOnlySpan<float> x, int n, int c, int h, int w,
        int kh, int kw, int strideH, int strideW, int padH, int padW, Span<float> y)
    {
        var g = Geometry.Create(n, c, h, w, kh, kw, strideH, strideW, padH, padW);
        g.Check(x.Length, nameof(x), g.InputElements);
        g.Check(y.Length, nameof(y), g.OutputElements);
        fixed (float* px = x, py = y)
        {
            var body = new AvgForwardBody { G = g, X = px, Y = py };
            Run(in g, ref body);
        }
    }

    /// <summary>
    /// Gradient of <see cref="AvgPool2dForward"/>: adds gy / (kh·kw) onto every in-bounds pixel of each window.
    /// Accumulates into <paramref name="gx"/>, or overwrites it when <paramref name="accumulate"/> is false.
    /// </summary>
    /// <param name="gy">Gradient of the loss with respect to y, [n, c, oh, ow].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="kh">Window height.</param>
    /// <param name="kw">Window width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Vertical padding.</param>
    /// <param name="padW">Horizontal padding.</param>
    /// <param name="gx">Input gradient, [n, c, h, w].</param>
    /// <param name="accumulate">Add into <paramref name="gx"/> (true) or overwrite it.</param>
    public static void AvgPool2dBackward(ReadOnlySpan<float> gy, int n, int c, int h, int w,
        int kh, int kw, int strideH, int strideW, int padH, int padW, Span<float> gx, bool accumulate = true)
    {
        var g = Geometry.Create(n, c, h, w, kh, kw, strideH, strideW, padH, padW);
        g.Check(gy.Length, nameof(gy), g.OutputElements);
        g.Check(gx.Length, nameof(gx), g.InputElements);
        fixed (float* pgy = gy, pgx = gx)
        {
            var body = new AvgBackwardBody { G = g, GY = pgy, GX = pgx, Accumulate = accumulate };
            Run(in g, ref body);
        }
    }

    private static void Run<TBody>(in Geometry g, ref TBody body) where TBody : struct, IParallelBody
    {
        long work = (long)g.Planes * g.OH * g.OW * g.KH * g.KW;
        if (work >= ParallelMinWork && g.Planes > 1 && WorkerPool.CanParallelize) WorkerPool.For(g.Planes, ref body);
        else for (int plane = 0; plane < g.Planes; plane++) body.Run(plane);
    }

    /// <summary>The sizes of one pooling call, validated once.</summary>
    private readonly struct Geometry
    {
        public readonly int Planes, H, W, KH, KW, StrideH, StrideW, PadH, PadW, OH, OW;

        public long InputElements => (long)Planes * H * W;
        public long OutputElements => (long)Planes * OH * OW;

        private Geometry(int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
        {
            Planes = planes; H = h; W = w; KH = kh; KW = kw; StrideH = sh; StrideW = sw; PadH = ph; PadW = pw;
            OH = Conv.OutputSize(h, kh, sh, ph);
            OW = Conv.OutputSize(w, kw, sw, pw);
        }

        public static Geometry Create(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n);
            ArgumentOutOfRangeException.ThrowIfNegative(c);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(h);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(w);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kh);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kw);
            if (ph > kh / 2 || pw > kw / 2)
                throw new ArgumentException($"Padding ({ph}, {pw}) must be at most half the kernel ({kh}, {kw}).");
            return new Geometry(n * c, h, w, kh, kw, sh, sw, ph, pw);
        }

        public void Check(int length, string name, long required)
        {
            if (length < required) throw new ArgumentException($"{name} needs {required} elements, has {length}.", name);
        }

        /// <summary>The in-bounds input rows [iy0, iy1) and columns [ix0, ix1) of output pixel (oy, ox)'s window.</summary>
        public void Window(int oy, int ox, out int iy0, out int iy1, out int ix0, out int ix1)
        {
            int top = oy * StrideH - PadH, left = ox * StrideW - PadW;
            iy0 = Math.Max(top, 0);
            iy1 = Math.Min(top + KH, H);
            ix0 = Math.Max(left, 0);
            ix1 = Math.Min(left + KW, W);
        }
    }

    private struct MaxForwardBody : IParallelBody
    {
        public Geometry G;
        public float* X, Y;
        public int* Indices;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int plane)
        {
            float* x = X + (long)plane * G.H * G.W;
            float* y = Y + (long)plane * G.OH * G.OW;
            int* indices = Indices + (long)plane * G.OH * G.OW;
            int w = G.W;
            if (G.KH == 2 && G.KW == 2 && G.StrideH == 2 && G.StrideW == 2 && G.PadH == 0 && G.PadW == 0)
            {
                MaxPool2x2(x, w, G.OH, G.OW, y, indices);
                return;
            }
            for (int oy = 0; oy < G.OH; oy++)
            {
                for (int ox = 0; ox < G.OW; ox++)
                {
                    G.Window(oy, ox, out int iy0, out int iy1, out int ix0, out int ix1);
                    int best = iy0 * w + ix0;
                    float max = float.NegativeInfinity;
                    for (int iy = iy0; iy < iy1; iy++)
                    {
                        for (int ix = ix0, at = iy * w + ix0; ix < ix1; ix++, at++)
                            Consider(x[at], at, ref max, ref best);
                    }
                    y[oy * G.OW + ox] = max;
                    indices[oy * G.OW + ox] = best;
                }
            }
        }
    }

    /// <summary>
    /// The 2×2, stride-2, unpadded max pool of convolutional networks, unrolled: every window is in bounds, so
    /// the four candidates are compared directly in row-major order with the same tie and NaN rules. Four
    /// outputs at a time on 128-bit vectors where the CPU can split even and odd lanes (SSE, NEON): each
    /// candidate replaces the running maximum when larger or NaN, as <see cref="Consider(float, int, ref float, ref int)"/> does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MaxPool2x2(float* x, int w, int oh, int ow, float* y, int* indices)
    {
        bool vectors = Sse.IsSupported || AdvSimd.Arm64.IsSupported;
        var lanes = Vector128.Create(0, 2, 4, 6);
        for (int oy = 0; oy < oh; oy++)
        {
            float* top = x + (long)2 * oy * w;
            float* bottom = top + w;
            int rowStart = 2 * oy * w;
            int ox = 0;
            if (vectors)
            {
                var right = Vector128<int>.One;
                var below = Vector128.Create(w);
                var belowRight = Vector128.Create(w + 1);
                for (; ox + 4 <= ow; ox += 4)
                {
                    var t0 = Vector128.Load(top + 2 * ox);
                    var t1 = Vector128.Load(top + 2 * ox + 4);
                    var b0 = Vector128.Load(bottom + 2 * ox);
                    var b1 = Vector128.Load(bottom + 2 * ox + 4);
                    var max = Even(t0, t1);
                    var best = Vector128.Create(rowStart + 2 * ox) + lanes;
                    var at = best;
                    Consider(Odd(t0, t1), at + right, ref max, ref best);
                    Consider(Even(b0, b1), at + below, ref max, ref best);
                    Consider(Odd(b0, b1), at + belowRight, ref max, ref best);
                    max.Store(y + oy * ow + ox);
                    best.Store(indices + oy * ow + ox);
                    // A ragged row (7 outputs in a 14-wide plane) ends with the last four outputs again, recomputed
                    // to the same values, rather than a scalar tail.
                    if (ox + 4 < ow && ox + 8 > ow) ox = ow - 8;
                }
            }
            for (; ox < ow; ox++)
            {
                int at = rowStart + 2 * ox;
                float max = top[2 * ox];
                int best = at;
                Consider(top[2 * ox + 1], at + 1, ref max, ref best);
                Consider(bottom[2 * ox], at + w, ref max, ref best);
                Consider(bottom[2 * ox + 1], at + w + 1, ref max, ref best);
                y[oy * ow + ox] = max;
                indices[oy * ow + ox] = best;
            }
        }
    }

    /// <summary>Lanes 0 and 2 of <paramref name="a"/>, then of <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Even(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.Shuffle(a, b, 0b10_00_10_00) : AdvSimd.Arm64.UnzipEven(a, b);

    /// <summary>Lanes 1 and 3 of <paramref name="a"/>, then of <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Odd(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.Shuffle(a, b, 0b11_01_11_01) : AdvSimd.Arm64.UnzipOdd(a, b);

    /// <summary>The vector form of <see cref="Consider(float, int, ref float, ref int)"/>, lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Consider(Vector128<float> value, Vector128<int> at, ref Vector128<float> max, ref Vector128<int> best)
    {
        var take = Vector128.GreaterThan(value, max) | ~Vector128.Equals(value, value);
        best = Vector128.ConditionalSelect(take.AsInt32(), at, best);
        max = Vector128.ConditionalSelect(take, value, max);
    }

    /// <summary>
    /// Takes <paramref name="value"/> over the running maximum when it is larger or NaN, with selects rather
    /// than branches: on real data the comparison is a coin flip, and a mispredicted branch per pixel costs
    /// several times the arithmetic (measured 3× slower on the 2×2 pool).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Consider(float value, int at, ref float max, ref int best)
    {
        // All-ones when taken; the JIT turns a bool ternary into a branch, this stays a select.
        int take = -(Unsafe.BitCast<bool, byte>(value > max) | Unsafe.BitCast<bool, byte>(float.IsNaN(value)));
        best ^= (best ^ at) & take;
        // MathF.Max gives the same value as the strict comparison (NaN wins; equal values are equal) without a
        // branch; only the sign of a zero tie could differ, and the index above still follows the first one.
        max = MathF.Max(max, value);
    }

    private struct MaxBackwardBody : IParallelBody
    {
        public Geometry G;
        public float* GY, GX;
        public int* Indices;

        /// <summary>False: the plane's gradient is cleared first (while this thread has it in cache), then added into.</summary>
        public bool Accumulate;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int plane)
        {
            int outSize = G.OH * G.OW, inSize = G.H * G.W;
            float* gy = GY + (long)plane * outSize;
            float* gx = GX + (long)plane * inSize;
            int* indices = Indices + (long)plane * outSize;
            if (G.KH == 2 && G.KW == 2 && G.StrideH == 2 && G.StrideW == 2 && G.PadH == 0 && G.PadW == 0)
            {
                MaxUnpool2x2(gy, indices, G.H, G.W, G.OH, G.OW, gx, Accumulate);
                return;
            }
            if (!Accumulate) new Span<float>(gx, inSize).Clear();
            for (int o = 0; o < outSize; o++)
            {
                int at = indices[o];
                if ((uint)at >= (uint)inSize)
                    throw new ArgumentException($"Max-pool index {at} is outside the {G.H}×{G.W} input plane.");
                gx[at] += gy[o];
            }
        }
    }

    /// <summary>
    /// The backward of <see cref="MaxPool2x2"/> for one plane: the windows do not overlap, so each output's
    /// gradient goes to one of its four pixels and the other three get zero; written four outputs at a time (eight
    /// pixels of each of the two rows) where the CPU can interleave lanes, with no separate clearing pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MaxUnpool2x2(float* gy, int* indices, int h, int w, int oh, int ow, float* gx, bool accumulate)
    {
        bool vectors = Sse.IsSupported || AdvSimd.Arm64.IsSupported;
        var lanes = Vector128.Create(0, 2, 4, 6);
        var one = Vector128<int>.One;
        var below = Vector128.Create(w);
        var belowRight = Vector128.Create(w + 1);
        for (int oy = 0; oy < oh; oy++)
        {
            float* top = gx + (long)2 * oy * w;
            float* bottom = top + w;
            int rowStart = 2 * oy * w;
            int ox = 0;
            if (vectors)
            {
                for (; ox + 4 <= ow; ox += 4)
                {
                    var g = Vector128.Load(gy + oy * ow + ox);
                    var at = Vector128.Load(indices + oy * ow + ox) - (Vector128.Create(rowStart + 2 * ox) + lanes);
                    var topLeft = Vector128.Equals(at, Vector128<int>.Zero);
                    var topRight = Vector128.Equals(at, one);
                    var bottomLeft = Vector128.Equals(at, below);
                    var bottomRight = Vector128.Equals(at, belowRight);
                    if ((topLeft | topRight | bottomLeft | bottomRight) != Vector128<int>.AllBitsSet)
                        throw new ArgumentException($"A max-pool index of output row {oy} is outside its 2×2 window.");
                    Vector128<float> left = g & topLeft.AsSingle(), right = g & topRight.AsSingle();
                    Vector128<float> t0 = InterleaveLow(left, right), t1 = InterleaveHigh(left, right);
                    left = g & bottomLeft.AsSingle();
                    right = g & bottomRight.AsSingle();
                    Vector128<float> b0 = InterleaveLow(left, right), b1 = InterleaveHigh(left, right);
                    if (accumulate)
                    {
                        t0 += Vector128.Load(top + 2 * ox); t1 += Vector128.Load(top + 2 * ox + 4);
                        b0 += Vector128.Load(bottom + 2 * ox); b1 += Vector128.Load(bottom + 2 * ox + 4);
                    }
                    t0.Store(top + 2 * ox); t1.Store(top + 2 * ox + 4);
                    b0.Store(bottom + 2 * ox); b1.Store(bottom + 2 * ox + 4);
                    // Overwriting, a ragged row ends with its last four windows again (same values), not a scalar tail.
                    if (!accumulate && ox + 4 < ow && ox + 8 > ow) ox = ow - 8;
                }
            }
            for (; ox < ow; ox++)
            {
                float g = gy[oy * ow + ox];
                int at = indices[oy * ow + ox] - (rowStart + 2 * ox);
                // One test for the four valid positions: a chain of comparisons would branch on random data.
                if (!((uint)at <= 1u | (uint)(at - w) <= 1u))
                    throw new ArgumentException($"A max-pool index of output row {oy} is outside its 2×2 window.");
                float* cell = top + 2 * ox;
                if (!accumulate) cell[0] = cell[1] = cell[w] = cell[w + 1] = 0f;
                cell[at] += g;
            }
            // An odd width leaves a last column that no window covers.
            if (!accumulate) for (int ix = 2 * ow; ix < w; ix++) top[ix] = bottom[ix] = 0f;
        }
        // Likewise an odd height's last row.
        if (!accumulate) for (int iy = 2 * oh; iy < h; iy++) new Span<float>(gx + (long)iy * w, w).Clear();
    }

    /// <summary>[a0, b0, a1, b1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> InterleaveLow(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.UnpackLow(a, b) : AdvSimd.Arm64.ZipLow(a, b);

    /// <summary>[a2, b2, a3, b3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> InterleaveHigh(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.UnpackHigh(a, b) : AdvSimd.Arm64.ZipHigh(a, b);

    private struct AvgForwardBody : IParallelBody
    {
        public Geometry G;
        public float* X, Y;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int plane)
        {
            float* x = X + (long)plane * G.H * G.W;
            float* y = Y + (long)plane * G.OH * G.OW;
            int w = G.W;
            float divisor = G.KH * G.KW;
            for (int oy = 0; oy < G.OH; oy++)
            {
                for (int ox = 0; ox < G.OW; ox++)
                {
                    G.Window(oy, ox, out int iy0, out int iy1, out int ix0, out int ix1);
                    float sum = 0f;
                    for (int iy = iy0; iy < iy1; iy++)
                        for (int at = iy * w + ix0, end = iy * w + ix1; at < end; at++) sum += x[at];
                    y[oy * G.OW + ox] = sum / divisor;
                }
            }
        }
    }

    private struct AvgBackwardBody : IParallelBody
    {
        public Geometry G;
        public float* GY, GX;

        /// <summary>False: the plane's gradient is cleared first, then added into.</summary>
        public bool Accumulate;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int plane)
        {
            float* gy = GY + (long)plane * G.OH * G.OW;
            float* gx = GX + (long)plane * G.H * G.W;
            if (!Accumulate) new Span<float>(gx, G.H * G.W).Clear();
            int w = G.W;
            float divisor = G.KH * G.KW;
            for (int oy = 0; oy < G.OH; oy++)
            {
                for (int ox = 0; ox < G.OW; ox++)
                {
                    G.Window(oy, ox, out int iy0, out int iy1, out int ix0, out int ix1);
                    float share = gy[oy * G.OW + ox] / divisor;
                    for (int iy = iy0; iy < iy1; iy++)
                        for (int at = iy * w + ix0, end = iy * w + ix1; at < end; at++) gx[at] += share;
                }
            }
        }
    }
}
