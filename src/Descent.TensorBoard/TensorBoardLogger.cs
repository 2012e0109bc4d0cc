using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Text;
using Descent.Autodiff;
using Descent.Data;
using Descent.TensorBoard.Proto;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.TensorBoard;

/// <summary>
/// Which validation images <see cref="TensorBoardLogger"/> shows as a grid of misclassified samples after
/// each epoch.
/// </summary>
public sealed class MisclassifiedImages
{
    /// <summary>
    /// Shows up to <paramref name="maxImages"/> misclassified samples of <paramref name="validation"/>, in
    /// dataset order, when training ends and, with <paramref name="everyEpochs"/> &gt; 0, after every that
    /// many epochs. <paramref name="imageShape"/> ([C, H, W] or [H, W]) lets flat samples be seen as
    /// images, e.g. [1, 8, 8] for the 64 digit pixels; by default the dataset's sample shape is used.
    /// </summary>
    /// <remarks>
    /// When <see cref="Trainer.Fit"/> validates on this same dataset, a grid uses the predictions of that
    /// validation (the model as it was validated, with no optimizer step since); otherwise it runs the model
    /// over validation samples until it has found <paramref name="maxImages"/> mistakes (usually a few
    /// hundred samples). On a small dataset, where an epoch is a few dozen steps, a grid every epoch of the
    /// second kind would cost more than the rest of the logging together, hence the default.
    /// </remarks>
    public MisclassifiedImages(Dataset validation, int[]? imageShape = null, int maxImages = 32, int everyEpochs = 0)
    {
        if (everyEpochs < 0) throw new ArgumentOutOfRangeException(nameof(everyEpochs), $"everyEpochs must be 0 (only when training ends) or positive, got {everyEpochs}");
        ArgumentNullException.ThrowIfNull(validation);
        if (maxImages < 1) throw new ArgumentOutOfRangeException(nameof(maxImages), $"maxImages must be a positive integer, got {maxImages}");
        var shape = imageShape ?? validation.SampleShape.ToArray();
        if (shape.Length is not (2 or 3) || Array.Exists(shape, d => d < 1) || (shape.Length == 3 && shape[0] is not (1 or 3 or 4)))
            throw new ArgumentException($"image shape must be [C, H, W] with 1, 3 or 4 channels, or [H, W]; got {ShapeUtil.Format(shape)}", nameof(imageShape));
        if (ShapeUtil.Numel(shape) != validation.SampleSize)
            throw new ArgumentException($"image shape {ShapeUtil.Format(shape)} holds {ShapeUtil.Numel(shape)} values but a sample of the dataset has {validation.SampleSize}", nameof(imageShape));
        Validation = validation;
        ImageShape = shape.Length == 3 ? shape : [1, shape[0], shape[1]];
        MaxImages = maxImages;
        EveryEpochs = everyEpochs;
    }

    /// <summary>The dataset whose misclassified samples are shown.</summary>
    public Dataset Validation { get; }

    /// <summary>How one sample is seen as an image: [C, H, W].</summary>
    public IReadOnlyList<int> ImageShape { get; }

    /// <summary>The most images in one grid.</summary>
    public int MaxImages { get; }

    /// <summary>Epochs between grids during training; 0 for a grid only when training ends.</summary>
    public int EveryEpochs { get; }
}

