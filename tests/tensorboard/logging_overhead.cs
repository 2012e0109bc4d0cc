#:project ../../src/Descent/Descent.csproj
#:property PublishAot=false
#:property Nullable=enable

// What TensorBoardLogger costs a training run: the `descent train` setup (MLP 256,128, ReLU, SGD at its
// conventional lr, batch 32, seed 0, the dataset's default validation split) trained without and with
// the logger, in rounds of three runs (without, with, without; then with, without, with), comparing the training time (Fit, plus the logger's construction and final
// flush) as wall-clock time and as the process's CPU time (all threads). A shared machine makes both
// noisy, so the time spent in the logger itself is measured too: on the training thread (constructor,
// callbacks, final flush) and the CPU time of the writer thread (Linux only).
// With the logger: what `--logdir` turns on — per-step scalars, histograms and update ratios every
// --log-every steps, per-epoch metrics, the misclassified-images grid when training ends (when there is
// a validation split), and the hparams session.
//   cold: each run in a fresh process, as a user runs `descent train`: the one-time compilation of the
//         logging code and of Google.Protobuf counts.
//   warm: each round in a fresh process after two warm-up runs (with and without): the cost per step and per epoch alone.
// The machine has spells of 2-2.5x slowness lasting seconds: a round whose two outer runs differ by more
// than 5 % changed speed in the middle and is set aside; the overhead is the mean of the medians of the
// two orders over the other rounds.
// A run that crashes is run again (up to five tries) so that one flaky run does not end the measurement.
//
//     dotnet run -c Release tests/tensorboard/logging_overhead.cs -- [cold|warm] [digits|fashion-mnist] [epochs] [rounds] [log-every]

using System.Diagnostics;
using System.Globalization;
using Descent;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

if (args.Length > 0 && args[0] == "--child")
{
    // --child MODE DATASET EPOCHS LOG-EVERY ORDER LOGDIR: prints "wall cpu logger-thread writer-thread" for each run of ORDER (w = with, o = without).
    string childMode = args[1], childDataset = args[2], order = args[5], childLogDir = args[6];
    int childEpochs = int.Parse(args[3], CultureInfo.InvariantCulture), childLogEvery = int.Parse(args[4], CultureInfo.InvariantCulture);
    var data = DataPreparation.Load(childDataset, null, asImages: false, DataPreparation.DefaultValFraction(childDataset), seed: 0);
    // One run with the logger compiles the training code and the logging code alike.
    // Warm-up runs with and without the logger compile the training code and the logging code alike.
    if (childMode == "warm")
    {
        Train(data, childDataset, childEpochs, childLogEvery, childLogDir + "-warmup");
        Train(data, childDataset, childEpochs, childLogEvery, null);
    }
    var fields = new List<string>();
    for (int index = 0; index < order.Length; index++)
    {
        var (wall, cpu, onTrainingThread, writerThread) = Train(data, childDataset, childEpochs, childLogEvery, order[index] == 'w' ? childLogDir + "-" + index : null);
        fields.Add(FormattableString.Invariant($"{wall:R} {cpu:R} {onTrainingThread:R} {writerThread:R}"));
    }
    Console.WriteLine(string.Join(" ", fields));
    return 0;
}

