using System.Globalization;
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
    /// A grid runs the model over validation samples until it has found <paramref name="maxImages"/>
    /// mistakes (usually a few hundred samples); on a small dataset, where an epoch is a few dozen steps, a
    /// grid every epoch would cost more than the rest of the logging together, hence the default.
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
/// <para>Every optimizer step: <c>train/loss</c> and <c>train/accuracy</c> (the means over the step's
/// batches) and <c>train/lr</c> (and <c>train/lr_group{i}</c> for further parameter groups). Every
/// <see cref="GradNormEvery"/> steps: <c>train/grad_norm</c>, the global L2 norm of the gradients before
/// clipping (not for closure optimizers such as LBFGS); a pass over every gradient costs about 5 % of a
/// small MLP's step, too much for every step.</para>
/// <para>At the last step of every epoch, and every <see cref="LogEvery"/> steps when set, for each parameter
/// by its <c>named_parameters()</c> name: histograms <c>weights/{name}</c> and <c>grads/{name}</c>, and
/// <c>update_ratio/{name}</c> = ‖Δw‖ / ‖w‖ of that step (about 1e-3 is the usual healthy size; not for
/// closure optimizers).</para>
/// <para>Every epoch, at the global step where it ends: <c>epoch/train_loss</c>, <c>epoch/train_accuracy</c>,
/// <c>epoch/val_loss</c>, <c>epoch/val_accuracy</c> (when <see cref="Trainer.Fit"/> validates) and
/// <c>epoch/seconds</c>.</para>
/// <para>With <see cref="Misclassified"/> set: a grid <c>val/misclassified</c> of wrongly predicted
/// validation images (each rescaled to its own min..max, since inputs are standardized) and a table of
/// their labels and predictions, when training ends (and every <see cref="MisclassifiedImages.EveryEpochs"/>
/// epochs if set).</para>
/// <para>On <see cref="Dispose"/>: the HParams session, in the same run. It declares the same names for every
/// run, so that runs compared in TensorBoard's HParams tab (which takes its columns from the first run it
/// reads) show the same columns: the hparams <c>optimizer</c>, <c>lr</c>, <c>weight_decay</c>,
/// <c>momentum</c> (blank for optimizers without one), <c>parameters</c> and the caller's; the metrics
/// <c>hparam/train_loss</c>, <c>hparam/train_accuracy</c>, <c>hparam/val_loss</c>, <c>hparam/val_accuracy</c>
/// (of the last epoch) and those added with <see cref="AddFinalMetric"/>. The session's status is failure
/// when training diverged (a non-finite loss), stopped before its last epoch, or did not end.</para>
/// </remarks>
public sealed class TensorBoardLogger : ITrainerCallback, IDisposable
{
    /// <summary>Steps between points of <c>train/grad_norm</c>.</summary>
    public const int GradNormEvery = 10;

    private static readonly string[] EpochMetrics = ["hparam/train_loss", "hparam/train_accuracy", "hparam/val_loss", "hparam/val_accuracy"];
    private static readonly string[] RegressionEpochMetrics = ["hparam/train_loss", "hparam/val_loss"];
    private static readonly Dictionary<string, double> Empty = [];

    private readonly bool _ownsWriter;
    private readonly IReadOnlyDictionary<string, object?>? _extraHParams;
    private readonly Dictionary<string, double> _finalMetrics = new(StringComparer.Ordinal);
    private Subject? _subject;
    private Trainer? _trainer;
    private EpochResult? _lastEpoch;
    private int _epochs;
    // Steps are counted from _firstStep, _stepsPerEpoch to an epoch (0 when unknown: no Fit).
    private long _firstStep, _stepsPerEpoch;
    private bool _finished, _diverged, _disposed;
    // The losses and accuracies of the batches of the step in progress (several under gradient accumulation).
    private double _lossSum, _accuracySum;
    private int _lossCount;
    private long _lastLossStep = long.MinValue;
    // The gradient norm measured before the step in progress, on the steps that log one.
    private double? _gradNorm;
    // The weights before the step _beforeStep, for its update ratios.
    private float[]? _before;
    private long _beforeStep = -1;
    private long _lastGridStep = -1;

