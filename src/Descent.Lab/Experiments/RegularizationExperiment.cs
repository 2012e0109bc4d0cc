using System.Globalization;
using Descent.Autodiff;
using Descent.Data;
using Descent.Data.Transforms;
using Descent.Init;
using Descent.TensorBoard;
using Descent.Nn;
using Descent.Optim;
using Descent.Lab.Plots;
using Descent.Regularization;
using Descent.Training;
using static Descent.Lab.Plots.ChartFormat;

namespace Descent.Lab.Experiments;

/// <summary>Settings of the polynomial part of <see cref="RegularizationExperiment"/>.</summary>
public sealed record PolynomialExperimentOptions
{
    /// <summary>The λ grid used when none is given: 0 and every decade from 10⁻⁶ to 10.</summary>
    public static IReadOnlyList<double> DefaultLambdas { get; } = [0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

    /// <summary>Noisy training points; few, so that a degree-15 polynomial can chase their noise.</summary>
    public int TrainSamples { get; init; } = 20;

    /// <summary>Validation points drawn the same way; many, so that the validation error is a good estimate.</summary>
    public int ValidationSamples { get; init; } = 200;

    /// <summary>Standard deviation σ of the Gaussian noise added to sin(2πx).</summary>
    public double Noise { get; init; } = 0.3;

    /// <summary>Polynomial degrees to fit.</summary>
    public IReadOnlyList<int> Degrees { get; init; } = [1, 4, 15];

    /// <summary>L2 strengths λ (≥ 0) to sweep.</summary>
    public IReadOnlyList<double> Lambdas { get; init; } = DefaultLambdas;

    /// <summary>Seed of the sample positions and noise.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (TrainSamples < 2) throw new ArgumentException($"the polynomial part needs at least 2 training samples, got {TrainSamples}");
        if (ValidationSamples < 1) throw new ArgumentException($"the polynomial part needs at least 1 validation sample, got {ValidationSamples}");
        if (!(Noise >= 0) || !double.IsFinite(Noise)) throw new ArgumentException(Inv($"noise must be a finite number ≥ 0, got {Noise}"));
        if (Degrees.Count == 0) throw new ArgumentException("no polynomial degrees given");
        foreach (int d in Degrees)
        {
            if (d < 0 || d > PolynomialRidge.MaxDegree) throw new ArgumentException($"polynomial degrees must be in 0..{PolynomialRidge.MaxDegree}, got {d}");
            if (Lambdas.Contains(0) && TrainSamples <= d)
                throw new ArgumentException($"λ = 0 with degree {d} needs more than {d} training samples, got {TrainSamples}");
        }
        if (Lambdas.Count == 0) throw new ArgumentException("no λ values given");
        foreach (double l in Lambdas)
            if (!(l >= 0) || double.IsInfinity(l)) throw new ArgumentException(Inv($"λ must be a finite number ≥ 0, got {l}"));
    }
}

/// <summary>The noisy samples of y = sin(2πx) + ε, x uniform on [0, 1], ε ~ N(0, σ²).</summary>
/// <param name="TrainX">Training inputs.</param>
/// <param name="TrainY">Training targets.</param>
/// <param name="ValidationX">Validation inputs.</param>
/// <param name="ValidationY">Validation targets.</param>
/// <param name="Noise">σ, the noise's standard deviation; σ² is the lowest validation MSE any model can expect.</param>
public sealed record PolynomialData(double[] TrainX, double[] TrainY, double[] ValidationX, double[] ValidationY, double Noise)
{
    /// <summary>The noiseless function the samples come from.</summary>
    public static double Truth(double x) => Math.Sin(2 * Math.PI * x);

    /// <summary>Draws the samples: training points first, then validation points, from one seeded stream.</summary>
    public static PolynomialData Generate(int trainSamples, int validationSamples, double noise, int seed)
    {
        var random = new Random(seed);
        (double[] X, double[] Y) Draw(int n)
        {
            var x = new double[n];
            var y = new double[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = random.NextDouble();
                y[i] = Truth(x[i]) + noise * random.NextGaussian();
            }
            return (x, y);
        }
        var (tx, ty) = Draw(trainSamples);
        var (vx, vy) = Draw(validationSamples);
        return new PolynomialData(tx, ty, vx, vy, noise);
    }
}

