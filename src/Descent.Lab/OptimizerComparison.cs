using System.Diagnostics;
using Descent.Nn;
using Descent.Optim;
using Descent.TensorBoard;
using Descent.Training;

namespace Descent.Lab;

/// <summary>What one optimizer achieved in an <see cref="OptimizerComparison"/>.</summary>
public sealed record ComparisonResult(
    string Optimizer,
    double Lr,
    double FinalValAccuracy,
    double FinalValLoss,
    double TestAccuracy,
    double TestLoss,
    long? StepsToTarget,
    double? EpochsToTarget,
    double Seconds,
    bool Diverged,
    IReadOnlyList<(long Step, double Loss)> TrainLoss,
    IReadOnlyList<(long Step, double Accuracy)> ValAccuracy);

/// <summary>
/// The lectures' optimizer lab: the same model from the same initial weights, trained on the same batch
/// order by each optimizer in turn; records learning curves, the step at which validation accuracy first
/// reaches a target, and the final accuracies.
/// </summary>
public sealed class OptimizerComparison
{
    /// <summary>Builds the model (called once; every optimizer starts from a copy of its weights).</summary>
    public required Func<Module> ModelFactory { get; init; }
    /// <summary>Train/validation/test data.</summary>
    public required PreparedData Data { get; init; }
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 32;
    public int Seed { get; init; }
    /// <summary>Validation accuracy to reach; <see cref="ComparisonResult.StepsToTarget"/> is null when never reached.</summary>
    public double Target { get; init; } = 0.95;
    /// <summary>Shared hyperparameters; a null <c>Lr</c> gives each optimizer its conventional one.</summary>
    public OptimizerSettings Settings { get; init; } = new();
    public double? ClipGradNorm { get; init; }
    /// <summary>Builds a schedule for each optimizer (given the optimizer and the batches per epoch), or null for none.</summary>
    public Func<Optimizer, int, ITrainerCallback?>? Schedule { get; init; }
    /// <summary>
    /// Builds a logger for each optimizer's run, or null for none; disposed after the run. A
    /// <see cref="TensorBoardLogger"/> also gets the final validation and test metrics
    /// (<c>hparam/val_loss</c>, <c>hparam/val_accuracy</c>, <c>hparam/test_loss</c>, <c>hparam/test_accuracy</c>).
    /// </summary>
    public Func<string, Module, Optimizer, ITrainerCallback?>? Logger { get; init; }
    /// <summary>Validation checks per epoch (for the steps-to-target figure).</summary>
    public int ChecksPerEpoch { get; init; } = 4;
    /// <summary>
    /// The loader over the training split that every run reads; null: <see cref="PreparedData.TrainLoader"/> with
    /// <see cref="BatchSize"/> and <see cref="Seed"/>. Under data parallelism it reads this rank's
    /// <see cref="Data.DataShard"/>, as <c>DistributedSampler</c>.
    /// </summary>
    public Func<Data.DataLoader>? TrainLoader { get; init; }
    /// <summary>
    /// Data-parallel runs, as PyTorch's <c>DistributedDataParallel(model)</c>: wraps each run's model and optimizer
    /// (parameters broadcast from rank 0, gradients averaged over the ranks; disposed after the run), or null for
    /// one process. Evaluations and the recorded training losses are reduced over the ranks, so every rank returns
    /// the figures of the whole job; <see cref="TrainLoader"/> must read this rank's shard.
    /// </summary>
    public Func<Module, Optimizer, DistributedDataParallel>? DataParallel { get; init; }

