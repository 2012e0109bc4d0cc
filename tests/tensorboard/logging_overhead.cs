#:project ../../src/Descent.Lab/Descent.Lab.csproj
#:property PublishAot=false
#:property Nullable=enable
// As descent itself runs (src/Descent.Cli/Descent.Cli.csproj).
#:property TieredPGO=false

// What TensorBoardLogger costs a training run: the `descent train` setup (MLP 256,128, ReLU, SGD at its
// conventional lr, batch 32, seed 0, the dataset's default validation split) trained with and without
// the logger that `--logdir` attaches (per-step scalars with the gradient norm, histograms and update
// ratios at every epoch's end and every --log-every steps if given, per-epoch metrics, the
// misclassified-images grid when training ends, the hparams session).
//
// Paired runs, interleaved step by step. This machine has spells of 2-2.5x slowness lasting seconds and
// single runs differ by ±10 %, so comparing whole runs cannot resolve a few percent. Here the two runs of
// a pair train at once, on two threads that hand a baton back and forth after every two optimizer steps
// (with, without, without, with, with, ...): only one trains at a time, both see the same machine speed
// within milliseconds, and each run's time is the sum of its turns. Each side keeps the baton for two
// steps so that neither always runs a batch second, with the batch's rows already in the cache from the
// other. Every pair runs in a fresh process; pairs cycle through which run starts and which of the two
// threads has the logger (both favour one run a little: see the summary below). The writer thread's CPU
// time during the turns of the run without the logger is added to the run with it.
//
//   cold: the logger has not run in the process before (the training code has: about 2000 steps without
//         logging come first), as in `descent train --logdir`; the logger's one-time costs count.
//   warm: about 2000 steps with the logger come first; the cost per step and per epoch alone.
//   --control: neither side logs; shows the method's own bias and spread (it should centre on 0).
//
//     dotnet run -c Release tests/tensorboard/logging_overhead.cs -- DATASET EPOCHS PAIRS [cold|warm] [--control] [--log-every N]

using System.Diagnostics;
using System.Globalization;
using Descent;
using Descent.Data;
using Descent.TensorBoard;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

var inv = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "--child")
{
    // --child DATASET EPOCHS MODE CONTROL LOG-EVERY LOGGER-THREAD WITH-FIRST LOGDIR: prints the figures Pair returns.
    string childDataset = args[1], childMode = args[3], childLogDir = args[8];
    bool childControl = args[4] == "1";
    int childEpochs = int.Parse(args[2], inv), loggerThread = int.Parse(args[6], inv);
    int? childLogEvery = args[5] == "0" ? null : int.Parse(args[5], inv);
    bool withFirst = args[7] == "1";
    var data = DataPreparation.Load(childDataset, null, asImages: false, DataPreparation.DefaultValFraction(childDataset), seed: 0);
    // About 2000 steps, then a pause: long enough for the runtime to recompile the hot training code with
    // full optimization (it does so on a background thread a while after a method's 30th call), which would
    // otherwise happen during the pair, in the turns of whichever run came first.
    int warmUpEpochs = (2000 + data.TrainLoader(32, 0).Count - 1) / data.TrainLoader(32, 0).Count;
    Train(data, childDataset, warmUpEpochs, childLogEvery, null, null);
    if (childMode == "warm") Train(data, childDataset, warmUpEpochs, childLogEvery, childControl ? null : childLogDir + "-warmup", null);
    Thread.Sleep(500);
    var result = Pair(data, childDataset, childEpochs, childLogEvery, childControl ? null : childLogDir, loggerThread, withFirst);
    Console.WriteLine(string.Join(" ", result.Select(v => v.ToString("R", inv))));
    return 0;
}

