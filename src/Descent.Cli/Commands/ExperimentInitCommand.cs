using System.CommandLine;
using System.Globalization;
using Descent.Lab.Experiments;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent experiment init</c>: a deep MLP on random input with zeros, N(0, 0.01²), N(0, 1), Xavier,
/// Xavier×gain and He weights, for tanh and ReLU: per-layer activation statistics and histograms, then one
/// epoch of training on digits for each.
/// </summary>
public static class ExperimentInitCommand
{
    private const string DefaultOut = "experiments/init";

    /// <summary>Builds the command; output goes to <paramref name="stdout"/>, bad input throws <see cref="UsageException"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var defaults = new InitExperimentOptions();
        var cmd = new Command("init", "Weight initialization: per-layer activation statistics and histograms of a deep tanh/ReLU MLP, and which inits learn in one epoch.");
        var outDir = new Option<string>("--out") { Description = $"Directory for the SVG pictures (default {DefaultOut})", DefaultValueFactory = _ => DefaultOut };
        var logdir = new Option<string?>("--logdir") { Description = "Also write one TensorBoard run per (activation, init) under this directory" };
        var seed = new Option<int>("--seed") { Description = "Seed of the input, the weights, the digits split and the batch order", DefaultValueFactory = _ => defaults.Seed };
        var depth = new Option<int>("--depth") { Description = "Hidden layers", DefaultValueFactory = _ => defaults.Depth };
        var width = new Option<int>("--width") { Description = "Units per hidden layer of the statistics network (and input features)", DefaultValueFactory = _ => defaults.Width };
        var samples = new Option<int>("--samples") { Description = "Random N(0, 1) input samples", DefaultValueFactory = _ => defaults.Samples };
        var bins = new Option<int>("--bins") { Description = "Bins of each histogram", DefaultValueFactory = _ => defaults.Bins };
        var activations = new Option<string>("--activations") { Description = "Comma-separated activations: tanh, relu, sigmoid", DefaultValueFactory = _ => string.Join(",", defaults.Activations) };
        var inits = new Option<string>("--inits") { Description = "Comma-separated inits: " + string.Join(", ", InitScheme.All.Select(s => s.Name)), DefaultValueFactory = _ => string.Join(",", defaults.Inits.Select(s => s.Name)) };
        var noTrain = new Option<bool>("--no-train") { Description = "Skip the one-epoch training on digits" };
        var trainWidth = new Option<int>("--train-width") { Description = "Units per hidden layer of the network trained on digits", DefaultValueFactory = _ => defaults.TrainWidth };
        var batchSize = new Option<int>("--batch-size") { Description = "Mini-batch size of the one-epoch training", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "SGD learning rate of the one-epoch training", DefaultValueFactory = _ => defaults.Lr };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum of the one-epoch training", DefaultValueFactory = _ => defaults.Momentum };
        foreach (var o in new Option[] { outDir, logdir, seed, depth, width, samples, bins, activations, inits, noTrain, trainWidth, batchSize, lr, momentum })
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            if (parse.GetValue(noTrain)) parse.Refuse([trainWidth, batchSize, lr, momentum], "with --no-train (they set the one-epoch training)");
            var options = new InitExperimentOptions
            {
                Depth = ExperimentCommand.AtLeast(parse, depth, 1),
                Width = ExperimentCommand.AtLeast(parse, width, 1),
                Samples = ExperimentCommand.AtLeast(parse, samples, 2),
                Bins = ExperimentCommand.AtLeast(parse, bins, 1),
                Seed = parse.GetValue(seed),
                Activations = ParseActivations(parse.GetValue(activations)!),
                Inits = ParseInits(parse.GetValue(inits)!),
                Train = !parse.GetValue(noTrain),
                TrainWidth = ExperimentCommand.AtLeast(parse, trainWidth, 1),
                BatchSize = ExperimentCommand.AtLeast(parse, batchSize, 1),
                Lr = ExperimentCommand.Positive(parse, lr),
                Momentum = ExperimentCommand.Momentum(parse, momentum),
                LogDir = parse.GetValue(logdir),
            };
            return Run(options, OutputPaths.Directory(parse.GetValue(outDir)!, "--out"), stdout);
        });
        return cmd;
    }

    private static int Run(InitExperimentOptions options, string outDir, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        stdout.WriteLine($"init: {options.Depth} layers × {options.Width} units (biases 0), {options.Samples} random N(0, 1) inputs; statistics of each layer's activations");
        InitExperimentResult result;
        using (var progress = ExperimentProgress.ForConsole())
        {
            int total = options.Activations.Count * options.Inits.Count, done = 0;
            result = InitExperiment.Run(options, label => progress?.Report($"{label} ({++done}/{total})"));
        }
        WriteStdTable(stdout, result);
        if (options.Train) WriteTrainingTable(stdout, result);
        var files = InitExperiment.WritePictures(result, outDir);
        stdout.WriteLine();
        stdout.WriteLine($"pictures: {string.Join(", ", files)}");
        if (options.LogDir is { } logDir) stdout.WriteLine($"tensorboard: {Path.Combine(logDir, "<activation>-<init>")} (tensorboard --logdir {logDir})");
        stdout.WriteLine(FormattableString.Invariant($"total {clock.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    private static void WriteStdTable(TextWriter stdout, InitExperimentResult result)
    {
        int depth = result.Options.Depth;
        // Ten layers fit on a line; deeper networks show the first three, two middle ones and the last three.
        var shown = depth <= 10 ? Enumerable.Range(1, depth).ToList()
            : new[] { 1, 2, 3, depth / 2, depth / 2 + 1, depth - 2, depth - 1, depth }.Distinct().ToList();
        int labelWidth = Math.Max(11, result.Runs.Max(r => r.Init.Label.Length));
        stdout.WriteLine();
        stdout.WriteLine("standard deviation of the activations by layer; the last four columns are for the last layer (|a|>.99: saturated tanh units; zeros: ReLU units off)");
        stdout.WriteLine($"{"activation",-10}  {"init".PadRight(labelWidth)}  {string.Join(" ", shown.Select(l => $"{"L" + l,8}"))}  {"L" + depth + "/L1",8}  {"mean",9}  {"|a|>.99",7}  {"zeros",6}");
        foreach (var run in result.Runs)
        {
            var last = run.Layers[^1];
            stdout.WriteLine(FormattableString.Invariant(
                $"{run.Activation,-10}  {run.Init.Label.PadRight(labelWidth)}  {string.Join(" ", shown.Select(l => $"{Number(run.Layers[l - 1].Std),8}"))}  {Number(run.StdRatio),8}  {Number(last.Mean),9}  {(run.Activation == "relu" ? "-" : Percent(last.SaturatedFraction)),7}  {(run.Activation == "relu" ? Percent(last.ZeroFraction) : "-"),6}"));
        }
    }

    private static void WriteTrainingTable(TextWriter stdout, InitExperimentResult result)
    {
        var o = result.Options;
        var first = result.Runs[0].Training!;
        stdout.WriteLine();
        stdout.WriteLine(FormattableString.Invariant(
            $"one epoch on digits ({first.Steps} steps): {o.Depth} × {o.TrainWidth} units, SGD lr {o.Lr:G4} momentum {o.Momentum:G4}, batch {o.BatchSize}; learns = validation accuracy ≥ {5 * OneEpochTraining.Chance * 100:0}%"));
        int labelWidth = Math.Max(11, result.Runs.Max(r => r.Init.Label.Length));
        stdout.WriteLine($"{"activation",-10}  {"init".PadRight(labelWidth)}  {"train loss",10}  {"val loss",10}  {"val acc",7}  {"learns",6}");
        foreach (var run in result.Runs)
        {
            var t = run.Training!;
            stdout.WriteLine(FormattableString.Invariant(
                $"{run.Activation,-10}  {run.Init.Label.PadRight(labelWidth)}  {Number(t.TrainLoss),10}  {Number(t.ValLoss),10}  {t.ValAccuracy,7:F4}  {(t.Learns ? "yes" : "no"),6}"));
        }
    }

    private static string Number(double v) => !double.IsFinite(v) ? v.ToString(CultureInfo.InvariantCulture)
        : v != 0 && (Math.Abs(v) >= 1e3 || Math.Abs(v) < 1e-3) ? v.ToString("0.0E+0", CultureInfo.InvariantCulture)
        : v.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Percent(double fraction) => (fraction * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    private static string[] ParseActivations(string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => n.ToLowerInvariant()).ToArray();
        if (names.Length == 0) throw new UsageException("--activations needs at least one of: tanh, relu, sigmoid");
        foreach (var n in names)
            if (n is not ("tanh" or "relu" or "sigmoid"))
                throw new UsageException($"--activations: unknown activation '{n}' (expected tanh, relu or sigmoid)");
        return names.Distinct().ToArray();
    }

    private static InitScheme[] ParseInits(string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new UsageException($"--inits needs at least one of: {string.Join(", ", InitScheme.All.Select(s => s.Name))}");
        try
        {
            return names.Select(InitScheme.Get).Distinct().ToArray();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--inits: {e.Message}");
        }
    }
}
