// Descent's side of the benchmarks against PyTorch: the same workloads, shapes and JSON field names as
// bench/torch_baseline.py. Usage:
//
//     dotnet run -c Release --project bench/Descent.Bench -- [workload...] [--quick]
//
// Workloads (all when none is named): sgemm copy_bandwidth sgd_momentum_step_10M adam_step_10M
// tiny_mlp_steps mlp cnn. One JSON object per line on stdout; bench/compare.py interleaves these runs with
// PyTorch's and prints the ratios. Descent-only, run when named: peak (the machine's fp32 FMA throughput on
// every core and its copy bandwidth, the ceilings the other figures are fractions of) and mlp_optimizer_steps
// (the optimizer steps of the Fashion-MNIST MLP, at the vector width the process has; see docs/benchmarks.md).

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using Descent;
using Descent.Data;
using Descent.Kernels;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Bench;

internal static unsafe class Program
{
    private static readonly string[] Micro = ["sgemm", "copy_bandwidth", "sgd_momentum_step_10M", "adam_step_10M", "tiny_mlp_steps"];
    private static readonly string[] Training = ["mlp", "cnn"];
    private static readonly string[] DescentOnly = ["peak", "cnn_layers", "mlp_optimizer_steps", "allreduce", "step_times"];

    private static bool _quick;
    private static double MinTime => _quick ? 0.3 : 1.0;     // seconds each timed micro-benchmark runs at least
    private static double WarmupTime => _quick ? 0.3 : 1.0;  // seconds of warm-up before a timed run

    private static int Main(string[] args)
    {
        _quick = args.Contains("--quick");
        var names = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        var unknownFlags = args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a != "--quick").ToList();
        if (names.Count == 0) names = [.. Micro, .. Training];
        var unknown = names.Where(n => !Micro.Contains(n) && !Training.Contains(n) && !DescentOnly.Contains(n)).ToList();
        if (unknown.Count > 0 || unknownFlags.Count > 0)
        {
            Console.Error.WriteLine($"unknown argument(s) {string.Join(", ", unknown.Concat(unknownFlags))}; usage: Descent.Bench [{string.Join("|", Micro.Concat(Training).Concat(DescentOnly))}...] [--quick]");
            return 2;
        }

        Emit(("bench", "env"), ("side", "descent"), ("dotnet", Environment.Version.ToString()),
            ("workers", WorkerPool.Workers), ("avx512", Vector512.IsHardwareAccelerated),
            ("vector_bits", Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0),
            ("server_gc", System.Runtime.GCSettings.IsServerGC), ("quick", _quick));

