using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Descent.Lab.Experiments;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent experiment transfer</c>: pre-train on Fashion-MNIST classes 0–4, then learn classes 5–9 from N
/// examples per class from scratch, by fine-tuning, and with a frozen body and a new head; mean ± std over seeds.
/// </summary>
public static class ExperimentTransferCommand
{
    private const string DefaultOut = "experiments/transfer";

    /// <summary>Builds the command; output goes to <paramref name="stdout"/>, bad input throws <see cref="UsageException"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var defaults = new TransferExperimentOptions();
        var cmd = new Command("transfer", "Start from a related model: pre-train on Fashion-MNIST classes 0–4, learn 5–9 from N examples per class from scratch, fine-tuned, and with a frozen body.");
        var outDir = new Option<string>("--out") { Description = $"Directory for the SVG picture (default {DefaultOut})", DefaultValueFactory = _ => DefaultOut };
        var dataDir = new Option<string?>("--data") { Description = "Directory holding the Fashion-MNIST IDX files (default: /usr/share/datasets/fashion-mnist)" };
        var shots = new Option<string>("--shots") { Description = "Labelled examples per class of the new task, comma-separated", DefaultValueFactory = _ => string.Join(",", defaults.Shots) };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per cell (examples drawn and head initialized anew)", DefaultValueFactory = _ => defaults.Seeds };
        var seed = new Option<int>("--seed") { Description = "First seed; also that of the pre-training", DefaultValueFactory = _ => defaults.Seed };
        var testSamples = new Option<int>("--test-samples") { Description = "Test images of classes 5–9 to measure on (at most 5000)", DefaultValueFactory = _ => defaults.TestSamples };
        var pretrainSamples = new Option<int>("--pretrain-samples") { Description = "Images of classes 0–4 to pre-train on (at most 30000)", DefaultValueFactory = _ => defaults.PretrainSamples };
        var pretrainEpochs = new Option<int>("--pretrain-epochs") { Description = "Epochs of pre-training", DefaultValueFactory = _ => defaults.PretrainEpochs };
        var steps = new Option<int>("--steps") { Description = "Adam steps on the few examples, every method alike", DefaultValueFactory = _ => defaults.Steps };
        var batchSize = new Option<int>("--batch-size") { Description = "Mini-batch size", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => defaults.Lr };
        var json = new Option<bool>("--json") { Description = "Print {\"n\": [...], \"scratch\": [...], \"finetune\": [...], \"frozen\": [...]} (mean test accuracies) as the last line" };
        foreach (var o in new Option[] { outDir, dataDir, shots, seeds, seed, testSamples, pretrainSamples, pretrainEpochs, steps, batchSize, lr, json })
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            var options = new TransferExperimentOptions
            {
                DataDir = parse.GetValue(dataDir),
                Shots = TrainCommand.ParseIntList(parse.GetValue(shots)!, "--shots"),
                Seeds = ExperimentCommand.AtLeast(parse, seeds, 1),
                Seed = parse.GetValue(seed),
                TestSamples = ExperimentCommand.AtLeast(parse, testSamples, 5),
                PretrainSamples = ExperimentCommand.AtLeast(parse, pretrainSamples, 10),
                PretrainEpochs = ExperimentCommand.AtLeast(parse, pretrainEpochs, 1),
                Steps = ExperimentCommand.AtLeast(parse, steps, 1),
                BatchSize = ExperimentCommand.AtLeast(parse, batchSize, 1),
                Lr = ExperimentCommand.Positive(parse, lr),
            };
            if (options.PretrainSamples > 30000) throw new UsageException($"--pretrain-samples must be at most 30000 (the images of classes 0–4), got {options.PretrainSamples}");
            if (options.Shots.Count == 0 || options.Shots.Any(n => n > 5000)) throw new UsageException($"--shots must be examples per class in 1…5000, got '{parse.GetValue(shots)}'");
            if (options.TestSamples > 5000) throw new UsageException($"--test-samples must be at most 5000 (the test images of classes 5–9), got {options.TestSamples}");
            return Run(options, OutputPaths.Directory(parse.GetValue(outDir)!, "--out"), parse.GetValue(json), stdout);
        });
        return cmd;
    }

    private static int Run(TransferExperimentOptions options, string outDir, bool json, TextWriter stdout)
    {
        TransferExperimentResult result;
        using (var progress = ExperimentProgress.ForConsole())
            result = TransferExperiment.Run(options, (what, done, total) => progress?.Report(what, done, total));
        stdout.WriteLine(FormattableString.Invariant(
            $"transfer: CNN (conv 8, conv 16, linear head) pre-trained on {options.PretrainSamples} Fashion-MNIST images of classes 0–4 for {options.PretrainEpochs} epochs (test accuracy {Percent(result.PretrainAccuracy)}, {result.PretrainSeconds:F1} s)"));
        stdout.WriteLine(FormattableString.Invariant(
            $"then classes 5–9 from N examples per class: {options.Steps} Adam steps (lr {options.Lr:G4}, batch {options.BatchSize}), test accuracy on {result.TestSamples} images, mean ± std over {options.Seeds} seeds"));
        stdout.WriteLine();
        stdout.WriteLine($"{"N",5}  {"from scratch",15}  {"fine-tune all",15}  {"frozen body",15}");
        foreach (int n in options.Shots)
            stdout.WriteLine(FormattableString.Invariant($"{n,5}  {Cell(result[n, "scratch"]),15}  {Cell(result[n, "finetune"]),15}  {Cell(result[n, "frozen"]),15}"));
        stdout.WriteLine();
        // The methods see the same examples at a seed, so the per-seed differences say more than the two stds.
        stdout.WriteLine("fine-tune − scratch, seed by seed (the same examples):");
        foreach (int n in options.Shots)
        {
            var gains = result[n, "finetune"].Accuracies.Zip(result[n, "scratch"].Accuracies, (f, s) => (f - s) * 100).ToList();
            stdout.WriteLine(FormattableString.Invariant($"{n,5}  {string.Join("  ", gains.Select(g => $"{g,5:+0.0;-0.0;0.0}"))}  points"));
        }
        stdout.WriteLine();
        stdout.WriteLine($"picture: {TransferExperiment.WritePicture(result, outDir)}");
        stdout.WriteLine(FormattableString.Invariant($"total {result.Seconds:F1} s"));
        if (json)
            stdout.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["n"] = options.Shots,
                ["scratch"] = Means(result, options, "scratch"),
                ["finetune"] = Means(result, options, "finetune"),
                ["frozen"] = Means(result, options, "frozen"),
            }));
        return 0;
    }

    private static double[] Means(TransferExperimentResult result, TransferExperimentOptions options, string method) =>
        options.Shots.Select(n => Math.Round(result[n, method].Mean, 4)).ToArray();

    private static string Cell(TransferCell cell) => FormattableString.Invariant($"{cell.Mean * 100:0.0} ± {cell.Std * 100:0.0}%");

    private static string Percent(double fraction) => (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
