using System.Diagnostics;
using Descent.Autodiff;
using Descent.Data;
using Descent.Nn;
using Descent.Optim;

namespace Descent.Training;

/// <summary>Loss of a batch: model output and integer class targets → scalar tensor.</summary>
public delegate Tensor LossFunction(Tensor output, int[] targets);

/// <summary>Loss and accuracy over a dataset.</summary>
public readonly record struct Metrics(double Loss, double Accuracy, int Samples);

/// <summary>What one epoch of <see cref="Trainer.Fit"/> measured.</summary>
public sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double? ValLoss, double? ValAccuracy, double Seconds, double Lr);

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
    /// <summary>After each batch (a micro-batch under gradient accumulation) with its mean loss and its accuracy (fraction of samples whose arg-max prediction is the label).</summary>
    void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy) { }
    /// <summary>
    /// After each optimizer step (per-step schedules hook in here); <paramref name="gradNorm"/> is the global
    /// gradient norm before clipping when clipping is on or a callback asks for it (<see cref="WantsGradNorm"/>),
    /// NaN otherwise.
    /// </summary>
    void OnOptimizerStep(long globalStep, double gradNorm) { }
    /// <summary>True when <see cref="OnOptimizerStep"/> uses its gradient norm: the trainer then steps with <see cref="Optimizer.StepWithGradNorm"/>, which measures it within the update pass.</summary>
    bool WantsGradNorm => false;
    /// <summary>After each epoch's validation.</summary>
    void OnEpochEnd(EpochResult result) { }
    /// <summary>After the last epoch.</summary>
    void OnTrainEnd(IReadOnlyList<EpochResult> history) { }
}

/// <summary>
/// The training loop: <see cref="Fit"/> (train with per-epoch validation), <see cref="Evaluate"/> and
/// <see cref="Predict"/>. A step is the PyTorch idiom: zero grad, forward, loss, backward, step.
/// </summary>
public sealed class Trainer(Module model, Optimizer optimizer, LossFunction? loss = null)
{
    /// <summary>The model being trained.</summary>
    public Module Model { get; } = model;

    /// <summary>The optimizer that updates <see cref="Model"/>.</summary>
    public Optimizer Optimizer { get; } = optimizer;

    /// <summary>The loss; cross-entropy on logits by default.</summary>
    public LossFunction Loss { get; } = loss ?? ((o, t) => Functional.CrossEntropy(o, t));

    /// <summary>Callbacks run in order.</summary>
    public List<ITrainerCallback> Callbacks { get; } = [];

    /// <summary>Set by a callback to end training after the current epoch (early stopping).</summary>
    public bool StopRequested { get; set; }

    /// <summary>Optimizer steps taken so far.</summary>
    public long GlobalStep { get; private set; }

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
    /// The arg-max class of every sample of the validation set at <see cref="Fit"/>'s latest validation, and
    /// the step it was made at (null before one, or when the model's output is not [batch, classes]): a
    /// callback that shows misclassified samples needs no pass of its own over the set.
    /// </summary>
    internal (Dataset Data, int[] Predicted, long Step)? LastValidation { get; private set; }

