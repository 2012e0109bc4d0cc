using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Descent.Kernels;

/// <summary>
/// The kernels of batch normalization, layer normalization and dropout.
/// </summary>
/// <remarks>
/// <para>
/// Batch normalization sees its input as [outer, channels, inner]: [N, C] is (N, C, 1), [N, C, L] is (N, C, L)
/// and [N, C, H, W] is (N, C, H·W). A channel's statistics run over its outer·inner values. With inner &gt; 1
/// every channel is a set of contiguous runs and the channels are spread over the worker threads; with
/// inner = 1 a channel is a column, so the rows are walked once with one accumulator per channel.
/// </para>
/// <para>
/// Sums are taken in float within a contiguous run (vectorized) and in double across runs, and variances by
/// two passes (deviations from the mean), not as E[x²] − E[x]², which cancels catastrophically for inputs
/// with a large mean.
/// </para>
/// <para>
/// Layer normalization sees its input as [rows, size] and normalizes each row; rows are spread over the
/// worker threads. Dropout's mask is drawn serially, since one random stream feeds it.
/// </para>
/// </remarks>
public static unsafe class Normalization
{
    /// <summary>Below this many elements a normalization call stays on the calling thread.</summary>
    private const long ParallelMinElements = 1L << 16;

    /// <summary>Channel counts up to this keep their per-channel accumulators on the stack.</summary>
    private const int StackChannels = 1024;

    /// <summary>
    /// Per-channel mean and biased variance Σ(x − μ)²/n of x seen as [outer, channels, inner], with
    /// n = outer·inner: the batch statistics of <c>F.batch_norm</c> in training mode.
    /// </summary>
    /// <param name="x">Input, outer·channels·inner values.</param>
    /// <param name="outer">Batch size N.</param>
    /// <param name="channels">Channels C.</param>
    /// <param name="inner">Values per channel per sample (1, L or H·W).</param>
    /// <param name="mean">Per-channel mean, [channels]; overwritten.</param>
    /// <param name="variance">Per-channel biased variance, [channels]; overwritten.</param>
    public static void BatchNormStatistics(ReadOnlySpan<float> x, int outer, int channels, int inner, Span<float> mean, Span<float> variance)
    {
        CheckChannelLayout(x.Length, outer, channels, inner, nameof(x));
        Check(mean.Length, channels, nameof(mean));
        Check(variance.Length, channels, nameof(variance));
        double count = (double)outer * inner;
        if (inner == 1)
        {
            Span<double> sum = channels <= StackChannels ? stackalloc double[channels] : new double[channels];
            sum.Clear();
            for (int o = 0; o < outer; o++)
            {
                var row = x.Slice(o * channels, channels);
                for (int c = 0; c < channels; c++) sum[c] += row[c];
            }
            for (int c = 0; c < channels; c++) mean[c] = (float)(sum[c] / count);
            sum.Clear();
            for (int o = 0; o < outer; o++)
            {
                var row = x.Slice(o * channels, channels);
                for (int c = 0; c < channels; c++)
                {
                    double d = row[c] - mean[c];
                    sum[c] += d * d;
                }
            }
            for (int c = 0; c < channels; c++) variance[c] = (float)(sum[c] / count);
            return;
        }
        fixed (float* px = x, pm = mean, pv = variance)
        {
            var body = new StatisticsBody { X = px, Mean = pm, Variance = pv, Outer = outer, Channels = channels, Inner = inner };
            RunChannels(x.Length, channels, ref body);
        }
    }

