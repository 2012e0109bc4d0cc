using Descent.Autodiff;
using Descent.Init;
using Descent.TensorBoard;
using Descent.Nn;
using Descent.Optim;
using Descent.Lab.Plots;
using Descent.Training;

namespace Descent.Lab.Experiments;

/// <summary>
/// A weight initialization of the <see cref="InitExperiment"/>: fills a Linear weight given the activation
/// that follows it (only <see cref="XavierGain"/> looks at it).
/// </summary>
/// <param name="Name">Short name for tables, run directories and the command line, e.g. <c>normal-0.01</c>.</param>
/// <param name="Label">How the lectures write it, e.g. <c>N(0, 0.01²)</c>.</param>
/// <param name="Fill">Fills a weight tensor; the activation name is the <c>torch.nn.functional</c> one.</param>
public sealed record InitScheme(string Name, string Label, Action<Tensor, string, Random> Fill)
{
    /// <summary>All weights 0: every unit computes the same thing, so nothing breaks the symmetry.</summary>
    public static InitScheme Zeros { get; } = new("zeros", "zeros", (w, _, _) => Initializers.Zeros(w));

    /// <summary>N(0, 0.01²): small random weights; activations shrink by about 0.01·√fan_in per layer.</summary>
    public static InitScheme SmallNormal { get; } = new("normal-0.01", "N(0, 0.01²)", (w, _, r) => Initializers.Normal(w, 0, 0.01, r));

    /// <summary>N(0, 1): large random weights; tanh saturates, ReLU activations grow by about √(fan_in/2) per layer.</summary>
    public static InitScheme Normal { get; } = new("normal-1", "N(0, 1)", (w, _, r) => Initializers.Normal(w, 0, 1, r));

    /// <summary>Glorot &amp; Bengio (2010): U(±√(6/(fan_in + fan_out))), <c>xavier_uniform_</c> with gain 1.</summary>
    public static InitScheme Xavier { get; } = new("xavier", "Xavier", (w, _, r) => Initializers.XavierUniform(w, 1, r));

    /// <summary>
    /// Xavier scaled by <c>calculate_gain(activation)</c> (5/3 for tanh, √2 for ReLU), as PyTorch recommends:
    /// the gain makes up for the variance the nonlinearity takes away.
    /// </summary>
    public static InitScheme XavierGain { get; } = new("xavier-gain", "Xavier×gain", (w, act, r) => Initializers.XavierUniform(w, Initializers.CalculateGain(act), r));

    /// <summary>He et al. (2015): U(±√(6/fan_in)), <c>kaiming_uniform_</c> for ReLU.</summary>
    public static InitScheme He { get; } = new("he", "He", (w, _, r) => Initializers.KaimingUniform(w, 0, FanMode.FanIn, "relu", r));

    /// <summary>Every scheme, in the order of the lectures.</summary>
    public static IReadOnlyList<InitScheme> All { get; } = [Zeros, SmallNormal, Normal, Xavier, XavierGain, He];

    /// <summary>The scheme named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No scheme has that name.</exception>
    public static InitScheme Get(string name) => All.FirstOrDefault(s => s.Name == name.Trim().ToLowerInvariant())
        ?? throw new ArgumentException($"unknown init '{name}' (expected one of: {string.Join(", ", All.Select(s => s.Name))})");
}

/// <summary>What <see cref="InitExperiment.Run"/> does; the defaults are the cs231n figure's (10 layers of 500, 1000 samples).</summary>
public sealed record InitExperimentOptions
{
    /// <summary>Hidden layers of the deep network.</summary>
    public int Depth { get; init; } = 10;
    /// <summary>Units per hidden layer of the statistics network.</summary>
    public int Width { get; init; } = 500;
    /// <summary>Random N(0, 1) input samples pushed through the statistics network.</summary>
    public int Samples { get; init; } = 1000;
    /// <summary>Bins of each layer's histogram.</summary>
    public int Bins { get; init; } = 40;
    /// <summary>Seed of the input, the weights, the data split and the batch order.</summary>
    public int Seed { get; init; }
    /// <summary>Activations to compare (<see cref="Nn.Activations.Names"/> that have a <c>calculate_gain</c>: tanh, relu, sigmoid).</summary>
    public IReadOnlyList<string> Activations { get; init; } = ["tanh", "relu"];
    /// <summary>Initializations to compare.</summary>
    public IReadOnlyList<InitScheme> Inits { get; init; } = InitScheme.All;
    /// <summary>Whether to train each configuration for one epoch on the embedded digits.</summary>
    public bool Train { get; init; } = true;
    /// <summary>Units per hidden layer of the network trained on digits (as deep as <see cref="Depth"/>).</summary>
    public int TrainWidth { get; init; } = 100;
    /// <summary>Mini-batch size of the one-epoch training.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>SGD learning rate of the one-epoch training.</summary>
    public double Lr { get; init; } = 0.01;
    /// <summary>SGD momentum of the one-epoch training.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>When set, one TensorBoard run per (activation, init) is written under this directory.</summary>
    public string? LogDir { get; init; }

