#:project ../../src/Descent/Descent.csproj
#:property PublishAot=false
#:property Nullable=enable

// What TensorBoardLogger costs a training run: the `descent train` setup (MLP 256,128, ReLU, SGD at its
// conventional lr, batch 32, seed 0, the dataset's default validation split) trained without and with
// the logger, alternately, comparing the training time (Fit, plus the logger's construction and final
// flush) as wall-clock time and as the process's CPU time (all threads). A shared machine makes both
// noisy, so the time spent in the logger itself is measured too: on the training thread (constructor,
// callbacks, final flush) and the CPU time of the writer thread (Linux only).
// With the logger: what `--logdir` turns on — per-step scalars, histograms and update ratios every
// --log-every steps, per-epoch metrics, the misclassified-images grid when training ends (when there is
// a validation split), and the hparams session.
//   cold: each run in a fresh process, as a user runs `descent train`: the one-time compilation of the
//         logging code and of Google.Protobuf counts.
//   warm: each pair in a fresh process after a warm-up run: the cost per step and per epoch alone.
// A run that crashes is run again (up to five tries) so that one flaky run does not end the measurement.
//
//     dotnet run -c Release tests/tensorboard/logging_overhead.cs -- [cold|warm] [digits|fashion-mnist] [epochs] [pairs] [log-every]

using System.Diagnostics;
using System.Globalization;
using Descent;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

if (args.Length > 0 && args[0] == "--child")
{
    // --child MODE DATASET EPOCHS LOG-EVERY ORDER LOGDIR: prints "wall cpu" for each run of ORDER (w = with, o = without).
    string childMode = args[1], childDataset = args[2], order = args[5], childLogDir = args[6];
    int childEpochs = int.Parse(args[3], CultureInfo.InvariantCulture), childLogEvery = int.Parse(args[4], CultureInfo.InvariantCulture);
    var data = DataPreparation.Load(childDataset, null, asImages: false, DataPreparation.DefaultValFraction(childDataset), seed: 0);
    // One run with the logger compiles the training code and the logging code alike.
    if (childMode == "warm") Train(data, childDataset, childEpochs, childLogEvery, childLogDir + "-warmup");
    var fields = new List<string>();
    foreach (char run in order)
    {
        var (wall, cpu, onTrainingThread, writerThread) = Train(data, childDataset, childEpochs, childLogEvery, run == 'w' ? childLogDir : null);
        fields.Add(FormattableString.Invariant($"{wall:R} {cpu:R} {onTrainingThread:R} {writerThread:R}"));
    }
    Console.WriteLine(string.Join(" ", fields));
    return 0;
}

string mode = args.Length > 0 ? args[0] : "cold";
string dataset = args.Length > 1 ? args[1] : "digits";
int epochs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
int pairs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 10;
int logEvery = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 500;
if (mode is not ("cold" or "warm")) throw new ArgumentException($"mode must be cold or warm, got '{mode}'");
string logRoot = Path.Combine(Path.GetTempPath(), "descent-overhead-" + Guid.NewGuid().ToString("N"));

double[] Child(string order, string logDir)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!, ["--child", mode, dataset, epochs.ToString(CultureInfo.InvariantCulture),
        logEvery.ToString(CultureInfo.InvariantCulture), order, logDir])
    { RedirectStandardOutput = true };
    for (int attempt = 1; ; attempt++)
    {
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode == 0)
            return output.Trim().Split('\n')[^1].Split(' ').Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        Console.Error.WriteLine($"a child process failed with exit code {process.ExitCode}; running it again");
        if (attempt == 5) throw new InvalidOperationException("a child process failed five times");
        logDir += "-again";
    }
}

