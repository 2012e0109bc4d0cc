using System.Diagnostics;
using Descent.Autodiff;
using Descent.Data;
using Descent.Nn;
using Descent.Optim;

namespace Descent.Training;

/// <summary>
/// Loss of a batch: model output and the batch's <see cref="Batch.Target"/> (class indices [N] or values
/// [N, K]) → scalar tensor, like a PyTorch criterion <c>loss_fn(output, target)</c>. Any function of the two
/// built from differentiable ops is a custom loss, e.g.
/// <c>(output, target) =&gt; Functional.HuberLoss(output, target, delta: 0.5)</c>.
/// </summary>
public delegate Tensor LossFunction(Tensor output, Tensor target);

/// <summary>
/// What evaluating a model on a dataset measured: the mean loss, the accuracy (classification; NaN for
/// regression), the sample count and every metric of <see cref="Trainer.Metrics"/> by name.
/// </summary>
public readonly record struct Evaluation(double Loss, double Accuracy, int Samples, IReadOnlyDictionary<string, double> Values);

/// <summary>
/// What one epoch of <see cref="Trainer.Fit"/> measured. Accuracies are NaN for regression;
/// <paramref name="TrainMetrics"/> and <paramref name="ValMetrics"/> hold the <see cref="Trainer.Metrics"/> by name.
/// </summary>
public sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double? ValLoss, double? ValAccuracy, double Seconds, double Lr,
    IReadOnlyDictionary<string, double>? TrainMetrics = null, IReadOnlyDictionary<string, double>? ValMetrics = null);

/// <summary>
/// Where <see cref="Trainer.Fit"/> stands: in epoch <paramref name="Epoch"/> (1-based) with
/// <paramref name="BatchesDone"/> of its batches trained, and the epoch's running sums so far. A checkpoint stores it
/// and <see cref="Trainer.Fit"/> resumes from it: the batches of an epoch come in an order fixed by the loader's seed
/// and the epoch, so skipping the ones done continues exactly where training stopped.
/// </summary>
/// <param name="Epoch">The epoch in progress (the next one, when <paramref name="BatchesDone"/> is 0).</param>
/// <param name="BatchesDone">Batches of <paramref name="Epoch"/> already trained.</param>
/// <param name="LossSum">Sum over those batches of batch loss × batch size.</param>
/// <param name="Correct">Correct predictions among them (classification).</param>
/// <param name="Seen">Samples among them.</param>
public sealed record TrainingPosition(int Epoch, int BatchesDone = 0, double LossSum = 0, long Correct = 0, long Seen = 0);

/// <summary>
/// Thrown by <see cref="Trainer.Fit"/> when a batch's loss is NaN or infinite (training diverged): the optimizer has
/// not stepped on it, so the weights are those of the last finite step.
/// </summary>
public sealed class TrainingDivergedException(int epoch, long step, double lr, float loss)
    : Exception(FormattableString.Invariant($"loss became {(float.IsNaN(loss) ? "NaN" : loss > 0 ? "inf" : "-inf")} at epoch {epoch}, step {step} (lr {lr:R}); lower the learning rate or enable gradient clipping"))
{
    /// <summary>The epoch (1-based) of the batch.</summary>
    public int Epoch { get; } = epoch;

    /// <summary>The optimizer step the batch would have made (1-based).</summary>
    public long Step { get; } = step;

    /// <summary>The learning rate of the first parameter group then.</summary>
    public double Lr { get; } = lr;

    /// <summary>The batch's loss: NaN or an infinity.</summary>
    public float Loss { get; } = loss;
}

