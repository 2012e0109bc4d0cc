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

    /// <summary>Trains for <paramref name="epochs"/> epochs; validates on <paramref name="validation"/> after each one when given.</summary>
    public IReadOnlyList<EpochResult> Fit(DataLoader train, Dataset? validation = null, int epochs = 1)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), $"epochs must be a positive integer, got {epochs}");
        if (Optimizer.RequiresClosure && _accumulationSteps > 1)
            throw new ArgumentException($"{Optimizer.GetType().Name} re-evaluates the loss inside its step and cannot accumulate gradients over batches (accumulation steps {_accumulationSteps})");
        var history = new List<EpochResult>();
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
            if (validation is not null) val = Evaluate(validation);
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
        foreach (var c in Callbacks) c.OnOptimizerStep(GlobalStep);
        return loss;
    }

    private void OptimizerStep()
    {
        if (Optimizer.RequiresClosure) return;
        Penalty?.AddGradient(Optimizer.Arena);
        foreach (var c in Callbacks) c.OnBeforeOptimizerStep(this);
        if (ClipGradNorm is { } max) GradientClipping.ClipGradNorm(Optimizer.Arena, max);
        Optimizer.Step();
        GlobalStep++;
        foreach (var c in Callbacks) c.OnOptimizerStep(GlobalStep);
    }

    /// <summary>Mean loss and accuracy over <paramref name="data"/> in evaluation mode, without recording a graph.</summary>
    public Metrics Evaluate(Dataset data, int batchSize = 500)
    {
        bool wasTraining = Model.Training;
        Model.Eval();
        double lossSum = 0;
        long correct = 0;
        using (Tape.NoGrad())
        {
            foreach (var batch in new DataLoader(data, batchSize).Epoch(0))
            {
                var output = Model.Forward(batch.X);
                lossSum += (double)Loss(output, batch.Y).Item() * batch.Size;
                correct += CountCorrect(output, batch.Y);
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

    /// <summary>Samples whose arg-max class (the first on ties, as <c>torch.argmax</c>) is their target.</summary>
    private static int CountCorrect(Tensor logits, int[] targets)
    {
        if (logits.Rank != 2) return 0;
        int n = logits.Shape[0], c = logits.Shape[1];
        var d = logits.Data;
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            if (ClassificationBatch.ArgMax(d.Slice(i * c, c)) == targets[i]) correct++;
        }
        return correct;
    }
}