var without = new List<(double Wall, double Cpu)>();
var with = new List<(double Wall, double Cpu)>();
var loggerCost = new List<(double TrainingThread, double WriterThread)>();
for (int i = 0; i < pairs; i++)
{
    // Alternate the order so that drift in machine speed falls on both sides.
    bool withFirst = i % 2 == 1;
    string logDir = Path.Combine(logRoot, $"run{i}");
    double[] first, second;
    if (mode == "warm")
    {
        var both = Child(withFirst ? "wo" : "ow", logDir);
        (first, second) = (both[..4], both[4..]);
    }
    else
    {
        first = Child(withFirst ? "w" : "o", logDir);
        second = Child(withFirst ? "o" : "w", logDir);
    }
    var (withRun, withoutRun) = withFirst ? (first, second) : (second, first);
    without.Add((withoutRun[0], withoutRun[1]));
    with.Add((withRun[0], withRun[1]));
    loggerCost.Add((withRun[2], withRun[3]));
    Console.WriteLine(FormattableString.Invariant($"pair {i + 1}: without {without[^1].Wall:F3} s ({without[^1].Cpu:F3} s CPU), with {with[^1].Wall:F3} s ({with[^1].Cpu:F3} s CPU)"));
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

string Compare(string what, Func<(double Wall, double Cpu), double> pick)
{
    var a = without.Select(pick).ToList();
    var b = with.Select(pick).ToList();
    // Per pair, with/without: the machine's slow spells hit a pair rather than a side, so each run is best compared
    // with its own partner. The second run of a pair can be systematically slower or faster than the first (in
    // warm mode both share a process), so the pairs of each order get their own median and the two are averaged:
    // the order effect cancels, and a spell moves a median little.
    var ratios = a.Zip(b, (x, y) => y / x).ToList();
    var withoutFirst = ratios.Where((_, i) => i % 2 == 0).ToList();
    var withFirst = ratios.Where((_, i) => i % 2 == 1).ToList();
    double balanced = withFirst.Count == 0 ? Median(withoutFirst) : (Median(withoutFirst) + Median(withFirst)) / 2;
    return FormattableString.Invariant(
        $"{what}: without logger median {Median(a):F3} s, with logger median {Median(b):F3} s; overhead {(balanced - 1) * 100:+0.00;-0.00} % (pairs by order: median {(Median(withoutFirst) - 1) * 100:+0.0;-0.0} % with the logger second, {(withFirst.Count == 0 ? double.NaN : Median(withFirst) - 1) * 100:+0.0;-0.0} % with it first; ratio of the medians {(Median(b) / Median(a) - 1) * 100:+0.00;-0.00} %)");
}

long bytes = Directory.EnumerateDirectories(logRoot, "run0*").Where(d => !d.EndsWith("-warmup", StringComparison.Ordinal)).SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)).Sum(f => new FileInfo(f).Length);
Console.WriteLine($"{dataset} MLP, {epochs} epochs, log every {logEvery} steps, {pairs} pairs ({(mode == "cold" ? "each run a fresh process" : "each pair in a fresh process after a warm-up run")}), {Environment.ProcessorCount} cores, {bytes / 1024} KiB of events per run");
Console.WriteLine(Compare("wall-clock training time", r => r.Wall));
Console.WriteLine(Compare("CPU time of the process (all threads) while training", r => r.Cpu));
double onThread = Median(loggerCost.Select(c => c.TrainingThread).ToList()), onWriter = Median(loggerCost.Select(c => c.WriterThread).ToList());
double baseline = Median(without.Select(r => r.Wall).ToList());
Console.WriteLine(FormattableString.Invariant(
    $"time in the logger itself (medians): {onThread * 1000:F1} ms on the training thread (constructor, callbacks, final flush) + {onWriter * 1000:F1} ms CPU on the writer thread = {(onThread + onWriter) * 1000:F1} ms, {(onThread + onWriter) / baseline * 100:F2} % of the training time without logger ({(onThread / baseline) * 100:F2} % on the training thread alone)"));
Directory.Delete(logRoot, recursive: true);
return 0;