/// <summary>
/// Hooks into <see cref="Trainer.Fit"/>, like Keras callbacks. Every method has an empty default, so a
/// callback implements only what it needs.
/// </summary>
public interface ITrainerCallback
{
    /// <summary>Before the first epoch.</summary>
    void OnTrainBegin(Trainer trainer, int epochs, int batchesPerEpoch) { }
    /// <summary>Before each epoch (1-based).</summary>
    void OnEpochBegin(int epoch) { }
    /// <summary>After each batch (a micro-batch under gradient accumulation) with its mean loss and its accuracy (fraction of samples whose arg-max prediction is the label; NaN for regression).</summary>
    void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy) { }
    /// <summary>
    /// Before each optimizer step, once the step's gradients are complete (after backward, gradient
    /// accumulation and the weight penalty; before clipping): the place to inspect or measure gradients,
    /// e.g. <c>GradientClipping.GradNorm(trainer.Optimizer.Arena)</c> or each <c>Parameter.Grad</c>, like a
    /// hook registered with PyTorch's <c>optimizer.register_step_pre_hook</c>. Not called for closure
    /// optimizers (LBFGS), whose gradients change within the step.
    /// </summary>
    void OnBeforeOptimizerStep(Trainer trainer) { }
    /// <summary>After each optimizer step (per-step schedules hook in here); <paramref name="globalStep"/> counts steps from 1.</summary>
    void OnOptimizerStep(long globalStep) { }
    /// <summary>After each epoch's validation.</summary>
    void OnEpochEnd(EpochResult result) { }
    /// <summary>After the last epoch.</summary>
    void OnTrainEnd(IReadOnlyList<EpochResult> history) { }
    /// <summary>
    /// When <see cref="Trainer.StopOnNonFiniteLoss"/> stops training, just before <paramref name="exception"/> is
    /// thrown; the optimizer has not stepped on the batch.
    /// </summary>
    void OnDiverged(TrainingDivergedException exception) { }
}

/// <summary>
/// The training loop: <see cref="Fit"/> (train with per-epoch validation), <see cref="Evaluate"/> and
/// <see cref="Predict"/>. A step is the PyTorch idiom: zero grad, forward, loss, backward, step.
/// </summary>
/// <remarks>
/// Without a loss the task of the data decides: cross-entropy on logits for classification, mean squared error
/// for regression. Loss and (classification) accuracy are always measured; <see cref="Metrics"/> adds more.
/// </remarks>
public sealed class Trainer(Module model, Optimizer optimizer, LossFunction? loss = null)
{
    private static readonly LossFunction CrossEntropyLoss = (o, t) => Functional.CrossEntropy(o, t);
    private static readonly LossFunction MseLoss = (o, t) => Functional.MseLoss(o, t);

    /// <summary>The model being trained.</summary>
    public Module Model { get; } = model;

    /// <summary>The optimizer that updates <see cref="Model"/>.</summary>
    public Optimizer Optimizer { get; } = optimizer;

    /// <summary>The loss given to the constructor; null picks one by the data's task (see the remarks).</summary>
    public LossFunction? Loss { get; } = loss;

    /// <summary>
    /// Metrics measured on every training epoch and every evaluation besides loss and accuracy, like Keras's
    /// <c>metrics=[...]</c>: e.g. <see cref="TopKAccuracy"/>, <see cref="PrecisionRecallF1"/>, <see cref="R2Score"/>,
    /// or any <see cref="IMetric"/> of your own. Their values come in <see cref="EpochResult.TrainMetrics"/>,
    /// <see cref="EpochResult.ValMetrics"/> and <see cref="Evaluation.Values"/>.
    /// </summary>
    public List<IMetric> Metrics { get; } = [];

    /// <summary>The loss used on <paramref name="data"/>: <see cref="Loss"/>, or the task's default.</summary>
    public LossFunction LossFor(Dataset data) => Loss ?? (data.Task == TaskKind.Classification ? CrossEntropyLoss : MseLoss);

    /// <summary>Callbacks run in order.</summary>
    public List<ITrainerCallback> Callbacks { get; } = [];

    /// <summary>Set by a callback to end training after the current epoch (early stopping).</summary>
    public bool StopRequested { get; set; }