/// <summary>One (degree, λ) cell of the polynomial sweep.</summary>
/// <param name="Degree">Polynomial degree.</param>
/// <param name="Lambda">L2 strength λ.</param>
/// <param name="TrainMse">Mean squared error on the training points (without the penalty).</param>
/// <param name="ValidationMse">Mean squared error on the validation points.</param>
/// <param name="Fit">The fitted polynomial.</param>
public sealed record PolynomialRun(int Degree, double Lambda, double TrainMse, double ValidationMse, PolynomialFit Fit)
{
    /// <summary>The generalization gap: validation MSE − training MSE.</summary>
    public double Gap => ValidationMse - TrainMse;
}

/// <summary>
/// The exact ridge fit against Descent's own training machinery on the same objective: a <c>Linear(d, 1)</c> on the
/// Legendre features, <c>Functional.MseLoss</c> plus <c>WeightPenalty.L2(λ)</c>, minimized by L-BFGS in float32.
/// </summary>
/// <param name="Degree">Polynomial degree.</param>
/// <param name="Lambda">L2 strength λ.</param>
/// <param name="ExactObjective">MSE + λ/2‖w‖² of the closed-form fit (the minimum).</param>
/// <param name="DescentObjective">The same objective at the weights Descent's optimizer ended on (float64 evaluation).</param>
/// <param name="MaxCurveDifference">Largest |f_exact(x) − f_descent(x)| over 201 points of [0, 1].</param>
public sealed record AutodiffCheck(int Degree, double Lambda, double ExactObjective, double DescentObjective, double MaxCurveDifference);

/// <summary>Everything the polynomial part measured.</summary>
/// <param name="Data">The samples.</param>
/// <param name="Runs">One run per (degree, λ), degrees in the order given, λ ascending within a degree.</param>
/// <param name="Checks">For each degree, the closed form against Descent's optimizer at that degree's best λ &gt; 0.</param>
public sealed record PolynomialResult(PolynomialData Data, IReadOnlyList<PolynomialRun> Runs, IReadOnlyList<AutodiffCheck> Checks)
{
    /// <summary>The degrees, in the order given.</summary>
    public IReadOnlyList<int> Degrees => Runs.Select(r => r.Degree).Distinct().ToList();

    /// <summary>The run of <paramref name="degree"/> at <paramref name="lambda"/>.</summary>
    public PolynomialRun Get(int degree, double lambda) =>
        Runs.FirstOrDefault(r => r.Degree == degree && r.Lambda == lambda)
        ?? throw new ArgumentException(FormattableString.Invariant($"no run of degree {degree} at λ = {lambda}"));

    /// <summary>The runs of one degree, λ ascending.</summary>
    public IReadOnlyList<PolynomialRun> OfDegree(int degree) => Runs.Where(r => r.Degree == degree).ToList();

    /// <summary>The run of <paramref name="degree"/> with the lowest validation error (what choosing λ on validation picks).</summary>
    public PolynomialRun Best(int degree) => OfDegree(degree).MinBy(r => r.ValidationMse)
        ?? throw new ArgumentException($"no runs of degree {degree}");
}

/// <summary>Settings of the small-training-set part of <see cref="RegularizationExperiment"/>.</summary>
public sealed record SubsetExperimentOptions
{
    /// <summary>The regularizers, in the order they are run by default.</summary>
    public static IReadOnlyList<string> RegularizerNames { get; } = ["none", "dropout", "l2", "augment", "all"];

    /// <summary><c>digits</c> (embedded) or <c>fashion-mnist</c>.</summary>
    public string Dataset { get; init; } = "digits";

    /// <summary>Directory of the Fashion-MNIST files; the installed default when null.</summary>
    public string? DataDir { get; init; }

    /// <summary>Size of the training subset (stratified): small, so that an unregularized MLP memorizes it.</summary>
    public int Samples { get; init; } = 500;

    /// <summary>
    /// Validation samples (stratified); null takes every digits sample not in the training subset, or 2,000 of
    /// Fashion-MNIST's test set.
    /// </summary>
    public int? ValidationSamples { get; init; }

