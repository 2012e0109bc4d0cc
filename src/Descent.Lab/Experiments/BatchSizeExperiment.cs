using System.Diagnostics;
using Descent.Data;
using Descent.Lab.Plots;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Lab.Experiments;

/// <summary>
/// What <see cref="BatchSizeExperiment.Run"/> trains: one MLP on digits with plain SGD at every batch size, for the
/// same number of epochs, from the same initial weights. The defaults take a few seconds on two cores.
/// </summary>
public sealed record BatchSizeExperimentOptions
{
    /// <summary>Batch sizes; 0 stands for the whole training set (full-batch gradient descent).</summary>
    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 8, 32, 128, 512, 1024, 0];
    /// <summary>Hidden layer sizes of the MLP.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [64];
    /// <summary>Epochs per batch size.</summary>
    public int Epochs { get; init; } = 40;
    /// <summary>The learning rate at batch size 1; batch B uses min(B × this, <see cref="MaxLr"/>) (linear scaling up to a cap).</summary>
    public double BaseLr { get; init; } = 0.002;
    /// <summary>The cap of the linear scaling rule: beyond it a larger step makes SGD unstable, not faster.</summary>
    public double MaxLr { get; init; } = 0.5;
    /// <summary>Test accuracy whose first crossing (checked after each epoch) is the "to target" columns.</summary>
    public double Target { get; init; } = 0.97;
    /// <summary>Seed of the split, the initial weights and the batch order.</summary>
    public int Seed { get; init; }

    /// <summary>The learning rate of batch size <paramref name="batchSize"/> under the scaling rule.</summary>
    public double LrFor(int batchSize) => Math.Min(BaseLr * batchSize, MaxLr);

    /// <summary>Checks every knob; messages name it.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    public void Validate()
    {
        if (BatchSizes.Count == 0 || BatchSizes.Any(b => b < 0)) throw new ArgumentException("batch sizes must be positive integers (0 for the full batch), at least one");
        if (Hidden.Count == 0 || Hidden.Any(h => h < 1)) throw new ArgumentException("hidden layer sizes must be positive integers, at least one");
        if (Epochs < 1) throw new ArgumentException($"epochs must be a positive integer, got {Epochs}");
        if (!(BaseLr > 0) || !double.IsFinite(BaseLr)) throw new ArgumentException($"Invalid learning rate: {BaseLr}");
        if (!(MaxLr >= BaseLr) || !double.IsFinite(MaxLr)) throw new ArgumentException($"the learning-rate cap must be at least the base learning rate {BaseLr}, got {MaxLr}");
        if (!(Target > 0 && Target <= 1)) throw new ArgumentException($"target must be an accuracy in (0, 1], got {Target}");
    }
}

/// <summary>One epoch of one batch size.</summary>
/// <param name="Epoch">1, 2, …</param>
/// <param name="Steps">Optimizer steps so far.</param>
/// <param name="Seconds">Training time so far (evaluations excluded).</param>
/// <param name="TrainLoss">Cross-entropy over the whole training set after the epoch.</param>
/// <param name="TestAccuracy">Test accuracy after the epoch.</param>
public sealed record BatchSizePoint(int Epoch, long Steps, double Seconds, double TrainLoss, double TestAccuracy);

/// <summary>One batch size's run.</summary>
/// <param name="BatchSize">The batch size (the training-set size for full-batch gradient descent).</param>
/// <param name="FullBatch">True for full-batch gradient descent.</param>
/// <param name="Lr">Its learning rate under the scaling rule.</param>
/// <param name="Curve">One point per epoch, epoch 0 (the initial weights) first.</param>
/// <param name="Target">The first point at or above the target accuracy; null if never.</param>
public sealed record BatchSizeRow(int BatchSize, bool FullBatch, double Lr, IReadOnlyList<BatchSizePoint> Curve, BatchSizePoint? Target)
{
    /// <summary>The name in the table: the batch size, or "full" with it.</summary>
    public string Name => FullBatch ? $"full ({BatchSize})" : BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The table, the noise scale and which batch size reached the target soonest.</summary>
/// <param name="Options">What ran.</param>
/// <param name="TrainSamples">Training samples.</param>
/// <param name="Rows">One per batch size, in the options' order.</param>
/// <param name="NoiseScaleAtStart">The simple gradient-noise scale B = tr(Σ) / |G|² at the initial weights.</param>
/// <param name="NoiseScaleAtEnd">The same at the end of the fastest run (null when none reached the target).</param>
/// <param name="Seconds">Wall time of the whole experiment.</param>
public sealed record BatchSizeExperimentResult(BatchSizeExperimentOptions Options, int TrainSamples, IReadOnlyList<BatchSizeRow> Rows, double NoiseScaleAtStart, double? NoiseScaleAtEnd, double Seconds)
{
    /// <summary>The batch size that reached the target in the least training time, or null when none did.</summary>
    public BatchSizeRow? Fastest => Rows.Where(r => r.Target is not null).MinBy(r => r.Target!.Seconds);