    /// <summary>Trains for <paramref name="epochs"/> epochs; validates on <paramref name="validation"/> after each one when given.</summary>
    public IReadOnlyList<EpochResult> Fit(DataLoader train, Dataset? validation = null, int epochs = 1)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), $"epochs must be a positive integer, got {epochs}");
        if (Optimizer.RequiresClosure && _accumulationSteps > 1)
            throw new ArgumentException($"{Optimizer.GetType().Name} re-evaluates the loss inside its step and cannot accumulate gradients over batches (accumulation steps {_accumulationSteps})");
        var history = new List<EpochResult>();
        LastValidation = null;
        var predicted = validation is null ? null : new int[validation.Count];
        foreach (var c in Callbacks) c.OnTrainBegin(this, epochs, train.Count);
        StopRequested = false;
        for (int epoch = 1; epoch <= epochs && !StopRequested; epoch++)
        {
            foreach (var c in Callbacks) c.OnEpochBegin(epoch);
            var sw = Stopwatch.StartNew();
            Model.Train();
            double lossSum = 0;
            long correct = 0, seen = 0;
            int batchIndex = 0;
            int batches = train.Count;
            foreach (var batch in train.Epoch(epoch))
            {
                bool first = batchIndex % _accumulationSteps == 0;
                bool last = (batchIndex + 1) % _accumulationSteps == 0 || batchIndex + 1 == batches;
                float batchLoss = ForwardBackward(batch.X, batch.Y, zeroGrad: first, out int batchCorrect);
                lossSum += (double)batchLoss * batch.Size;
                correct += batchCorrect;
                seen += batch.Size;
                if (last) OptimizerStep();
                float batchAccuracy = batch.Size > 0 ? (float)batchCorrect / batch.Size : float.NaN;
                foreach (var c in Callbacks) c.OnBatchEnd(epoch, batchIndex, GlobalStep, batchLoss, batchAccuracy);
                batchIndex++;
            }
            Metrics? val = null;
            if (validation is not null)
            {
                val = EvaluateInto(validation, 500, predicted, out bool predictedAll);
                LastValidation = predictedAll ? (validation, predicted!, GlobalStep) : null;
            }
            var result = new EpochResult(epoch, lossSum / Math.Max(seen, 1), (double)correct / Math.Max(seen, 1),
                val?.Loss, val?.Accuracy, sw.Elapsed.TotalSeconds, Optimizer.GroupOptions[0].Lr);
            history.Add(result);
            foreach (var c in Callbacks) c.OnEpochEnd(result);
        }
        foreach (var c in Callbacks) c.OnTrainEnd(history);
        return history;
    }

    /// <summary>One optimizer step on a batch; returns the batch's loss and counts correct predictions.</summary>
    public float TrainStep(Tensor x, int[] y, out int correct)
    {
        float value = ForwardBackward(x, y, zeroGrad: true, out correct);
        OptimizerStep();
        return value;
    }

    private float ForwardBackward(Tensor x, int[] y, bool zeroGrad, out int correct)
    {
        if (Optimizer.RequiresClosure) return ClosureStep(x, y, out correct);
        if (zeroGrad) Optimizer.ZeroGrad();
        var output = Model.Forward(x);
        var lossTensor = Loss(output, y);
        float value = lossTensor.Item();
        correct = CountCorrect(output, y);
        (_accumulationSteps > 1 ? lossTensor * (1f / _accumulationSteps) : lossTensor).Backward();
        return value;
    }

    /// <summary>
    /// For closure optimizers (LBFGS) the whole step happens here: the closure re-runs forward and backward
    /// as often as the line search needs; the reported loss and accuracy are those of the first evaluation.
    /// </summary>
    private float ClosureStep(Tensor x, int[] y, out int correct)
    {
        int firstCorrect = -1;
        float loss = Optimizer.Step(() =>
        {
            Optimizer.ZeroGrad();
            var output = Model.Forward(x);
            var lossTensor = Loss(output, y);
            float value = lossTensor.Item();
            if (firstCorrect < 0) firstCorrect = CountCorrect(output, y);
            lossTensor.Backward();
            // The line search must see the loss whose gradient it gets: the penalty goes into both.
            if (Penalty is { } penalty) value += (float)penalty.AddGradient(Optimizer.Arena);
            if (ClipGradNorm is { } max) GradientClipping.ClipGradNorm(Optimizer.Arena, max);
            return value;
        });
        correct = firstCorrect;
        GlobalStep++;
        foreach (var c in Callbacks) c.OnOptimizerStep(GlobalStep, double.NaN);
        return loss;
    }

    private void OptimizerStep()
    {
        if (Optimizer.RequiresClosure) return;
        Penalty?.AddGradient(Optimizer.Arena);
        double norm = double.NaN;
        if (ClipGradNorm is { } max)
        {
            norm = GradientClipping.ClipGradNorm(Optimizer.Arena, max);
            Optimizer.Step();
        }
        else if (Callbacks.Exists(static c => c.WantsGradNorm)) norm = Optimizer.StepWithGradNorm();
        else Optimizer.Step();
        GlobalStep++;
        foreach (var c in Callbacks) c.OnOptimizerStep(GlobalStep, norm);
    }

    /// <summary>Mean loss and accuracy over <paramref name="data"/> in evaluation mode, without recording a graph.</summary>
    public Metrics Evaluate(Dataset data, int batchSize = 500) => EvaluateInto(data, batchSize, null, out _);

    /// <summary>
    /// <see cref="Evaluate(Dataset, int)"/> that also stores each sample's arg-max class in <paramref name="predicted"/>
    /// when given; <paramref name="predictedAll"/> tells whether every sample got one (the output was [batch, classes]).
    /// </summary>
    private Metrics EvaluateInto(Dataset data, int batchSize, int[]? predicted, out bool predictedAll)
    {
        predictedAll = predicted is not null;
        bool wasTraining = Model.Training;
        Model.Eval();
        double lossSum = 0;
        long correct = 0;
        using (Tape.NoGrad())
        {
            int at = 0;
            foreach (var batch in new DataLoader(data, batchSize).Epoch(0))
            {
                var output = Model.Forward(batch.X);
                lossSum += (double)Loss(output, batch.Y).Item() * batch.Size;
                if (output.Rank != 2) predictedAll = false;
                correct += CountCorrect(output, batch.Y, predicted is null ? default : predicted.AsSpan(at, batch.Size));
                at += batch.Size;
            }
        }
        Model.Train(wasTraining);
        return new Metrics(lossSum / Math.Max(data.Count, 1), (double)correct / Math.Max(data.Count, 1), data.Count);
    }

    /// <summary>Predicted class (argmax of the output) of every sample of <paramref name="data"/>.</summary>
    public int[] Predict(Dataset data, int batchSize = 500)
    {
        bool wasTraining = Model.Training;
        Model.Eval();
        var predictions = new int[data.Count];
        int at = 0;
        using (Tape.NoGrad())
        {
            foreach (var batch in new DataLoader(data, batchSize).Epoch(0))
            {
                var output = Model.Forward(batch.X);
                Functional.ArgMax(output, 1).CopyTo(predictions, at);
                at += batch.Size;
            }
        }
        Model.Train(wasTraining);
        return predictions;
    }

    /// <summary>Samples whose arg-max class is their target; each sample's class goes to <paramref name="predicted"/> when it is not empty.</summary>
    private static int CountCorrect(Tensor logits, int[] targets, Span<int> predicted = default)
    {
        if (logits.Rank != 2) return 0;
        int n = logits.Shape[0], c = logits.Shape[1];
        var d = logits.Data;
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            int best = ArgMax(d.Slice(i * c, c));
            if (!predicted.IsEmpty) predicted[i] = best;
            if (best == targets[i]) correct++;
        }
        return correct;
    }

    /// <summary>The index of the largest score (the first on ties, as <c>torch.argmax</c>).</summary>
    internal static int ArgMax(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int j = 1; j < scores.Length; j++) if (scores[j] > scores[best]) best = j;
        return best;
    }
}