string mode = args.Length > 0 ? args[0] : "cold";
string dataset = args.Length > 1 ? args[1] : "digits";
int epochs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
int roundCount = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 10;
int logEvery = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1000;
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
// Per round, the with/without ratio of wall-clock and of CPU time, and how far apart the two bracketing runs were.
var rounds = new List<(double Wall, double Cpu, double Spread)>();
for (int i = 0; i < roundCount; i++)
{
    // A round is three runs, the middle one bracketed by two of the other kind: "owo", then "wow". Comparing the
    // middle run with the mean of its neighbours cancels a steady drift in machine speed, and the two neighbours
    // disagreeing shows that the machine changed speed within the round (it has spells of 2-2.5x slowness).
    string order = i % 2 == 0 ? "owo" : "wow";
    string logDir = Path.Combine(logRoot, $"run{i}");
    var runs = new double[3][];
    if (mode == "warm")
    {
        var all = Child(order, logDir);
        for (int r = 0; r < 3; r++) runs[r] = all[(4 * r)..(4 * r + 4)];
    }
    else
    {
        for (int r = 0; r < 3; r++) runs[r] = Child(order[r].ToString(), logDir + "-" + r);
    }
    for (int r = 0; r < 3; r++)
    {
        if (order[r] == 'w')
        {
            with.Add((runs[r][0], runs[r][1]));
            loggerCost.Add((runs[r][2], runs[r][3]));
        }
        else without.Add((runs[r][0], runs[r][1]));
    }
    double Ratio(int field)
    {
        double outer = (runs[0][field] + runs[2][field]) / 2, middle = runs[1][field];
        return order == "owo" ? middle / outer : outer / middle;
    }
    double spread = Math.Abs(runs[0][0] - runs[2][0]) / ((runs[0][0] + runs[2][0]) / 2);
    rounds.Add((Ratio(0), Ratio(1), spread));
    Console.WriteLine(FormattableString.Invariant(
        $"round {i + 1} ({order}): {runs[0][0]:F3} {runs[1][0]:F3} {runs[2][0]:F3} s; with/without {(rounds[^1].Wall - 1) * 100:+0.0;-0.0} %, outer runs {spread * 100:F1} % apart"));
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

// Rounds whose two outer runs differ by more than 5 % straddled a change of machine speed and are set aside.
// The middle run of a round can be systematically slower or faster than the outer ones (in warm mode all three
// share a process), which biases "owo" rounds one way and "wow" rounds the other: the overhead is the mean of
// the two orders' medians, which cancels that.
const double MaxSpread = 0.05;
var steady = rounds.Select((r, i) => (Round: r, Order: i % 2)).Where(x => x.Round.Spread <= MaxSpread).ToList();
string Compare(string what, Func<(double Wall, double Cpu, double Spread), double> ratio, Func<(double Wall, double Cpu), double> pick)
{
    var owo = steady.Where(x => x.Order == 0).Select(x => ratio(x.Round)).ToList();
    var wow = steady.Where(x => x.Order == 1).Select(x => ratio(x.Round)).ToList();
    double estimate = owo.Count > 0 && wow.Count > 0 ? (Median(owo) + Median(wow)) / 2 : double.NaN;
    return FormattableString.Invariant(
        $"{what}: without logger median {Median(without.Select(pick).ToList()):F3} s, with logger median {Median(with.Select(pick).ToList()):F3} s; overhead {(estimate - 1) * 100:+0.00;-0.00} % (steady rounds: {owo.Count} owo, median {(owo.Count > 0 ? Median(owo) - 1 : double.NaN) * 100:+0.0;-0.0} %; {wow.Count} wow, median {(wow.Count > 0 ? Median(wow) - 1 : double.NaN) * 100:+0.0;-0.0} %; of {rounds.Count} rounds)");
}

long bytes = Directory.EnumerateDirectories(logRoot, "run0*").Where(d => !d.EndsWith("-warmup", StringComparison.Ordinal)).SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)).Sum(f => new FileInfo(f).Length);
Console.WriteLine($"{dataset} MLP, {epochs} epochs, log every {logEvery} steps, {roundCount} rounds of three runs ({(mode == "cold" ? "each run a fresh process" : "each round in a fresh process after two warm-up runs")}), {Environment.ProcessorCount} cores, {bytes / 1024} KiB of events per run with the logger");
Console.WriteLine(Compare("wall-clock training time", r => r.Wall, r => r.Wall));
Console.WriteLine(Compare("CPU time of the process (all threads) while training", r => r.Cpu, r => r.Cpu));
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
