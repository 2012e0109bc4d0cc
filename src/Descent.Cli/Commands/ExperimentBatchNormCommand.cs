using System.CommandLine;
using System.Globalization;
using Descent.Lab.Experiments;
using Descent.Training;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent experiment batchnorm</c>: the BatchNorm paper's table at small scale. Baseline, Baseline-x5,
/// BN-Baseline, BN-x5, BN-x30 and BN-x5-Sigmoid; steps to the target accuracy and the best accuracy.
/// </summary>
public static class ExperimentBatchNormCommand
{
    private const string DefaultOut = "experiments/batchnorm";

    /// <summary>Builds the command; output goes to <paramref name="stdout"/>, bad input throws <see cref="UsageException"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var defaults = new BatchNormExperimentOptions();
        var cmd = new Command("batchnorm", "The BatchNorm paper's table at small scale: steps to a target accuracy and best accuracy, without and with batch normalization, at 1×, 5× and 30× the learning rate.");
        var outDir = new Option<string>("--out") { Description = $"Directory for the SVG pictures (default {DefaultOut})", DefaultValueFactory = _ => DefaultOut };
        var logdir = new Option<string?>("--logdir") { Description = "Also write one TensorBoard run per row under this directory" };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, the initial weights and the batch order", DefaultValueFactory = _ => defaults.Seed };
        var dataset = new Option<string>("--dataset") { Description = "digits (embedded) or fashion-mnist", DefaultValueFactory = _ => defaults.Dataset };
        dataset.AcceptOnlyFromAmong(DataPreparation.Names);
        var dataDir = new Option<string?>("--data") { Description = "Directory holding the Fashion-MNIST IDX files (default: /usr/share/datasets/fashion-mnist)" };
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer sizes, comma-separated", DefaultValueFactory = _ => string.Join(",", defaults.Hidden) };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps per row", DefaultValueFactory = _ => defaults.Steps };
        var batchSize = new Option<int>("--batch-size") { Description = "Mini-batch size", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Base SGD learning rate; the rows use 1×, 5× and 30× of it", DefaultValueFactory = _ => defaults.Lr };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => defaults.Momentum };
        var target = new Option<string?>("--target") { Description = "Validation accuracy of the \"steps to\" column, or 'baseline' for the Baseline's best accuracy as in the paper (default 0.97 on digits, 0.85 on fashion-mnist)" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Measure validation accuracy every N steps", DefaultValueFactory = _ => defaults.EvalEvery };
        var valFraction = new Option<double?>("--val-fraction") { Description = "Fraction of the training split held out for validation (default 0.2 for digits, 1/12 for fashion-mnist)" };
        foreach (var o in new Option[] { outDir, logdir, seed, dataset, dataDir, hidden, steps, batchSize, lr, momentum, target, evalEvery, valFraction })
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            ModelDataOptionSet.RefuseDataDir(parse, parse.GetValue(dataset)!, dataDir);
            if (parse.GetValue(valFraction) is { } v && !(v > 0 && v < 1)) throw new UsageException($"--val-fraction must be in (0, 1), got {v.ToString(CultureInfo.InvariantCulture)}");
            var options = new BatchNormExperimentOptions
            {
                Dataset = parse.GetValue(dataset)!,
                DataDir = parse.GetValue(dataDir),
                Hidden = TrainCommand.ParseIntList(parse.GetValue(hidden)!, "--hidden"),
                Steps = ExperimentCommand.AtLeast(parse, steps, 1),
                BatchSize = ExperimentCommand.AtLeast(parse, batchSize, 2),
                Lr = ExperimentCommand.Positive(parse, lr),
                Momentum = ExperimentCommand.Momentum(parse, momentum),
                Target = parse.GetValue(target) is { } t && t.Trim() != "baseline" ? ParseTarget(t) : null,
                TargetFromBaseline = parse.GetValue(target)?.Trim() == "baseline",
                EvalEvery = ExperimentCommand.AtLeast(parse, evalEvery, 1),
                ValFraction = parse.GetValue(valFraction),
                Seed = parse.GetValue(seed),
                LogDir = parse.GetValue(logdir),
            };
            if (options.Hidden.Count == 0) throw new UsageException("--hidden needs at least one layer size");
            return Run(options, OutputPaths.Directory(parse.GetValue(outDir)!, "--out"), stdout);
        });
        return cmd;
    }

    private static int Run(BatchNormExperimentOptions options, string outDir, TextWriter stdout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        BatchNormExperimentResult result;
        using (var progress = ExperimentProgress.ForConsole())
            result = BatchNormExperiment.Run(options, (row, step, total) => progress?.Report(row, step, total));
        var o = result.Options;
        string target = Percent(result.Target);
        string architecture = string.Join("-", o.Hidden);
        stdout.WriteLine(FormattableString.Invariant(
            $"batchnorm: {o.Dataset}, {result.TrainSamples} train / {result.ValidationSamples} validation samples; MLP {architecture} ({o.Activation}), SGD momentum {o.Momentum:G4}, batch {o.BatchSize}, base lr {o.Lr:G4}, {o.Steps} steps, validation every {o.EvalEvery} steps"));
        stdout.WriteLine(o.TargetFromBaseline ? $"target {target}: the Baseline's best accuracy, as the paper's 72.2% was Inception's" : $"target {target} validation accuracy");
        stdout.WriteLine();
        var baseline = result.Rows.FirstOrDefault(r => r.Variant.Name == "Baseline")?.StepsToTarget;
        int nameWidth = Math.Max(13, result.Rows.Max(r => r.Variant.Name.Length));
        string stepsHeader = $"Steps to {target}";
        stdout.WriteLine($"{"Model".PadRight(nameWidth)}  {"lr",7}  {stepsHeader,15}  {"speed-up",8}  {"Max accuracy",12}  {"at step",7}  {"final acc",9}  {"diverged",8}  {"seconds",7}");
        foreach (var r in result.Rows)
        {
            string reached = r.StepsToTarget?.ToString(CultureInfo.InvariantCulture) ?? "-";
            string speedUp = baseline is { } b && r.StepsToTarget is { } s && s > 0 ? (b / (double)s).ToString("0.0", CultureInfo.InvariantCulture) + "×" : "-";
            stdout.WriteLine(FormattableString.Invariant(
                $"{r.Variant.Name.PadRight(nameWidth)}  {r.Lr,7:G4}  {reached,15}  {speedUp,8}  {Percent(r.MaxAccuracy),12}  {r.StepOfMax,7}  {Percent(r.FinalAccuracy),9}  {(r.Diverged ? "yes" : "no"),8}  {r.Seconds,7:F1}"));
        }
        var files = BatchNormExperiment.WritePictures(result, outDir);
        stdout.WriteLine();
        stdout.WriteLine($"pictures: {string.Join(", ", files)}");
        if (options.LogDir is { } logDir) stdout.WriteLine($"tensorboard: {Path.Combine(logDir, "<row>")} (tensorboard --logdir {logDir})");
        stdout.WriteLine(FormattableString.Invariant($"total {clock.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    private static double ParseTarget(string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double t) || !(t > 0 && t <= 1))
            throw new UsageException($"--target must be an accuracy in (0, 1] or 'baseline', got '{text}'");
        return t;
    }

    private static string Percent(double fraction) => (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