    /// <summary>Runs one optimizer; <paramref name="progress"/> sees every batch.</summary>
    public ComparisonResult Run(string optimizer, ITrainerCallback? progress = null)
    {
        Rng.ManualSeed(Seed);
        var model = ModelFactory();
        _initial ??= model.StateDict();
        model.LoadStateDict(_initial);
        var opt = Optimizers.Create(optimizer, model, Settings);
        var trainer = new Trainer(model, opt) { ClipGradNorm = ClipGradNorm };
        var validation = Data.Validation ?? Data.Test;
        var curves = new CurveRecorder(trainer, validation, Target, ChecksPerEpoch);
        trainer.Callbacks.Add(curves);
        if (progress is not null) trainer.Callbacks.Add(progress);
        var sw = Stopwatch.StartNew();
        var loader = TrainLoader?.Invoke() ?? Data.TrainLoader(BatchSize, Seed);
        using var ddp = DataParallel?.Invoke(model, opt);
        trainer.Distributed = ddp;
        if (Schedule?.Invoke(opt, loader.Count) is { } schedule) trainer.Callbacks.Add(schedule);
        var logger = Logger?.Invoke(optimizer, model, opt);
        if (logger is not null) trainer.Callbacks.Add(logger);
        Evaluation val, test;
        try
        {
            trainer.Fit(loader, null, Epochs);
            val = trainer.Evaluate(validation);
            test = trainer.Evaluate(Data.Test);
            if (logger is TensorBoardLogger tensorBoard)
            {
                tensorBoard.AddFinalMetric("hparam/val_loss", val.Loss);
                tensorBoard.AddFinalMetric("hparam/val_accuracy", val.Accuracy);
                tensorBoard.AddFinalMetric("hparam/test_loss", test.Loss);
                tensorBoard.AddFinalMetric("hparam/test_accuracy", test.Accuracy);
            }
        }
        finally
        {
            (logger as IDisposable)?.Dispose();
        }
        double seconds = sw.Elapsed.TotalSeconds;
        bool diverged = !double.IsFinite(val.Loss) || curves.Losses.Any(l => !double.IsFinite(l.Loss));
        return new ComparisonResult(optimizer, opt.GroupOptions[0].Lr, val.Accuracy, val.Loss, test.Accuracy, test.Loss,
            curves.StepsToTarget, curves.StepsToTarget is { } s ? (double)s / loader.Count : null, seconds, diverged, curves.Losses, curves.Accuracies);
    }

    private Dictionary<string, Tensor>? _initial;

    /// <summary>Runs every optimizer and ranks them: test accuracy, then fewer steps to the target.</summary>
    public IReadOnlyList<ComparisonResult> RunAll(IEnumerable<string> optimizers, Func<string, ITrainerCallback?>? progress = null) =>
        optimizers.Select(o => Run(o, progress?.Invoke(o)))
            .OrderByDescending(r => r.Diverged ? -1 : r.TestAccuracy)
            .ThenBy(r => r.StepsToTarget ?? long.MaxValue)
            .ToList();

    private sealed class CurveRecorder(Trainer trainer, Data.Dataset validation, double target, int checksPerEpoch) : ITrainerCallback
    {
        public readonly List<(long Step, double Loss)> Losses = [];
        public readonly List<(long Step, double Accuracy)> Accuracies = [];
        public long? StepsToTarget;
        private int _checkEvery = 1;

        public void OnTrainBegin(Trainer t, int epochs, int batchesPerEpoch) => _checkEvery = Math.Max(1, batchesPerEpoch / Math.Max(1, checksPerEpoch));

        public void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy)
        {
            // Data-parallel: the mean of the ranks' batch losses, which is the global batch's (the shards' batches
            // are of one size), so the curves are those of one process with the global batch.
            if (trainer.Distributed is { Group: var group })
            {
                Span<double> sum = [loss];
                group.AllReduceSum(sum, "all-reduce of the batch loss");
                loss = (float)(sum[0] / group.WorldSize);
            }
            Losses.Add((globalStep, loss));
        }

        public void OnOptimizerStep(long globalStep)
        {
            if (globalStep % _checkEvery != 0) return;
            double acc = trainer.Evaluate(validation).Accuracy;
            Accuracies.Add((globalStep, acc));
            if (StepsToTarget is null && acc >= target) StepsToTarget = globalStep;
        }
    }
}
