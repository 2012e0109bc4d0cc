using System.Diagnostics;
using Descent.Data;
using Descent.Lab.Plots;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Lab.Experiments;

/// <summary>What <see cref="TransferExperiment.Run"/> trains; the defaults take well under a minute on two cores.</summary>
public sealed record TransferExperimentOptions
{
    /// <summary>Directory of the Fashion-MNIST IDX files; null for the default.</summary>
    public string? DataDir { get; init; }
    /// <summary>Labelled examples per class of the new task, one row each.</summary>
    public IReadOnlyList<int> Shots { get; init; } = [10, 30, 100];
    /// <summary>Seeds per row: seed <see cref="Seed"/>, <see cref="Seed"/> + 1, … draw the examples and the new head.</summary>
    public int Seeds { get; init; } = 3;
    /// <summary>First seed; also the seed of the pre-training subset and run.</summary>
    public int Seed { get; init; }
    /// <summary>Images of classes 0–4 pre-trained on (all 30,000 there are by default; fewer for a quicker run).</summary>
    public int PretrainSamples { get; init; } = 30000;
    /// <summary>Epochs of pre-training.</summary>
    public int PretrainEpochs { get; init; } = 2;
    /// <summary>Adam steps on the few labelled examples, the same for every method.</summary>
    public int Steps { get; init; } = 100;
    /// <summary>Test images of classes 5–9 the accuracy is measured on (the same ones for every run; 5000 there are).</summary>
    public int TestSamples { get; init; } = 2000;
    /// <summary>Mini-batch size of both phases (the whole few-shot set when it is smaller).</summary>
    public int BatchSize { get; init; } = 25;
    /// <summary>Adam learning rate of both phases.</summary>
    public double Lr { get; init; } = 1e-3;

    /// <summary>Checks every knob; messages name it.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    public void Validate()
    {
        if (Shots.Count == 0 || Shots.Any(n => n < 1 || n > 5000)) throw new ArgumentException("shots must be examples per class in 1…5000, at least one");
        if (Seeds < 1) throw new ArgumentException($"seeds must be a positive integer, got {Seeds}");
        if (TestSamples < 5 || TestSamples > 5000) throw new ArgumentException($"test samples must be in 5…5000, got {TestSamples}");
        if (PretrainSamples < 10 || PretrainSamples > 30000) throw new ArgumentException($"pretrain samples must be in 10…30000, got {PretrainSamples}");
        if (PretrainEpochs < 1) throw new ArgumentException($"pretrain epochs must be a positive integer, got {PretrainEpochs}");
        if (Steps < 1) throw new ArgumentException($"steps must be a positive integer, got {Steps}");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be a positive integer, got {BatchSize}");
        if (!(Lr > 0) || !double.IsFinite(Lr)) throw new ArgumentException($"Invalid learning rate: {Lr}");
    }
}

/// <summary>One method at one number of examples per class, over the seeds.</summary>
/// <param name="Shots">Labelled examples per class.</param>
/// <param name="Method"><c>scratch</c>, <c>finetune</c> or <c>frozen</c>.</param>
/// <param name="Accuracies">Test accuracy on classes 5–9, one per seed.</param>
public sealed record TransferCell(int Shots, string Method, IReadOnlyList<double> Accuracies)
{
    /// <summary>Mean test accuracy over the seeds.</summary>
    public double Mean => Accuracies.Average();

    /// <summary>Sample standard deviation over the seeds (n − 1; 0 for one seed).</summary>
    public double Std => Accuracies.Count < 2 ? 0 : Math.Sqrt(Accuracies.Sum(a => (a - Mean) * (a - Mean)) / (Accuracies.Count - 1));
}