    /// <summary>Checks every knob; messages name the option.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    public void Validate()
    {
        if (Depth < 1) throw new ArgumentException($"depth must be a positive integer, got {Depth}");
        if (Width < 1) throw new ArgumentException($"width must be a positive integer, got {Width}");
        if (Samples < 2) throw new ArgumentException($"samples must be at least 2 (a standard deviation needs two), got {Samples}");
        if (Bins < 1) throw new ArgumentException($"bins must be a positive integer, got {Bins}");
        if (TrainWidth < 1) throw new ArgumentException($"train width must be a positive integer, got {TrainWidth}");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be a positive integer, got {BatchSize}");
        if (!(Lr > 0) || !double.IsFinite(Lr)) throw new ArgumentException($"Invalid learning rate: {Lr}");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException($"momentum must be in [0, 1), got {Momentum}");
        if (Activations.Count == 0) throw new ArgumentException("at least one activation is needed");
        if (Inits.Count == 0) throw new ArgumentException("at least one init is needed");
        foreach (var a in Activations)
            if (a is not ("tanh" or "relu" or "sigmoid"))
                throw new ArgumentException($"activation '{a}' is not one of tanh, relu, sigmoid");
    }
}

/// <summary>Statistics of one hidden layer's activations (after the nonlinearity) over all samples and units.</summary>
/// <param name="Layer">1-based layer index.</param>
/// <param name="Mean">Mean activation.</param>
/// <param name="Std">Standard deviation of the activations (population, over samples × units).</param>
/// <param name="SaturatedFraction">Fraction with |a| &gt; 0.99: tanh units in their flat tails.</param>
/// <param name="ZeroFraction">Fraction exactly 0: dead ReLU units, or everything under zero init.</param>
/// <param name="Histogram">
/// The distribution over the row's common range (see <see cref="InitExperiment"/>); for ReLU the exact zeros
/// are left out (they are <see cref="ZeroFraction"/>) so that the positive part stays visible.
/// </param>
public sealed record LayerActivationStats(int Layer, double Mean, double Std, double SaturatedFraction, double ZeroFraction, Histogram Histogram);

/// <summary>One epoch of SGD on the embedded digits from an initialization.</summary>
/// <param name="TrainLoss">Mean training loss over the epoch.</param>
/// <param name="ValLoss">Validation loss after the epoch (NaN or ∞ when training blew up).</param>
/// <param name="ValAccuracy">Validation accuracy after the epoch.</param>
/// <param name="Steps">Optimizer steps taken.</param>
public sealed record OneEpochTraining(double TrainLoss, double ValLoss, double ValAccuracy, int Steps)
{
    /// <summary>Chance level on the ten digit classes.</summary>
    public const double Chance = 0.1;

    /// <summary>The verdict the table prints: validation accuracy at least five times chance after one epoch.</summary>
    public bool Learns => ValAccuracy >= 5 * Chance && double.IsFinite(ValLoss);
}

/// <summary>One (activation, init) configuration: per-layer statistics and, if asked, one epoch of training.</summary>
/// <param name="Activation">"tanh", "relu" or "sigmoid".</param>
/// <param name="Init">The initialization of every Linear weight.</param>
/// <param name="Layers">Statistics of each hidden layer's activations, first layer first.</param>
/// <param name="Training">The one-epoch training result; null when training was skipped.</param>
public sealed record InitRun(string Activation, InitScheme Init, IReadOnlyList<LayerActivationStats> Layers, OneEpochTraining? Training)
{
    /// <summary>Standard deviation of the last layer divided by that of the first (0 when the first is 0).</summary>
    public double StdRatio => Layers[0].Std > 0 ? Layers[^1].Std / Layers[0].Std : 0;
}

/// <summary>Every configuration's results, in activation-major order.</summary>
/// <param name="Options">The settings the experiment ran with.</param>
/// <param name="Runs">One run per (activation, init) pair.</param>
public sealed record InitExperimentResult(InitExperimentOptions Options, IReadOnlyList<InitRun> Runs)
{
    /// <summary>The run of one configuration.</summary>
    /// <exception cref="KeyNotFoundException">The experiment did not run that pair.</exception>
    public InitRun Get(string activation, InitScheme init) =>
        Runs.FirstOrDefault(r => r.Activation == activation && r.Init == init) ?? throw new KeyNotFoundException($"no run for {activation} with {init.Name}");
}

