using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Descent.Lab.Doctor;
using Descent.Optim;
using Descent.Training;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent doctor</c>: examines what <c>train</c> would train (the same model, data and optimizer options) with the
/// debugging checklist of <see cref="Doctor"/> and prints the model summary and the findings, each with its evidence
/// and fix. Exit code 0 when healthy, 1 with a warning or an error, 2 on bad input.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("doctor", "Check a training setup for the usual reasons a network does not train, and say what to change.");
        var data = new ModelDataOptionSet();
        var userData = new UserDataOptionSet();
        var optim = new OptimizerOptionSet();
        var json = new Option<bool>("--json") { Description = "Print the report as JSON on the last line of stdout" };
        var budget = new Option<double?>("--budget") { Description = "Seconds the examination may take: checks that would start later are skipped and listed" };
        var lrPlot = new Option<string?>("--lr-plot") { Description = "Write the learning-rate range test's loss curve to this SVG file" };
        var logdir = new Option<string?>("--logdir") { Description = "Write the findings and the model summary (text) and the probe run's instruments (scalars, histograms) as a TensorBoard run under this directory" };
        // Predicting applies to a trained model, which the doctor does not produce.
        foreach (var o in data.All.Concat(userData.All.Except([userData.Predict, userData.Out])).Concat(optim.All).Concat([data.NoShuffle, budget, lrPlot, logdir, json]))
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            // The checks run bounded trainings of their own; these would change nothing.
            parse.Refuse([data.Epochs, optim.ClipNorm, optim.Accumulate], "with doctor (its checks run short trainings of their own)");
            var settings = data.Settings(parse, userData: true);
            var source = userData.Source(parse, data, settings);
            optim.CheckTraining(parse);
            if (parse.GetValue(budget) is { } b && !(b > 0)) throw new UsageException($"--budget must be a positive number of seconds, got {b.ToString(CultureInfo.InvariantCulture)}");
            if (parse.GetValue(lrPlot) is { } plot) TrainCommand.CheckOutputFile(plot, "--lr-plot");
            if (parse.GetValue(logdir) is { } dir) OutputPaths.Directory(dir, "--logdir");
            string optimizerName = parse.GetValue(optim.Optimizer)!;
            var optimizerSettings = optim.Settings(parse);
            // Bad hyperparameters fail before the data loads.
            Optimizers.Create(optimizerName, new Nn.Linear(1, 1), optimizerSettings);
            var loaded = TrainData.Load(settings, source, asImages: settings.Model == "cnn");
            var prepared = loaded.Data;
            var report = Doctor.Examine(new DoctorSetup
            {
                Data = prepared,
                Model = () => settings.BuildModel(prepared),
                Optimizer = model => Optimizers.Create(optimizerName, model, optimizerSettings),
                BatchSize = settings.BatchSize,
                Shuffle = settings.Shuffle,
                Seed = settings.Seed,
                BudgetSeconds = parse.GetValue(budget),
            });
            if (parse.GetValue(lrPlot) is { } path && report.LrCurveSvg is { } svg) File.WriteAllText(path, svg);
            string? run = null;
            if (parse.GetValue(logdir) is { } parent)
            {
                run = TensorBoard.SummaryWriter.CreateRunDirectory(parent);
                using var writer = new TensorBoard.SummaryWriter(run);
                DoctorLog.Write(report, writer);
            }
            var model = settings.BuildModel(prepared);
            Print(report, $"{RunHeader.Model(settings, prepared, model.ParameterCount)} on {RunHeader.Data(loaded.Name, prepared)}, batch {settings.BatchSize}; optimizer {RunHeader.Optimizer(Optimizers.Create(optimizerName, model, optimizerSettings))}", stdout);
            if (run is not null) stdout.WriteLine($"TensorBoard run: {run}");
            if (parse.GetValue(json)) stdout.WriteLine(Json(report));
            return report.Healthy ? 0 : 1;
        });
        return cmd;
    }

    private static void Print(DoctorReport report, string what, TextWriter stdout)
    {
        stdout.WriteLine($"Examining {what}");
        stdout.WriteLine(ModelSummaries.Format(report.Summary));
        stdout.WriteLine();
        foreach (var f in report.Findings) PrintFinding(f, stdout);
        if (report.Skipped.Count > 0) stdout.WriteLine($"skipped (over the budget): {string.Join(", ", report.Skipped)}");
        int serious = report.Findings.Count(f => f.Severity != Severity.Info);
        stdout.WriteLine(FormattableString.Invariant($"{(report.Healthy ? "healthy" : $"{serious} problem(s)")}; examined in {report.Seconds:F1} s"));
    }

    /// <summary>A finding as <c>doctor</c> and <c>train --watch</c> print it: severity, id and message, then the evidence and the fix.</summary>
    internal static void PrintFinding(Finding f, TextWriter stdout)
    {
        stdout.WriteLine($"{f.Severity.ToString().ToLowerInvariant()}  {f.Id}: {f.Message}");
        stdout.WriteLine($"    evidence: {JsonSerializer.Serialize(f.Evidence, JsonOptions)}");
        stdout.WriteLine($"    fix: {f.Fix}");
    }

    /// <summary>The report as one JSON line: <c>{"healthy", "findings": [{"id", "severity", "message", "evidence", "fix"}], "summary", "skipped", "check_seconds", "seconds"}</c>.</summary>
    internal static string Json(DoctorReport report) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["healthy"] = report.Healthy,
        ["findings"] = report.Findings.Select(f => new Dictionary<string, object?>
        {
            ["id"] = f.Id, ["severity"] = f.Severity.ToString().ToLowerInvariant(), ["message"] = f.Message, ["evidence"] = f.Evidence, ["fix"] = f.Fix,
        }),
        ["summary"] = SummaryJson(report.Summary),
        ["skipped"] = report.Skipped,
        ["check_seconds"] = report.CheckSeconds,
        ["seconds"] = Math.Round(report.Seconds, 3),
    }, JsonOptions);

    /// <summary>A diverged loss is evidence too: NaN and infinities are written as the strings "NaN", "Infinity".</summary>
    private static readonly JsonSerializerOptions JsonOptions = Lab.Doctor.DoctorLog.JsonOptions;

    /// <summary>A model summary as the JSON object of <c>doctor --json</c> and <c>summary --json</c>.</summary>
    internal static Dictionary<string, object?> SummaryJson(ModelSummary summary) => new()
    {
        ["input_shape"] = summary.InputShape,
        ["layers"] = summary.Layers.Select(l => new Dictionary<string, object?>
        {
            ["name"] = l.Name, ["layer"] = l.Layer, ["output_shape"] = l.OutputShape, ["parameters"] = l.Parameters, ["bytes"] = l.Bytes,
        }),
        ["parameters"] = summary.Parameters,
        ["bytes"] = summary.Bytes,
    };
}