/// <summary>The table and what it took.</summary>
/// <param name="Options">What ran.</param>
/// <param name="PretrainAccuracy">Test accuracy of the pre-trained model on classes 0–4.</param>
/// <param name="TestSamples">Test images of classes 5–9.</param>
/// <param name="Cells">Every (shots, method) cell, shots in order, methods in <see cref="TransferExperiment.Methods"/> order.</param>
/// <param name="PretrainSeconds">Wall time of loading and pre-training.</param>
/// <param name="Seconds">Wall time of the whole run.</param>
public sealed record TransferExperimentResult(TransferExperimentOptions Options, double PretrainAccuracy, int TestSamples, IReadOnlyList<TransferCell> Cells, double PretrainSeconds, double Seconds)
{
    /// <summary>The cell of <paramref name="method"/> at <paramref name="shots"/> examples per class.</summary>
    public TransferCell this[int shots, string method] => Cells.Single(c => c.Shots == shots && c.Method == method);
}

/// <summary>
/// Initializing from a related model (the lectures' last word on initialization): a small CNN pre-trained on
/// Fashion-MNIST classes 0–4 (T-shirt, trouser, pullover, dress, coat) starts the learning of classes 5–9 (sandal,
/// shirt, sneaker, bag, ankle boot) from N labelled examples per class, three ways — from scratch, fine-tuning
/// every layer from the pre-trained body, and training only a new head on the frozen body — over several seeds.
/// </summary>
public static class TransferExperiment
{
    /// <summary>The methods, in table order.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["scratch", "finetune", "frozen"];

    /// <summary>Runs the table; <paramref name="progress"/> gets (what, done, total) after every training run.</summary>
    /// <exception cref="ArgumentException">Bad options.</exception>
    /// <exception cref="FileNotFoundException">Fashion-MNIST is not where <see cref="TransferExperimentOptions.DataDir"/> says.</exception>
    public static TransferExperimentResult Run(TransferExperimentOptions options, Action<string, long, long>? progress = null)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var (train, test) = Datasets.FashionMnist(options.DataDir);
        var rng = new StatefulRandom(options.Seed);
        var pretrainIndices = Shuffled(ClassIndices(train, 0, 5), rng).Take(options.PretrainSamples).ToArray();
        var pretrainSet = Relabel(train.Subset(pretrainIndices), 0);
        // Only the pre-training images set the scale: the new task's few examples are all it may see of its own.
        var standardizer = Standardizer.FitGlobal(pretrainSet);
        pretrainSet = standardizer.Transform(pretrainSet);
        var oldTest = standardizer.Transform(Relabel(test.Subset(ClassIndices(test, 0, 5)), 0));
        var newTest = standardizer.Transform(Relabel(test.Subset(Shuffled(ClassIndices(test, 5, 10), rng).Take(options.TestSamples).ToArray()), 5));

        Rng.ManualSeed(options.Seed);
        var pretrained = Network();
        var pretrainer = new Trainer(pretrained, new Adam(pretrained.Parameters(), options.Lr));
        pretrainer.Fit(new DataLoader(pretrainSet, options.BatchSize, shuffle: true, seed: options.Seed), epochs: options.PretrainEpochs);
        double pretrainAccuracy = pretrainer.Evaluate(oldTest).Accuracy;
        string head = HeadName(pretrained);
        // The body's tensors only: the new task gets a head of its own, initialized afresh.
        var body = pretrained.StateDict().Where(kv => !kv.Key.StartsWith(head + ".", StringComparison.Ordinal)).ToDictionary();
        double pretrainSeconds = clock.Elapsed.TotalSeconds;