    /// <summary>Epochs per run.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Hidden layer sizes of the MLP.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [256, 256];

    /// <summary>SGD learning rate.</summary>
    public double Lr { get; init; } = 0.02;

    /// <summary>SGD momentum; the L2 penalty then acts as classic weight decay (see docs/regularization.md).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Dropout probability after every hidden activation in the <c>dropout</c> and <c>all</c> runs.</summary>
    public double Dropout { get; init; } = 0.5;

    /// <summary>λ of the L2 penalty (<c>WeightPenalty.L2</c>) in the <c>l2</c> and <c>all</c> runs.</summary>
    public double L2 { get; init; } = 1e-2;

    /// <summary>Augmentation spec (<see cref="Augmentation.Parse"/>) of the <c>augment</c> and <c>all</c> runs.</summary>
    public string Augment { get; init; } = "translate:1";

    /// <summary>Which runs to make, from <see cref="RegularizerNames"/>.</summary>
    public IReadOnlyList<string> Regularizers { get; init; } = RegularizerNames;

    /// <summary>Seed of the subset, the initial weights (the same for every run), batch order, dropout and augmentation.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> (or <see cref="FormatException"/> for the augmentation) naming the first bad setting.</summary>
    public void Validate()
    {
        if (!DataPreparation.Names.Contains(Dataset)) throw new ArgumentException($"unknown dataset '{Dataset}' (expected one of: {string.Join(", ", DataPreparation.Names)})", nameof(Dataset));
        if (Samples < 10) throw new ArgumentException($"the training subset needs at least 10 samples (one per class), got {Samples}", nameof(Samples));
        if (ValidationSamples is < 10) throw new ArgumentException($"validation needs at least 10 samples, got {ValidationSamples}", nameof(ValidationSamples));
        if (Epochs < 1) throw new ArgumentException($"epochs must be a positive integer, got {Epochs}", nameof(Epochs));
        if (BatchSize < 1) throw new ArgumentException($"batch size must be a positive integer, got {BatchSize}", nameof(BatchSize));
        if (Hidden.Count == 0 || Hidden.Any(h => h < 1)) throw new ArgumentException($"hidden layer sizes must be positive integers, got [{string.Join(", ", Hidden)}]", nameof(Hidden));
        if (!(Lr > 0) || !double.IsFinite(Lr)) throw new ArgumentException(Inv($"Invalid learning rate: {Lr}"), nameof(Lr));
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException(Inv($"Invalid momentum value: {Momentum}"), nameof(Momentum));
        if (!(Dropout > 0 && Dropout < 1)) throw new ArgumentException(Inv($"dropout probability must be in (0, 1), got {Dropout}"), nameof(Dropout));
        if (!(L2 > 0) || !double.IsFinite(L2)) throw new ArgumentException(Inv($"the L2 λ must be a positive number, got {L2}"), nameof(L2));
        Augmentation.Parse(Augment);
        if (Regularizers.Count == 0) throw new ArgumentException($"no regularizers given (expected some of: {string.Join(", ", RegularizerNames)})");
        foreach (var r in Regularizers)
            if (!RegularizerNames.Contains(r)) throw new ArgumentException($"unknown regularizer '{r}' (expected some of: {string.Join(", ", RegularizerNames)})");
    }
}

/// <summary>
/// Metrics after one epoch, measured in evaluation mode on the clean training subset and on validation, so that
/// dropout and augmentation do not lower the training numbers the gap is taken from.
/// </summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TrainLoss">Cross-entropy on the training subset.</param>
/// <param name="TrainAccuracy">Accuracy on the training subset.</param>
/// <param name="ValidationLoss">Cross-entropy on validation.</param>
/// <param name="ValidationAccuracy">Accuracy on validation.</param>
public sealed record SubsetEpoch(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss, double ValidationAccuracy)
{
    /// <summary>The generalization gap in accuracy: training − validation.</summary>
    public double Gap => TrainAccuracy - ValidationAccuracy;