/// <summary>
/// The lectures' initialization experiment. Part one: random N(0, 1) inputs through a deep MLP (no training,
/// biases 0) for each activation and init, recording the mean, standard deviation, saturated and zero
/// fractions and a histogram of every layer's activations: N(0, 0.01²) makes them vanish, N(0, 1) saturates
/// tanh (and blows ReLU up), Xavier keeps tanh and He keeps ReLU at a steady scale. Part two: the same depth,
/// narrower, trained for one epoch on the embedded digits with SGD, to show which of them learn at all.
/// </summary>
/// <remarks>
/// Each row of histograms shares one x range, so that a distribution shrinking or growing across layers is
/// seen as such: [−1, 1] for tanh, [0, 1] for sigmoid, [0, largest activation of the row] for ReLU.
/// </remarks>
public static class InitExperiment
{
    /// <summary>Runs every (activation, init) pair; <paramref name="progress"/> gets a line per pair before it starts.</summary>
    /// <exception cref="ArgumentException">Bad options.</exception>
    public static InitExperimentResult Run(InitExperimentOptions options, Action<string>? progress = null)
    {
        options.Validate();
        var input = RandomInput(options);
        PreparedData? digits = options.Train ? DataPreparation.Load("digits", null, asImages: false, DataPreparation.DefaultValFraction("digits"), options.Seed) : null;
        var runs = new List<InitRun>();
        foreach (var activation in options.Activations)
            foreach (var init in options.Inits)
            {
                progress?.Invoke($"{activation} / {init.Label}");
                var layers = LayerStatistics(input, options, activation, init, out var activations);
                var training = digits is null ? null : TrainOneEpoch(digits, options, activation, init);
                if (options.LogDir is { } logDir) WriteTensorBoardRun(logDir, activation, init, layers, activations, training);
                runs.Add(new InitRun(activation, init, layers, training));
            }
        return new InitExperimentResult(options, runs);
    }

    /// <summary>The network of part one: <c>depth</c> × (Linear(width → width, bias 0) → activation), weights from <paramref name="init"/>.</summary>
    public static Sequential DeepNetwork(int inputSize, int width, int depth, string activation, InitScheme init, Random random)
    {
        var net = new Sequential();
        int previous = inputSize;
        for (int i = 0; i < depth; i++)
        {
            var linear = new Linear(previous, width);
            init.Fill(linear.Weight, activation, random);
            Initializers.Zeros(linear.Bias!);
            net.Add(linear);
            net.Add(Nn.Activations.Create(activation));
            previous = width;
        }
        return net;
    }

    private static Tensor RandomInput(InitExperimentOptions options)
    {
        var random = new Random(options.Seed);
        var x = Tensor.Zeros(options.Samples, options.Width);
        Initializers.Normal(x, 0, 1, random);
        return x;
    }

    private static List<LayerActivationStats> LayerStatistics(Tensor input, InitExperimentOptions options, string activation, InitScheme init, out List<float[]> activations)
    {
        // Same weights for a given (seed, init) whatever else runs, so that rows are reproducible one by one.
        var net = DeepNetwork(options.Width, options.Width, options.Depth, activation, init, new Random(options.Seed + 1));
        activations = [];
        using (Tape.NoGrad())
        {
            var h = input;
            for (int i = 0; i < net.Layers.Count; i += 2)
            {
                h = net[i + 1].Forward(net[i].Forward(h));
                activations.Add(h.ToArray());
            }
        }
        var (low, high) = RowRange(activation, activations);
        bool skipZeros = activation == "relu";
        var stats = new List<LayerActivationStats>(activations.Count);
        for (int l = 0; l < activations.Count; l++)
        {
            var a = activations[l];
            double sum = 0, sumSq = 0;
            long saturated = 0, zeros = 0;
            foreach (float v in a) sum += v;
            double mean = sum / a.Length;
            foreach (float v in a)
            {
                double d = v - mean;
                sumSq += d * d;
                if (Math.Abs(v) > 0.99f) saturated++;
                if (v == 0) zeros++;
            }
            stats.Add(new LayerActivationStats(l + 1, mean, Math.Sqrt(sumSq / a.Length), (double)saturated / a.Length, (double)zeros / a.Length,
                Histogram.Of(a, low, high, options.Bins, skipZeros)));
        }
        return stats;
    }

    private static (double Low, double High) RowRange(string activation, List<float[]> activations)
    {
        switch (activation)
        {
            case "tanh": return (-1, 1);
            case "sigmoid": return (0, 1);
        }
        double max = 0;
        foreach (var a in activations)
            foreach (float v in a)
                if (float.IsFinite(v) && v > max) max = v;
        return (0, max > 0 ? max : 1);
    }