        foreach (var name in names)
        {
            switch (name)
            {
                case "sgemm": Sgemm(); break;
                case "copy_bandwidth": CopyBandwidth(); break;
                case "sgd_momentum_step_10M": SgdMomentumStep(); break;
                case "adam_step_10M": AdamStep(); break;
                case "tiny_mlp_steps": TinyMlp(); break;
                case "mlp_optimizer_steps": MlpOptimizerSteps(); break;
                case "peak": Peak(); break;
                case "cnn_layers": CnnLayers(); break;
                case "allreduce": AllReduce(); break;
                case "step_times": StepTimes(); break;
            }
        }
        if (names.Any(Training.Contains))
        {
            var (train, test) = LoadFashionMnist();
            foreach (var name in names)
            {
                if (name == "mlp") Mlp(train, test);
                else if (name == "cnn") Cnn(train.WithSampleShape(1, 28, 28), test.WithSampleShape(1, 28, 28));
            }
        }
        return 0;
    }

    // ---- micro-benchmarks -------------------------------------------------------------------------------

    /// <summary>Warm-up (at least a third of the warm-up time and 3 calls), then calls for at least
    /// <see cref="MinTime"/> seconds and <paramref name="minReps"/> calls; returns seconds per call.</summary>
    private static double Timed(Action body, int minReps = 3)
    {
        var sw = Stopwatch.StartNew();
        for (int r = 0; r < 3 || sw.Elapsed.TotalSeconds < WarmupTime / 3; r++) body();
        int reps = 0;
        sw.Restart();
        while (reps < minReps || sw.Elapsed.TotalSeconds < MinTime) { body(); reps++; }
        return sw.Elapsed.TotalSeconds / reps;
    }

    private static void Sgemm()
    {
        var random = new Random(0);
        foreach (int n in (int[])[256, 512, 1024])
        {
            var a = Gaussian(random, n * n);
            var b = Gaussian(random, n * n);
            var c = new float[n * n];
            double dt = Timed(() => Gemm.Sgemm(false, false, n, n, n, a, b, c, accumulate: false));
            Emit(("bench", "sgemm"), ("n", n), ("gflops", Math.Round(2.0 * n * n * n / dt / 1e9, 1)));
        }
    }

    /// <summary>
    /// A 256 MB float32 copy split across the cores by <see cref="RangeParallel"/> (the chunks an optimizer
    /// step uses), counted as 2 × 4 bytes per float, like PyTorch's <c>copy_</c>: <c>gb_per_s</c>. Such a copy
    /// with ordinary stores also reads every destination line before writing it (read-for-ownership: 12 bytes
    /// move per 8 counted), so it understates what the memory streams; the same copy with non-temporal stores
    /// moves only the bytes counted and is reported as <c>streaming_gb_per_s</c>, the reference for the
    /// optimizer steps' bandwidth floor (an in-place update reads the lines it writes, so it pays no extra read).
    /// </summary>
    private static unsafe void CopyBandwidth()
    {
        const int n = 64 * 1024 * 1024;
        float* src = (float*)NativeMemory.AlignedAlloc((nuint)n * sizeof(float), 64);
        float* dst = (float*)NativeMemory.AlignedAlloc((nuint)n * sizeof(float), 64);
        try
        {
            for (int i = 0; i < n; i++) { src[i] = i; dst[i] = 0; }
            var ordinary = new OrdinaryCopy(src, dst);
            double dt = Timed(() => { var body = ordinary; RangeParallel.For(n, ref body); });
            var streaming = new StreamingCopy(src, dst);
            double dtStreaming = Timed(() => { var body = streaming; RangeParallel.For(n, ref body); });
            Emit(("bench", "copy_bandwidth"), ("gb_per_s", Math.Round(2.0 * 4 * n / dt / 1e9, 1)),
                ("streaming_gb_per_s", Math.Round(2.0 * 4 * n / dtStreaming / 1e9, 1)));
        }
        finally
        {
            NativeMemory.AlignedFree(src);
            NativeMemory.AlignedFree(dst);
        }
    }

    /// <summary>
    /// The machine's ceilings, measured now: fp32 multiply-add throughput with every core running
    /// register-only chains at the widest vector width the process has (FMA where the CPU has it, a multiply
    /// and an add otherwise), and the copy bandwidth (<see cref="CopyBandwidth"/>). No kernel can beat the
    /// first on arithmetic or the second on streaming; <c>compare.py</c> reports figures as fractions of them.
    /// </summary>
    private static void Peak()
    {
        int threads = Environment.ProcessorCount;
        var (flopsPerIteration, bits, kind) = Vector512.IsHardwareAccelerated ? (24 * 16 * 2, 512, "fma")
            : Vector256.IsHardwareAccelerated ? (14 * 8 * 2, 256, "fma")
            : Avx.IsSupported ? (12 * 8 * 2, 256, "mul+add")
            : (14 * 4 * 2, 128, Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "fma" : "mul+add");
        long iterations = _quick ? 20_000_000 : 60_000_000;
        double best = 0;
        for (int round = 0; round < 3; round++)
        {
            using var ready = new Barrier(threads + 1);
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                ready.SignalAndWait();
                float sink = bits == 512 ? FmaChains512(iterations) : bits == 256 && kind == "fma" ? FmaChains256(iterations)
                    : bits == 256 ? MulAddChainsAvx(iterations) : FmaChains128(iterations);
                if (sink == 42f) Console.Error.Write("");   // keeps the result live
                ready.SignalAndWait();
            })).ToList();
            workers.ForEach(t => t.Start());
            ready.SignalAndWait();
            var sw = Stopwatch.StartNew();
            ready.SignalAndWait();
            double dt = sw.Elapsed.TotalSeconds;
            workers.ForEach(t => t.Join());
            best = Math.Max(best, (double)flopsPerIteration * iterations * threads / dt / 1e9);
        }
        Emit(("bench", "peak"), ("fma_gflops", Math.Round(best, 1)), ("threads", threads), ("vector_bits", bits), ("kind", kind));
        CopyBandwidth();
    }

    /// <summary>
    /// The CNN workload's training step (batch 64) layer by layer, as <see cref="Sequential"/> runs it: each
    /// convolution with its ReLU and 2×2 max pool as one fused kernel call, the linear layer's products, timed on
    /// their own with the shapes of <see cref="Models.Cnn"/> on 28×28 images, in ms per call and GFLOP/s
    /// (multiply-adds × 2), then the whole step through autodiff for comparison. Also reports the GEMM rate of this
    /// process at n = 512 for the ratio.
    /// </summary>
    private static void CnnLayers()
    {
        const int n = 64;
        var random = new Random(0);
        float[] x1 = Gaussian(random, n * 1 * 28 * 28), w1 = Gaussian(random, 32 * 9), b1 = Gaussian(random, 32);
        float[] p1 = new float[n * 32 * 196], gp1 = Gaussian(random, n * 32 * 196), gw1 = new float[32 * 9], gb1 = new float[32];
        int[] i1 = new int[n * 32 * 196];
        float[] w2 = Gaussian(random, 64 * 32 * 9), b2 = Gaussian(random, 64);
        float[] p2 = new float[n * 64 * 49], gp2 = Gaussian(random, n * 64 * 49), gx2 = new float[n * 32 * 196], gw2 = new float[64 * 32 * 9], gb2 = new float[64];
        int[] i2 = new int[n * 64 * 49];
        float[] wf1 = Gaussian(random, 128 * 3136), f1 = new float[n * 128], gf1 = Gaussian(random, n * 128), gwf1 = new float[128 * 3136], gxf1 = new float[n * 3136];
        double conv1 = 2.0 * n * 32 * 9 * 784, conv2 = 2.0 * n * 64 * 288 * 196, fc1 = 2.0 * n * 3136 * 128;
        void Row(string name, double flops, Action body)
        {
            double dt = Timed(body);
            Emit(("bench", "cnn_layer"), ("kernel", name), ("ms", Math.Round(dt * 1e3, 3)), ("gflops", flops > 0 ? Math.Round(flops / dt / 1e9, 1) : 0));
        }
        Row("conv1+relu+pool forward", conv1, () => Conv.Conv2dReluMaxPool2x2Forward(x1, n, 1, 28, 28, w1, b1, 32, 3, 3, 1, 1, 1, 1, p1, i1));
        Row("conv2+relu+pool forward", conv2, () => Conv.Conv2dReluMaxPool2x2Forward(p1, n, 32, 14, 14, w2, b2, 64, 3, 3, 1, 1, 1, 1, p2, i2));
        Row("fc1 forward", fc1, () => Gemm.Sgemm(false, true, n, 128, 3136, p2, wf1, f1, accumulate: false));
        Row("fc1 backward", 2 * fc1, () =>
        {
            Gemm.Sgemm(false, false, n, 3136, 128, gf1, wf1, gxf1, accumulate: false);
            Gemm.Sgemm(true, false, 128, 3136, n, gf1, p2, gwf1, accumulate: true);
        });
        Row("conv2+relu+pool backward", 2 * conv2, () =>
            Conv.Conv2dReluMaxPool2x2Backward(n, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, p1, w2, gp2, p2, i2, gx2, gw2, gb2, accumulateGx: false));
        Row("conv1+relu+pool backward", conv1, () =>
            Conv.Conv2dReluMaxPool2x2Backward(n, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, x1, w1, gp1, p1, i1, default, gw1, gb1));

        Rng.ManualSeed(0);
        var model = Models.Cnn(1, 28, 28, 10);
        var optimizer = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9);
        var images = Tensor.FromArray(x1, n, 1, 28, 28);
        var labels = Enumerable.Range(0, n).Select(i => i % 10).ToArray();
        Row("whole step (autodiff)", 24_995_328.0 * n, () =>
        {
            optimizer.ZeroGrad();
            Functional.CrossEntropy(model.Forward(images), labels).Backward();
            optimizer.Step();
        });
        var a = Gaussian(random, 512 * 512);
        var b = Gaussian(random, 512 * 512);
        var c = new float[512 * 512];
        Row("sgemm n=512", 2.0 * 512 * 512 * 512, () => Gemm.Sgemm(false, false, 512, 512, 512, a, b, c, accumulate: false));
    }

    // Each chain is x ← x·m + a with m slightly below 1, so values settle near a/(1−m): no overflow, no
    // denormals. Enough independent chains to cover the latency of every pipe (24 measured 1.5× faster than
    // 12 on this Zen 5 with 512-bit vectors), as many as the registers hold: 32 with AVX-512, 16 otherwise.

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains512(long iterations)
    {
        var m = Vector512.Create(0.999f); var a = Vector512.Create(0.001f);
        Vector512<float> x0 = Vector512.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0, x12 = x0, x13 = x0, x14 = x0, x15 = x0, x16 = x0, x17 = x0, x18 = x0, x19 = x0, x20 = x0, x21 = x0, x22 = x0, x23 = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Vector512.FusedMultiplyAdd(x0, m, a); x1 = Vector512.FusedMultiplyAdd(x1, m, a); x2 = Vector512.FusedMultiplyAdd(x2, m, a);
            x3 = Vector512.FusedMultiplyAdd(x3, m, a); x4 = Vector512.FusedMultiplyAdd(x4, m, a); x5 = Vector512.FusedMultiplyAdd(x5, m, a);
            x6 = Vector512.FusedMultiplyAdd(x6, m, a); x7 = Vector512.FusedMultiplyAdd(x7, m, a); x8 = Vector512.FusedMultiplyAdd(x8, m, a);
            x9 = Vector512.FusedMultiplyAdd(x9, m, a); x10 = Vector512.FusedMultiplyAdd(x10, m, a); x11 = Vector512.FusedMultiplyAdd(x11, m, a);
            x12 = Vector512.FusedMultiplyAdd(x12, m, a); x13 = Vector512.FusedMultiplyAdd(x13, m, a); x14 = Vector512.FusedMultiplyAdd(x14, m, a);
            x15 = Vector512.FusedMultiplyAdd(x15, m, a); x16 = Vector512.FusedMultiplyAdd(x16, m, a); x17 = Vector512.FusedMultiplyAdd(x17, m, a);
            x18 = Vector512.FusedMultiplyAdd(x18, m, a); x19 = Vector512.FusedMultiplyAdd(x19, m, a); x20 = Vector512.FusedMultiplyAdd(x20, m, a);
            x21 = Vector512.FusedMultiplyAdd(x21, m, a); x22 = Vector512.FusedMultiplyAdd(x22, m, a); x23 = Vector512.FusedMultiplyAdd(x23, m, a);
        }
        return Vector512.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13 + x14 + x15 + x16 + x17 + x18 + x19 + x20 + x21 + x22 + x23);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains256(long iterations)
    {
        var m = Vector256.Create(0.999f); var a = Vector256.Create(0.001f);
        Vector256<float> x0 = Vector256.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0, x12 = x0, x13 = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Vector256.FusedMultiplyAdd(x0, m, a); x1 = Vector256.FusedMultiplyAdd(x1, m, a); x2 = Vector256.FusedMultiplyAdd(x2, m, a);
            x3 = Vector256.FusedMultiplyAdd(x3, m, a); x4 = Vector256.FusedMultiplyAdd(x4, m, a); x5 = Vector256.FusedMultiplyAdd(x5, m, a);
            x6 = Vector256.FusedMultiplyAdd(x6, m, a); x7 = Vector256.FusedMultiplyAdd(x7, m, a); x8 = Vector256.FusedMultiplyAdd(x8, m, a);
            x9 = Vector256.FusedMultiplyAdd(x9, m, a); x10 = Vector256.FusedMultiplyAdd(x10, m, a); x11 = Vector256.FusedMultiplyAdd(x11, m, a);
            x12 = Vector256.FusedMultiplyAdd(x12, m, a); x13 = Vector256.FusedMultiplyAdd(x13, m, a);
        }
        return Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13);
    }

    /// <summary>AVX without FMA (what the GEMM's AVX kernel runs on): a multiply and an add per step.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static float MulAddChainsAvx(long iterations)
    {
        float multiplier = 0.999f, addend = 0.001f;
        var m = Avx.BroadcastScalarToVector256(&multiplier); var a = Avx.BroadcastScalarToVector256(&addend);
        Vector256<float> x0 = m, x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Avx.Add(Avx.Multiply(x0, m), a); x1 = Avx.Add(Avx.Multiply(x1, m), a); x2 = Avx.Add(Avx.Multiply(x2, m), a);
            x3 = Avx.Add(Avx.Multiply(x3, m), a); x4 = Avx.Add(Avx.Multiply(x4, m), a); x5 = Avx.Add(Avx.Multiply(x5, m), a);
            x6 = Avx.Add(Avx.Multiply(x6, m), a); x7 = Avx.Add(Avx.Multiply(x7, m), a); x8 = Avx.Add(Avx.Multiply(x8, m), a);
            x9 = Avx.Add(Avx.Multiply(x9, m), a); x10 = Avx.Add(Avx.Multiply(x10, m), a); x11 = Avx.Add(Avx.Multiply(x11, m), a);
        }
        x0 = Avx.Add(Avx.Add(Avx.Add(x0, x1), Avx.Add(x2, x3)), Avx.Add(Avx.Add(x4, x5), Avx.Add(x6, x7)));
        return Avx.Add(x0, Avx.Add(Avx.Add(x8, x9), Avx.Add(x10, x11))).GetElement(0);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains128(long iterations)
    {
        var m = Vector128.Create(0.999f); var a = Vector128.Create(0.001f);
        Vector128<float> x0 = Vector128.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0, x12 = x0, x13 = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Vector128.MultiplyAddEstimate(x0, m, a); x1 = Vector128.MultiplyAddEstimate(x1, m, a); x2 = Vector128.MultiplyAddEstimate(x2, m, a);
            x3 = Vector128.MultiplyAddEstimate(x3, m, a); x4 = Vector128.MultiplyAddEstimate(x4, m, a); x5 = Vector128.MultiplyAddEstimate(x5, m, a);
            x6 = Vector128.MultiplyAddEstimate(x6, m, a); x7 = Vector128.MultiplyAddEstimate(x7, m, a); x8 = Vector128.MultiplyAddEstimate(x8, m, a);
            x9 = Vector128.MultiplyAddEstimate(x9, m, a); x10 = Vector128.MultiplyAddEstimate(x10, m, a); x11 = Vector128.MultiplyAddEstimate(x11, m, a);
            x12 = Vector128.MultiplyAddEstimate(x12, m, a); x13 = Vector128.MultiplyAddEstimate(x13, m, a);
        }
        return Vector128.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13);
    }

    private readonly unsafe struct StreamingCopy(float* src, float* dst) : IRangeBody
    {
        public void Apply(int start, int end)
        {
            int i = start;
            if (Avx512F.IsSupported)
            {
                for (; i + 16 <= end; i += 16) Avx512F.StoreAlignedNonTemporal(dst + i, Avx512F.LoadAlignedVector512(src + i));
                Sse.StoreFence();
            }
            new ReadOnlySpan<float>(src + i, end - i).CopyTo(new Span<float>(dst + i, end - i));
        }
    }

    private readonly unsafe struct OrdinaryCopy(float* src, float* dst) : IRangeBody
    {
        public void Apply(int start, int end) =>
            new ReadOnlySpan<float>(src + start, end - start).CopyTo(new Span<float>(dst + start, end - start));
    }

    /// <summary>Ten 1M-float parameters in one group, gradients filled with N(0, 1).</summary>
    private static List<Parameter> TenMillionParameters() =>
        Enumerable.Range(0, 10).Select(_ => new Parameter(1_000_000)).ToList();

    private static void FillGradients(Optimizer optimizer)
    {
        var random = new Random(0);
        var grad = optimizer.Arena.Grad;
        for (int i = 0; i < grad.Length; i++) grad[i] = (float)random.NextGaussian();
    }

    private static void SgdMomentumStep()
    {
        // Read θ, g, b; write θ, b: 5 × 4 bytes per parameter.
        var optimizer = new SGD(TenMillionParameters(), lr: 1e-3, momentum: 0.9);
        FillGradients(optimizer);
        double dt = Timed(optimizer.Step, minReps: 10);
        Emit(("bench", "sgd_momentum_step_10M"), ("ms", Math.Round(dt * 1e3, 2)),
            ("effective_gb_per_s", Math.Round(5.0 * 4 * 10_000_000 / dt / 1e9, 1)));
    }

    private static void AdamStep()
    {
        // Read θ, g, m, v; write θ, m, v: 7 × 4 bytes per parameter.
        var optimizer = new Adam(TenMillionParameters(), lr: 1e-3);
        FillGradients(optimizer);
        double dt = Timed(optimizer.Step, minReps: 10);
        Emit(("bench", "adam_step_10M"), ("ms", Math.Round(dt * 1e3, 2)),
            ("effective_gb_per_s", Math.Round(7.0 * 4 * 10_000_000 / dt / 1e9, 1)));
    }

    /// <summary>
    /// One optimizer step over the parameters of the Fashion-MNIST MLP that <c>descent train</c> builds by
    /// default (784-256-128-10: 235,146 floats in six tensors, one group), gradients N(0, 1): SGD with
    /// momentum 0.9 and Adam, µs per step. Run under <c>DOTNET_EnableAVX512=0</c> (and <c>DOTNET_EnableAVX2=0</c>)
    /// to time the 256-bit (128-bit) vector paths.
    /// </summary>
    private static void MlpOptimizerSteps()
    {
        static List<Parameter> MlpParameters() =>
            [new Parameter(256, 784), new Parameter(256), new Parameter(128, 256), new Parameter(128), new Parameter(10, 128), new Parameter(10)];
        foreach (var (name, optimizer) in new (string, Optimizer)[]
        {
            ("sgd_momentum", new SGD(MlpParameters(), lr: 1e-2, momentum: 0.9)),
            ("adam", new Adam(MlpParameters(), lr: 1e-3)),
        })
        {
            FillGradients(optimizer);
            double dt = Timed(optimizer.Step, minReps: 100);
            Emit(("bench", "mlp_optimizer_step"), ("optimizer", name), ("params", optimizer.Arena.Length), ("us", Math.Round(dt * 1e6, 1)));
        }
    }

    /// <summary>
    /// Run under <c>mpiexec -n N</c>: the sum all-reduce of <see cref="Descent.Distributed.ProcessGroup"/> (the one
    /// data-parallel training uses) on float32 buffers from 1 K values to 16 M, including the arena sizes of the MLP and
    /// the CNN; rank 0 prints seconds per call. bench/distributed.py fits latency and bandwidth to these.
    /// </summary>
    private static void AllReduce()
    {
        var group = Descent.Distributed.ProcessGroup.Initialize();
        int[] sizes = [1 << 10, 1 << 13, 1 << 16, 1 << 18, (int)MlpModel().ParameterCount, (int)Models.Cnn(1, 28, 28, 10).ParameterCount, 1 << 21, 1 << 22, 1 << 24];
        foreach (int n in sizes.Order())
        {
            var buffer = new float[n];
            // Every rank runs the same number of calls: the count is fixed, not timed, so no rank waits at the end.
            int reps = Math.Clamp((int)(2e8 / Math.Max(n, 1) / 4), 5, 2000) / (_quick ? 10 : 1) + 3;
            for (int r = 0; r < 3; r++) group.AllReduceSum(buffer);
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++) group.AllReduceSum(buffer);
            double dt = sw.Elapsed.TotalSeconds / reps;
            if (group.IsMain)
                Emit(("bench", "allreduce"), ("ranks", group.WorldSize), ("values", n), ("bytes", 4L * n), ("us", Math.Round(dt * 1e6, 2)),
                    ("gb_per_s", Math.Round(4.0 * n / dt / 1e9, 3)));
        }
    }

    private static Sequential MlpModel() => new(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10));

    /// <summary>
    /// One training step (zero grad, forward, loss, backward, SGD-momentum step) of the MLP (batch 128) and the CNN
    /// (batch 64) on random inputs, seconds per step and parameter count: the compute side of docs/distributed.md's cost model.
    /// </summary>
    private static void StepTimes()
    {
        var random = new Random(0);
        foreach (var (name, model, shape, batch) in new (string, Module, int[], int)[]
        {
            ("mlp_784_512_256_10", MlpModel(), [784], 128),
            ("cnn_c32_c64_fc128", Models.Cnn(1, 28, 28, 10), [1, 28, 28], 64),
        })
        {
            var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
            var x = Tensor.FromArray(Gaussian(random, batch * shape.Aggregate(1, (a, b) => a * b)), [batch, .. shape]);
            var y = Enumerable.Range(0, batch).Select(_ => random.Next(10)).ToArray();
            double dt = Timed(() =>
            {
                optimizer.ZeroGrad();
                Functional.CrossEntropy(model.Forward(x), y).Backward();
                optimizer.Step();
            }, minReps: 10);
            Emit(("bench", "step_time"), ("model", name), ("batch", batch), ("params", model.ParameterCount), ("workers", WorkerPool.Workers), ("ms", Math.Round(dt * 1e3, 3)));
        }
    }

    /// <summary>Per-op overhead: 2-16-16-2 tanh MLP, batch 32, cross-entropy, plain SGD.</summary>
    private static void TinyMlp()
    {
        Rng.ManualSeed(0);
        var model = new Sequential(new Linear(2, 16), new Tanh(), new Linear(16, 16), new Tanh(), new Linear(16, 2));
        var optimizer = new SGD(model.Parameters(), lr: 0.1);
        var random = new Random(0);
        var x = Tensor.FromArray(Gaussian(random, 32 * 2), 32, 2);
        var y = Enumerable.Range(0, 32).Select(_ => random.Next(2)).ToArray();
        void Step()
        {
            optimizer.ZeroGrad();
            Functional.CrossEntropy(model.Forward(x), y).Backward();
            optimizer.Step();
        }
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 50 || sw.Elapsed.TotalSeconds < WarmupTime; i++) Step();
        double duration = _quick ? 0.5 : 2.0;
        int steps = 0;
        sw.Restart();
        while (sw.Elapsed.TotalSeconds < duration) { Step(); steps++; }
        Emit(("bench", "tiny_mlp_steps"), ("steps_per_s", Math.Round(steps / sw.Elapsed.TotalSeconds)));
    }

    // ---- training runs ----------------------------------------------------------------------------------

    /// <summary>Fashion-MNIST, official 60k/10k split, one global mean/std fitted on the training images.</summary>
    private static (InMemoryDataset Train, InMemoryDataset Test) LoadFashionMnist()
    {
        string dir = Environment.GetEnvironmentVariable("FASHION") ?? Datasets.DefaultFashionMnistDir;
        var (train, test) = Datasets.FashionMnist(dir);
        var standardizer = Standardizer.FitGlobal(train);
        return (standardizer.Transform(train), standardizer.Transform(test));
    }

    /// <summary>784-512-256-10 ReLU MLP, batch 128, Adam lr 1e-3 (β = (0.9, 0.999), ε = 1e-8), one epoch.</summary>
    private static void Mlp(InMemoryDataset train, InMemoryDataset test)
    {
        Train(() => new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10)),
            model => new Adam(model.Parameters(), lr: 1e-3),
            train, test, 128, _quick ? 200 : int.MaxValue, "mlp_784_512_256_10_adam_1epoch");
    }

    /// <summary>The benchmarks' CNN (<see cref="Models.Cnn"/>), batch 64, SGD lr 0.05 momentum 0.9, 300 steps.</summary>
    private static void Cnn(InMemoryDataset train, InMemoryDataset test)
    {
        Train(() => Models.Cnn(1, 28, 28, 10), model => new SGD(model.Parameters(), lr: 0.05, momentum: 0.9),
            train, test, 64, _quick ? 50 : 300, "cnn_c32_c64_fc128_sgdm");
    }

    /// <summary>
    /// The loop of torch_baseline.py's <c>train</c>: a shuffled pass over whole batches (the last partial
    /// batch dropped), zero grad + forward + cross-entropy + backward + step, timed end to end including
    /// batch assembly; then test accuracy (not timed). A throw-away model trains first for at least 20 steps
    /// and <see cref="WarmupTime"/> so the timed run sees compiled code.
    /// </summary>
    private static void Train(Func<Module> makeModel, Func<Module, Optimizer> makeOptimizer, InMemoryDataset train,
        InMemoryDataset test, int batchSize, int maxSteps, string name)
    {
        Rng.ManualSeed(0);
        var model = makeModel();
        var optimizer = makeOptimizer(model);

        var warmModel = makeModel();
        var warmOptimizer = makeOptimizer(warmModel);
        var warmLoader = new DataLoader(train, batchSize, shuffle: true, seed: 1, dropLast: true);
        var sw = Stopwatch.StartNew();
        int warmSteps = 0;
        while (warmSteps < 20 || sw.Elapsed.TotalSeconds < WarmupTime)
        {
            foreach (var batch in warmLoader.Epoch(warmSteps))
            {
                Step(warmModel, warmOptimizer, batch);
                if (++warmSteps >= 20 && sw.Elapsed.TotalSeconds >= WarmupTime) break;
            }
        }
        warmModel = null;
        warmOptimizer = null;
        GC.Collect();
        GC.WaitForPendingFinalizers();

        model.Train();
        var loader = new DataLoader(train, batchSize, shuffle: true, seed: 0, dropLast: true);
        int steps = 0;
        long seen = 0;
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        sw.Restart();
        foreach (var batch in loader.Epoch(0))
        {
            Step(model, optimizer, batch);
            steps++;
            seen += batch.Size;
            if (steps >= maxSteps) break;
        }
        double dt = sw.Elapsed.TotalSeconds;
        process.Refresh();
        double coresBusy = (process.TotalProcessorTime - cpu0).TotalSeconds / dt;
        double accuracy = new Trainer(model, optimizer).Evaluate(test).Accuracy;
        Emit(("bench", name), ("batch", batchSize), ("steps", steps), ("samples_per_s", Math.Round(seen / dt)),
            ("test_acc", Math.Round(accuracy, 4)), ("seconds", Math.Round(dt, 2)), ("cpu_cores_busy", Math.Round(coresBusy, 2)),
            ("peak_rss_mb", Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1)));
    }

    private static void Step(Module model, Optimizer optimizer, Batch batch)
    {
        optimizer.ZeroGrad();
        Functional.CrossEntropy(model.Forward(batch.X), batch.Y).Backward();
        optimizer.Step();
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    private static float[] Gaussian(Random random, int n)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float)random.NextGaussian();
        return values;
    }

    /// <summary>Writes one JSON object on one line, fields in the given order.</summary>
    private static void Emit(params (string Key, object Value)[] fields)
    {
        var sb = new StringBuilder("{");
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append('"').Append(fields[i].Key).Append("\": ");
            sb.Append(fields[i].Value switch
            {
                bool b => b ? "true" : "false",
                string s => System.Text.Json.JsonSerializer.Serialize(s),
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                var other => System.Text.Json.JsonSerializer.Serialize(other.ToString()),
            });
        }
        Console.Out.WriteLine(sb.Append('}').ToString());
        Console.Out.Flush();
    }
}
