using System.Diagnostics;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Descent.Nn;
using Descent.Optim;
using Descent.Lab.Plots;
using Descent.Training;

namespace Descent.Lab.Experiments;

/// <summary>One row of the BatchNorm table: a network variant and its learning rate as a multiple of the base.</summary>
/// <param name="Name">The paper's name for it, e.g. <c>BN-x5</c>.</param>
/// <param name="BatchNorm">Batch normalization after every hidden Linear, before the activation.</param>
/// <param name="LrMultiplier">Learning rate = this × the base learning rate.</param>
/// <param name="Activation">Hidden activation; null for the experiment's own.</param>
public sealed record BatchNormVariant(string Name, bool BatchNorm, double LrMultiplier, string? Activation = null)
{
    /// <summary>The paper's rows (Inception is the baseline), plus Baseline-x5, which the paper does not run: it shows whether the baseline tolerates the 5× rate.</summary>
    public static IReadOnlyList<BatchNormVariant> PaperRows { get; } =
    [
        new("Baseline", false, 1),
        new("Baseline-x5", false, 5),
        new("BN-Baseline", true, 1),
        new("BN-x5", true, 5),
        new("BN-x30", true, 30),
        new("BN-x5-Sigmoid", true, 5, "sigmoid"),
    ];
}

/// <summary>What <see cref="BatchNormExperiment.Run"/> trains; defaults finish in seconds on the embedded digits.</summary>
public sealed record BatchNormExperimentOptions
{
    /// <summary><c>digits</c> (embedded) or <c>fashion-mnist</c>.</summary>
    public string Dataset { get; init; } = "digits";
    /// <summary>Directory of the Fashion-MNIST IDX files; null for the default.</summary>
    public string? DataDir { get; init; }
    /// <summary>Hidden layer sizes; three of 100 as in the paper's MNIST network.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [100, 100, 100];
    /// <summary>Hidden activation of the rows that do not name their own.</summary>
    public string Activation { get; init; } = "relu";
    /// <summary>Optimizer steps per row.</summary>
    public int Steps { get; init; } = 1500;
    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Base learning rate of SGD; the rows multiply it.</summary>
    public double Lr { get; init; } = 0.02;
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>
    /// Validation accuracy whose first crossing is the "steps to" column; null for the dataset's
    /// <see cref="DefaultTarget"/>. Ignored when <see cref="TargetFromBaseline"/> is set.
    /// </summary>
    public double? Target { get; init; }
    /// <summary>
    /// The paper's choice of target: the Baseline's best validation accuracy (72.2 % was Inception's). On a
    /// small validation set that best is often a lucky peak, which makes the column noisy, hence not the default.
    /// </summary>
    public bool TargetFromBaseline { get; init; }
    /// <summary>Validation accuracy is measured every this many steps.</summary>
    public int EvalEvery { get; init; } = 10;
    /// <summary>Fraction of the training split held out for validation; null for 0.2 (digits) or 1/12 (5,000 Fashion-MNIST images).</summary>
    public double? ValFraction { get; init; }
    /// <summary>Seed of the split, the initial weights (the same Linear weights in every row) and the batch order.</summary>
    public int Seed { get; init; }
    /// <summary>The rows.</summary>
    public IReadOnlyList<BatchNormVariant> Rows { get; init; } = BatchNormVariant.PaperRows;
    /// <summary>When set, one TensorBoard run per row is written under this directory.</summary>
    public string? LogDir { get; init; }

    /// <summary>
    /// The default target: 97 % on digits and 85 % on Fashion-MNIST, which a healthy run of the default MLP
    /// passes well before the end and a broken one never reaches.
    /// </summary>
    public static double DefaultTarget(string dataset) => dataset == "digits" ? 0.97 : 0.85;

    /// <summary>The validation fraction used: <see cref="ValFraction"/> or the dataset's default.</summary>
    public double EffectiveValFraction => ValFraction ?? (Dataset == "digits" ? 0.2 : 1.0 / 12);

    /// <summary>Checks every knob; messages name the option.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    public void Validate()
    {
        if (!DataPreparation.Names.Contains(Dataset)) throw new ArgumentException($"unknown dataset '{Dataset}' (expected one of: {string.Join(", ", DataPreparation.Names)})");
        if (Hidden.Count == 0 || Hidden.Any(h => h < 1)) throw new ArgumentException("hidden layer sizes must be positive integers, at least one");
        if (!Nn.Activations.Names.Contains(Activation)) throw new ArgumentException($"activation '{Activation}' is unknown (expected one of: {string.Join(", ", Nn.Activations.Names)})");
        if (Steps < 1) throw new ArgumentException($"steps must be a positive integer, got {Steps}");
        if (BatchSize < 2) throw new ArgumentException($"batch size must be at least 2 (batch statistics of one sample are undefined), got {BatchSize}");
        if (!(Lr > 0) || !double.IsFinite(Lr)) throw new ArgumentException($"Invalid learning rate: {Lr}");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException($"momentum must be in [0, 1), got {Momentum}");
        if (Target is { } t && !(t > 0 && t <= 1)) throw new ArgumentException($"target must be an accuracy in (0, 1], got {t}");
        if (TargetFromBaseline && !Rows.Any(r => r.Name == "Baseline")) throw new ArgumentException("the target is to be the Baseline's best accuracy, but no row is named Baseline");
        if (EvalEvery < 1) throw new ArgumentException($"eval-every must be a positive integer, got {EvalEvery}");
        if (!(EffectiveValFraction > 0 && EffectiveValFraction < 1)) throw new ArgumentException($"validation fraction must be in (0, 1), got {EffectiveValFraction}");
        if (Rows.Count == 0) throw new ArgumentException("at least one row is needed");
    }
}