    private static OneEpochTraining TrainOneEpoch(PreparedData digits, InitExperimentOptions options, string activation, InitScheme init)
    {
        Rng.ManualSeed(options.Seed);
        var model = Models.Mlp(digits.Train.SampleSize, Enumerable.Repeat(options.TrainWidth, options.Depth).ToArray(), digits.NumClasses, activation);
        var random = new Random(options.Seed + 2);
        foreach (var linear in model.Layers.OfType<Linear>())
        {
            init.Fill(linear.Weight, activation, random);
            Initializers.Zeros(linear.Bias!);
        }
        var trainer = new Trainer(model, new SGD(model.Parameters(), options.Lr, options.Momentum));
        var validation = digits.Validation ?? digits.Test;
        var epoch = trainer.Fit(digits.TrainLoader(options.BatchSize, options.Seed), validation, epochs: 1)[0];
        return new OneEpochTraining(epoch.TrainLoss, epoch.ValLoss!.Value, epoch.ValAccuracy!.Value, (int)trainer.GlobalStep);
    }

    /// <summary>
    /// Writes the pictures into <paramref name="directory"/>: per activation, <c>init-ACT-histograms.svg</c> (one row
    /// per init, one column per layer, mean and standard deviation under each panel) and <c>init-ACT-std.svg</c>
    /// (standard deviation against depth, log scale). Returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> WritePictures(InitExperimentResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        var o = result.Options;
        foreach (var activation in o.Activations)
        {
            var runs = result.Runs.Where(r => r.Activation == activation).ToList();
            var columns = Enumerable.Range(1, o.Depth).Select(l => $"layer {l}").ToList();
            var panels = runs.Select(r => (IReadOnlyList<HistogramPanel>)r.Layers.Select(s => new HistogramPanel(s.Histogram, Caption(activation, s))).ToList()).ToList();
            var histograms = Path.Combine(directory, $"init-{activation}-histograms.svg");
            File.WriteAllText(histograms, HistogramChart.Svg(
                $"{activation}: activations of {o.Depth} layers × {o.Width} units, {o.Samples} N(0, 1) inputs",
                runs.Select(r => r.Init.Label).ToList(), columns, panels));
            var std = Path.Combine(directory, $"init-{activation}-std.svg");
            File.WriteAllText(std, LineChart.Svg($"{activation}: activation std by layer (zeros init is 0 and not drawn)", "layer", "std",
                runs.Select(r => new Series(r.Init.Label, r.Layers.Select(s => ((double)s.Layer, s.Std)).ToList())).ToList(), logY: true));
            files.Add(histograms);
            files.Add(std);
        }
        return files;
    }

    private static string Caption(string activation, LayerActivationStats s)
    {
        string second = activation == "relu"
            ? $"zeros {s.ZeroFraction * 100:0}%"
            : activation == "tanh" ? $"|a|>.99 {s.SaturatedFraction * 100:0}%" : "";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"σ {Short(s.Std)}\nμ {Short(s.Mean)}\n{second}");
    }

    /// <summary>Two significant digits, in exponent form when tiny or huge: the panels are narrow.</summary>
    private static string Short(double v) => Math.Abs(v) >= 1e3 || (Math.Abs(v) < 1e-2 && v != 0)
        ? v.ToString("0.#E+0", System.Globalization.CultureInfo.InvariantCulture)
        : v.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Run directory name of one configuration under the log directory.</summary>
    public static string RunName(string activation, InitScheme init) => $"{activation}-{init.Name}";

    private static void WriteTensorBoardRun(string logDir, string activation, InitScheme init, List<LayerActivationStats> layers, List<float[]> activations, OneEpochTraining? training)
    {
        using var writer = new SummaryWriter(Path.Combine(logDir, RunName(activation, init)));
        for (int l = 0; l < layers.Count; l++)
        {
            writer.AddHistogram($"activations/layer_{l + 1}", activations[l]);
            // The same histograms as one tag with the layer as the step: TensorBoard's offset view then stacks
            // the layers like the lecture figure, and the scalar charts plot the statistics against depth.
            writer.AddHistogram("activations/by_layer", activations[l], step: l + 1);
            writer.AddScalar("layer_stats/mean", layers[l].Mean, step: l + 1);
            writer.AddScalar("layer_stats/std", layers[l].Std, step: l + 1);
            writer.AddScalar("layer_stats/saturated_fraction", layers[l].SaturatedFraction, step: l + 1);
            writer.AddScalar("layer_stats/zero_fraction", layers[l].ZeroFraction, step: l + 1);
        }
        if (training is not null)
            writer.AddHParams(new Dictionary<string, object?> { ["activation"] = activation, ["init"] = init.Name },
                new Dictionary<string, double>
                {
                    ["hparam/one_epoch_val_accuracy"] = training.ValAccuracy,
                    ["hparam/one_epoch_val_loss"] = training.ValLoss,
                    ["hparam/last_layer_std"] = layers[^1].Std,
                }, runName: SummaryWriter.SameRun);
    }
}