/// <summary>
/// A <see cref="Trainer"/> callback that writes a TensorBoard run, what PyTorch users write by hand with a
/// <c>SummaryWriter</c> in their loop. Add it to <see cref="Trainer.Callbacks"/> and dispose it after
/// training (one logger, and one run directory, per training run); then <c>tensorboard --logdir runs</c>.
/// </summary>
/// <remarks>
/// <para>Every optimizer step: <c>train/loss</c> (the mean loss of the step's batches),
/// <c>train/lr</c> (and <c>train/lr_group{i}</c> for further parameter groups) and
/// <c>train/grad_norm</c> (the global L2 norm before clipping; not for closure optimizers such as LBFGS).</para>
/// <para>Every <see cref="LogEvery"/> steps, for each parameter by its <c>named_parameters()</c> name:
/// histograms <c>weights/{name}</c> and <c>grads/{name}</c>, and <c>update_ratio/{name}</c> = ‖Δw‖ / ‖w‖
/// for that step (about 1e-3 is the usual healthy size).</para>
/// <para>Every epoch, at the global step where it ends: <c>epoch/train_loss</c>, <c>epoch/train_accuracy</c>,
/// <c>epoch/val_loss</c>, <c>epoch/val_accuracy</c> (when <see cref="Trainer.Fit"/> validates) and
/// <c>epoch/seconds</c>.</para>
/// <para>With <see cref="Misclassified"/> set: a grid <c>val/misclassified</c> of wrongly predicted
/// validation images (each rescaled to its own min..max, since inputs are standardized) and a table of
/// their labels and predictions, when training ends (and every <see cref="MisclassifiedImages.EveryEpochs"/>
/// epochs if set).</para>
/// <para>On <see cref="Dispose"/>: the hyperparameters with the final metrics (<c>hparam/train_loss</c>,
/// <c>hparam/val_accuracy</c>, … and any <see cref="AddFinalMetric"/>) for the HParams tab, in the same run;
/// the session counts as failed when training did not finish.</para>
/// <para>The per-step and per-epoch scalars are kept in blocks of plain numbers, sized when training begins,
/// and handed to the writer at flushes, when training ends, and at the first step or epoch end after their
/// oldest row has waited a second; parameter and gradient values are copied every <see cref="LogEvery"/>
/// steps. Every 2048 steps, and after each round of histograms, the logger flushes the writer, which encodes,
/// buckets and writes on the training thread (between those, records reach the file on the writer's own
/// <c>flushSecs</c> timer): done while training is paused rather than on the writer's thread alongside
/// the trainer's worker threads, the work costs training less than half as much on a machine whose cores
/// the trainer keeps busy. Bucketing costs about
/// 1.4 ns per value, so one round of histograms costs about as much as three or four training steps of an
/// MLP at batch size 32; hence the default of 1000 steps, the <c>log_freq</c> default of Weights &amp;
/// Biases' <c>wandb.watch</c>, which logs the same histograms.</para>
/// </remarks>
public sealed class TensorBoardLogger : ITrainerCallback, IDisposable
{
    /// <summary>
    /// Steps between flushes of the writer (see <see cref="OnOptimizerStep"/>), which write the records
    /// queued so far: a fast MLP takes about 0.3 s for 2048 steps.
    /// </summary>
    private const int FlushSteps = 2048;

    private readonly bool _ownsWriter;
    private readonly IReadOnlyDictionary<string, object?>? _extraHParams;
    private readonly Dictionary<string, double> _finalMetrics = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<float[]> _freeBuffers = new();
    private Subject? _subject;
    private float[]? _before;
    private long _beforeStep = -1;
    private Trainer? _trainer;
    private EpochResult? _lastEpoch;
    private bool _finished;
    private bool _disposed;
    private double _lossSum, _accuracySum;
    private static readonly string[] BatchTags = ["train/loss", "train/accuracy"];
    private int _lossCount;
    // This run's per-step and per-epoch scalars, a row a step or epoch (see AddRow and HandOverRows).
    private ScalarRows? _rows;
    private static readonly string[] EpochTags = ["epoch/train_loss", "epoch/train_accuracy", "epoch/seconds", "epoch/val_loss", "epoch/val_accuracy"];
    private static readonly string[] EpochTagsWithoutValidation = EpochTags[..3];
    private readonly double[] _epochValues = new double[EpochTags.Length];
    private ScalarRows? _epochRows;
    private int _stepRowCapacity = 64;
    private long _lastLossStep = long.MinValue;
    private long _lastGridStep = -1;
    private string[]? _stepTags;
    private double[]? _stepValues;
    private IReadOnlyList<OptimizerOptions>? _groupOptions;
    private bool _withGradNorm;
    private long _pendingStep = -1;