        var newTrainByClass = Enumerable.Range(5, 5).Select(c => ClassIndices(train, c, c + 1)).ToList();
        var accuracies = options.Shots.SelectMany(n => Methods.Select(m => (n, m))).ToDictionary(k => k, _ => new List<double>());
        long total = (long)options.Shots.Count * options.Seeds * Methods.Count, done = 0;
        foreach (int shots in options.Shots)
        {
            for (int s = 0; s < options.Seeds; s++)
            {
                int seed = options.Seed + s;
                var draw = new StatefulRandom(seed * 7919 + shots);
                var indices = newTrainByClass.SelectMany(c => Shuffled(c, draw).Take(shots)).ToArray();
                var fewShot = standardizer.Transform(Relabel(train.Subset(indices), 5));
                foreach (var method in Methods)
                {
                    accuracies[(shots, method)].Add(FineTune(method, body, fewShot, newTest, seed, options));
                    progress?.Invoke($"N={shots} {method}", ++done, total);
                }
            }
        }
        var cells = accuracies.Select(kv => new TransferCell(kv.Key.n, kv.Key.m, kv.Value)).ToList();
        return new TransferExperimentResult(options, pretrainAccuracy, newTest.Count, cells, pretrainSeconds, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The network of both tasks: a small convolutional body (conv 3×3 1→8, ReLU, max-pool 2, conv 3×3 8→16, ReLU,
    /// max-pool 2, flatten: 784 features) and a Linear head to five classes. Convolution filters carry over to new
    /// classes; an MLP's first layer learns whole-garment templates that do not (measured: no gain from fine-tuning).
    /// </summary>
    public static Sequential Network() => new(
        new Conv2d(1, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(16 * 7 * 7, 5));

    /// <summary>Trains one method on the few examples and returns its test accuracy on the new classes.</summary>
    private static double FineTune(string method, IReadOnlyDictionary<string, Tensor> body, InMemoryDataset fewShot, InMemoryDataset test, int seed, TransferExperimentOptions options)
    {
        // The same head (and, from scratch, body) initialization for every method at this seed: only the start of the body differs.
        Rng.ManualSeed(1000 + seed);
        var model = Network();
        if (method != "scratch") model.LoadMatching(body);
        if (method == "frozen") model.Freeze(FreezeSpec.Parse($"until:{model.NamedChildren().Count() - 1}", model));
        var trainer = new Trainer(model, new Adam(model.Parameters(), options.Lr));
        var loader = new DataLoader(fewShot, Math.Min(options.BatchSize, fewShot.Count), shuffle: true, seed: seed);
        model.Train();
        for (int epoch = 1, step = 0; step < options.Steps; epoch++)
            foreach (var batch in loader.Epoch(epoch))
            {
                trainer.TrainStep(batch.X, batch.Target);
                if (++step == options.Steps) break;
            }
        return trainer.Evaluate(test).Accuracy;
    }

    private static string HeadName(Sequential model) => model.NamedChildren().Last().Name;

    private static int[] ClassIndices(InMemoryDataset data, int from, int to) =>
        Enumerable.Range(0, data.Count).Where(i => data.Labels[i] >= from && data.Labels[i] < to).ToArray();

    private static int[] Shuffled(int[] indices, Random rng)
    {
        var copy = (int[])indices.Clone();
        rng.Shuffle(copy);
        return copy;
    }

    /// <summary>The dataset with labels shifted down by <paramref name="first"/>, as a five-class task.</summary>
    private static InMemoryDataset Relabel(InMemoryDataset data, int first) =>
        new(data.Features, data.Labels.Select(l => l - first).ToArray(), [1, 28, 28], numClasses: 5);

    /// <summary>Writes <c>transfer-accuracy.svg</c> (test accuracy against examples per class) into <paramref name="directory"/>; returns its path.</summary>
    public static string WritePicture(TransferExperimentResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "transfer-accuracy.svg");
        var labels = new Dictionary<string, string> { ["scratch"] = "from scratch", ["finetune"] = "fine-tune all", ["frozen"] = "frozen body, new head" };
        File.WriteAllText(path, LineChart.Svg($"Fashion-MNIST classes 5–9 from N examples per class (mean of {result.Options.Seeds} seeds)", "examples per class N", "test accuracy",
            Methods.Select(m => new Series(labels[m], result.Cells.Where(c => c.Method == m).Select(c => ((double)c.Shots, c.Mean)).ToList())).ToList()));
        return path;
    }
}
