using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Descent.Kernels;

/// <summary>
/// Batched 2-D convolution (cross-correlation, as in PyTorch's <c>conv2d</c>) over NCHW tensors with zero
/// padding and one group.
/// </summary>
/// <remarks>
/// Each image is lowered with im2col to a [cIn·kh·kw × oh·ow] matrix so the convolution becomes one
/// <see cref="Gemm"/> product per image: y = W·col for the forward pass, gW += gy·colᵀ and
/// gcol = Wᵀ·gy (scattered back by col2im) for the backward pass. A per-image column matrix stays in L2 while
/// the product reads it, which is why the batch is not lowered all at once. With at least two images per
/// thread the batch is spread over the worker threads (one image per task, each product single-threaded);
/// smaller batches run image by image with the multithreaded product instead. A 1×1 kernel with stride 1 and
/// no padding skips im2col: the image already is the column matrix. Workspaces are per thread and reused
/// across calls.
/// </remarks>
public static unsafe class Conv
{
    /// <summary>
    /// Output length along one spatial axis: floor((input + 2·pad − kernel) / stride) + 1, as PyTorch computes
    /// it (no dilation, no ceil mode).
    /// </summary>
    public static int OutputSize(int input, int kernel, int stride, int pad)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(input);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernel);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfNegative(pad);
        int span = input + 2 * pad - kernel;
        if (span < 0) throw new ArgumentException($"Kernel {kernel} is larger than the padded input {input + 2 * pad}.");
        return span / stride + 1;
    }

    /// <summary>
    /// y = conv2d(x, weight) + bias for a batch of images.
    /// </summary>
    /// <param name="x">Input, [n, cIn, h, w].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="weight">Filters, [cOut, cIn, kh, kw].</param>
    /// <param name="bias">Per-output-channel bias, [cOut]; empty for none.</param>
    /// <param name="cOut">Output channels.</param>
    /// <param name="kh">Kernel height.</param>
    /// <param name="kw">Kernel width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Zero rows added above and below.</param>
    /// <param name="padW">Zero columns added left and right.</param>
    /// <param name="y">Output, [n, cOut, oh, ow] with oh, ow from <see cref="OutputSize"/>; overwritten.</param>
    /// <param name="relu">Apply max(·, 0) to each image's output right after its product, while it is in cache.</param>
    public static void Conv2dForward(ReadOnlySpan<float> x, int n, int cIn, int h, int w,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int cOut, int kh, int kw,
        int strideH, int strideW, int padH, int padW, Span<float> y, bool relu = false)
    {
        var g = Geometry.Create(n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW);
        g.Check(y.Length, nameof(y), g.OutputSize * (long)n);
        Forward(in g, n, x, weight, bias, relu ? Fusion.Relu : Fusion.None, y, default);
    }

    /// <summary>
    /// y = max_pool2d(relu(conv2d(x, weight) + bias), 2): a convolution, a ReLU and a 2×2, stride-2 max pool as one
    /// pass, the ReLU and the pool applied to each image's output while it is in cache, so the full-size activation is
    /// never written out. The pool takes the maximum before the ReLU (the same value: max and ReLU commute) and records
    /// its position as <see cref="Pooling.MaxPool2dForward"/> does.
    /// </summary>
    /// <param name="y">Output, [n, cOut, oh / 2, ow / 2] with oh, ow the convolution's output size; overwritten.</param>
    /// <param name="indices">The pool's argmax positions within each [oh, ow] plane, same shape as <paramref name="y"/>.</param>
    /// <param name="x">Input, [n, cIn, h, w].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="weight">Filters, [cOut, cIn, kh, kw].</param>
    /// <param name="bias">Per-output-channel bias, [cOut]; empty for none.</param>
    /// <param name="cOut">Output channels.</param>
    /// <param name="kh">Kernel height.</param>
    /// <param name="kw">Kernel width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Zero rows added above and below.</param>
    /// <param name="padW">Zero columns added left and right.</param>
    public static void Conv2dReluMaxPool2x2Forward(ReadOnlySpan<float> x, int n, int cIn, int h, int w,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int cOut, int kh, int kw,
        int strideH, int strideW, int padH, int padW, Span<float> y, Span<int> indices)
    {
        var g = Geometry.Create(n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW);
        g.Check(y.Length, nameof(y), g.PooledSize * (long)n);
        g.Check(indices.Length, nameof(indices), g.PooledSize * (long)n);
        Forward(in g, n, x, weight, bias, Fusion.ReluMaxPool2x2, y, indices);
    }

    private static void Forward(in Geometry g, int n, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Fusion fusion, Span<float> y, Span<int> indices)
    {
        int cOut = g.COut;
        g.Check(x.Length, nameof(x), g.InputSize * (long)n);
        g.Check(weight.Length, nameof(weight), g.WeightSize);
        if (!bias.IsEmpty) g.Check(bias.Length, nameof(bias), cOut);
        if (n == 0) return;

        // With a bias and im2col, the bias rides in the product as one more column of the filters against a
        // row of ones under the column matrix: y = [W | b]·[col; 1] is written once, where filling y with the
        // bias first and accumulating the product would read and write every output twice (for the first layer
        // of a CNN, whose products are short, that traffic was half the layer's time).
        bool biasInProduct = !bias.IsEmpty && !g.IsPointwise;
        float[]? weightAndBias = null;
        if (biasInProduct)
        {
            int k = g.K;
            weightAndBias = Workspace.WeightAndBias(cOut * (k + 1));
            for (int c = 0; c < cOut; c++)
            {
                weight.Slice(c * k, k).CopyTo(weightAndBias.AsSpan(c * (k + 1), k));
                weightAndBias[c * (k + 1) + k] = bias[c];
            }
        }
        fixed (float* px = x, pw = weight, pb = bias, py = y, pwb = weightAndBias)
        fixed (int* pi = indices)
        {
            var body = new ForwardBody
            {
                G = g, X = px, Weight = biasInProduct ? pwb : pw, Bias = bias.IsEmpty ? null : pb, Y = py, Indices = pi,
                BiasInProduct = biasInProduct, Fusion = fusion,
            };
            if (SpreadOverBatch(n)) WorkerPool.For(n, ref body);
            else for (int image = 0; image < n; image++) body.Run(image);
        }
    }

    /// <summary>
    /// Gradients of <see cref="Conv2dForward"/>: given gy = ∂L/∂y, adds ∂L/∂x to <paramref name="gx"/>,
    /// ∂L/∂weight to <paramref name="gWeight"/> and ∂L/∂bias to <paramref name="gBias"/>. All three are
    /// accumulated (+=), the way autodiff sums the gradient contributions of every use of a tensor, except
    /// that <paramref name="gx"/> is overwritten when <paramref name="accumulateGx"/> is false.
    /// </summary>
    /// <param name="n">Batch size.</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="cOut">Output channels.</param>
    /// <param name="kh">Kernel height.</param>
    /// <param name="kw">Kernel width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Zero rows added above and below.</param>
    /// <param name="padW">Zero columns added left and right.</param>
    /// <param name="x">The forward input, [n, cIn, h, w].</param>
    /// <param name="weight">The forward filters, [cOut, cIn, kh, kw].</param>
    /// <param name="gy">Gradient of the loss with respect to y, [n, cOut, oh, ow].</param>
    /// <param name="gx">Input gradient, [n, cIn, h, w], accumulated; empty when not needed.</param>
    /// <param name="gWeight">Filter gradient, [cOut, cIn, kh, kw], accumulated.</param>
    /// <param name="gBias">Bias gradient, [cOut], accumulated; empty when the layer has no bias.</param>
    /// <param name="accumulateGx">Add into <paramref name="gx"/> (true) or overwrite it.</param>
    /// <param name="reluOutput">
    /// For a convolution run with <c>relu</c>: its output, [n, cOut, oh, ow]. <paramref name="gy"/> is then the
    /// gradient with respect to that output, and each image's is masked to where the output is positive before
    /// it is used. Empty otherwise.
    /// </param>
    public static void Conv2dBackward(int n, int cIn, int h, int w, int cOut, int kh, int kw,
        int strideH, int strideW, int padH, int padW,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> gy,
        Span<float> gx, Span<float> gWeight, Span<float> gBias, bool accumulateGx = true, ReadOnlySpan<float> reluOutput = default)
    {
        var g = Geometry.Create(n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW);
        g.Check(gy.Length, nameof(gy), g.OutputSize * (long)n);
        if (!reluOutput.IsEmpty) g.Check(reluOutput.Length, nameof(reluOutput), g.OutputSize * (long)n);
        Backward(in g, n, x, weight, gy, gx, gWeight, gBias, accumulateGx, reluOutput.IsEmpty ? Fusion.None : Fusion.Relu, reluOutput, default);
    }

    /// <summary>
    /// Gradients of <see cref="Conv2dReluMaxPool2x2Forward"/>: given gy = ∂L/∂y of the pooled output, each image's
    /// gradient is routed back through the pool (to the recorded maxima) and the ReLU (where the output is positive)
    /// in cache, then as <see cref="Conv2dBackward"/>.
    /// </summary>
    /// <param name="gy">Gradient with respect to the pooled output, [n, cOut, oh / 2, ow / 2].</param>
    /// <param name="y">The pooled output of the forward pass.</param>
    /// <param name="indices">The argmax positions of the forward pass.</param>
    /// <param name="n">Batch size.</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="cOut">Output channels.</param>
    /// <param name="kh">Kernel height.</param>
    /// <param name="kw">Kernel width.</param>
    /// <param name="strideH">Vertical stride.</param>
    /// <param name="strideW">Horizontal stride.</param>
    /// <param name="padH">Zero rows added above and below.</param>
    /// <param name="padW">Zero columns added left and right.</param>
    /// <param name="x">The forward input, [n, cIn, h, w].</param>
    /// <param name="weight">The forward filters, [cOut, cIn, kh, kw].</param>
    /// <param name="gx">Input gradient, [n, cIn, h, w], accumulated; empty when not needed.</param>
    /// <param name="gWeight">Filter gradient, [cOut, cIn, kh, kw], accumulated.</param>
    /// <param name="gBias">Bias gradient, [cOut], accumulated; empty when the layer has no bias.</param>
    /// <param name="accumulateGx">Add into <paramref name="gx"/> (true) or overwrite it.</param>
    public static void Conv2dReluMaxPool2x2Backward(int n, int cIn, int h, int w, int cOut, int kh, int kw,
        int strideH, int strideW, int padH, int padW,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> gy, ReadOnlySpan<float> y, ReadOnlySpan<int> indices,
        Span<float> gx, Span<float> gWeight, Span<float> gBias, bool accumulateGx = true)
    {
        var g = Geometry.Create(n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW);
        g.Check(gy.Length, nameof(gy), g.PooledSize * (long)n);
        g.Check(y.Length, nameof(y), g.PooledSize * (long)n);
        g.Check(indices.Length, nameof(indices), g.PooledSize * (long)n);
        Backward(in g, n, x, weight, gy, gx, gWeight, gBias, accumulateGx, Fusion.ReluMaxPool2x2, y, indices);
    }

    private static void Backward(in Geometry g, int n, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> gy,
        Span<float> gx, Span<float> gWeight, Span<float> gBias, bool accumulateGx, Fusion fusion, ReadOnlySpan<float> output, ReadOnlySpan<int> indices)
    {
        int cOut = g.COut;
        g.Check(x.Length, nameof(x), g.InputSize * (long)n);
        g.Check(weight.Length, nameof(weight), g.WeightSize);
        if (!gx.IsEmpty) g.Check(gx.Length, nameof(gx), g.InputSize * (long)n);
        g.Check(gWeight.Length, nameof(gWeight), g.WeightSize);
        if (!gBias.IsEmpty) g.Check(gBias.Length, nameof(gBias), cOut);
        if (n == 0) return;

        // Whole images go to the threads in a fixed number of contiguous groups (claimed by whichever thread is free), each summing its filter and bias
        // gradients in image order into its own partial (group 0 straight into the caller's), and the partials are added
        // in group order: the sums, and so training, come out bit for bit the same however the threads share the work
        // and whether the pool is free (a busy pool runs the groups inline). Resuming from a checkpoint relies on it.
        int groups = Groups(n);
        int partialSize = g.WeightSize + cOut;
        var partials = Workspace.Partials((groups - 1) * partialSize);
        Array.Clear(partials, 0, (groups - 1) * partialSize);

        fixed (float* px = x, pw = weight, pgy = gy, pgx = gx, pgw = gWeight, pgb = gBias, pPartials = partials, pOutput = output)
        fixed (int* pi = indices)
        {
            var body = new BackwardBody
            {
                G = g, N = n, Groups = groups, X = px, Weight = pw, GY = pgy, GX = gx.IsEmpty ? null : pgx,
                GWeight = pgw, GBias = gBias.IsEmpty ? null : pgb, Partials = pPartials, AccumulateGx = accumulateGx,
                Fusion = fusion, Output = pOutput, Indices = pi,
            };
            if (groups > 1) WorkerPool.For(groups, ref body);
            else body.Run(0);

            for (int group = 1; group < groups; group++)
            {
                float* partial = pPartials + (long)(group - 1) * partialSize;
                AddInto(pgw, partial, g.WeightSize);
                if (!gBias.IsEmpty) AddInto(pgb, partial + g.WeightSize, cOut);
            }
        }
    }

    /// <summary>
    /// Whether to give whole images to the worker threads (each running its products single-threaded) rather
    /// than run the images in turn with multithreaded products: worth it once there are at least two images per
    /// thread, so an odd image out does not leave a thread idle for a large part of the call.
    /// </summary>
    private static bool SpreadOverBatch(int n) => n >= 2 * WorkerPool.Workers && WorkerPool.CanParallelize;

    /// <summary>
    /// Image groups of the backward pass, at least two images each: up to four per thread, so that the pool's work
    /// stealing still evens out a slow core, or one group when there are fewer than two images per thread. It depends on
    /// the batch and the machine only, never on whether the pool happens to be free, so the gradient sums do not either.
    /// </summary>
    private static int Groups(int n) => n >= 2 * WorkerPool.Workers ? Math.Min(n / 2, 4 * WorkerPool.Workers) : 1;

    /// <summary>The sizes of one convolution, validated once.</summary>
    private readonly struct Geometry
    {
        public readonly int CIn, H, W, COut, KH, KW, StrideH, StrideW, PadH, PadW, OH, OW;

        /// <summary>Rows of the column matrix: cIn·kh·kw.</summary>
        public int K => CIn * KH * KW;

        /// <summary>Columns of the column matrix: output pixels per channel.</summary>
        public int P => OH * OW;

        public int InputSize => CIn * H * W;
        public int OutputSize => COut * OH * OW;

        /// <summary>Elements per image after a 2×2, stride-2 max pool of the output.</summary>
        public int PooledSize => COut * (OH / 2) * (OW / 2);
        public int WeightSize => COut * CIn * KH * KW;

        /// <summary>
        /// A stride-1 convolution whose output rows have the input's width: the column matrix's rows are shifted
        /// copies of the input planes.
        /// </summary>
        public bool IsSameSize => StrideH == 1 && StrideW == 1 && OW == W && !IsPointwise;

        /// <summary>A 1×1, stride-1, unpadded convolution, whose column matrix is the image itself.</summary>
        public bool IsPointwise => KH == 1 && KW == 1 && StrideH == 1 && StrideW == 1 && PadH == 0 && PadW == 0;

        private Geometry(int cIn, int h, int w, int cOut, int kh, int kw, int sh, int sw, int ph, int pw)
        {
            CIn = cIn; H = h; W = w; COut = cOut; KH = kh; KW = kw;
            StrideH = sh; StrideW = sw; PadH = ph; PadW = pw;
            OH = Conv.OutputSize(h, kh, sh, ph);
            OW = Conv.OutputSize(w, kw, sw, pw);
        }

        public static Geometry Create(int n, int cIn, int h, int w, int cOut, int kh, int kw, int sh, int sw, int ph, int pw)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(n);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cIn);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cOut);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(h);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(w);
            return new Geometry(cIn, h, w, cOut, kh, kw, sh, sw, ph, pw);
        }

        public void Check(int length, string name, long required)
        {
            if (length < required) throw new ArgumentException($"{name} needs {required} elements, has {length}.", name);
        }
    }

    private struct ForwardBody : IParallelBody
    {
        public Geometry G;
        public float* X, Weight, Bias, Y;

        /// <summary>The pool's argmax positions (<see cref="Fusion.ReluMaxPool2x2"/>).</summary>
        public int* Indices;

        /// <summary>Weight is [cOut × (K + 1)] with the bias as its last column, and the column matrix gets a row of ones.</summary>
        public bool BiasInProduct;

        public Fusion Fusion;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int image)
        {
            int k = G.K, p = G.P;
            var x = new ReadOnlySpan<float>(X + (long)image * G.InputSize, G.InputSize);
            // With a pool after it, the full-size output only lives in this thread's workspace.
            var y = Fusion == Fusion.ReluMaxPool2x2
                ? Workspace.Outputs(G.OutputSize)
                : new Span<float>(Y + (long)image * G.OutputSize, G.OutputSize);
            if (G.IsPointwise)
            {
                // The image is the column matrix: start each output row at its bias and accumulate the product.
                if (Bias != null)
                    for (int c = 0; c < G.COut; c++) y.Slice(c * p, p).Fill(Bias[c]);
                Gemm.Sgemm(false, false, G.COut, p, k, new ReadOnlySpan<float>(Weight, G.WeightSize), x, y, accumulate: Bias != null);
            }
            else
            {
                int depth = BiasInProduct ? k + 1 : k;
                var col = Workspace.Columns(depth * p);
                Im2Col(in G, x, col);
                if (BiasInProduct) col.Slice(k * p, p).Fill(1f);
                Gemm.Sgemm(false, false, G.COut, p, depth, new ReadOnlySpan<float>(Weight, G.COut * depth), col, y, accumulate: false);
            }
            if (Fusion == Fusion.Relu) Elementwise.Relu(y, y);
            else if (Fusion == Fusion.ReluMaxPool2x2)
            {
                var pooled = new Span<float>(Y + (long)image * G.PooledSize, G.PooledSize);
                int poolH = G.OH / 2, poolW = G.OW / 2, plane = poolH * poolW;
                fixed (float* py = y)
                    for (int c = 0; c < G.COut; c++)
                        Pooling.MaxPool2x2(py + (long)c * p, G.OW, poolH, poolW, Y + (long)image * G.PooledSize + c * plane,
                            Indices + (long)image * G.PooledSize + c * plane);
                Elementwise.Relu(pooled, pooled);
            }
        }
    }

    private struct BackwardBody : IParallelBody
    {
        public Geometry G;
        public int N, Groups;
        public float* X, Weight, GY, GX, GWeight, GBias, Partials;

        /// <summary>What the forward pass applied after the product, its output and (for the pool) its argmax positions.</summary>
        public Fusion Fusion;
        public float* Output;
        public int* Indices;

        /// <summary>False: each image's input gradient is overwritten (cleared by the thread that scatters into it).</summary>
        public bool AccumulateGx;

        /// <summary>Images [group·N/Groups, (group+1)·N/Groups) in order, into the group's own filter and bias gradients.</summary>
        public readonly void Run(int group)
        {
            float* gWeight = GWeight, gBias = GBias;
            if (group > 0)
            {
                gWeight = Partials + (long)(group - 1) * (G.WeightSize + G.COut);
                gBias = GBias == null ? null : gWeight + G.WeightSize;
            }
            int end = (int)((long)(group + 1) * N / Groups);
            for (int image = (int)((long)group * N / Groups); image < end; image++) RunImage(image, gWeight, gBias);
        }

        /// <summary>
        /// The gradient with respect to the convolution's own output for one image: the incoming one, or, through a
        /// fused ReLU (and pool), rebuilt in this thread's workspace while the image is in cache.
        /// </summary>
        private readonly ReadOnlySpan<float> OutputGradient(int image)
        {
            if (Fusion == Fusion.None) return new ReadOnlySpan<float>(GY + (long)image * G.OutputSize, G.OutputSize);
            var result = Workspace.OutputGradients(G.OutputSize);
            if (Fusion == Fusion.Relu)
            {
                var output = new ReadOnlySpan<float>(Output + (long)image * G.OutputSize, G.OutputSize);
                Elementwise.ReluBackward(output, new ReadOnlySpan<float>(GY + (long)image * G.OutputSize, G.OutputSize), result, accumulate: false);
                return result;
            }
            // Through the ReLU at the pooled size (its output is positive exactly where the pooled maximum is), then
            // back to the maxima through the pool.
            var masked = Workspace.PooledGradients(G.PooledSize);
            long start = (long)image * G.PooledSize;
            Elementwise.ReluBackward(new ReadOnlySpan<float>(Output + start, G.PooledSize), new ReadOnlySpan<float>(GY + start, G.PooledSize), masked, accumulate: false);
            int poolH = G.OH / 2, poolW = G.OW / 2, plane = poolH * poolW;
            fixed (float* pm = masked, pr = result)
                for (int c = 0; c < G.COut; c++)
                    Pooling.MaxUnpool2x2(pm + c * plane, Indices + start + c * plane, G.OH, G.OW, poolH, poolW, pr + (long)c * G.P, accumulate: false);
            return result;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void RunImage(int image, float* gWeight, float* gBias)
        {
            int k = G.K, p = G.P, cOut = G.COut;
            var x = new ReadOnlySpan<float>(X + (long)image * G.InputSize, G.InputSize);
            ReadOnlySpan<float> gy = OutputGradient(image);
            var weight = new ReadOnlySpan<float>(Weight, G.WeightSize);

            ReadOnlySpan<float> col;
            if (G.IsPointwise)
            {
                col = x;
            }
            else
            {
                var buffer = Workspace.Columns(k * p);
                Im2Col(in G, x, buffer);
                col = buffer;
            }
            // gW[cOut×K] += gy[cOut×P] · colᵀ
            Gemm.Sgemm(false, true, cOut, k, p, gy, col, new Span<float>(gWeight, G.WeightSize), accumulate: true);

            if (gBias != null)
                fixed (float* pgy = gy)
                    for (int c = 0; c < cOut; c++) gBias[c] += Sum(pgy + (long)c * p, p);

            if (GX == null) return;
            var gx = new Span<float>(GX + (long)image * G.InputSize, G.InputSize);
            if (G.IsPointwise)
            {
                // gx[cIn×P] += Wᵀ · gy
                Gemm.Sgemm(true, false, k, p, cOut, weight, gy, gx, AccumulateGx);
                return;
            }
            // The column matrix is spent once the filter gradient has it: its buffer takes the column gradient, so
            // an image's working set (columns, packed operands, gradients) stays smaller than L2.
            var colGrad = Workspace.Columns(k * p);
            Gemm.Sgemm(true, false, k, p, cOut, weight, gy, colGrad, accumulate: false);
            if (!AccumulateGx) gx.Clear();
            Col2ImAdd(in G, colGrad, gx);
        }
    }

    /// <summary>What autodiff fuses into a convolution, applied to each image in cache.</summary>
    private enum Fusion
    {
        None,

        /// <summary>y = relu(conv): the forward clamps each image's output; the backward masks its gradient.</summary>
        Relu,

        /// <summary>y = max_pool2d(relu(conv), 2): the full-size output is a per-thread workspace.</summary>
        ReluMaxPool2x2,
    }

    /// <summary>
    /// Lowers one image [cIn, h, w] to col[(c·kh + i)·kw + j, oy·ow + ox] = x[c, oy·sh − ph + i, ox·sw − pw + j],
    /// zero where that falls in the padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Im2Col(in Geometry g, ReadOnlySpan<float> x, Span<float> col)
    {
        if (g.IsSameSize)
        {
            Im2ColSameSize(in g, x, col);
            return;
        }
        fixed (float* px = x, pcol = col)
        {
            int oh = g.OH, ow = g.OW, w = g.W, sw = g.StrideW;
            float* dst = pcol;
            for (int c = 0; c < g.CIn; c++)
            {
                float* plane = px + (long)c * g.H * w;
                for (int i = 0; i < g.KH; i++)
                {
                    for (int j = 0; j < g.KW; j++)
                    {
                        ValidRange(w, ow, sw, g.PadW, j, out int ox0, out int ox1);
                        for (int oy = 0; oy < oh; oy++, dst += ow)
                        {
                            int iy = oy * g.StrideH - g.PadH + i;
                            if ((uint)iy >= (uint)g.H || ox0 >= ox1)
                            {
                                Zero(dst, ow);
                                continue;
                            }
                            Zero(dst, ox0);
                            Zero(dst + ox1, ow - ox1);
                            float* src = plane + (long)iy * w + (ox0 * sw - g.PadW + j);
                            if (sw == 1) Copy(src, dst + ox0, ox1 - ox0);
                            else for (int ox = ox0; ox < ox1; ox++, src += sw) dst[ox] = *src;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds every column-matrix entry back onto the pixel it came from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Col2ImAdd(in Geometry g, Span<float> col, Span<float> gx)
    {
        if (g.IsSameSize)
        {
            Col2ImAddSameSize(in g, col, gx);
            return;
        }
        fixed (float* pcol = col, pgx = gx)
        {
            int oh = g.OH, ow = g.OW, w = g.W, sw = g.StrideW;
            float* src = pcol;
            for (int c = 0; c < g.CIn; c++)
            {
                float* plane = pgx + (long)c * g.H * w;
                for (int i = 0; i < g.KH; i++)
                {
                    for (int j = 0; j < g.KW; j++)
                    {
                        ValidRange(w, ow, sw, g.PadW, j, out int ox0, out int ox1);
                        for (int oy = 0; oy < oh; oy++, src += ow)
                        {
                            int iy = oy * g.StrideH - g.PadH + i;
                            if ((uint)iy >= (uint)g.H || ox0 >= ox1) continue;
                            float* dst = plane + (long)iy * w + (ox0 * sw - g.PadW + j);
                            if (sw == 1) AddInto(dst, src + ox0, ox1 - ox0);
                            else for (int ox = ox0; ox < ox1; ox++, dst += sw) *dst += src[ox];
                        }
                    }
                }
            }
        }
    }

    // A stride-1 convolution whose output rows are as long as the input rows ("same" padding: 3×3 with pad 1,
    // 5×5 with pad 2) reads each kernel tap (c, i, j) as the input plane shifted by d = (i − padH)·w + (j − padW):
    // col[q] = plane[q + d] for every q of the valid output rows, except the |j − padW| columns per row that the
    // shift wraps into the neighbouring row, which are padding. So the block is one long copy plus a few zeros
    // per row, instead of a short copy per row.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Im2ColSameSize(in Geometry g, ReadOnlySpan<float> x, Span<float> col)
    {
        fixed (float* px = x, pcol = col)
        {
            int w = g.W, planeSize = g.H * w, p = g.P;
            float* dst = pcol;
            for (int c = 0; c < g.CIn; c++)
            {
                float* plane = px + (long)c * planeSize;
                for (int i = 0; i < g.KH; i++)
                {
                    for (int j = 0; j < g.KW; j++, dst += p)
                    {
                        SameSizeShift(in g, i, j, out int shift, out int start, out int end, out int wrapStart, out int wrapCount);
                        Zero(dst, start);
                        if (end > start) Copy(plane + start + shift, dst + start, end - start);
                        Zero(dst + end, p - end);
                        for (int q = start - start % w + wrapStart; wrapCount > 0 && q < end; q += w) Zero(dst + q, wrapCount);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Col2ImAddSameSize(in Geometry g, Span<float> col, Span<float> gx)
    {
        fixed (float* pcol = col, pgx = gx)
        {
            int w = g.W, planeSize = g.H * w, p = g.P;
            float* src = pcol;
            for (int c = 0; c < g.CIn; c++)
            {
                float* plane = pgx + (long)c * planeSize;
                for (int i = 0; i < g.KH; i++)
                {
                    for (int j = 0; j < g.KW; j++, src += p)
                    {
                        SameSizeShift(in g, i, j, out int shift, out int start, out int end, out int wrapStart, out int wrapCount);
                        if (end <= start) continue;
                        // The wrapped columns hold gradients of padding: drop them before the one long add.
                        for (int q = start - start % w + wrapStart; wrapCount > 0 && q < end; q += w) Zero(src + q, wrapCount);
                        AddInto(plane + start + shift, src + start, end - start);
                    }
                }
            }
        }
    }

    /// <summary>
    /// For kernel tap (i, j) of a same-size convolution: the plane offset of the tap, the range [start, end) of
    /// output positions whose source lies inside the plane, and the wrapped columns [wrapStart, wrapStart +
    /// wrapCount) of each output row, which read padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SameSizeShift(in Geometry g, int i, int j, out int shift, out int start, out int end, out int wrapStart, out int wrapCount)
    {
        int w = g.W, dy = i - g.PadH, dx = j - g.PadW;
        shift = dy * w + dx;
        int rowStart = Math.Max(0, -dy), rowEnd = Math.Min(g.OH, g.H - dy);
        start = Math.Max(rowStart * w, -shift);
        end = Math.Min(rowEnd * w, g.H * w - shift);
        if (end < start) end = start;
        wrapStart = dx < 0 ? 0 : w - dx;
        wrapCount = Math.Abs(dx);
    }

    // Rows here are short (often 7 to 28 floats, or a plane of 196 to 784 for a same-size convolution's tap):
    // too short for a library call's fixed cost to pay off. Copies and clears finish with one vector that
    // overlaps the previous one instead of a scalar tail; masked stores would be the alternative but are slow on
    // AMD processors. Long copies and adds take 512-bit vectors where the CPU has them; without 256-bit vectors
    // (SSE, NEON) the same loops run on 128-bit ones.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(float* dst, int count)
    {
        if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            int i = 0;
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256<float>.Zero, dst + i);
            if (i < count) Vector256.Store(Vector256<float>.Zero, dst + count - 8);
        }
        else if (Vector128.IsHardwareAccelerated && count >= 4)
        {
            int i = 0;
            for (; i + 4 <= count; i += 4) Vector128.Store(Vector128<float>.Zero, dst + i);
            if (i < count) Vector128.Store(Vector128<float>.Zero, dst + count - 4);
        }
        else
        {
            for (int k = 0; k < count; k++) dst[k] = 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* src, float* dst, int count)
    {
        if (Vector512.IsHardwareAccelerated && count >= 16)
        {
            int i = 0;
            for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(src + i), dst + i);
            if (i < count) Vector512.Store(Vector512.Load(src + count - 16), dst + count - 16);
        }
        else if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            int i = 0;
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
            if (i < count) Vector256.Store(Vector256.Load(src + count - 8), dst + count - 8);
        }
        else if (Vector128.IsHardwareAccelerated && count >= 4)
        {
            int i = 0;
            for (; i + 4 <= count; i += 4) Vector128.Store(Vector128.Load(src + i), dst + i);
            if (i < count) Vector128.Store(Vector128.Load(src + count - 4), dst + count - 4);
        }
        else
        {
            for (int k = 0; k < count; k++) dst[k] = src[k];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddInto(float* dst, float* src, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(dst + i) + Vector512.Load(src + i), dst + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(dst + i) + Vector256.Load(src + i), dst + i);
        else if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= count; i += 4) Vector128.Store(Vector128.Load(dst + i) + Vector128.Load(src + i), dst + i);
        for (; i < count; i++) dst[i] += src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum(float* src, int count)
    {
        int i = 0;
        float sum = 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            var total = Vector256<float>.Zero;
            for (; i + 8 <= count; i += 8) total += Vector256.Load(src + i);
            sum = Vector256.Sum(total);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var total = Vector128<float>.Zero;
            for (; i + 4 <= count; i += 4) total += Vector128.Load(src + i);
            sum = Vector128.Sum(total);
        }
        for (; i < count; i++) sum += src[i];
        return sum;
    }

    /// <summary>
    /// The output columns [ox0, ox1) whose input column ox·stride − pad + offset lies inside [0, width).
    /// </summary>
    private static void ValidRange(int width, int outWidth, int stride, int pad, int offset, out int ox0, out int ox1)
    {
        // Smallest ox with ox·stride ≥ pad − offset, and one past the largest with ox·stride ≤ width − 1 + pad − offset.
        int low = pad - offset;
        ox0 = low <= 0 ? 0 : (low + stride - 1) / stride;
        int high = width - 1 + pad - offset;
        ox1 = high < 0 ? 0 : Math.Min(outWidth, high / stride + 1);
        ox0 = Math.Min(ox0, outWidth);
    }

    /// <summary>Per-thread buffers that only grow, so steady-state training allocates nothing here.</summary>
    private static class Workspace
    {
        [ThreadStatic] private static float[]? _columns, _partials, _weightAndBias, _outputs, _outputGradients, _pooledGradients;

        public static Span<float> Columns(int length) => Get(ref _columns, length).AsSpan(0, length);

        public static Span<float> Outputs(int length) => Get(ref _outputs, length).AsSpan(0, length);

        public static Span<float> OutputGradients(int length) => Get(ref _outputGradients, length).AsSpan(0, length);

        public static Span<float> PooledGradients(int length) => Get(ref _pooledGradients, length).AsSpan(0, length);

        public static float[] Partials(int length) => Get(ref _partials, length);

        public static float[] WeightAndBias(int length) => Get(ref _weightAndBias, length);

        private static float[] Get(ref float[]? buffer, int length)
        {
            if (buffer is null || buffer.Length < length) buffer = GC.AllocateUninitializedArray<float>(Math.Max(length, 1));
            return buffer;
        }
    }
}