    /// <summary>
    /// Logs to a new <see cref="SummaryWriter"/> in <paramref name="logDir"/> (null: PyTorch's
    /// <c>runs/&lt;date&gt;_&lt;host&gt;</c>), which the logger disposes.
    /// </summary>
    /// <param name="logDir">The run directory.</param>
    /// <param name="model">The model being trained (its parameters are histogrammed).</param>
    /// <param name="optimizer">The optimizer (its learning rate is logged; its hyperparameters go to the HParams tab).</param>
    /// <param name="logEvery">Steps between histograms and update ratios (the cost of logging is mostly these).</param>
    /// <param name="flushSecs">Seconds between writes to the event file.</param>
    /// <param name="hparams">Hyperparameters for the HParams tab, added to (and overriding) the optimizer's own: optimizer, lr, weight_decay, momentum, parameters.</param>
    public TensorBoardLogger(string? logDir, Module model, Optimizer optimizer, int logEvery = 1000, double flushSecs = 5, IReadOnlyDictionary<string, object?>? hparams = null)
        : this(CheckLogEvery(logEvery), hparams, () => new SummaryWriter(logDir, flushSecs: flushSecs), ownsWriter: true)
    {
        _subject = new Subject(model, optimizer, hparams);
    }

    /// <summary>
    /// Logs to a new <see cref="SummaryWriter"/> in <paramref name="logDir"/> about whatever model and
    /// optimizer the <see cref="Trainer"/> it is added to trains, learnt when training begins — for loops
    /// that build them out of reach, such as <c>OptimizerComparison</c>.
    /// </summary>
    public TensorBoardLogger(string? logDir, int logEvery = 1000, double flushSecs = 5, IReadOnlyDictionary<string, object?>? hparams = null)
        : this(CheckLogEvery(logEvery), hparams, () => new SummaryWriter(logDir, flushSecs: flushSecs), ownsWriter: true)
    {
    }

    /// <summary>Logs to <paramref name="writer"/>, which stays the caller's to dispose (the logger only flushes it).</summary>
    public TensorBoardLogger(SummaryWriter writer, Module model, Optimizer optimizer, int logEvery = 1000, IReadOnlyDictionary<string, object?>? hparams = null)
        : this(CheckLogEvery(logEvery), hparams, () => writer ?? throw new ArgumentNullException(nameof(writer)), ownsWriter: false)
    {
        _subject = new Subject(model, optimizer, hparams);
    }

    private TensorBoardLogger(int logEvery, IReadOnlyDictionary<string, object?>? hparams, Func<SummaryWriter> writer, bool ownsWriter)
    {
        WarmUp();
        LogEvery = logEvery;
        _extraHParams = hparams;
        Writer = writer();
        _ownsWriter = ownsWriter;
    }

    private static Task? _warmUp;