    /// <summary>
    /// Logs to a new <see cref="SummaryWriter"/> in <paramref name="logDir"/> (null: a new
    /// <c>runs/&lt;date&gt;_&lt;host&gt;</c>, as PyTorch), which the logger disposes.
    /// </summary>
    /// <param name="logDir">The run directory.</param>
    /// <param name="model">The model being trained (its parameters are histogrammed).</param>
    /// <param name="optimizer">The optimizer (its learning rate is logged; its hyperparameters go to the HParams tab).</param>
    /// <param name="logEvery">Steps between further rounds of histograms and update ratios, besides those at every epoch's end; null for epoch ends only.</param>
    /// <param name="flushSecs">Seconds between flushes of the event file.</param>
    /// <param name="hparams">Hyperparameters for the HParams tab, added to (and overriding) the optimizer's own: optimizer, lr, weight_decay, momentum, parameters.</param>
    public TensorBoardLogger(string? logDir, Module model, Optimizer optimizer, int? logEvery = null, double flushSecs = 5, IReadOnlyDictionary<string, object?>? hparams = null)
        : this(CheckLogEvery(logEvery), hparams, new SummaryWriter(logDir, flushSecs: flushSecs), ownsWriter: true)
    {
        _subject = new Subject(model, optimizer, hparams);
    }

    /// <summary>
    /// Logs to a new <see cref="SummaryWriter"/> in <paramref name="logDir"/> about whatever model and
    /// optimizer the <see cref="Trainer"/> it is added to trains, learnt when training begins — for loops
    /// that build them out of reach, such as <c>OptimizerComparison</c>.
    /// </summary>
    public TensorBoardLogger(string? logDir, int? logEvery = null, double flushSecs = 5, IReadOnlyDictionary<string, object?>? hparams = null)
        : this(CheckLogEvery(logEvery), hparams, new SummaryWriter(logDir, flushSecs: flushSecs), ownsWriter: true)
    {
    }

    /// <summary>Logs to <paramref name="writer"/>, which stays the caller's to dispose (the logger only flushes it).</summary>
    public TensorBoardLogger(SummaryWriter writer, Module model, Optimizer optimizer, int? logEvery = null, IReadOnlyDictionary<string, object?>? hparams = null)
        : this(CheckLogEvery(logEvery), hparams, writer ?? throw new ArgumentNullException(nameof(writer)), ownsWriter: false)
    {
        _subject = new Subject(model, optimizer, hparams);
    }