string dataset = args.Length > 0 ? args[0] : "digits";
int epochs = args.Length > 1 ? int.Parse(args[1], inv) : 20;
int pairCount = args.Length > 2 ? int.Parse(args[2], inv) : 10;
string mode = args.Length > 3 && !args[3].StartsWith("--", StringComparison.Ordinal) ? args[3] : "cold";
bool control = args.Contains("--control");
int logEveryAt = Array.IndexOf(args, "--log-every");
int? logEvery = logEveryAt >= 0 ? int.Parse(args[logEveryAt + 1], inv) : null;
if (mode is not ("cold" or "warm")) throw new ArgumentException($"mode must be cold or warm, got '{mode}'");
string logRoot = Path.Combine(Path.GetTempPath(), "descent-overhead-" + Guid.NewGuid().ToString("N"));

double[] Child(int index)
{
    string logDir = Path.Combine(logRoot, $"pair{index}");
    var start = new ProcessStartInfo(Environment.ProcessPath!, ["--child", dataset, epochs.ToString(inv), mode, control ? "1" : "0",
        (logEvery ?? 0).ToString(inv), (index / 2 % 2).ToString(inv), index % 2 == 0 ? "1" : "0", logDir])
    { RedirectStandardOutput = true };
    for (int attempt = 1; ; attempt++)
    {
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode == 0) return output.Trim().Split('\n')[^1].Split(' ').Select(f => double.Parse(f, inv)).ToArray();
        Console.Error.WriteLine($"a child process failed with exit code {process.ExitCode}; running it again");
        if (attempt == 5) throw new InvalidOperationException("a child process failed five times");
        logDir += "-again";
    }
}

var with = new List<double>();
var without = new List<double>();
var ratios = new List<double>();
for (int i = 0; i < pairCount; i++)
{
    var r = Child(i);
    double withTotal = r[0] + r[2];
    with.Add(withTotal);
    without.Add(r[1]);
    ratios.Add(withTotal / r[1]);
    Console.WriteLine(FormattableString.Invariant(
        $"pair {i + 1,2} (logger on thread {i / 2 % 2}, {(i % 2 == 0 ? "with" : "without")} first): with {r[0]:F4} s + {r[2] * 1000:F2} ms writer CPU during the other's turns, without {r[1]:F4} s: {(ratios[^1] - 1) * 100:+0.00;-0.00} % (allocated {r[3] / 1e6:F1} / {r[4] / 1e6:F1} MB, collections {r[5] * 1000:F1} ms)"));
}

static double Median(IEnumerable<double> values)
{
    var s = values.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

// Two things favour one run of a pair in the control, where neither logs: starting the pair (a few percent
// slower) and which of the two threads it runs on (about 2 % on digits). Pairs cycle through the four
// combinations (logger on thread 0 or 1, with or without logger first); the overhead is the mean of the four
// combinations' mean ratios, which cancels both, and its standard error comes from the spread within each.
var cells = Enumerable.Range(0, 4).Select(c =>
{
    var xs = ratios.Where((_, i) => i % 4 == c).Select(x => x - 1).ToList();
    double m = xs.Average();
    return (Mean: m, Variance: xs.Count > 1 ? xs.Sum(x => (x - m) * (x - m)) / (xs.Count - 1) : double.NaN, xs.Count);
}).ToList();
// Adding 0.0 turns a negative zero into a positive one, which formats without a sign.
double mean = Math.Round(cells.Average(c => c.Mean), 4) + 0.0;
double standardError = Math.Sqrt(cells.Sum(c => c.Variance / c.Count)) / cells.Count;
long bytes = control ? 0 : Directory.EnumerateDirectories(logRoot, "pair0").SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)).Sum(f => new FileInfo(f).Length);
Console.WriteLine($"{dataset} MLP, {epochs} epochs, histograms at epoch ends{(logEvery is { } n ? $" and every {n} steps" : "")}, {pairCount} pairs interleaved step by step, {mode}{(control ? ", CONTROL (neither side logs)" : "")}, {Environment.ProcessorCount} cores, {bytes / 1024} KiB of events per run");
Console.WriteLine(FormattableString.Invariant(
    $"training time: without logger median {Median(without):F4} s, with logger median {Median(with):F4} s; overhead {mean * 100:+0.00;-0.00} % ± {standardError * 100:F2} % (mean of the four combinations ± standard error; {string.Join(", ", cells.Select((c, k) => FormattableString.Invariant($"thread {k / 2} {(k % 2 == 0 ? "with" : "without")} first {c.Mean * 100:+0.00;-0.00} %")))}; median of all pairs {(Median(ratios) - 1) * 100:+0.00;-0.00} %)"));
