using System.CommandLine;
using System.Globalization;
using Descent.Lab.Experiments;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent experiment batch-size</c>: full-batch gradient descent, batch 1 and mini-batches on digits; loss against
/// epochs and against wall time, the gradient-noise scale, and the batch size that reaches a target accuracy soonest.
/// </summary>
public static class ExperimentBatchSizeCommand
{
    private const string DefaultOut = "experiments/batch-size";

    /// <summary>Builds the command; output goes to <paramref name="stdout"/>, bad input throws <see cref="UsageException"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var defaults = new BatchSizeExperimentOptions();
        var cmd = new Command("batch-size", "Full-batch gradient descent vs batch 1 vs mini-batches: loss against epochs and wall time, the gradient-noise scale, the fastest batch size to a target accuracy.");
        var outDir = new Option<string>("--out") { Description = $"Directory for the SVG pictures (default {DefaultOut})", DefaultValueFactory = _ => DefaultOut };
        var batchSizes = new Option<string>("--batch-sizes") { Description = "Batch sizes, comma-separated; 'full' for the whole training set", DefaultValueFactory = _ => string.Join(",", defaults.BatchSizes.Select(b => b == 0 ? "full" : b.ToString(CultureInfo.InvariantCulture))) };
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer sizes of the MLP, comma-separated", DefaultValueFactory = _ => string.Join(",", defaults.Hidden) };
        var epochs = new Option<int>("--epochs") { Description = "Epochs per batch size", DefaultValueFactory = _ => defaults.Epochs };
        var baseLr = new Option<double>("--base-lr") { Description = "SGD learning rate at batch 1; batch B uses min(B × base-lr, max-lr)", DefaultValueFactory = _ => defaults.BaseLr };
        var maxLr = new Option<double>("--max-lr") { Description = "Cap of the linear scaling rule", DefaultValueFactory = _ => defaults.MaxLr };
        var target = new Option<double>("--target") { Description = "Test accuracy of the \"to target\" columns", DefaultValueFactory = _ => defaults.Target };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, the initial weights and the batch order", DefaultValueFactory = _ => defaults.Seed };
        foreach (var o in new Option[] { outDir, batchSizes, hidden, epochs, baseLr, maxLr, target, seed })
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            var options = new BatchSizeExperimentOptions
            {
                BatchSizes = ParseBatchSizes(parse.GetValue(batchSizes)!),
                Hidden = TrainCommand.ParseIntList(parse.GetValue(hidden)!, "--hidden"),
                Epochs = ExperimentCommand.AtLeast(parse, epochs, 1),
                BaseLr = ExperimentCommand.Positive(parse, baseLr),
                MaxLr = ExperimentCommand.Positive(parse, maxLr),
                Target = parse.GetValue(target),
                Seed = parse.GetValue(seed),
            };
            if (options.Hidden.Count == 0) throw new UsageException("--hidden needs at least one layer size");
            if (options.MaxLr < options.BaseLr) throw new UsageException($"--max-lr must be at least --base-lr ({options.BaseLr.ToString(CultureInfo.InvariantCulture)}), got {options.MaxLr.ToString(CultureInfo.InvariantCulture)}");
            if (!(options.Target > 0 && options.Target <= 1)) throw new UsageException($"--target must be an accuracy in (0, 1], got {options.Target.ToString(CultureInfo.InvariantCulture)}");
            return Run(options, OutputPaths.Directory(parse.GetValue(outDir)!, "--out"), stdout);
        });
        return cmd;
    }

    private static int Run(BatchSizeExperimentOptions o, string outDir, TextWriter stdout)
    {
        BatchSizeExperimentResult result;
        using (var progress = ExperimentProgress.ForConsole())
            result = BatchSizeExperiment.Run(o, (what, done, total) => progress?.Report(what, done, total));
        string target = (o.Target * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
        stdout.WriteLine(FormattableString.Invariant(
            $"batch-size: digits, {result.TrainSamples} train samples; MLP 64-{string.Join("-", o.Hidden)}-10, plain SGD, lr = min(B × {o.BaseLr:G4}, {o.MaxLr:G4}), {o.Epochs} epochs; target {target} test accuracy"));
        stdout.WriteLine();
        stdout.WriteLine($"{"batch",11}  {"lr",6}  {"steps/epoch",11}  {"final loss",10}  {"final acc",9}  {"epochs to",9}  {"steps to",8}  {"s to",6}  {"s/epoch",7}");
        var fastest = result.Fastest;
        foreach (var r in result.Rows)
        {
            var last = r.Curve[^1];
            stdout.WriteLine(FormattableString.Invariant(
                $"{r.Name,11}  {r.Lr,6:G3}  {last.Steps / o.Epochs,11}  {last.TrainLoss,10:F4}  {last.TestAccuracy * 100,8:F1}%  {r.Target?.Epoch.ToString(CultureInfo.InvariantCulture) ?? "-",9}  {r.Target?.Steps.ToString(CultureInfo.InvariantCulture) ?? "-",8}  {(r.Target is { } t ? t.Seconds.ToString("F2", CultureInfo.InvariantCulture) : "-"),6}  {last.Seconds / o.Epochs,7:F3}{(r == fastest ? "  ← fastest to target" : "")}"));
        }
        stdout.WriteLine();
        stdout.WriteLine(FormattableString.Invariant(
            $"gradient-noise scale tr(Σ)/|G|²: {result.NoiseScaleAtStart:G3} at the initial weights{(result.NoiseScaleAtEnd is { } end ? $", {end:G3} at the end of the fastest run" : "")}"));
        stdout.WriteLine($"pictures: {string.Join(", ", BatchSizeExperiment.WritePictures(result, outDir))}");
        stdout.WriteLine(FormattableString.Invariant($"total {result.Seconds:F1} s"));
        return 0;
    }

    private static int[] ParseBatchSizes(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (parts[i] == "full") sizes[i] = 0;
            else if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
                throw new UsageException($"--batch-sizes expects positive integers or 'full' separated by commas, got '{text}'");
        if (sizes.Length == 0) throw new UsageException("--batch-sizes needs at least one batch size");
        return sizes;
    }
}