    // logEvery is checked first (arguments are evaluated in order), so a bad value creates no run directory.
    private TensorBoardLogger(int? logEvery, IReadOnlyDictionary<string, object?>? hparams, SummaryWriter writer, bool ownsWriter)
    {
        LogEvery = logEvery;
        _extraHParams = hparams;
        Writer = writer;
        _ownsWriter = ownsWriter;
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
            WeightTags = Parameters.Select(p => "weights/" + p.Name).ToArray();
            GradTags = Parameters.Select(p => "grads/" + p.Name).ToArray();
            RatioTags = Parameters.Select(p => "update_ratio/" + p.Name).ToArray();
            ParameterCount = Parameters.Sum(p => p.Parameter.Numel);
            var groups = optimizer.GroupOptions;
            LrTags = ["train/lr", .. Enumerable.Range(1, groups.Count - 1).Select(g => $"train/lr_group{g}")];
            var options = groups[0];
            HParams = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["optimizer"] = optimizer.GetType().Name,
                ["lr"] = options.Lr,
                ["weight_decay"] = options.WeightDecay,
                ["momentum"] = options is IMomentumOptions momentum ? momentum.MomentumCoefficient : null,
                ["parameters"] = model.ParameterCount,
            };
            if (extraHParams is not null)
                foreach (var (name, value) in extraHParams) HParams[name] = value;
        }

        public Module Model { get; }
        public Optimizer Optimizer { get; }
        public (string Name, Parameter Parameter)[] Parameters { get; }
        public string[] WeightTags { get; }
        public string[] GradTags { get; }
        public string[] RatioTags { get; }
        public string[] LrTags { get; }
        public int ParameterCount { get; }
        public Dictionary<string, object?> HParams { get; }
    }

    private Subject Bound => _subject ?? throw new InvalidOperationException(
        "this TensorBoardLogger learns the model and optimizer when training begins: add it to Trainer.Callbacks before calling Fit, or give them to its constructor");

    private static int? CheckLogEvery(int? logEvery) =>
        logEvery is null or >= 1 ? logEvery : throw new ArgumentOutOfRangeException(nameof(logEvery), $"log_every must be a positive number of steps, got {logEvery}");

    /// <summary>The writer the logger writes through; add your own series with it.</summary>
    public SummaryWriter Writer { get; }

    /// <summary>Steps between further rounds of histograms and update ratios, besides those at every epoch's end; null for epoch ends only.</summary>
    public int? LogEvery { get; }

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
        _epochs = epochs;
        _finished = false;
        _firstStep = trainer.GlobalStep;
        // Under gradient accumulation a step takes several batches; an epoch's last batch always ends a step.
        _stepsPerEpoch = (batchesPerEpoch + trainer.AccumulationSteps - 1) / trainer.AccumulationSteps;
        _lastLossStep = trainer.GlobalStep;
        _lastGridStep = trainer.GlobalStep;
    }

    /// <summary>Whether <paramref name="step"/> gets histograms and update ratios: an epoch's last step, or a multiple of <see cref="LogEvery"/>.</summary>
    private bool IsHistogramStep(long step) =>
        (LogEvery is { } every && step % every == 0) || (_stepsPerEpoch > 0 && step > _firstStep && (step - _firstStep) % _stepsPerEpoch == 0);

    /// <inheritdoc />
    public void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy)
    {
        _lossSum += loss;
        _accuracySum += accuracy;
        _lossCount++;
        // Under gradient accumulation the batches before a step's last report the previous step.
        if (globalStep == _lastLossStep) return;
        double meanLoss = _lossSum / _lossCount;
        if (!double.IsFinite(meanLoss)) _diverged = true;
        Writer.AddScalar("train/loss", meanLoss, globalStep);
        // A regression batch has no accuracy (NaN): its tag stays out of the run.
        if (!float.IsNaN(accuracy)) Writer.AddScalar("train/accuracy", _accuracySum / _lossCount, globalStep);
        _lastLossStep = globalStep;
        _lossSum = 0;
        _accuracySum = 0;
        _lossCount = 0;
    }

    /// <inheritdoc />
    public void OnBeforeOptimizerStep(Trainer trainer)
    {
        if ((trainer.GlobalStep + 1) % GradNormEvery == 0)
            _gradNorm = GradientClipping.GradNorm(trainer.Optimizer.Arena);
        if (IsHistogramStep(trainer.GlobalStep + 1)) SnapshotWeights(trainer.GlobalStep + 1);
    }

    /// <inheritdoc />
    public void OnOptimizerStep(long globalStep)
    {
        var subject = Bound;
        if (_gradNorm is { } norm) Writer.AddScalar("train/grad_norm", norm, globalStep);
        _gradNorm = null;
        var groups = subject.Optimizer.GroupOptions;
        for (int g = 0; g < groups.Count; g++) Writer.AddScalar(subject.LrTags[g], groups[g].Lr, globalStep);
        if (IsHistogramStep(globalStep)) LogParameters(subject, globalStep);
    }

    /// <inheritdoc />
    public void OnEpochEnd(EpochResult result)
    {
        long step = _trainer?.GlobalStep ?? 0;
        Writer.AddScalar("epoch/train_loss", result.TrainLoss, step);
        if (!double.IsNaN(result.TrainAccuracy)) Writer.AddScalar("epoch/train_accuracy", result.TrainAccuracy, step);
        Writer.AddScalar("epoch/seconds", result.Seconds, step);
        if (result.ValLoss is { } valLoss) Writer.AddScalar("epoch/val_loss", valLoss, step);
        if (result.ValAccuracy is { } valAccuracy && !double.IsNaN(valAccuracy)) Writer.AddScalar("epoch/val_accuracy", valAccuracy, step);
        foreach (var (name, value) in result.TrainMetrics ?? Empty) Writer.AddScalar($"epoch/train_{name}", value, step);
        foreach (var (name, value) in result.ValMetrics ?? Empty) Writer.AddScalar($"epoch/val_{name}", value, step);
        if (!double.IsFinite(result.TrainLoss) || result.ValLoss is { } v && !double.IsFinite(v)) _diverged = true;
        _lastEpoch = result;
        if (Misclassified is { EveryEpochs: > 0 } grid && result.Epoch % grid.EveryEpochs == 0) LogMisclassified(grid, step);
    }

    /// <inheritdoc />
    public void OnTrainEnd(IReadOnlyList<EpochResult> history)
    {
        // Fewer epochs than asked for: a callback stopped training early.
        _finished = history.Count >= _epochs;
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
            if (!double.IsNaN(last.TrainAccuracy)) metrics["hparam/train_accuracy"] = last.TrainAccuracy;
            if (last.ValLoss is { } valLoss) metrics["hparam/val_loss"] = valLoss;
            if (last.ValAccuracy is { } valAccuracy && !double.IsNaN(valAccuracy)) metrics["hparam/val_accuracy"] = valAccuracy;
            foreach (var (name, value) in last.TrainMetrics ?? Empty) metrics[$"hparam/train_{name}"] = value;
            foreach (var (name, value) in last.ValMetrics ?? Empty) metrics[$"hparam/val_{name}"] = value;
        }
        foreach (var (name, value) in _finalMetrics) metrics[name] = value;
        var hparams = Bound.HParams;
        // Optimizers without momentum declare it all the same, so that every run has the same columns.
        var withoutValue = hparams.TryGetValue("momentum", out var momentum) && momentum is null
            ? new Dictionary<string, HParamDataType> { ["momentum"] = HParamDataType.DataTypeFloat64 }
            : null;
        bool success = _finished && !_diverged;
        Writer.WriteHParams(hparams, metrics, null, SummaryWriter.SameRun, _trainer?.GlobalStep,
            success ? SessionStatus.StatusSuccess : SessionStatus.StatusFailure, withoutValue,
            _lastEpoch is { } e && double.IsNaN(e.TrainAccuracy) ? RegressionEpochMetrics : EpochMetrics);
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

    private void LogParameters(Subject subject, long step)
    {
        bool haveBefore = _beforeStep == step;
        int at = 0;
        for (int i = 0; i < subject.Parameters.Length; i++)
        {
            var p = subject.Parameters[i].Parameter;
            if (p.Numel == 0) continue;
            Writer.AddHistogram(subject.WeightTags[i], p.Data, step);
            if (p.Grad is { } grad) Writer.AddHistogram(subject.GradTags[i], grad.Data, step);
            if (haveBefore)
            {
                var (updateNorm, weightNorm) = UpdateAndWeightNorms(p.Data, _before.AsSpan(at, p.Numel));
                Writer.AddScalar(subject.RatioTags[i], weightNorm > 0 ? updateNorm / weightNorm : double.NaN, step);
            }
            at += p.Numel;
        }
        _beforeStep = -1;
    }

    private readonly record struct MisclassifiedSample(int Index, int Label, int Predicted);


    /// <summary>‖after − before‖ and ‖before‖, accumulated in double precision (once a round, so a plain loop).</summary>
    private static (double Update, double Weight) UpdateAndWeightNorms(ReadOnlySpan<float> after, ReadOnlySpan<float> before)
    {
        double update = 0, weight = 0;
        for (int j = 0; j < before.Length; j++)
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
        var data = config.Validation;
        var picked = new List<MisclassifiedSample>();
        var model = Bound.Model;
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var noGrad = Tape.NoGrad();
            int start = 0;
            // In order, a few hundred at a time: the first batches usually hold enough mistakes.
            foreach (var batch in new DataLoader(data, 256).Epoch(0))
            {
                var logits = model.Forward(batch.X);
                if (logits.Rank != 2 || logits.Shape[0] != batch.Size)
                    throw new InvalidOperationException($"misclassified images need class scores of shape [batch, classes]; the model returned {ShapeUtil.Format(logits.Shape)}");
                int[] predictions = logits.ArgMax(1);
                for (int i = 0; i < batch.Size && picked.Count < config.MaxImages; i++)
                    if (predictions[i] != batch.Y[i]) picked.Add(new MisclassifiedSample(start + i, batch.Y[i], predictions[i]));
                start += batch.Size;
                if (picked.Count >= config.MaxImages) break;
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return picked;
    }
}