static (double Wall, double Cpu, double TrainingThread, double WriterThread) Train(PreparedData data, string dataset, int epochs, int logEvery, string? logDir)
{
    int side = dataset == "digits" ? 8 : 28;
    Rng.ManualSeed(0);
    var model = Models.Mlp(data.Train.SampleSize, [256, 128], data.NumClasses);
    var optimizer = Optimizers.Create("sgd", model, new OptimizerSettings());
    var trainer = new Trainer(model, optimizer);
    // The CLI always attaches its epoch table (which needs no gradient norm: the trainer computes it only for the logger).
    trainer.Callbacks.Add(new EpochTableStandIn());
    var clock = Stopwatch.StartNew();
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    TensorBoardLogger? logger = null;
    TimedCallback? timed = null;
    long constructed = 0;
    if (logDir is not null)
    {
        long start = Stopwatch.GetTimestamp();
        logger = new TensorBoardLogger(logDir, model, optimizer, logEvery, flushSecs: 5,
            new Dictionary<string, object?> { ["dataset"] = dataset, ["batch_size"] = 32 })
        {
            Misclassified = data.Validation is null ? null : new MisclassifiedImages(data.Validation, [1, side, side]),
        };
        constructed = Stopwatch.GetTimestamp() - start;
        timed = new TimedCallback(logger);
        trainer.Callbacks.Add(timed);
    }
    trainer.Fit(data.TrainLoader(32, 0), data.Validation, epochs);
    double writerThread = WriterThreadCpuSeconds();
    long disposeStart = Stopwatch.GetTimestamp();
    logger?.Dispose();
    long disposed = Stopwatch.GetTimestamp() - disposeStart;
    double onTrainingThread = logger is null ? 0 : (double)(constructed + timed!.Ticks + disposed) / Stopwatch.Frequency;
    return (clock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds, onTrainingThread, writerThread);
}

// CPU time so far of the logger's background thread, from Linux's per-thread scheduler statistics
// (nanoseconds on the CPU); 0 elsewhere.
static double WriterThreadCpuSeconds()
{
    if (!OperatingSystem.IsLinux()) return 0;
    foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
    {
        try
        {
            if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith("TensorBoard", StringComparison.Ordinal)) continue;
            return long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], CultureInfo.InvariantCulture) / 1e9;
        }
        catch (IOException)
        {
        }
    }
    return 0;
}

/// <summary>Passes every callback to the logger and adds up the time spent in it.</summary>
sealed class TimedCallback(ITrainerCallback inner) : ITrainerCallback
{
    public long Ticks;

    public void OnTrainBegin(Trainer trainer, int epochs, int batchesPerEpoch) => Time(() => inner.OnTrainBegin(trainer, epochs, batchesPerEpoch));
    public void OnEpochBegin(int epoch) => inner.OnEpochBegin(epoch);
    public bool WantsGradNorm => inner.WantsGradNorm;
    public void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy)
    {
        long start = Stopwatch.GetTimestamp();
        inner.OnBatchEnd(epoch, batch, globalStep, loss, accuracy);
        Ticks += Stopwatch.GetTimestamp() - start;
    }
    public void OnOptimizerStep(long globalStep, double gradNorm)
    {
        long start = Stopwatch.GetTimestamp();
        inner.OnOptimizerStep(globalStep, gradNorm);
        Ticks += Stopwatch.GetTimestamp() - start;
    }
    public void OnEpochEnd(EpochResult result) => Time(() => inner.OnEpochEnd(result));
    public void OnTrainEnd(IReadOnlyList<EpochResult> history) => Time(() => inner.OnTrainEnd(history));

    private void Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        Ticks += Stopwatch.GetTimestamp() - start;
    }
}

sealed class EpochTableStandIn : ITrainerCallback
{
    public void OnEpochEnd(EpochResult result) => TextWriter.Null.WriteLine(result.TrainLoss);
}