    /// <summary>
    /// y = x·scale[c] + shift[c] for x seen as [outer, channels, inner]: the normalization and affine transform
    /// of <c>F.batch_norm</c> folded into one multiply-add, as PyTorch's CPU kernel folds them
    /// (scale = γ/√(σ² + eps), shift = β − μ·scale).
    /// </summary>
    /// <param name="x">Input, outer·channels·inner values.</param>
    /// <param name="outer">Batch size N.</param>
    /// <param name="channels">Channels C.</param>
    /// <param name="inner">Values per channel per sample.</param>
    /// <param name="scale">Per-channel factor, [channels].</param>
    /// <param name="shift">Per-channel offset, [channels].</param>
    /// <param name="y">Output, same size as <paramref name="x"/>; overwritten (may be <paramref name="x"/>).</param>
    public static void ChannelScaleShift(ReadOnlySpan<float> x, int outer, int channels, int inner, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, Span<float> y)
    {
        CheckChannelLayout(x.Length, outer, channels, inner, nameof(x));
        Check(y.Length, x.Length, nameof(y));
        Check(scale.Length, channels, nameof(scale));
        Check(shift.Length, channels, nameof(shift));
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
                TensorPrimitives.MultiplyAdd(x.Slice(o * channels, channels), scale, shift, y.Slice(o * channels, channels));
            return;
        }
        fixed (float* px = x, py = y, ps = scale, pb = shift)
        {
            var body = new ScaleShiftBody { X = px, Y = py, Scale = ps, Shift = pb, Outer = outer, Channels = channels, Inner = inner };
            RunChannels(x.Length, channels, ref body);
        }
    }

    /// <summary>
    /// Gradient of batch normalization for x seen as [outer, channels, inner]. With x̂ = (x − μ)·invStd and
    /// n = outer·inner per channel: ∂β += Σ gy, ∂γ += Σ gy·x̂, and
    /// ∂x += γ·invStd·(gy − mean(gy) − x̂·mean(gy·x̂)) when the statistics came from the batch
    /// (<paramref name="batchStatistics"/>), else ∂x += γ·invStd·gy (running statistics are constants).
    /// Every gradient is accumulated.
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="gy">Gradient of the loss with respect to the output.</param>
    /// <param name="outer">Batch size N.</param>
    /// <param name="channels">Channels C.</param>
    /// <param name="inner">Values per channel per sample.</param>
    /// <param name="mean">The per-channel mean the forward pass subtracted.</param>
    /// <param name="invStd">The per-channel 1/√(σ² + eps) the forward pass multiplied by.</param>
    /// <param name="weight">γ, [channels]; empty for none (γ = 1).</param>
    /// <param name="batchStatistics">Whether mean and variance were the batch's own (training mode).</param>
    /// <param name="gx">Input gradient, accumulated; empty to skip.</param>
    /// <param name="gWeight">γ's gradient, [channels], accumulated; empty to skip.</param>
    /// <param name="gBias">β's gradient, [channels], accumulated; empty to skip.</param>
    public static void BatchNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, int outer, int channels, int inner,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, bool batchStatistics,
        Span<float> gx, Span<float> gWeight, Span<float> gBias)
    {
        CheckChannelLayout(x.Length, outer, channels, inner, nameof(x));
        Check(gy.Length, x.Length, nameof(gy));
        Check(mean.Length, channels, nameof(mean));
        Check(invStd.Length, channels, nameof(invStd));
        CheckOptional(weight.Length, channels, nameof(weight));
        CheckOptional(gx.Length, x.Length, nameof(gx));
        CheckOptional(gWeight.Length, channels, nameof(gWeight));
        CheckOptional(gBias.Length, channels, nameof(gBias));
        if (inner == 1)
        {
            BatchNormBackwardColumns(x, gy, outer, channels, mean, invStd, weight, batchStatistics, gx, gWeight, gBias);
            return;
        }
        fixed (float* px = x, pgy = gy, pm = mean, pi = invStd, pw = weight, pgx = gx, pgw = gWeight, pgb = gBias)
        {
            var body = new BackwardBody
            {
                X = px, GY = pgy, Mean = pm, InvStd = pi, Weight = weight.IsEmpty ? null : pw, BatchStatistics = batchStatistics,
                GX = gx.IsEmpty ? null : pgx, GWeight = gWeight.IsEmpty ? null : pgw, GBias = gBias.IsEmpty ? null : pgb,
                Outer = outer, Channels = channels, Inner = inner,
            };
            RunChannels(x.Length, channels, ref body);
        }
    }

    /// <summary>
    /// Layer normalization of each row of x seen as [rows, size], like <c>F.layer_norm</c> over the last
    /// dimensions: μ and the biased σ² of the row, invStd = 1/√(σ² + eps),
    /// y = (x·invStd − μ·invStd)·γ + β (PyTorch's order of operations).
    /// </summary>
    /// <param name="x">Input, rows·size values.</param>
    /// <param name="rows">Number of rows (the product of the leading dimensions).</param>
    /// <param name="size">Row length (the product of the normalized shape).</param>
    /// <param name="weight">γ, [size]; empty for none.</param>
    /// <param name="bias">β, [size]; empty for none.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="y">Output; overwritten.</param>
    /// <param name="mean">Per-row mean, [rows]; overwritten.</param>
    /// <param name="invStd">Per-row 1/√(σ² + eps), [rows]; overwritten.</param>
    public static void LayerNormForward(ReadOnlySpan<float> x, int rows, int size, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        double eps, Span<float> y, Span<float> mean, Span<float> invStd)
    {
        CheckRows(x.Length, rows, size, nameof(x));
        Check(y.Length, x.Length, nameof(y));
        CheckOptional(weight.Length, size, nameof(weight));
        CheckOptional(bias.Length, size, nameof(bias));
        Check(mean.Length, rows, nameof(mean));
        Check(invStd.Length, rows, nameof(invStd));
        fixed (float* px = x, py = y, pw = weight, pb = bias, pm = mean, pi = invStd)
        {
            var body = new LayerNormForwardBody
            {
                X = px, Y = py, Weight = weight.IsEmpty ? null : pw, Bias = bias.IsEmpty ? null : pb, Mean = pm, InvStd = pi,
                Size = size, Eps = eps,
            };
            RunRows(x.Length, rows, ref body);
        }
    }

    /// <summary>
    /// Gradient of <see cref="LayerNormForward"/>. With x̂ = (x − μ)·invStd and ĝ = gy·γ per row of length D:
    /// ∂x += invStd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ∂γ += Σ_rows gy·x̂, ∂β += Σ_rows gy. All accumulated.
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="gy">Gradient with respect to the output.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="size">Row length.</param>
    /// <param name="weight">γ, [size]; empty for none.</param>
    /// <param name="mean">Per-row mean from the forward pass.</param>
    /// <param name="invStd">Per-row 1/√(σ² + eps) from the forward pass.</param>
    /// <param name="gx">Input gradient, accumulated; empty to skip.</param>
    /// <param name="gWeight">γ's gradient, [size], accumulated; empty to skip.</param>
    /// <param name="gBias">β's gradient, [size], accumulated; empty to skip.</param>
    public static void LayerNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, int rows, int size, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, Span<float> gx, Span<float> gWeight, Span<float> gBias)
    {
        CheckRows(x.Length, rows, size, nameof(x));
        Check(gy.Length, x.Length, nameof(gy));
        CheckOptional(weight.Length, size, nameof(weight));
        Check(mean.Length, rows, nameof(mean));
        Check(invStd.Length, rows, nameof(invStd));
        CheckOptional(gx.Length, x.Length, nameof(gx));
        CheckOptional(gWeight.Length, size, nameof(gWeight));
        CheckOptional(gBias.Length, size, nameof(gBias));
        if (!gx.IsEmpty)
        {
            fixed (float* px = x, pgy = gy, pw = weight, pm = mean, pi = invStd, pgx = gx)
            {
                var body = new LayerNormInputGradBody { X = px, GY = pgy, Weight = weight.IsEmpty ? null : pw, Mean = pm, InvStd = pi, GX = pgx, Size = size };
                RunRows(x.Length, rows, ref body);
            }
        }
        // The parameter gradients sum over rows; one pass down the rows keeps that sum in a fixed order.
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * size, size);
            var gr = gy.Slice(r * size, size);
            if (!gBias.IsEmpty) TensorPrimitives.Add(gBias, gr, gBias);
            if (!gWeight.IsEmpty) AddProductOfCentered(gr, xr, mean[r], invStd[r], gWeight);
        }
    }

    /// <summary>
    /// Draws an inverted-dropout mask: each element is kept with probability 1 − p and then holds the scale
    /// 1/(1 − p) (computed in float32 as PyTorch does: 1f / (float)(1 − p)); dropped elements hold 0. Multiplying
    /// by the mask is both the forward pass and, applied to the output gradient, the backward pass.
    /// </summary>
    /// <param name="random">The stream the draws come from, one uniform draw per element in order.</param>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="mask">Output; overwritten.</param>
    public static void DropoutMask(Random random, double p, Span<float> mask)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), $"dropout probability must be in [0, 1), got {p}");
        float scale = DropoutScale(p);
        for (int i = 0; i < mask.Length; i++) mask[i] = random.NextDouble() >= p ? scale : 0f;
    }

    /// <summary>The factor kept elements are multiplied by, 1/(1 − p), rounded as PyTorch rounds it.</summary>
    public static float DropoutScale(double p) => 1f / (float)(1.0 - p);

    private static void RunChannels<TBody>(int elements, int channels, ref TBody body) where TBody : struct, IParallelBody
    {
        if (elements >= ParallelMinElements && channels > 1 && WorkerPool.CanParallelize) WorkerPool.For(channels, ref body);
        else for (int c = 0; c < channels; c++) body.Run(c);
    }

    private static void RunRows<TBody>(int elements, int rows, ref TBody body) where TBody : struct, IParallelBody
    {
        if (elements >= ParallelMinElements && rows > 1 && WorkerPool.CanParallelize) WorkerPool.For(rows, ref body);
        else for (int r = 0; r < rows; r++) body.Run(r);
    }

    /// <summary>The [N, C] case of <see cref="BatchNormBackward"/>: channels are columns, so accumulate per column.</summary>
    private static void BatchNormBackwardColumns(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, int outer, int channels,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, bool batchStatistics,
        Span<float> gx, Span<float> gWeight, Span<float> gBias)
    {
        Span<double> sumGy = channels <= StackChannels ? stackalloc double[channels] : new double[channels];
        Span<double> dot = channels <= StackChannels ? stackalloc double[channels] : new double[channels];
        sumGy.Clear();
        dot.Clear();
        for (int o = 0; o < outer; o++)
        {
            var xr = x.Slice(o * channels, channels);
            var gr = gy.Slice(o * channels, channels);
            for (int c = 0; c < channels; c++)
            {
                sumGy[c] += gr[c];
                dot[c] += (xr[c] - mean[c]) * (double)gr[c];
            }
        }
        for (int c = 0; c < channels; c++)
        {
            if (!gBias.IsEmpty) gBias[c] += (float)sumGy[c];
            if (!gWeight.IsEmpty) gWeight[c] += (float)(dot[c] * invStd[c]);
        }
        if (gx.IsEmpty) return;

        // gx += gy·a − (x − μ)·b − g with a = γ·invStd, b = a·k, g = a·mean(gy) per channel.
        Span<float> a = channels <= StackChannels ? stackalloc float[channels] : new float[channels];
        Span<float> b = channels <= StackChannels ? stackalloc float[channels] : new float[channels];
        Span<float> g = channels <= StackChannels ? stackalloc float[channels] : new float[channels];
        double n = outer;
        for (int c = 0; c < channels; c++)
        {
            double ac = invStd[c] * (weight.IsEmpty ? 1.0 : weight[c]);
            a[c] = (float)ac;
            b[c] = batchStatistics ? (float)(ac * dot[c] * invStd[c] * invStd[c] / n) : 0f;
            g[c] = batchStatistics ? (float)(ac * sumGy[c] / n) : 0f;
        }
        for (int o = 0; o < outer; o++)
        {
            var xr = x.Slice(o * channels, channels);
            var gr = gy.Slice(o * channels, channels);
            var gxr = gx.Slice(o * channels, channels);
            for (int c = 0; c < channels; c++) gxr[c] += gr[c] * a[c] - (xr[c] - mean[c]) * b[c] - g[c];
        }
    }

    /// <summary>Σ (x − m)², vectorized within the run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double SumSquaredDeviation(float* x, int length, float m)
    {
        int i = 0;
        double total = 0;
        if (Vector.IsHardwareAccelerated && length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var acc = Vector<float>.Zero;
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var d = Unsafe.ReadUnaligned<Vector<float>>(x + i) - vm;
                acc += d * d;
            }
            total = Vector.Sum(acc);
        }
        for (; i < length; i++)
        {
            double d = x[i] - m;
            total += d * d;
        }
        return total;
    }

    /// <summary>(Σ g, Σ (x − m)·g) over one run, vectorized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (double Sum, double Dot) SumAndCenteredDot(float* x, float* g, int length, float m)
    {
        int i = 0;
        double sum = 0, dot = 0;
        if (Vector.IsHardwareAccelerated && length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var accSum = Vector<float>.Zero;
            var accDot = Vector<float>.Zero;
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var vg = Unsafe.ReadUnaligned<Vector<float>>(g + i);
                accSum += vg;
                accDot += (Unsafe.ReadUnaligned<Vector<float>>(x + i) - vm) * vg;
            }
            sum = Vector.Sum(accSum);
            dot = Vector.Sum(accDot);
        }
        for (; i < length; i++)
        {
            sum += g[i];
            dot += (x[i] - m) * (double)g[i];
        }
        return (sum, dot);
    }

    /// <summary>gx += g·a − (x − m)·b − c over one run, vectorized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateInputGradient(float* x, float* g, float* gx, int length, float m, float a, float b, float c)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var va = new Vector<float>(a);
            var vb = new Vector<float>(b);
            var vc = new Vector<float>(c);
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var d = Unsafe.ReadUnaligned<Vector<float>>(x + i) - vm;
                var update = Unsafe.ReadUnaligned<Vector<float>>(g + i) * va - d * vb - vc;
                Unsafe.WriteUnaligned(gx + i, Unsafe.ReadUnaligned<Vector<float>>(gx + i) + update);
            }
        }
        for (; i < length; i++) gx[i] += g[i] * a - (x[i] - m) * b - c;
    }

    /// <summary>y = x·scale + shift over one run, vectorized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaleShiftRun(float* x, float* y, int length, float scale, float shift)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && length >= Vector<float>.Count)
        {
            var vs = new Vector<float>(scale);
            var vb = new Vector<float>(shift);
            for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
                Unsafe.WriteUnaligned(y + i, Unsafe.ReadUnaligned<Vector<float>>(x + i) * vs + vb);
        }
        for (; i < length; i++) y[i] = x[i] * scale + shift;
    }

    /// <summary>into += g·(x − m)·s, element by element.</summary>
    private static void AddProductOfCentered(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float m, float s, Span<float> into)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && g.Length >= Vector<float>.Count)
        {
            var vm = new Vector<float>(m);
            var vs = new Vector<float>(s);
            for (; i <= g.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var update = new Vector<float>(g[i..]) * ((new Vector<float>(x[i..]) - vm) * vs);
                (new Vector<float>(into[i..]) + update).CopyTo(into[i..]);
            }
        }
        for (; i < g.Length; i++) into[i] += g[i] * ((x[i] - m) * s);
    }

    private struct StatisticsBody : IParallelBody
    {
        public float* X, Mean, Variance;
        public int Outer, Channels, Inner;

        public readonly void Run(int c)
        {
            double sum = 0;
            for (int o = 0; o < Outer; o++)
                sum += TensorPrimitives.Sum(new ReadOnlySpan<float>(X + ((long)o * Channels + c) * Inner, Inner));
            double count = (double)Outer * Inner;
            float m = (float)(sum / count);
            double squares = 0;
            for (int o = 0; o < Outer; o++) squares += SumSquaredDeviation(X + ((long)o * Channels + c) * Inner, Inner, m);
            Mean[c] = m;
            Variance[c] = (float)(squares / count);
        }
    }

    private struct ScaleShiftBody : IParallelBody
    {
        public float* X, Y, Scale, Shift;
        public int Outer, Channels, Inner;

        public readonly void Run(int c)
        {
            for (int o = 0; o < Outer; o++)
            {
                long at = ((long)o * Channels + c) * Inner;
                ScaleShiftRun(X + at, Y + at, Inner, Scale[c], Shift[c]);
            }
        }
    }

    private struct BackwardBody : IParallelBody
    {
        public float* X, GY, Mean, InvStd, Weight, GX, GWeight, GBias;
        public bool BatchStatistics;
        public int Outer, Channels, Inner;

        public readonly void Run(int c)
        {
            float m = Mean[c];
            double sum = 0, dot = 0;
            for (int o = 0; o < Outer; o++)
            {
                long at = ((long)o * Channels + c) * Inner;
                var (s, d) = SumAndCenteredDot(X + at, GY + at, Inner, m);
                sum += s;
                dot += d;
            }
            double invStd = InvStd[c];
            if (GBias != null) GBias[c] += (float)sum;
            if (GWeight != null) GWeight[c] += (float)(dot * invStd);
            if (GX == null) return;
            double n = (double)Outer * Inner;
            double a = invStd * (Weight == null ? 1.0 : Weight[c]);
            float b = BatchStatistics ? (float)(a * dot * invStd * invStd / n) : 0f;
            float g = BatchStatistics ? (float)(a * sum / n) : 0f;
            for (int o = 0; o < Outer; o++)
            {
                long at = ((long)o * Channels + c) * Inner;
                AccumulateInputGradient(X + at, GY + at, GX + at, Inner, m, (float)a, b, g);
            }
        }
    }

    private struct LayerNormForwardBody : IParallelBody
    {
        public float* X, Y, Weight, Bias, Mean, InvStd;
        public int Size;
        public double Eps;

        public readonly void Run(int r)
        {
            var x = new ReadOnlySpan<float>(X + (long)r * Size, Size);
            var y = new Span<float>(Y + (long)r * Size, Size);
            float m = (float)((double)TensorPrimitives.Sum(x) / Size);
            double variance = SumSquaredDeviation(X + (long)r * Size, Size, m) / Size;
            float invStd = (float)(1.0 / Math.Sqrt(variance + Eps));
            Mean[r] = m;
            InvStd[r] = invStd;
            ScaleShiftRun(X + (long)r * Size, Y + (long)r * Size, Size, invStd, -invStd * m);
            if (Weight != null && Bias != null) TensorPrimitives.MultiplyAdd(y, new ReadOnlySpan<float>(Weight, Size), new ReadOnlySpan<float>(Bias, Size), y);
            else if (Weight != null) TensorPrimitives.Multiply(y, new ReadOnlySpan<float>(Weight, Size), y);
            else if (Bias != null) TensorPrimitives.Add(y, new ReadOnlySpan<float>(Bias, Size), y);
        }
    }

    private struct LayerNormInputGradBody : IParallelBody
    {
        public float* X, GY, Weight, Mean, InvStd, GX;
        public int Size;

        public readonly void Run(int r)
        {
            float* x = X + (long)r * Size;
            float* gy = GY + (long)r * Size;
            float* gx = GX + (long)r * Size;
            float m = Mean[r];
            double invStd = InvStd[r];
            // ĝ = gy·γ; with γ absent ĝ is gy itself, otherwise it is formed one element at a time below.
            double sum = 0, dot = 0;
            if (Weight == null)
            {
                (sum, dot) = SumAndCenteredDot(x, gy, Size, m);
            }
            else
            {
                for (int j = 0; j < Size; j++)
                {
                    double g = gy[j] * Weight[j];
                    sum += g;
                    dot += g * (x[j] - m);
                }
            }
            // gx = invStd·ĝ − invStd·mean(ĝ) − (x − μ)·invStd²·mean(ĝ·(x − μ))
            float b = (float)(invStd * invStd * invStd * dot / Size);
            float c = (float)(invStd * sum / Size);
            if (Weight == null)
            {
                AccumulateInputGradient(x, gy, gx, Size, m, (float)invStd, b, c);
                return;
            }
            float a = (float)invStd;
            for (int j = 0; j < Size; j++) gx[j] += gy[j] * Weight[j] * a - (x[j] - m) * b - c;
        }
    }

    private static void Check(int length, long required, string name)
    {
        if (length != required) throw new ArgumentException($"{name} needs {required} elements, has {length}.", name);
    }

    private static void CheckOptional(int length, long required, string name)
    {
        if (length != 0 && length != required) throw new ArgumentException($"{name} needs {required} elements (or none), has {length}.", name);
    }

    private static void CheckChannelLayout(int length, int outer, int channels, int inner, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(outer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inner);
        Check(length, (long)outer * channels * inner, name);
    }

    private static void CheckRows(int length, int rows, int size, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        Check(length, (long)rows * size, name);
    }
}
