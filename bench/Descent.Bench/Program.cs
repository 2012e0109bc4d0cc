// Descent's side of the benchmarks against PyTorch: the same workloads, shapes and JSON field names as
// bench/torch_baseline.py. Usage:
//
//     dotnet run -c Release --project bench/Descent.Bench -- [workload...] [--quick]
//
// Workloads (all when none is named): sgemm copy_bandwidth sgd_momentum_step_10M adam_step_10M
// tiny_mlp_steps mlp cnn. One JSON object per line on stdout; bench/compare.py interleaves these runs with
// PyTorch's and prints the ratios. Descent-only, run when named: mlp_optimizer_steps (the optimizer steps of
// the Fashion-MNIST MLP, at the vector width the process has; see docs/benchmarks.md).

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

internal static class Program
{
    private static readonly string[] Micro = ["sgemm", "copy_bandwidth", "sgd_momentum_step_10M", "adam_step_10M", "tiny_mlp_steps"];
    private static readonly string[] Training = ["mlp", "cnn"];
    private static readonly string[] DescentOnly = ["mlp_optimizer_steps"];

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
            ("test_acc", Math.Round(accuracy, 4)), ("seconds", Math.Round(dt, 2)), ("cpu_cores_busy", Math.Round(coresBusy, 2)));
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