    /// <summary>The gap in loss: validation − training cross-entropy. An L2 penalty shrinks it long before it moves accuracies.</summary>
    public double LossGap => ValidationLoss - TrainLoss;
}

/// <summary>One training run of the subset part.</summary>
/// <param name="Name">The regularizer: none, dropout, l2, augment or all.</param>
/// <param name="Description">What the run adds, e.g. <c>dropout 0.5</c>.</param>
/// <param name="History">One entry per epoch.</param>
public sealed record SubsetRun(string Name, string Description, IReadOnlyList<SubsetEpoch> History)
{
    /// <summary>The metrics after the last epoch.</summary>
    public SubsetEpoch Final => History[^1];
}

/// <summary>Everything the subset part measured.</summary>
/// <param name="Dataset">The dataset.</param>
/// <param name="TrainSamples">Size of the training subset.</param>
/// <param name="ValidationSamples">Size of the validation set.</param>
/// <param name="Model">The MLP, described.</param>
/// <param name="Runs">One run per regularizer, in the order given.</param>
public sealed record SubsetResult(string Dataset, int TrainSamples, int ValidationSamples, string Model, IReadOnlyList<SubsetRun> Runs)
{
    /// <summary>The run named <paramref name="name"/>.</summary>
    public SubsetRun Get(string name) => Runs.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"no run named '{name}'");
}

/// <summary>The SVG files <see cref="RegularizationExperiment"/> wrote.</summary>
/// <param name="Files">Paths, in the order written.</param>
public sealed record ExperimentPictures(IReadOnlyList<string> Files);

/// <summary>
/// <c>descent experiment regularization</c>: under- and overfitting and what regularization does to the
/// generalization gap. Part one fits polynomials of several degrees to a few noisy samples of sin(2πx) by exact
/// ridge regression over a λ grid (<see cref="RunPolynomial"/>); part two trains an MLP on a small subset of a
/// classification set with no regularization, dropout, an L2 penalty, augmentation and all three (<see cref="RunSubset"/>).
/// </summary>
public static class RegularizationExperiment
{
    /// <summary>Fits every (degree, λ) by <see cref="PolynomialRidge"/> and checks one fit per degree against Descent's optimizer.</summary>
    public static PolynomialResult RunPolynomial(PolynomialExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var data = PolynomialData.Generate(options.TrainSamples, options.ValidationSamples, options.Noise, options.Seed);
        var lambdas = options.Lambdas.Distinct().Order().ToList();
        var runs = new List<PolynomialRun>();
        foreach (int degree in options.Degrees.Distinct())
            foreach (double lambda in lambdas)
            {
                var fit = PolynomialRidge.Fit(data.TrainX, data.TrainY, degree, lambda);
                runs.Add(new PolynomialRun(degree, lambda, fit.Mse(data.TrainX, data.TrainY), fit.Mse(data.ValidationX, data.ValidationY), fit));
            }
        var result = new PolynomialResult(data, runs, []);
        var checks = new List<AutodiffCheck>();
        foreach (int degree in result.Degrees)
        {
            // λ = 0 at high degree is too ill-posed for a float32 optimizer to settle; the check is about the penalty.
            var best = result.OfDegree(degree).Where(r => r.Lambda > 0).MinBy(r => r.ValidationMse);
            if (best is not null && degree > 0) checks.Add(CheckWithDescent(data, best.Fit));
        }
        return result with { Checks = checks };
    }