if (Directory.Exists(logRoot)) Directory.Delete(logRoot, recursive: true);
return 0;

// Trains both runs of a pair on two threads that take turns; returns the seconds of the run with the logger
// and of the run without, the writer thread's CPU seconds during the turns of the run without, the bytes
// allocated by each run, and the seconds of all collection pauses.
// Garbage collections are shared out by allocation: both runs allocate alike, so a collection comes every so
// many steps of the pair and, the turns being regular, tends to fall in the same run's turns every time
// (about 1.5 ms each, 5 % of a digits run). Each run is charged the collection pauses in proportion to the
// bytes allocated during its turns instead of the pauses that fell in its turns.
static double[] Pair(PreparedData data, string dataset, int epochs, int? logEvery, string? logDir, int loggerThread, bool withFirst)
{
    int first = withFirst ? loggerThread : 1 - loggerThread;
    var baton = new Baton(first);
    var seconds = new double[2];
    var paused = new TimeSpan[2];
    var allocated = new long[2];
    var writerCpu = new double[2];
    var writerClock = new WriterThreadClock();
    var pausedBefore = GC.GetTotalPauseDuration();
    void Side(int thread)
    {
        baton.Wait(thread);
        long turnStart = 0, total = 0, allocatedAtTurnStart = 0;
        var pausedAtTurnStart = TimeSpan.Zero;
        double writerAtTurnStart = 0;
        int stepsThisTurn = thread == first ? 1 : 0;
        // Only one side runs at a time, so what the process allocates during a side's turn is that side's.
        // Both sides read the writer thread's CPU time, outside their timed turns, so that both pay alike for
        // reading it.
        void EndTurn()
        {
            total += Stopwatch.GetTimestamp() - turnStart;
            paused[thread] += GC.GetTotalPauseDuration() - pausedAtTurnStart;
            allocated[thread] += GC.GetTotalAllocatedBytes(precise: true) - allocatedAtTurnStart;
            writerCpu[thread] += writerClock.Since(writerAtTurnStart);
        }
        void StartTurn()
        {
            writerAtTurnStart = writerClock.Seconds();
            allocatedAtTurnStart = GC.GetTotalAllocatedBytes(precise: true);
            pausedAtTurnStart = GC.GetTotalPauseDuration();
            turnStart = Stopwatch.GetTimestamp();
        }
        var extra = new TurnTaking(() =>
        {
            // Two steps per turn; the starting side's first turn is one step.
            if (++stepsThisTurn < 2) return;
            stepsThisTurn = 0;
            EndTurn();
            baton.Pass(thread);
            baton.Wait(thread);
            StartTurn();
        });
        StartTurn();
        Train(data, dataset, epochs, logEvery, thread == loggerThread ? logDir : null, extra);
        EndTurn();
        seconds[thread] = (double)total / Stopwatch.Frequency;
        baton.Finish(thread);
    }
    var threads = new[] { new Thread(() => Side(0)), new Thread(() => Side(1)) };
    foreach (var t in threads) t.Start();
    foreach (var t in threads) t.Join();
    double totalPaused = (GC.GetTotalPauseDuration() - pausedBefore).TotalSeconds;
    for (int thread = 0; thread < 2; thread++)
        seconds[thread] += totalPaused * allocated[thread] / Math.Max(1, allocated[0] + allocated[1]) - paused[thread].TotalSeconds;
    int other = 1 - loggerThread;
    return [seconds[loggerThread], seconds[other], writerCpu[other], allocated[loggerThread], allocated[other], totalPaused];
}