    /// <summary>Optimizer steps taken so far; set it when resuming from a checkpoint, so that steps and logs continue.</summary>
    public long GlobalStep
    {
        get;
        set => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"global step must be non-negative, got {value}");
    }

    /// <summary>
    /// Stop with a <see cref="TrainingDivergedException"/> when a batch's loss is not finite (default true), instead of
    /// training on to the end on NaN.
    /// </summary>
    public bool StopOnNonFiniteLoss { get; set; } = true;

    /// <summary>
    /// Asks <see cref="Fit"/> to stop after the optimizer step in progress (e.g. from a Ctrl+C handler; safe from
    /// another thread). <see cref="Fit"/> then returns with <see cref="Interrupted"/> set and <see cref="Position"/>
    /// telling where to resume.
    /// </summary>
    public void RequestInterrupt() => _interruptRequested = true;
    private volatile bool _interruptRequested;

    // Data-parallel: the interrupt as all ranks agreed on it at the last step, so that all stop at the same one.
    private bool _agreedInterrupt;
    private bool InterruptNow => Distributed is null ? _interruptRequested : _agreedInterrupt;

    /// <summary>Whether the last <see cref="Fit"/> ended on <see cref="RequestInterrupt"/>.</summary>
    public bool Interrupted { get; private set; }

    /// <summary>Where the last <see cref="Fit"/> stopped: the position to resume from.</summary>
    public TrainingPosition? Position { get; private set; }

    /// <summary>
    /// An L1/L2/elastic-net penalty on the weights, added to the gradients once per optimizer step (before
    /// clipping); the reported loss is the data loss without it.
    /// </summary>
    public Regularization.WeightPenalty? Penalty { get; set; }

    /// <summary>When set, gradients are rescaled to this global L2 norm before each step (<c>clip_grad_norm_</c>).</summary>
    public double? ClipGradNorm { get; set; }

    /// <summary>
    /// Gradient accumulation: the optimizer steps once every N batches on the mean of their gradients
    /// (each batch's loss is scaled by 1/N), an effective batch N times larger in the same memory.
    /// </summary>
    public int AccumulationSteps
    {
        get => _accumulationSteps;
        set => _accumulationSteps = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"accumulation steps must be a positive integer, got {value}");
    }
    private int _accumulationSteps = 1;

    /// <summary>
    /// Data-parallel training: when set, gradients are averaged over its ranks before every step, the epoch's loss and
    /// accuracy and <see cref="Evaluate"/>'s figures are reduced over all ranks, and every rank stops together (on a
    /// non-finite loss on any rank, or an interrupt on any). The training loader must read this rank's
    /// <see cref="DataShard"/>.
    /// </summary>
    public DistributedDataParallel? Distributed { get; set; }

    /// <summary>
    /// Trains up to epoch <paramref name="epochs"/>; validates on <paramref name="validation"/> after each one when given.
    /// With <paramref name="resumeFrom"/> (from a checkpoint) training starts at that position instead of epoch 1:
    /// the batches its epoch has done are skipped and its running sums carried on.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A batch's loss was not finite (unless <see cref="StopOnNonFiniteLoss"/> is off).</exception>
    public IReadOnlyList<EpochResult> Fit(DataLoader train, Dataset? validation = null, int epochs = 1, TrainingPosition? resumeFrom = null)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), $"epochs must be a positive integer, got {epochs}");
        if (Optimizer.RequiresClosure && _accumulationSteps > 1)
            throw new ArgumentException($"{Optimizer.GetType().Name} re-evaluates the loss inside its step and cannot accumulate gradients over batches (accumulation steps {_accumulationSteps})");
        if (Distributed is { } ddp)
        {
            if (Optimizer.RequiresClosure)
                throw new ArgumentException($"{Optimizer.GetType().Name} re-evaluates the loss inside its step; data-parallel training supports optimizers that step once per batch");
            if (train.Shard is not { } shard || shard.Replicas != ddp.Group.WorldSize || shard.Rank != ddp.Group.Rank)
                throw new ArgumentException($"in data-parallel training the loader must read rank {ddp.Group.Rank}'s shard of {ddp.Group.WorldSize} (DataLoader shard: new DataShard({ddp.Group.Rank}, {ddp.Group.WorldSize}))");
        }
        var history = new List<EpochResult>();
        var lossFunction = LossFor(train.Dataset);
        bool classification = train.Dataset.Task == TaskKind.Classification;
        foreach (var c in Callbacks) c.OnTrainBegin(this, epochs, train.Count);
        StopRequested = false;
        Interrupted = false;
        _interruptRequested = false;
        _agreedInterrupt = false;
        var start = resumeFrom ?? new TrainingPosition(1);
        Position = start;
        for (int epoch = start.Epoch; epoch <= epochs && !StopRequested && !Interrupted; epoch++)
        {
            foreach (var c in Callbacks) c.OnEpochBegin(epoch);
            var sw = Stopwatch.StartNew();
            Model.Train();
            // The running sums of a resumed epoch are the job's; under data parallelism rank 0 alone carries them on.
            bool resumed = epoch == start.Epoch && (Distributed is null || Distributed.Group.IsMain);
            double lossSum = resumed ? start.LossSum : 0;
            long correct = resumed ? start.Correct : 0, seen = resumed ? start.Seen : 0;
            int skip = epoch == start.Epoch ? start.BatchesDone : 0;
            int batchIndex = 0;
            int batches = train.Count;
            foreach (var m in Metrics) m.Reset();
            foreach (var batch in train.Epoch(epoch))
            {
                if (batchIndex < skip)
                {
                    batchIndex++;
                    continue;
                }
                bool first = batchIndex % _accumulationSteps == 0;
                bool last = (batchIndex + 1) % _accumulationSteps == 0 || batchIndex + 1 == batches;
                float batchLoss = ForwardBackward(batch.X, batch.Target, lossFunction, zeroGrad: first, out int batchCorrect, synchronize: last);
                bool diverged = StopOnNonFiniteLoss && !float.IsFinite(batchLoss);
                if (Distributed is not null && last) AgreeOnStop(ref diverged, ref batchLoss);
                if (diverged)
                {
                    var exception = new TrainingDivergedException(epoch, GlobalStep + 1, Optimizer.GroupOptions[0].Lr, batchLoss);
                    foreach (var c in Callbacks) c.OnDiverged(exception);
                    throw exception;
                }
                lossSum += (double)batchLoss * batch.Size;
                correct += batchCorrect;
                seen += batch.Size;
                if (last) OptimizerStep();
                float batchAccuracy = classification && batch.Size > 0 ? (float)batchCorrect / batch.Size : float.NaN;
                foreach (var c in Callbacks) c.OnBatchEnd(epoch, batchIndex, GlobalStep, batchLoss, batchAccuracy);
                batchIndex++;
                if (last && InterruptNow && batchIndex < batches)
                {
                    ReduceSums(ref lossSum, ref correct, ref seen);
                    Position = new TrainingPosition(epoch, batchIndex, lossSum, correct, seen);
                    Interrupted = true;
                    break;
                }
            }
            if (Interrupted) break;
            ReduceSums(ref lossSum, ref correct, ref seen);
            Position = new TrainingPosition(epoch + 1);
            var trainMetrics = ComputeMetrics();
            Evaluation? val = null;
            if (validation is not null) val = Evaluate(validation);
            var result = new EpochResult(epoch, lossSum / Math.Max(seen, 1), classification ? (double)correct / Math.Max(seen, 1) : double.NaN,
                val?.Loss, val?.Accuracy, sw.Elapsed.TotalSeconds, Optimizer.GroupOptions[0].Lr, trainMetrics, val?.Values);
            history.Add(result);
            foreach (var c in Callbacks) c.OnEpochEnd(result);
            if (InterruptNow && !Interrupted && epoch < epochs) Interrupted = true;
        }
        foreach (var c in Callbacks) c.OnTrainEnd(history);
        return history;
    }

    /// <summary>
    /// One optimizer step on a batch of inputs <paramref name="x"/> and targets <paramref name="target"/> (class
    /// indices [N] or values [N, K]; the loss is <see cref="Loss"/>, else cross-entropy for a rank-1 target and
    /// mean squared error otherwise); returns the batch's loss. Does not update <see cref="Metrics"/>.
    /// </summary>
    public float TrainStep(Tensor x, Tensor target)
    {
        var lossFunction = Loss ?? (target.Rank == 1 ? CrossEntropyLoss : MseLoss);
        float value = ForwardBackward(x, target, lossFunction, zeroGrad: true, out _, updateMetrics: false);
        OptimizerStep();
        return value;
    }

    private float ForwardBackward(Tensor x, Tensor target, LossFunction lossFunction, bool zeroGrad, out int correct, bool updateMetrics = true, bool synchronize = true)
    {
        if (Optimizer.RequiresClosure) return ClosureStep(x, target, lossFunction, out correct, updateMetrics);
        if (zeroGrad) Optimizer.ZeroGrad();
        Distributed?.BroadcastBuffersIfAny();
        var output = Model.Forward(x);
        var lossTensor = lossFunction(output, target);
        float value = lossTensor.Item();
        correct = CountCorrect(output, target);
        if (updateMetrics) foreach (var m in Metrics) m.Update(output, target);
        Distributed?.BeginBackward(synchronize);
        (_accumulationSteps > 1 ? lossTensor * (1f / _accumulationSteps) : lossTensor).Backward();
        return value;
    }

    /// <summary>
    /// For closure optimizers (LBFGS) the whole step happens here: the closure re-runs forward and backward
    /// as often as the line search needs; the reported loss and accuracy are those of the first evaluation.
    /// </summary>
    private float ClosureStep(Tensor x, Tensor target, LossFunction lossFunction, out int correct, bool updateMetrics)
    {
        int firstCorrect = -1;
        float loss = Optimizer.Step(() =>
        {
            Optimizer.ZeroGrad();
            var output = Model.Forward(x);
            var lossTensor = lossFunction(output, target);
            float value = lossTensor.Item();
            if (firstCorrect < 0)
            {
                firstCorrect = CountCorrect(output, target);
                if (updateMetrics) foreach (var m in Metrics) m.Update(output, target);
            }
            lossTensor.Backward();
            // The line search must see the loss whose gradient it gets: the penalty goes into both.
            if (Penalty is { } penalty) value += (float)penalty.AddGradient(Optimizer.Arena);
            if (ClipGradNorm is { } max) GradientClipping.ClipGradNorm(Optimizer.Arena, max);
            return value;
        });
        correct = firstCorrect;
        GlobalStep++;
        foreach (var c in Callbacks) c.OnOptimizerStep(GlobalStep);
        return loss;
    }

    private void OptimizerStep()
    {
        if (Optimizer.RequiresClosure) return;
        Distributed?.AverageGradients();
        Penalty?.AddGradient(Optimizer.Arena);
        foreach (var c in Callbacks) c.OnBeforeOptimizerStep(this);
        if (ClipGradNorm is { } max) GradientClipping.ClipGradNorm(Optimizer.Arena, max);
        Optimizer.Step();
        GlobalStep++;
        foreach (var c in Callbacks) c.OnOptimizerStep(GlobalStep);
    }

    /// <summary>
    /// Mean loss, accuracy (classification) and every metric of <see cref="Metrics"/> over <paramref name="data"/>,
    /// in evaluation mode, without recording a graph.
    /// </summary>
    public Evaluation Evaluate(Dataset data, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(data);
        var lossFunction = LossFor(data);
        bool wasTraining = Model.Training;
        Model.Eval();
        double lossSum = 0;
        long correct = 0;
        foreach (var m in Metrics) m.Reset();
        // Data-parallel: each rank evaluates its part and the sums are added up. Metrics of their own cannot be
        // added up, so with any every rank evaluates all of the data (the replicas are equal: so are the results).
        Distributed?.BroadcastBuffersIfAny();
        var shard = Distributed is { } ddp && Metrics.Count == 0 ? new DataShard(ddp.Group.Rank, ddp.Group.WorldSize) { Pad = false } : null;
        using (Tape.NoGrad())
        {
            foreach (var batch in new DataLoader(data, batchSize, shard: shard).Epoch(0))
            {
                var output = Model.Forward(batch.X);
                lossSum += (double)lossFunction(output, batch.Target).Item() * batch.Size;
                correct += CountCorrect(output, batch.Target);
                foreach (var m in Metrics) m.Update(output, batch.Target);
            }
        }
        Model.Train(wasTraining);
        if (shard is not null)
        {
            long count = shard.Length(data.Count);
            ReduceSums(ref lossSum, ref correct, ref count);
        }
        double accuracy = data.Task == TaskKind.Classification ? (double)correct / Math.Max(data.Count, 1) : double.NaN;
        return new Evaluation(lossSum / Math.Max(data.Count, 1), accuracy, data.Count, ComputeMetrics());
    }

    /// <summary>Predicted class (argmax of the output) of every sample of <paramref name="data"/>.</summary>
    public int[] Predict(Dataset data, int batchSize = 500)
    {
        var outputs = PredictOutputs(data, batchSize);
        if (outputs.Rank != 2) throw new InvalidOperationException($"the model's output of shape {ShapeUtil.Format(outputs.Shape)} is not class scores [N, C]");
        return Functional.ArgMax(outputs, 1);
    }

    /// <summary>
    /// The model's raw outputs for every sample of <paramref name="data"/>, in evaluation mode: logits [N, C]
    /// for classification (apply <see cref="Functional.Softmax"/> for probabilities), predicted values [N, K]
    /// for regression, like <c>torch.cat([model(x) for x, _ in loader])</c> under <c>no_grad</c>.
    /// </summary>
    public Tensor PredictOutputs(Dataset data, int batchSize = 500) => PredictOutputs(Model, data, batchSize);

    /// <summary>
    /// <paramref name="model"/>'s raw outputs for every sample of <paramref name="data"/>, in evaluation mode and
    /// without recording a graph (the model's training mode is restored after): the inference half of
    /// <see cref="PredictOutputs(Dataset, int)"/> for a model that no trainer holds, e.g. one loaded from a file.
    /// </summary>
    public static Tensor PredictOutputs(Module model, Dataset data, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = model.Training;
        model.Eval();
        float[]? all = null;
        int[]? shape = null;
        int at = 0;
        using (Tape.NoGrad())
        {
            foreach (var batch in new DataLoader(data, batchSize).Epoch(0))
            {
                var output = model.Forward(batch.X);
                if (all is null)
                {
                    shape = [data.Count, .. output.Shape[1..]];
                    all = new float[checked(data.Count * (output.Numel / batch.Size))];
                }
                output.Data.CopyTo(all.AsSpan(at));
                at += output.Numel;
            }
        }
        model.Train(wasTraining);
        return all is null ? Tensor.Zeros(0) : new Tensor(all, shape!);
    }

    /// <summary>Data-parallel: replaces a rank's loss sum and counts with those of all ranks.</summary>
    private void ReduceSums(ref double lossSum, ref long correct, ref long seen)
    {
        if (Distributed is not { } ddp) return;
        Span<double> sums = [lossSum, correct, seen];
        ddp.Group.AllReduceSum(sums, "all-reduce of the loss and accuracy sums");
        (lossSum, correct, seen) = (sums[0], (long)sums[1], (long)sums[2]);
    }

    /// <summary>
    /// Data-parallel, once per step: every rank learns whether any rank's loss was not finite or any was interrupted,
    /// so all stop at the same step rather than leaving the others waiting in the next collective.
    /// </summary>
    private void AgreeOnStop(ref bool diverged, ref float loss)
    {
        Span<double> flags = [diverged ? 1 : 0, _interruptRequested ? 1 : 0];
        Distributed!.Group.AllReduceSum(flags, "all-reduce of the stop flags");
        if (flags[0] > 0 && !diverged)
        {
            diverged = true;
            loss = float.NaN;
        }
        _agreedInterrupt = flags[1] > 0;
    }

    private Dictionary<string, double> ComputeMetrics()
    {
        var values = new Dictionary<string, double>(Metrics.Count);
        foreach (var m in Metrics) values[m.Name] = m.Compute();
        return values;
    }

    /// <summary>Samples whose arg-max class (the first on ties, as <c>torch.argmax</c>) is their class-index target; 0 unless the target is class indices [N].</summary>
    private static int CountCorrect(Tensor logits, Tensor target)
    {
        if (logits.Rank != 2 || target.Rank != 1) return 0;
        int n = logits.Shape[0], c = logits.Shape[1];
        var d = logits.Data;
        var t = target.Data;
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            if (ClassificationBatch.ArgMax(d.Slice(i * c, c)) == t[i]) correct++;
        }
        return correct;
    }
}