/// <summary>What one row measured.</summary>
/// <param name="Variant">The row.</param>
/// <param name="Lr">The learning rate it used.</param>
/// <param name="StepsToTarget">First evaluation step at which validation accuracy reached the target; null if never.</param>
/// <param name="MaxAccuracy">Best validation accuracy over all evaluations (the paper's "Max accuracy").</param>
/// <param name="StepOfMax">Step of the first evaluation that reached <see cref="MaxAccuracy"/>.</param>
/// <param name="FinalAccuracy">Validation accuracy at the last evaluation.</param>
/// <param name="Diverged">The training loss became NaN or infinite (training stopped there).</param>
/// <param name="Seconds">Wall-clock time of the row.</param>
/// <param name="ValAccuracy">(step, validation accuracy) at every evaluation, step 0 included.</param>
/// <param name="TrainLoss">(step, training loss of that step's batch).</param>
public sealed record BatchNormRowResult(BatchNormVariant Variant, double Lr, long? StepsToTarget, double MaxAccuracy, long StepOfMax, double FinalAccuracy,
    bool Diverged, double Seconds, IReadOnlyList<(long Step, double Accuracy)> ValAccuracy, IReadOnlyList<(long Step, double Loss)> TrainLoss);

/// <summary>The table: every row measured against one target.</summary>
/// <param name="Options">What ran.</param>
/// <param name="Target">The accuracy of the "steps to" column.</param>
/// <param name="TrainSamples">Training samples.</param>
/// <param name="ValidationSamples">Validation samples.</param>
/// <param name="Rows">One result per row, in the order of <see cref="BatchNormExperimentOptions.Rows"/>.</param>
public sealed record BatchNormExperimentResult(BatchNormExperimentOptions Options, double Target, int TrainSamples, int ValidationSamples, IReadOnlyList<BatchNormRowResult> Rows)
{
    /// <summary>The row named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such row.</exception>
    public BatchNormRowResult this[string name] => Rows.FirstOrDefault(r => r.Variant.Name == name) ?? throw new KeyNotFoundException($"no row named {name}");
}

/// <summary>
/// The BatchNorm paper's ImageNet table (Ioffe &amp; Szegedy, 2015, Figure 3) at small scale: an MLP trained with
/// SGD, without and with batch normalization, at 1×, 5× and 30× the base learning rate and with sigmoid
/// instead of ReLU; for each, the steps until validation accuracy first reaches the target and the best
/// validation accuracy. Every row starts from the same Linear weights and sees the same batches.
/// </summary>
public static class BatchNormExperiment
{
    /// <summary>Trains every row. <paramref name="progress"/> gets (row name, step, steps) after every step.</summary>
    /// <exception cref="ArgumentException">Bad options.</exception>
    /// <exception cref="FileNotFoundException">Fashion-MNIST is not where <see cref="BatchNormExperimentOptions.DataDir"/> says.</exception>
    public static BatchNormExperimentResult Run(BatchNormExperimentOptions options, Action<string, long, long>? progress = null)
    {
        options.Validate();
        var data = DataPreparation.Load(options.Dataset, options.DataDir, asImages: false, options.EffectiveValFraction, options.Seed);
        var validation = data.Validation!;
        if (data.Train.Count % options.BatchSize == 1)
            throw new ArgumentException($"{data.Train.Count} training samples in batches of {options.BatchSize} leave 1 in the last batch, which batch normalization cannot normalize; choose another batch size");
        var runs = options.Rows.Select(row => Train(row, data, validation, options, progress)).ToList();
        double target = options.TargetFromBaseline ? runs.First(r => r.Row.Name == "Baseline").Max : options.Target ?? BatchNormExperimentOptions.DefaultTarget(options.Dataset);
        var rows = runs.Select(r => r.Result(target)).ToList();
        if (options.LogDir is { } logDir)
            foreach (var row in rows) WriteTensorBoardRun(logDir, row, options, target);
        return new BatchNormExperimentResult(options, target, data.Train.Count, validation.Count, rows);
    }

    /// <summary>The network of a row: <see cref="Models.Mlp"/> with batch normalization or not, from the seed's weights.</summary>
    public static Sequential Network(BatchNormVariant row, int inputSize, int numClasses, BatchNormExperimentOptions options)
    {
        // BatchNorm1d draws nothing, so with and without it the Linear layers get the same weights.
        Rng.ManualSeed(options.Seed);
        return Models.Mlp(inputSize, options.Hidden, numClasses, row.Activation ?? options.Activation, batchNorm: row.BatchNorm);
    }