    /// <summary>
    /// Minimizes the same ridge objective as <paramref name="exact"/> with Descent's autodiff: a <c>Linear(d, 1)</c>
    /// on the features P₁(t)…P_d(t) (its bias is c₀), <c>MseLoss</c> plus <c>WeightPenalty.L2(λ)</c>, L-BFGS with a
    /// strong-Wolfe line search.
    /// </summary>
    public static AutodiffCheck CheckWithDescent(PolynomialData data, PolynomialFit exact)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(exact);
        int n = data.TrainX.Length, d = exact.Degree;
        if (d < 1) throw new ArgumentException("a degree-0 fit has no weights to penalize");
        var features = new float[n * d];
        var targets = new float[n];
        for (int i = 0; i < n; i++)
        {
            var basis = PolynomialRidge.Legendre(PolynomialRidge.Rescale(data.TrainX[i], exact.XMin, exact.XMax), d);
            for (int k = 1; k <= d; k++) features[i * d + k - 1] = (float)basis[k];
            targets[i] = (float)data.TrainY[i];
        }
        var x = new Tensor(features, 0, n, d);
        var y = new Tensor(targets, 0, n, 1);
        var model = new Linear(d, 1);
        model.Weight.Data.Clear();
        model.Bias!.Data.Clear();
        var optimizer = new LBFGS(model.Parameters(), lr: 1, maxIter: 500, toleranceGrad: 1e-9, toleranceChange: 1e-12, lineSearchFn: LineSearch.StrongWolfe);
        var penalty = WeightPenalty.L2(exact.Lambda);
        for (int round = 0; round < 4; round++)
            optimizer.Step(() =>
            {
                optimizer.ZeroGrad();
                var loss = Functional.MseLoss(model.Forward(x), y);
                float value = loss.Item();
                loss.Backward();
                return value + (float)penalty.AddGradient(optimizer.Arena);
            });
        var coefficients = new double[d + 1];
        coefficients[0] = model.Bias.Data[0];
        for (int k = 1; k <= d; k++) coefficients[k] = model.Weight.Data[k - 1];
        var descent = exact with { Coefficients = coefficients };
        double maxDiff = 0;
        for (int i = 0; i <= 200; i++)
        {
            double px = exact.XMin + (exact.XMax - exact.XMin) * i / 200;
            maxDiff = Math.Max(maxDiff, Math.Abs(exact.Predict(px) - descent.Predict(px)));
        }
        return new AutodiffCheck(d, exact.Lambda, exact.Objective(data.TrainX, data.TrainY), descent.Objective(data.TrainX, data.TrainY), maxDiff);
    }

    /// <summary>
    /// Trains the MLP once per regularizer on the same subset from the same initial weights.
    /// <paramref name="callbacks"/> may add trainer callbacks to a run (a progress bar); it gets the run's name.
    /// With <paramref name="logDir"/> each run writes TensorBoard scalars to <c>logDir/NAME</c>.
    /// </summary>
    public static SubsetResult RunSubset(SubsetExperimentOptions options, Func<string, int, ITrainerCallback?>? callbacks = null, string? logDir = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (train, validation, side) = LoadSubset(options);
        int inputs = train.SampleSize;
        var runs = new List<SubsetRun>();
        string modelText = $"MLP {inputs}→{string.Join("→", options.Hidden)}→{train.NumClasses} (ReLU), SGD lr {Inv($"{options.Lr}")} momentum {Inv($"{options.Momentum}")}, batch {options.BatchSize}, {options.Epochs} epochs";
        foreach (string name in options.Regularizers)
        {
            bool dropout = name is "dropout" or "all", l2 = name is "l2" or "all", augment = name is "augment" or "all";
            var parts = new List<string>();
            if (dropout) parts.Add(Inv($"dropout {options.Dropout}"));
            if (l2) parts.Add(Inv($"L2 λ={options.L2}"));
            if (augment) parts.Add(options.Augment);
            string description = parts.Count == 0 ? "no regularization" : string.Join(" + ", parts);

            var model = BuildMlp(inputs, options.Hidden, train.NumClasses, dropout ? options.Dropout : 0, options.Seed);
            var optimizer = new SGD(model.Parameters(), options.Lr, options.Momentum);
            var trainer = new Trainer(model, optimizer) { Penalty = l2 ? WeightPenalty.L2(options.L2) : null };
            var history = new List<SubsetEpoch>();
            using var writer = logDir is null ? null : new SummaryWriter(Path.Combine(logDir, name));
            trainer.Callbacks.Add(new CleanMetrics(trainer, train, validation, history, writer));
            if (callbacks?.Invoke(name, train.Count) is { } extra) trainer.Callbacks.Add(extra);
            var loader = new DataLoader(augment ? train.WithSampleShape(1, side, side) : train, options.BatchSize, shuffle: true, seed: options.Seed,
                transform: augment ? Augmentation.Parse(options.Augment, options.Seed) : null);
            trainer.Fit(loader, null, options.Epochs);
            writer?.AddHParams(new Dictionary<string, object?>
            {
                ["regularizer"] = name, ["dropout"] = dropout ? options.Dropout : 0, ["l2"] = l2 ? options.L2 : 0, ["augment"] = augment ? options.Augment : "none",
                ["samples"] = train.Count, ["epochs"] = options.Epochs, ["seed"] = options.Seed,
            }, new Dictionary<string, double>
            {
                ["hparam/train_accuracy"] = history[^1].TrainAccuracy, ["hparam/validation_accuracy"] = history[^1].ValidationAccuracy, ["hparam/gap"] = history[^1].Gap, ["hparam/loss_gap"] = history[^1].LossGap,
            }, runName: SummaryWriter.SameRun);
            runs.Add(new SubsetRun(name, description, history));
        }
        return new SubsetResult(options.Dataset, train.Count, validation.Count, modelText, runs);
    }

    /// <summary>
    /// The training subset and validation set, scaled by one global standard deviation of the subset without
    /// subtracting a mean: the background stays 0, which is also what augmentation shifts into the frame.
    /// </summary>
    private static (InMemoryDataset Train, InMemoryDataset Validation, int Side) LoadSubset(SubsetExperimentOptions o)
    {
        InMemoryDataset pool, validationPool;
        int side;
        if (o.Dataset == "digits")
        {
            pool = Datasets.Digits();
            validationPool = pool;
            side = 8;
        }
        else
        {
            (pool, validationPool) = Datasets.FashionMnist(o.DataDir);
            side = 28;
        }
        if (o.Samples >= pool.Count)
            throw new ArgumentException($"the training subset must be smaller than the {pool.Count} samples of {o.Dataset}, got {o.Samples}", nameof(o.Samples));
        var (trainIdx, rest) = Splits.SplitIndices(pool, (double)(pool.Count - o.Samples) / pool.Count, o.Seed, stratify: true);
        var train = pool.Subset(trainIdx);
        // Digits has no separate test split: its validation comes from the samples left out of the subset.
        var candidates = o.Dataset == "digits" ? pool.Subset(rest) : validationPool;
        int wanted = o.ValidationSamples ?? (o.Dataset == "digits" ? candidates.Count : 2000);
        if (wanted > candidates.Count)
            throw new ArgumentException($"only {candidates.Count} samples are left for validation, got {wanted}", nameof(o.ValidationSamples));
        var validation = wanted == candidates.Count ? candidates
            : candidates.Subset(Splits.SplitIndices(candidates, (double)wanted / candidates.Count, o.Seed + 1, stratify: true).HeldOut);
        var scale = new Standardizer(StandardizationMode.Global, withMean: false).Fit(train);
        return (scale.Transform(train), scale.Transform(validation), side);
    }

    /// <summary>The MLP with its initial weights and dropout masks from a generator of its own, so runs do not depend on <see cref="Rng.Default"/>.</summary>
    private static Sequential BuildMlp(int inputs, IReadOnlyList<int> hidden, int classes, double dropout, int seed)
    {
        var init = new Random(seed);
        var masks = new Random(seed + 1);
        var net = new Sequential(new Flatten());
        int prev = inputs;
        foreach (int h in hidden)
        {
            var linear = new Linear(prev, h);
            Initializers.TorchDefault(linear.Weight, linear.Bias, init);
            net.Add(linear);
            net.Add(new ReLU());
            if (dropout > 0) net.Add(new Dropout(dropout, masks));
            prev = h;
        }
        var output = new Linear(prev, classes);
        Initializers.TorchDefault(output.Weight, output.Bias, init);
        net.Add(output);
        return net;
    }

    /// <summary>Evaluates the training subset (clean, eval mode) and validation after every epoch, and logs them.</summary>
    private sealed class CleanMetrics(Trainer trainer, Dataset train, Dataset validation, List<SubsetEpoch> history, SummaryWriter? writer) : ITrainerCallback
    {
        public void OnEpochEnd(EpochResult result)
        {
            var t = trainer.Evaluate(train);
            var v = trainer.Evaluate(validation);
            var e = new SubsetEpoch(result.Epoch, t.Loss, t.Accuracy, v.Loss, v.Accuracy);
            history.Add(e);
            if (writer is null) return;
            writer.AddScalar("accuracy/train", e.TrainAccuracy, e.Epoch);
            writer.AddScalar("accuracy/validation", e.ValidationAccuracy, e.Epoch);
            writer.AddScalar("accuracy/gap", e.Gap, e.Epoch);
            writer.AddScalar("loss/train", e.TrainLoss, e.Epoch);
            writer.AddScalar("loss/validation", e.ValidationLoss, e.Epoch);
            writer.AddScalar("loss/gap", e.LossGap, e.Epoch);
        }
    }

    /// <summary>
    /// Writes the polynomial part to TensorBoard: per degree a run <c>logDir/degree-D</c> whose scalars
    /// <c>mse/train</c>, <c>mse/validation</c> and <c>mse/gap</c> are indexed by the position of λ in the grid
    /// (step k is the k-th λ, listed in the run's text), and per (degree, λ) an HParams session, where λ gets a
    /// proper (log) axis.
    /// </summary>
    public static void LogPolynomial(string logDir, PolynomialResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        foreach (int degree in result.Degrees)
        {
            using var writer = new SummaryWriter(Path.Combine(logDir, $"degree-{degree}"));
            var runs = result.OfDegree(degree);
            for (int k = 0; k < runs.Count; k++)
            {
                writer.AddScalar("mse/train", runs[k].TrainMse, k);
                writer.AddScalar("mse/validation", runs[k].ValidationMse, k);
                writer.AddScalar("mse/gap", runs[k].Gap, k);
                writer.AddHParams(new Dictionary<string, object?> { ["degree"] = degree, ["lambda"] = runs[k].Lambda },
                    new Dictionary<string, double> { ["hparam/train_mse"] = runs[k].TrainMse, ["hparam/validation_mse"] = runs[k].ValidationMse, ["hparam/gap"] = runs[k].Gap },
                    runName: $"lambda-{Inv($"{runs[k].Lambda:G3}")}");
            }
            writer.AddText("lambda_grid", string.Join("  \n", runs.Select((r, k) => Inv($"step {k}: λ = {r.Lambda:G3}"))));
        }
    }

    /// <summary>
    /// Writes <c>poly-fits-lambda0.svg</c> (data and the unregularized fits), <c>poly-fits-best.svg</c> (each degree at
    /// its best λ), <c>poly-mse-degree-D.svg</c> per degree (training and validation MSE against log₁₀ λ) and
    /// <c>poly-gap-vs-lambda.svg</c> into <paramref name="directory"/>.
    /// </summary>
    public static ExperimentPictures WritePolynomialPictures(string directory, PolynomialResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        var data = result.Data;
        var points = new List<ScatterPoints>
        {
            new("validation", Zip(data.ValidationX, data.ValidationY), Filled: false),
            new("training", Zip(data.TrainX, data.TrainY)),
        };
        var truth = new FitCurve("sin(2πx)", Curve(PolynomialData.Truth), Dashed: true);
        double yLimit = 2.5;
        double smallest = result.Runs.Select(r => r.Lambda).Min();
        string Write(string name, string svg)
        {
            string path = Path.Combine(directory, name);
            File.WriteAllText(path, svg);
            files.Add(path);
            return path;
        }
        var unregularized = result.Degrees.Select(d => result.Get(d, smallest)).ToList();
        Write("poly-fits-lambda0.svg", ScatterFitChart.Svg(
            Inv($"Ridge fits at λ = {smallest:G3}: {data.TrainX.Length} noisy samples of sin(2πx), σ = {data.Noise}"), "x", "y", points,
            [truth, .. unregularized.Select(r => new FitCurve(Inv($"degree {r.Degree}"), Curve(r.Fit.Predict)))], -yLimit, yLimit));
        var best = result.Degrees.Select(result.Best).ToList();
        Write("poly-fits-best.svg", ScatterFitChart.Svg("Ridge fits at the λ with the lowest validation MSE", "x", "y", points,
            [truth, .. best.Select(r => new FitCurve(Inv($"degree {r.Degree}, λ = {r.Lambda:G3}"), Curve(r.Fit.Predict)))], -yLimit, yLimit));

        // λ = 0 has no logarithm: it is drawn one decade left of the smallest positive λ.
        var positive = result.Runs.Select(r => r.Lambda).Where(l => l > 0).ToList();
        double zeroAt = positive.Count > 0 ? Math.Log10(positive.Min()) - 1 : 0;
        double X(double lambda) => lambda > 0 ? Math.Log10(lambda) : zeroAt;
        string zeroNote = result.Runs.Any(r => r.Lambda == 0) ? Inv($" (λ = 0 drawn at {zeroAt:G3})") : "";
        // A wild unregularized fit reaches validation errors of 10⁴ and more; drawn as they are, they would flatten
        // the interesting decade around the noise floor, so values above the cap are pinned to the chart's top.
        const double cap = 10;
        foreach (int d in result.Degrees)
        {
            var runs = result.OfDegree(d);
            bool capped = runs.Any(r => r.ValidationMse > cap);
            Write($"poly-mse-degree-{d}.svg", LineChart.Svg(
                Inv($"Degree {d}: training and validation MSE against λ (noise floor σ² = {data.Noise * data.Noise:G3}){(capped ? ", capped at 10" : "")}"),
                "log₁₀ λ" + zeroNote, "MSE",
                [
                    new Series("training", runs.Select(r => (X(r.Lambda), r.TrainMse)).ToList()),
                    new Series("validation", runs.Select(r => (X(r.Lambda), Math.Min(r.ValidationMse, cap))).ToList()),
                ], logY: true));
        }
        // A linear axis, since an underfit model's gap is about 0 and can be negative; huge gaps are pinned at 1.
        Write("poly-gap-vs-lambda.svg", LineChart.Svg("Generalization gap (validation − training MSE) against λ, capped at 1", "log₁₀ λ" + zeroNote, "validation MSE − training MSE",
            result.Degrees.Select(d => new Series($"degree {d}", result.OfDegree(d).Select(r => (X(r.Lambda), Math.Min(r.Gap, 1))).ToList())).ToList()));
        return new ExperimentPictures(files);

        static IReadOnlyList<(double X, double Y)> Zip(double[] x, double[] y) => x.Zip(y).ToList();
        static IReadOnlyList<(double X, double Y)> Curve(Func<double, double> f) => Enumerable.Range(0, 401).Select(i => (i / 400.0, f(i / 400.0))).ToList();
    }

    /// <summary>
    /// Writes <c>subset-val-accuracy.svg</c>, <c>subset-train-accuracy.svg</c>, <c>subset-gap.svg</c> (training −
    /// validation accuracy) and <c>subset-loss-gap.svg</c> (validation − training loss), one line per run and a point
    /// per epoch, into <paramref name="directory"/>.
    /// </summary>
    public static ExperimentPictures WriteSubsetPictures(string directory, SubsetResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Directory.CreateDirectory(directory);
        string title = $"{result.Dataset}: {result.TrainSamples} training samples, {result.ValidationSamples} validation";
        var files = new List<string>();
        void Write(string name, string chartTitle, string yLabel, Func<SubsetEpoch, double> value)
        {
            string path = Path.Combine(directory, name);
            File.WriteAllText(path, LineChart.Svg($"{chartTitle}, {title}", "epoch", yLabel,
                result.Runs.Select(r => new Series(r.Name, r.History.Select(e => ((double)e.Epoch, value(e))).ToList())).ToList()));
            files.Add(path);
        }
        Write("subset-val-accuracy.svg", "Validation accuracy", "validation accuracy", e => e.ValidationAccuracy);
        Write("subset-train-accuracy.svg", "Training accuracy (eval mode, clean data)", "training accuracy", e => e.TrainAccuracy);
        Write("subset-gap.svg", "Accuracy gap", "train − validation accuracy", e => e.Gap);
        Write("subset-loss-gap.svg", "Loss gap", "validation − train cross-entropy", e => e.LossGap);
        return new ExperimentPictures(files);
    }
}