static void Train(PreparedData data, string dataset, int epochs, int? logEvery, string? logDir, ITrainerCallback? turnTaking)
{
    int side = dataset == "digits" ? 8 : 28;
    Rng.ManualSeed(0);
    var model = Models.Mlp(data.Train.SampleSize, [256, 128], data.NumClasses);
    var optimizer = Optimizers.Create("sgd", model, new OptimizerSettings());
    var trainer = new Trainer(model, optimizer);
    // The CLI always attaches its epoch table.
    trainer.Callbacks.Add(new EpochTableStandIn());
    TensorBoardLogger? logger = null;
    if (logDir is not null)
    {
        logger = new TensorBoardLogger(logDir, model, optimizer, logEvery, flushSecs: 5,
            new Dictionary<string, object?> { ["dataset"] = dataset, ["batch_size"] = 32 })
        {
            Misclassified = data.Validation is null ? null : new MisclassifiedImages(data.Validation, [1, side, side]),
        };
        trainer.Callbacks.Add(logger);
    }
    // Last, so that a turn ends after the logger's work for the step.
    if (turnTaking is not null) trainer.Callbacks.Add(turnTaking);
    trainer.Fit(data.TrainLoader(32, 0), data.Validation, epochs);
    logger?.Dispose();
}

/// <summary>
/// CPU time so far of the logger's writer thread, from Linux's per-thread scheduler statistics (nanoseconds
/// on the CPU); 0 elsewhere, before the thread exists and after it has ended. Read at every turn, so it
/// keeps the file open and parses the number itself: reading with File.ReadAllText allocated and, called
/// thousands of times, had the runtime recompile the file-reading code in the middle of the pair.
/// </summary>
sealed class WriterThreadClock
{
    private readonly byte[] _buffer = new byte[256];
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _stat;
    private int _searches;

    public double Seconds()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try
        {
            // Looked for on every 16th call until found: the thread starts with the logger.
            if (_stat is null && _searches++ % 16 == 0)
                foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
                    if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith("TensorBoard eve", StringComparison.Ordinal))
                    {
                        _stat = File.OpenHandle(Path.Combine(task, "schedstat"));
                        break;
                    }
            if (_stat is null) return 0;
            int length = RandomAccess.Read(_stat, _buffer, 0);
            long nanoseconds = 0;
            for (int i = 0; i < length && _buffer[i] is >= (byte)'0' and <= (byte)'9'; i++) nanoseconds = nanoseconds * 10 + (_buffer[i] - '0');
            return nanoseconds / 1e9;
        }
        catch (IOException)
        {
            // The thread ended (the logger was disposed): its time was counted up to the last turn.
            return 0;
        }
    }

    public double Since(double start) => Math.Max(0, Seconds() - start);
}

/// <summary>Lets one of two threads run at a time; each waits for its turn.</summary>
sealed class Baton(int first)
{
    private readonly object _gate = new();
    private readonly bool[] _done = new bool[2];
    private int _turn = first;

    public void Wait(int side)
    {
        lock (_gate) while (_turn != side && !_done[1 - side]) Monitor.Wait(_gate);
    }

    public void Pass(int side)
    {
        lock (_gate)
        {
            _turn = 1 - side;
            Monitor.PulseAll(_gate);
        }
    }

    public void Finish(int side)
    {
        lock (_gate)
        {
            _done[side] = true;
            _turn = 1 - side;
            Monitor.PulseAll(_gate);
        }
    }
}

/// <summary>Calls its action after every batch: where the two runs of a pair take turns.</summary>
sealed class TurnTaking(Action afterBatch) : ITrainerCallback
{
    public void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy) => afterBatch();
}

sealed class EpochTableStandIn : ITrainerCallback
{
    public void OnEpochEnd(EpochResult result) => TextWriter.Null.WriteLine(result.TrainLoss);
}