    private sealed record RowRun(BatchNormVariant Row, double Lr, bool Diverged, double Seconds, List<(long Step, double Accuracy)> Curve, List<(long Step, double Loss)> Losses)
    {
        public double Max => Curve.Max(p => p.Accuracy);

        public BatchNormRowResult Result(double target)
        {
            // Step 0 is the untrained network: reaching a low target there says nothing about training.
            long? reached = Curve.Skip(1).FirstOrDefault(p => p.Accuracy >= target) is var hit && hit.Step > 0 && hit.Accuracy >= target ? hit.Step : null;
            var best = Curve.First(p => p.Accuracy == Max);
            return new BatchNormRowResult(Row, Lr, reached, best.Accuracy, best.Step, Curve[^1].Accuracy, Diverged, Seconds, Curve, Losses);
        }
    }

    private static RowRun Train(BatchNormVariant row, PreparedData data, Data.Dataset validation, BatchNormExperimentOptions options, Action<string, long, long>? progress)
    {
        var clock = Stopwatch.StartNew();
        var model = Network(row, data.Train.SampleSize, data.NumClasses, options);
        double lr = options.Lr * row.LrMultiplier;
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr, options.Momentum));
        var loader = data.TrainLoader(options.BatchSize, options.Seed);
        var curve = new List<(long, double)> { (0, trainer.Evaluate(validation).Accuracy) };
        var losses = new List<(long, double)>(options.Steps);
        bool diverged = false;
        long step = 0;
        model.Train();
        for (int epoch = 1; step < options.Steps && !diverged; epoch++)
        {
            foreach (var batch in loader.Epoch(epoch))
            {
                float loss = trainer.TrainStep(batch.X, batch.Target);
                step++;
                losses.Add((step, loss));
                diverged = !float.IsFinite(loss);
                if (step % options.EvalEvery == 0 || step == options.Steps || diverged)
                    curve.Add((step, trainer.Evaluate(validation).Accuracy));
                progress?.Invoke(row.Name, step, options.Steps);
                // A diverged network only predicts garbage from here on: its row is decided, the time is better spent elsewhere.
                if (step == options.Steps || diverged) break;
            }
        }
        return new RowRun(row, lr, diverged, clock.Elapsed.TotalSeconds, curve, losses);
    }

    /// <summary>Run directory name of a row under the log directory.</summary>
    public static string RunName(BatchNormVariant row) => row.Name;

    private static void WriteTensorBoardRun(string logDir, BatchNormRowResult row, BatchNormExperimentOptions options, double target)
    {
        using var writer = new SummaryWriter(Path.Combine(logDir, RunName(row.Variant)));
        foreach (var (step, loss) in row.TrainLoss) writer.AddScalar("train/loss", loss, step);
        foreach (var (step, accuracy) in row.ValAccuracy) writer.AddScalar("val/accuracy", accuracy, step);
        var metrics = new Dictionary<string, double> { ["hparam/max_accuracy"] = row.MaxAccuracy, ["hparam/final_accuracy"] = row.FinalAccuracy };
        // The hparams table needs a number; a row that never reached the target shows the whole budget there.
        metrics["hparam/steps_to_target"] = row.StepsToTarget ?? options.Steps;
        writer.AddHParams(new Dictionary<string, object?>
        {
            ["row"] = row.Variant.Name, ["batch_norm"] = row.Variant.BatchNorm, ["lr"] = row.Lr, ["lr_multiplier"] = row.Variant.LrMultiplier,
            ["activation"] = row.Variant.Activation ?? options.Activation, ["dataset"] = options.Dataset, ["target"] = target,
        }, metrics, runName: SummaryWriter.SameRun, status: row.Diverged ? SessionStatus.StatusFailure : SessionStatus.StatusSuccess);
    }

    /// <summary>Writes <c>batchnorm-val-accuracy.svg</c> and <c>batchnorm-train-loss.svg</c> into <paramref name="directory"/>; returns their paths.</summary>
    public static IReadOnlyList<string> WritePictures(BatchNormExperimentResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var accuracy = Path.Combine(directory, "batchnorm-val-accuracy.svg");
        var loss = Path.Combine(directory, "batchnorm-train-loss.svg");
        string target = (result.Target * 100).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "%";
        File.WriteAllText(accuracy, LineChart.Svg($"Validation accuracy on {result.Options.Dataset} (target {target})", "step", "accuracy",
            result.Rows.Select(r => new Series(r.Variant.Name, r.ValAccuracy.Select(p => ((double)p.Step, p.Accuracy)).ToList())).ToList()));
        File.WriteAllText(loss, LineChart.Svg($"Training loss on {result.Options.Dataset} (mean of 20 steps)", "step", "loss",
            result.Rows.Select(r => new Series(r.Variant.Name, LineChart.MovingAverage(r.TrainLoss, 20))).ToList(), logY: true));
        return [accuracy, loss];
    }
}