    /// <summary>The row of batch size <paramref name="batchSize"/> (0: full batch).</summary>
    public BatchSizeRow this[int batchSize] => Rows.Single(r => batchSize == 0 ? r.FullBatch : !r.FullBatch && r.BatchSize == batchSize);
}

/// <summary>
/// Why mini-batches: the same MLP and data trained with batch 1 (stochastic gradient descent), mini-batches and
/// the full batch (gradient descent), the learning rate scaled linearly with the batch up to a cap. Per epoch small
/// batches make the most progress (many steps); per step large ones do (exact gradients); per second of wall time
/// the middle wins, because a step's cost hardly grows with the batch until the batch is large. The gradient-noise
/// scale tr(Σ)/|G|² (McCandlish et al., 2018) estimates the batch beyond which larger batches stop saving steps.
/// </summary>
public static class BatchSizeExperiment
{
    /// <summary>Trains every batch size; <paramref name="progress"/> gets (batch, epoch, epochs) after every epoch.</summary>
    /// <exception cref="ArgumentException">Bad options.</exception>
    public static BatchSizeExperimentResult Run(BatchSizeExperimentOptions options, Action<string, long, long>? progress = null)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var data = DataPreparation.Load("digits", null, asImages: false, valFraction: 0, options.Seed);
        var train = (InMemoryDataset)data.Train;
        double noiseAtStart = NoiseScale(Network(options, data), train);
        var runs = options.BatchSizes.Select(b => RunBatchSize(b, data, options, progress)).ToList();
        var result = new BatchSizeExperimentResult(options, train.Count, runs.Select(r => r.Row).ToList(), noiseAtStart, null, 0);
        double? noiseAtEnd = result.Fastest is { } fastest ? NoiseScale(runs.First(r => r.Row == fastest).Model, train) : null;
        return result with { NoiseScaleAtEnd = noiseAtEnd, Seconds = clock.Elapsed.TotalSeconds };
    }

    /// <summary>The network, from the seed's initial weights (the same for every batch size).</summary>
    public static Sequential Network(BatchSizeExperimentOptions options, PreparedData data)
    {
        Rng.ManualSeed(options.Seed);
        return Models.Mlp(data.Train.SampleSize, options.Hidden, data.NumClasses);
    }

    private static (BatchSizeRow Row, Sequential Model) RunBatchSize(int requested, PreparedData data, BatchSizeExperimentOptions options, Action<string, long, long>? progress)
    {
        bool full = requested == 0 || requested >= data.Train.Count;
        int batchSize = full ? data.Train.Count : requested;
        double lr = options.LrFor(batchSize);
        var model = Network(options, data);
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr));
        var loader = new DataLoader(data.Train, batchSize, shuffle: !full, seed: options.Seed);
        var curve = new List<BatchSizePoint> { new(0, 0, 0, trainer.Evaluate(data.Train).Loss, trainer.Evaluate(data.Test).Accuracy) };
        var clock = new Stopwatch();
        long steps = 0;
        string name = full ? "full batch" : $"batch {batchSize}";
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            clock.Start();
            model.Train();
            foreach (var batch in loader.Epoch(epoch))
            {
                trainer.TrainStep(batch.X, batch.Target);
                steps++;
            }
            clock.Stop();
            curve.Add(new BatchSizePoint(epoch, steps, clock.Elapsed.TotalSeconds, trainer.Evaluate(data.Train).Loss, trainer.Evaluate(data.Test).Accuracy));
            progress?.Invoke(name, epoch, options.Epochs);
        }
        var reached = curve.Skip(1).FirstOrDefault(p => p.TestAccuracy >= options.Target);
        return (new BatchSizeRow(batchSize, full, lr, curve, reached), model);
    }

    /// <summary>
    /// The simple gradient-noise scale B = tr(Σ) / |G|² of <paramref name="model"/> on <paramref name="data"/>: G is the
    /// full-batch gradient and Σ the covariance of the per-example gradients, both exact (one backward per example).
    /// A batch of B examples has a gradient whose noise |G|² tr(Σ)/B equals the signal |G|² at B = tr(Σ)/|G|².
    /// </summary>
    public static double NoiseScale(Module model, InMemoryDataset data)
    {
        var optimizer = new SGD(model.Parameters(), 0);
        var loss = new Trainer(model, optimizer).LossFor(data);
        var grad = optimizer.Arena.Grad;
        var sum = new double[grad.Length];
        double squares = 0;
        model.Train();
        foreach (var batch in new DataLoader(data, 1))
        {
            optimizer.ZeroGrad();
            loss(model.Forward(batch.X), batch.Target).Backward();
            for (int i = 0; i < grad.Length; i++)
            {
                sum[i] += grad[i];
                squares += (double)grad[i] * grad[i];
            }
        }
        int n = data.Count;
        double meanNorm2 = sum.Sum(s => (s / n) * (s / n));
        double traceSigma = squares / n - meanNorm2;
        return traceSigma / meanNorm2;
    }

    /// <summary>Writes <c>batch-size-loss-epochs.svg</c> and <c>batch-size-loss-time.svg</c> into <paramref name="directory"/>; returns their paths.</summary>
    public static IReadOnlyList<string> WritePictures(BatchSizeExperimentResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var byEpoch = Path.Combine(directory, "batch-size-loss-epochs.svg");
        var byTime = Path.Combine(directory, "batch-size-loss-time.svg");
        File.WriteAllText(byEpoch, LineChart.Svg("Training loss on digits against epochs", "epoch", "training loss",
            result.Rows.Select(r => new Series($"B = {r.Name}", r.Curve.Select(p => ((double)p.Epoch, p.TrainLoss)).ToList())).ToList(), logY: true));
        File.WriteAllText(byTime, LineChart.Svg("Training loss on digits against training time", "seconds", "training loss",
            result.Rows.Select(r => new Series($"B = {r.Name}", r.Curve.Select(p => (p.Seconds, p.TrainLoss)).ToList())).ToList(), logY: true));
        return [byEpoch, byTime];
    }
}