    /// <summary>
    /// Starts a rehearsal of logging on a background thread: a logger on a tiny model, for two training
    /// steps with every kind of record (scalars, histograms, update ratios, the misclassified-images grid and
    /// its table, hparams), in a temporary directory deleted afterwards. The first run of the logging code
    /// in a process costs tens of milliseconds of one-time work (loading and compiling the logger, the writer,
    /// the record encoders, Google.Protobuf's message types, the histogram tables, the PNG encoder), which
    /// a short training run would otherwise pay while it trains. Call it as early as possible: <c>descent
    /// train --logdir</c> calls it before it parses its command line, so the work is done on the idle core
    /// while the data loads. A logger calls it when it is created; later calls return the first call's task.
    /// PyTorch has no counterpart.
    /// </summary>
    /// <returns>A task that completes when the rehearsal has ended (it faults if the rehearsal failed).</returns>
    public static Task WarmUp()
    {
        if (Volatile.Read(ref _warmUp) is { } started) return started;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _warmUp, done.Task, null) is { } other) return other;
        // A thread of its own rather than the thread pool, whose own start-up would add to the work.
        new Thread(() =>
        {
            try
            {
                Rehearse();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }) { IsBackground = true, Name = "TensorBoard warm-up" }.Start();
        return done.Task;
    }

    private static void Rehearse()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"descent-warm-up-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            // Random initialization draws from this thread's own generator (Rng is per thread), not the caller's.
            var features = new float[4 * 2 * 2];
            for (int i = 0; i < features.Length; i++) features[i] = i % 3 - 1;
            var data = new InMemoryDataset(features, [0, 1, 1, 0], [1, 2, 2], numClasses: 2);
            var model = new Sequential(new Flatten(), new Linear(4, 2));
            var optimizer = new SGD(model.Parameters(), lr: 0.1);
            var trainer = new Trainer(model, optimizer);
            using var writer = new SummaryWriter(dir, "", flushSecs: 5, maxQueue: 10_000, filenameSuffix: "", normalizeTags: false, countedFile: false);
            using (var logger = new TensorBoardLogger(writer, model, optimizer, logEvery: 1) { Misclassified = new MisclassifiedImages(data) })
            {
                trainer.Callbacks.Add(logger);
                trainer.Fit(new DataLoader(data, 2), data, epochs: 1);
                // Whether or not the model got any sample wrong, both the grid and its table are written once.
                logger.Writer.AddImages("rehearsal", Tensor.FromArray(features, 4, 1, 2, 2));
                logger.Writer.AddText("rehearsal", "text");
            }
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>What is being trained: the model's parameters with their tags, the optimizer, and the hparams of the session.</summary>
    private sealed class Subject
    {
        public Subject(Module model, Optimizer optimizer, IReadOnlyDictionary<string, object?>? extraHParams)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(optimizer);
            Model = model;
            Optimizer = optimizer;
            Parameters = model.NamedParameters().ToArray();
            WeightTags = new string[Parameters.Length];
            GradTags = new string[Parameters.Length];
            RatioTags = new string[Parameters.Length];
            for (int i = 0; i < Parameters.Length; i++)
            {
                WeightTags[i] = "weights/" + Parameters[i].Name;
                GradTags[i] = "grads/" + Parameters[i].Name;
                RatioTags[i] = "update_ratio/" + Parameters[i].Name;
                ParameterCount += Parameters[i].Parameter.Numel;
            }
            HParams = DefaultHParams(model, optimizer);
            if (extraHParams is not null)
                foreach (var (name, value) in extraHParams) HParams[name] = value;
        }

        public Module Model { get; }
        public Optimizer Optimizer { get; }
        public (string Name, Parameter Parameter)[] Parameters { get; }
        public string[] WeightTags { get; }
        public string[] GradTags { get; }
        public string[] RatioTags { get; }
        public int ParameterCount { get; }
        public Dictionary<string, object?> HParams { get; }
    }

    private Subject Bound => _subject ?? throw new InvalidOperationException(
        "this TensorBoardLogger learns the model and optimizer when training begins: add it to Trainer.Callbacks before calling Fit, or give them to its constructor");

    private static int CheckLogEvery(int logEvery) =>
        logEvery >= 1 ? logEvery : throw new ArgumentOutOfRangeException(nameof(logEvery), $"log_every must be a positive number of steps, got {logEvery}");

    /// <summary>The writer the logger writes through; add your own series with it.</summary>
    public SummaryWriter Writer { get; }

    /// <summary>Steps between histograms and update ratios.</summary>
    public int LogEvery { get; }

    /// <summary>When set, a grid of misclassified validation images is logged when training ends (and every <see cref="MisclassifiedImages.EveryEpochs"/> epochs if set).</summary>
    public MisclassifiedImages? Misclassified { get; init; }

    /// <summary>Adds a metric to the HParams session written on <see cref="Dispose"/>, e.g. <c>hparam/test_accuracy</c> after a final evaluation.</summary>
    public void AddFinalMetric(string name, double value)
    {
        TensorBoardTags.Validate(name, nameof(name));
        _finalMetrics[name] = value;
    }

    /// <inheritdoc />
    public void OnTrainBegin(Trainer trainer, int epochs, int batchesPerEpoch)
    {
        _subject ??= new Subject(trainer.Model, trainer.Optimizer, _extraHParams);
        _trainer = trainer;
        _finished = false;
        _lastLossStep = trainer.GlobalStep;
        _lastGridStep = trainer.GlobalStep;
        // Room for every step of the run up to the next flush: the block never grows and is handed over only
        // at flushes (every 2048 steps), after a second, and when training ends.
        _stepRowCapacity = (int)Math.Min(FlushSteps + 1L, Math.Max(64L, (long)epochs * batchesPerEpoch));
        if ((trainer.GlobalStep + 1) % LogEvery == 0) SnapshotWeights(trainer.GlobalStep);
    }

    /// <inheritdoc />
    // Per-step logging code is compiled optimized at its first call (by TensorBoardLogger.WarmUp's rehearsal)
    // instead of being recompiled once a run has called it 30 times, on a background thread that competes
    // with training.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy)
    {
        _lossSum += loss;
        _accuracySum += accuracy;
        _lossCount++;
        // Under gradient accumulation several batches make one step; their means are the step's loss and accuracy.
        if (globalStep == _lastLossStep) return;
        double meanLoss = _lossSum / _lossCount, meanAccuracy = _accuracySum / _lossCount;
        if (_pendingStep == globalStep)
        {
            // The step's gradient norm and learning rates wait in the same row.
            _stepValues![0] = meanLoss;
            _stepValues[1] = meanAccuracy;
            AddRow(ref _rows, _stepTags!, _stepValues, globalStep, SummaryWriter.UnixNow(), _stepRowCapacity);
            _pendingStep = -1;
        }
        else
        {
            // A batch end without an optimizer step of its own (a loop that calls callbacks itself).
            HandOverRows();
            Writer.AddScalar(BatchTags[0], meanLoss, globalStep);
            Writer.AddScalar(BatchTags[1], meanAccuracy, globalStep);
        }
        _lastLossStep = globalStep;
        _lossSum = 0;
        _accuracySum = 0;
        _lossCount = 0;
    }

    private double _gradNorm = double.NaN;

    /// <inheritdoc />
    public void OnBeforeOptimizerStep(Trainer trainer) => _gradNorm = GradientClipping.GradNorm(trainer.Optimizer.Arena);

    /// <inheritdoc />
    public void OnOptimizerStep(long globalStep)
    {
        double gradNorm = _gradNorm;
        _gradNorm = double.NaN;
        if (_pendingStep >= 0) WritePendingStepScalars();
        var values = _stepValues ?? BuildStepLayout();
        // Slots 0 and 1 are the loss and accuracy, filled in when the step's last batch ends.
        int n = 2;
        if (_withGradNorm) values[n++] = gradNorm;
        var groups = _groupOptions!;
        for (int g = 0; g < groups.Count; g++) values[n++] = groups[g].Lr;
        _pendingStep = globalStep;
        long sinceRound = globalStep % LogEvery;
        if (sinceRound == 0) LogParameters(globalStep);
        if (sinceRound == LogEvery - 1) SnapshotWeights(globalStep);
        // The writer's work is done while training waits, in batches: run concurrently, it preempts a worker
        // thread in the middle of a parallel loop (Descent's pool keeps every core busy), and that cost
        // training about 2.5 times the writer's own time (4 % instead of 2 % of a Fashion-MNIST MLP run).
        if (sinceRound == 0 || globalStep % FlushSteps == 0)
        {
            HandOverRows();
            Writer.Flush();
        }
    }

    /// <summary>The tags and values of a step's row, made once: an optimizer's parameter groups are fixed.</summary>
    private double[] BuildStepLayout()
    {
        var optimizer = Bound.Optimizer;
        _groupOptions = optimizer.GroupOptions;
        // A closure optimizer (L-BFGS) reports no gradient norm.
        _withGradNorm = !optimizer.RequiresClosure;
        _stepTags = [.. BatchTags, .. _withGradNorm ? ["train/grad_norm"] : Array.Empty<string>(), "train/lr", .. Enumerable.Range(1, _groupOptions.Count - 1).Select(g => $"train/lr_group{g}")];
        return _stepValues = new double[_stepTags.Length];
    }

    /// <summary>Writes a step's gradient norm and learning rates whose loss never came (a step without a batch end).</summary>
    private void WritePendingStepScalars()
    {
        if (_pendingStep < 0) return;
        HandOverRows();
        for (int i = 2; i < _stepTags!.Length; i++) Writer.AddScalar(_stepTags[i], _stepValues![i], _pendingStep);
        _pendingStep = -1;
    }

    /// <summary>Adds a row to <paramref name="block"/> (made with room for <paramref name="capacity"/> rows when there is none), first handing the block to the writer when the tags change or it is due.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void AddRow(ref ScalarRows? block, string[] tags, ReadOnlySpan<double> values, long step, double wallTime, int capacity)
    {
        var rows = block ??= new ScalarRows(tags, capacity);
        if (rows.IsDue(wallTime))
        {
            // Both blocks go: the other may hold rows as old.
            HandOverRows();
            rows = block!;
        }
        if (!ReferenceEquals(rows.Tags, tags)) rows = block = Writer.AddScalarRows(rows, tags);
        rows.Add(values, step, wallTime);
    }

    /// <summary>
    /// Hands the rows kept so far to the writer: before a flush, and before the logger writes a record of the
    /// same tags another way, so that each series reaches the file in step order.
    /// </summary>
    private void HandOverRows()
    {
        if (_rows is { Count: > 0 } rows) _rows = Writer.AddScalarRows(rows);
        if (_epochRows is { Count: > 0 } epochRows) _epochRows = Writer.AddScalarRows(epochRows);
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochResult result)
    {
        long step = _trainer?.GlobalStep ?? 0;
        // A row of a block of its own, handed over with the steps' block.
        bool validated = result.ValLoss is not null && result.ValAccuracy is not null;
        var tags = validated ? EpochTags : EpochTagsWithoutValidation;
        _epochValues[0] = result.TrainLoss;
        _epochValues[1] = result.TrainAccuracy;
        _epochValues[2] = result.Seconds;
        if (validated)
        {
            _epochValues[3] = result.ValLoss!.Value;
            _epochValues[4] = result.ValAccuracy!.Value;
        }
        double wallTime = SummaryWriter.UnixNow();
        AddRow(ref _epochRows, tags, _epochValues.AsSpan(0, tags.Length), step, wallTime, capacity: 64);
        // An epoch of more than a second (the steps' block is then due): its row goes now, not an epoch later.
        if (_rows is { } stepRows && stepRows.IsDue(wallTime)) HandOverRows();
        _lastEpoch = result;
        if (Misclassified is { EveryEpochs: > 0 } grid && result.Epoch % grid.EveryEpochs == 0) LogMisclassified(grid, step);
    }

    /// <inheritdoc />
    public void OnTrainEnd(IReadOnlyList<EpochResult> history)
    {
        WritePendingStepScalars();
        HandOverRows();
        _finished = true;
        if (history.Count > 0) _lastEpoch = history[^1];
        if (Misclassified is not null && _trainer is { } trainer && trainer.GlobalStep != _lastGridStep) LogMisclassified(Misclassified, trainer.GlobalStep);
    }

    /// <summary>Writes the HParams session (when training began), then flushes — and disposes the writer if the logger created it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            WritePendingStepScalars();
            HandOverRows();
            if (_trainer is not null) WriteHParams();
            if (!_ownsWriter) Writer.Flush();
        }
        finally
        {
            if (_ownsWriter) Writer.Dispose();
        }
    }

    private void WriteHParams()
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (_lastEpoch is { } last)
        {
            metrics["hparam/train_loss"] = last.TrainLoss;
            metrics["hparam/train_accuracy"] = last.TrainAccuracy;
            if (last.ValLoss is { } valLoss) metrics["hparam/val_loss"] = valLoss;
            if (last.ValAccuracy is { } valAccuracy) metrics["hparam/val_accuracy"] = valAccuracy;
        }
        foreach (var (name, value) in _finalMetrics) metrics[name] = value;
        Writer.WriteHParams(Bound.HParams, metrics, null, SummaryWriter.SameRun, _trainer?.GlobalStep,
            _finished ? SessionStatus.StatusSuccess : SessionStatus.StatusFailure);
    }

    private static Dictionary<string, object?> DefaultHParams(Module model, Optimizer optimizer)
    {
        var options = optimizer.GroupOptions[0];
        var hparams = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["optimizer"] = optimizer.GetType().Name,
            ["lr"] = options.Lr,
            ["weight_decay"] = options.WeightDecay,
        };
        if (options is IMomentumOptions momentum) hparams["momentum"] = momentum.MomentumCoefficient;
        hparams["parameters"] = model.ParameterCount;
        return hparams;
    }

    private void SnapshotWeights(long step)
    {
        var subject = Bound;
        _before ??= new float[subject.ParameterCount];
        int at = 0;
        foreach (var (_, p) in subject.Parameters)
        {
            p.Data.CopyTo(_before.AsSpan(at, p.Numel));
            at += p.Numel;
        }
        _beforeStep = step;
    }

    private void LogParameters(long step)
    {
        HandOverRows();
        var subject = Bound;
        int total = subject.ParameterCount;
        bool haveBefore = _before is not null && _beforeStep == step - 1;
        // One copy of every weight and gradient per round, handed to the writer, which buckets the slices
        // (at the flush that follows) and gives the buffer back for the next round.
        if (!_freeBuffers.TryDequeue(out var buffer)) buffer = new float[2 * total];
        var slices = new List<(string Tag, int Offset, int Count)>(2 * subject.Parameters.Length);
        int at = 0;
        for (int i = 0; i < subject.Parameters.Length; i++)
        {
            var p = subject.Parameters[i].Parameter;
            var weights = p.Data;
            weights.CopyTo(buffer.AsSpan(at, p.Numel));
            slices.Add((subject.WeightTags[i], at, p.Numel));
            if (p.Grad is { } grad)
            {
                grad.Data.CopyTo(buffer.AsSpan(total + at, p.Numel));
                slices.Add((subject.GradTags[i], total + at, p.Numel));
            }
            if (haveBefore)
            {
                var (updateNorm, weightNorm) = UpdateAndWeightNorms(weights, _before.AsSpan(at, p.Numel));
                Writer.AddScalar(subject.RatioTags[i], weightNorm > 0 ? updateNorm / weightNorm : double.NaN, step);
            }
            at += p.Numel;
        }
        Writer.AddHistograms(buffer, slices, step, _freeBuffers.Enqueue);
        if (haveBefore) _beforeStep = -1;
    }

    // A type of Descent's own rather than a tuple: a list of it is precompiled with the library, where a list
    // of tuples would be compiled at run time, when training ends (a few milliseconds of a short run).
    private readonly record struct MisclassifiedSample(int Index, int Label, int Predicted);

    private float[]? _chunkFeatures;
    private int[]? _chunkIndices, _chunkLabels;

    /// <summary>‖after − before‖ and ‖before‖, accumulated in double precision.</summary>
    private static (double Update, double Weight) UpdateAndWeightNorms(ReadOnlySpan<float> after, ReadOnlySpan<float> before)
    {
        var updates = Vector<double>.Zero;
        var weights = Vector<double>.Zero;
        int j = 0;
        for (; j + Vector<float>.Count <= before.Length; j += Vector<float>.Count)
        {
            var b = new Vector<float>(before[j..]);
            Vector.Widen(new Vector<float>(after[j..]) - b, out var dLow, out var dHigh);
            Vector.Widen(b, out var bLow, out var bHigh);
            updates += dLow * dLow + dHigh * dHigh;
            weights += bLow * bLow + bHigh * bHigh;
        }
        double update = Vector.Sum(updates), weight = Vector.Sum(weights);
        for (; j < before.Length; j++)
        {
            double b = before[j], d = after[j] - before[j];
            update += d * d;
            weight += b * b;
        }
        return (Math.Sqrt(update), Math.Sqrt(weight));
    }

    private void LogMisclassified(MisclassifiedImages config, long step)
    {
        _lastGridStep = step;
        var picked = FindMisclassified(config);
        if (picked.Count == 0)
        {
            Writer.AddText("val/misclassified", "No validation sample is misclassified.", step);
            return;
        }
        var data = config.Validation;
        int c = config.ImageShape[0], h = config.ImageShape[1], w = config.ImageShape[2];
        int size = c * h * w;
        var pixels = new float[picked.Count * size];
        for (int k = 0; k < picked.Count; k++)
        {
            var image = pixels.AsSpan(k * size, size);
            data.CopySample(picked[k].Index, image);
            // Inputs are standardized; each image is stretched to its own range to be visible.
            float min = float.PositiveInfinity, max = float.NegativeInfinity;
            foreach (float v in image)
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
            float scale = max > min ? 1f / (max - min) : 0f;
            for (int j = 0; j < image.Length; j++) image[j] = max > min ? (image[j] - min) * scale : 0.5f;
        }
        Writer.AddImages("val/misclassified", Tensor.FromArray(pixels, picked.Count, c, h, w), step);
        var table = new StringBuilder("| image | sample | label | predicted |\n|---:|---:|---:|---:|\n");
        for (int k = 0; k < picked.Count; k++)
            table.Append(CultureInfo.InvariantCulture, $"| {k + 1} | {picked[k].Index} | {picked[k].Label} | {picked[k].Predicted} |\n");
        Writer.AddText("val/misclassified", table.ToString(), step);
    }

    /// <summary>
    /// The first misclassified validation samples, predicted a chunk at a time in evaluation mode (a few
    /// hundred samples usually hold enough mistakes, so most of the validation set is never run again).
    /// </summary>
    private List<MisclassifiedSample> FindMisclassified(MisclassifiedImages config)
    {
        const int chunk = 256;
        var data = config.Validation;
        _chunkFeatures ??= new float[chunk * data.SampleSize];
        _chunkIndices ??= new int[chunk];
        _chunkLabels ??= new int[chunk];
        var picked = new List<MisclassifiedSample>();
        var model = Bound.Model;
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var noGrad = Tape.NoGrad();
            for (int start = 0; start < data.Count && picked.Count < config.MaxImages; start += chunk)
            {
                int n = Math.Min(chunk, data.Count - start);
                for (int i = 0; i < n; i++) _chunkIndices[i] = start + i;
                data.GetBatch(_chunkIndices.AsSpan(0, n), _chunkFeatures.AsSpan(0, n * data.SampleSize), _chunkLabels.AsSpan(0, n));
                var logits = model.Forward(new Tensor(_chunkFeatures, 0, [n, .. data.SampleShape]));
                if (logits.Rank != 2 || logits.Shape[0] != n)
                    throw new InvalidOperationException($"misclassified images need class scores of shape [batch, classes]; the model returned {ShapeUtil.Format(logits.Shape)}");
                int[] predictions = logits.ArgMax(1);
                for (int i = 0; i < n && picked.Count < config.MaxImages; i++)
                {
                    int predicted = predictions[i];
                    if (predicted != _chunkLabels[i]) picked.Add(new MisclassifiedSample(start + i, _chunkLabels[i], predicted));
                }
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return picked;
    }
}
