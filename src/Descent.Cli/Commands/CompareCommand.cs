using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Descent.TensorBoard;
using Descent.Lab;
using Descent.Optim;
using Descent.Lab.Plots;
using Descent.Training;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent compare</c>: the optimizer lab. The same model, initial weights and batch order for every
/// optimizer; a ranked table, learning-curve pictures, and per-optimizer curves as CSV.
/// </summary>
internal static class CompareCommand
{
    public static readonly string[] DefaultOptimizers = ["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam"];

    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("compare", "Train the same model with several optimizers and rank them.");
        var data = new ModelDataOptionSet();
        var optim = new OptimizerOptionSet();
        var schedule = new ScheduleOptionSet();
        var optimizers = new Option<string>("--optimizers") { Description = "Comma-separated optimizers to compare", DefaultValueFactory = _ => string.Join(",", DefaultOptimizers) };
        var target = new Option<double>("--target") { Description = "Validation accuracy whose first crossing is reported", DefaultValueFactory = _ => 0.95 };
        var outDir = new Option<string>("--out") { Description = "Directory for the pictures and CSV curves", DefaultValueFactory = _ => "runs/compare" };
        var logdir = new Option<string?>("--logdir") { Description = "Also write one TensorBoard run per optimizer under this directory" };
        var distributed = new DistributedOptionSet();
        foreach (var o in data.All.Concat(optim.All.Where(o => o != optim.Optimizer && o != optim.Accumulate)).Concat(schedule.All).Concat([optimizers, target, outDir, logdir]).Concat(distributed.All))
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            var settings = data.Settings(parse);
            optim.CheckTraining(parse, accumulateAllowed: false);
            var names = parse.GetValue(optimizers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (names.Length == 0) throw new UsageException("--optimizers needs at least one optimizer");
            double t = parse.GetValue(target);
            if (!(t > 0 && t <= 1)) throw new UsageException($"--target must be an accuracy in (0, 1], got {t}");
            var optimizerSettings = optim.Settings(parse);
            foreach (var n in names)
                if (Optimizers.Create(n, new Nn.Linear(1, 1), optimizerSettings).RequiresClosure && Distributed.ProcessGroup.LaunchedByMpi)
                    throw new UsageException($"--optimizers {n} does not apply under mpiexec (it re-evaluates the loss inside its step; data-parallel training needs optimizers that step once per batch)");
            string outPath = OutputPaths.Directory(parse.GetValue(outDir)!, "--out");
            var group = distributed.Start(parse);
            return Run(settings, names, optimizerSettings, parse.GetValue(optim.ClipNorm), t, outPath, parse.GetValue(logdir), stdout,
                (opt, batches) => schedule.Create(parse, opt, settings.Epochs, batches), group,
                prepared => distributed.Loader(parse, prepared, settings.BatchSize, settings.Seed, augmentation: null, group, shuffle: true),
                (model, optimizer) => distributed.Wrap(parse, group!, model, optimizer));
        });
        return cmd;
    }

    private static int Run(TrainSettings settings, string[] names, OptimizerSettings optimizerSettings, double? clipNorm, double target, string outDir, string? logdir, TextWriter stdout, Func<Optimizer, int, ITrainerCallback?> scheduleFactory,
        Distributed.ProcessGroup? group, Func<PreparedData, Data.DataLoader> trainLoader, Func<Nn.Module, Optimizer, DistributedDataParallel> dataParallel)
    {
        // Data-parallel: every rank trains; rank 0 alone prints and writes the pictures, curves and logs.
        bool main = group is null || group.IsMain;
        if (!main) stdout = TextWriter.Null;
        var total = Stopwatch.StartNew();
        var prepared = DataPreparation.Load(settings.Dataset, settings.DataDir, settings.Model == "cnn", settings.ValFraction, settings.Seed);
        var comparison = new OptimizerComparison
        {
            ModelFactory = () => settings.BuildModel(prepared),
            Data = prepared,
            Epochs = settings.Epochs,
            BatchSize = settings.BatchSize,
            Seed = settings.Seed,
            Target = target,
            Settings = optimizerSettings,
            ClipGradNorm = clipNorm,
            Schedule = scheduleFactory,
            TrainLoader = () => trainLoader(prepared),
            DataParallel = group is null ? null : dataParallel,
            // One run per optimizer under --logdir; every run declares the same hparams and metrics (the
            // logger's own, these, and the final validation and test metrics), so TensorBoard's HParams tab
            // shows all of them in one table.
            Logger = logdir is null || !main ? null : (name, model, opt) => new LoggingSettings(logdir, null, 5).Create(model, opt,
                new Dictionary<string, object?>
                {
                    ["optimizer"] = name, ["dataset"] = settings.Dataset, ["model"] = settings.Model,
                    ["batch_size"] = settings.BatchSize, ["epochs"] = settings.Epochs, ["seed"] = settings.Seed,
                }, run: name),
        };
        stdout.WriteLine($"Comparing {names.Length} optimizers: {RunHeader.Model(settings, prepared, parameters: null)} on {RunHeader.Data(settings.Dataset, prepared)} for {RunHeader.Count(settings.Epochs, "epoch")}, batch {settings.BatchSize}, seed {settings.Seed}; the same initial weights and batch order for each");
        if (group is not null)
            stdout.WriteLine($"Data parallel: {group.WorldSize} ranks ({Distributed.ProcessGroup.LibraryVersion()}), batch {settings.BatchSize} per rank (global {settings.BatchSize * group.WorldSize})");
        var results = new List<ComparisonResult>();
        foreach (var name in names)
        {
            using var bar = main ? ProgressBar.ForConsole(prepared.Train.Count, name) : null;
            var r = comparison.Run(name, bar);
            results.Add(r);
            stdout.WriteLine(FormattableString.Invariant($"  {name,-9} lr {r.Lr,-7:G4} val acc {r.FinalValAccuracy:F4}  test acc {r.TestAccuracy:F4}  {r.Seconds,5:F1} s"));
        }
        if (!main) return 0;
        var ranked = results.OrderByDescending(r => r.Diverged ? -1 : r.TestAccuracy).ThenBy(r => r.StepsToTarget ?? long.MaxValue).ToList();

        stdout.WriteLine();
        stdout.WriteLine($"{"rank",4}  {"optimizer",-9}  {"lr",8}  {"val acc",7}  {"test acc",8}  {"test loss",9}  {$"steps to {target:0.###}",14}  {"epochs",6}  {"seconds",7}");
        for (int i = 0; i < ranked.Count; i++)
        {
            var r = ranked[i];
            string steps = r.StepsToTarget?.ToString(CultureInfo.InvariantCulture) ?? "never";
            string epochs = r.EpochsToTarget is { } e ? e.ToString("F2", CultureInfo.InvariantCulture) : "-";
            stdout.WriteLine(FormattableString.Invariant(
                $"{i + 1,4}  {r.Optimizer,-9}  {r.Lr,8:G4}  {r.FinalValAccuracy,7:F4}  {r.TestAccuracy,8:F4}  {(r.Diverged ? "diverged" : r.TestLoss.ToString("F4", CultureInfo.InvariantCulture)),9}  {steps,14}  {epochs,6}  {r.Seconds,7:F1}"));
        }

        Directory.CreateDirectory(outDir);
        var lossPath = Path.Combine(outDir, "train_loss.svg");
        var accPath = Path.Combine(outDir, "val_accuracy.svg");
        File.WriteAllText(lossPath, LineChart.Svg($"Training loss on {settings.Dataset} (smoothed over 20 batches)", "step", "loss",
            results.Select(r => new Series(r.Optimizer, LineChart.MovingAverage(r.TrainLoss, 20))).ToList(), logY: true));
        File.WriteAllText(accPath, LineChart.Svg($"Validation accuracy on {settings.Dataset}", "step", "accuracy",
            results.Select(r => new Series(r.Optimizer, r.ValAccuracy.Select(p => ((double)p.Step, p.Accuracy)).ToList())).ToList()));
        foreach (var r in results)
        {
            var dir = Path.Combine(logdir ?? outDir, r.Optimizer);
            Directory.CreateDirectory(dir);
            var csv = new StringBuilder("step,train_loss,val_accuracy\n");
            var acc = r.ValAccuracy.ToDictionary(p => p.Step, p => p.Accuracy);
            foreach (var (step, loss) in r.TrainLoss)
                csv.Append(FormattableString.Invariant($"{step},{loss:R},{(acc.TryGetValue(step, out var a) ? a.ToString("R", CultureInfo.InvariantCulture) : "")}\n"));
            File.WriteAllText(Path.Combine(dir, "curves.csv"), csv.ToString());
        }
        stdout.WriteLine();
        stdout.WriteLine($"pictures: {lossPath}, {accPath}; curves: {Path.Combine(logdir ?? outDir, "<optimizer>", "curves.csv")}");
        stdout.WriteLine(FormattableString.Invariant($"total {total.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }
}
