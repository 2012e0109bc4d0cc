using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Descent.Lab.Tuning;
using Descent.Optim;
using Descent.Training;
using Descent.Tuning;

namespace Descent.Cli;

/// <summary>
/// The protocol of <c>descent tune</c>. A trial's value is its configuration's validation metric — the mean over k
/// folds of the training split with <c>--folds</c>, else the metric on the validation split — after its last epoch:
/// accuracy (maximized) for classification, RMSE in the target's units (minimized) for regression. After the search
/// (and the <c>--repeats</c> reruns), the chosen configuration is retrained on train+validation and evaluated on the
/// test split: the only time anything reads the test split.
/// </summary>
internal sealed class TuneSearch
{
    /// <summary>How many of the best trials <c>--repeats</c> reruns.</summary>
    public const int RepeatedCandidates = 3;

    private readonly TrainData _data;
    private readonly TrainSettings _settings;
    private readonly TrialConfigurations _configurations;
    private readonly SearchSpace _space;
    private readonly int? _folds;
    private readonly LoggingSettings _logging;
    private readonly TextWriter _stdout;
    private readonly bool _regression;

    public TuneSearch(TrainData data, TrainSettings settings, TrialConfigurations configurations, SearchSpace space, int? folds, LoggingSettings logging, TextWriter stdout)
    {
        _data = data;
        _settings = settings;
        _configurations = configurations;
        _space = space;
        _folds = folds;
        _logging = logging;
        _stdout = stdout;
        _regression = data.Data.Task == Data.TaskKind.Regression;
    }

    /// <summary>Accuracy up, RMSE down.</summary>
    public StudyDirection Direction => _regression ? StudyDirection.Minimize : StudyDirection.Maximize;

    /// <summary>What a trial's value is: <c>val_accuracy</c>, <c>cv_accuracy</c> (k-fold mean) or <c>val_rmse</c>.</summary>
    public string ObjectiveName => (_folds is null ? "val_" : "cv_") + (_regression ? "rmse" : "accuracy");

    private string MetricName => _regression ? "rmse" : "accuracy";

    /// <summary>The objective the study optimizes: suggests the space's parameters, trains, returns the validation value.</summary>
    public double Objective(Trial trial)
    {
        // Which process ran the trial: the workers of one study share it, and a dead one's trial is found by it.
        trial.SetUserAttr("pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var values = _space.Suggest(trial).ToList();
        var configuration = _configurations.For(values);
        return Validate(configuration, configuration.Settings.Seed, trial, values);
    }

    /// <summary>
    /// The configuration's validation value with this seed (model initialization and batch order): on the validation
    /// split, or the mean over the folds. With a trial, each epoch's value is reported to it for pruning — with folds,
    /// those of the first fold (the later folds run only for trials the pruner let through it) — and the run is logged
    /// as <c>--logdir/trial-NNNN</c>.
    /// </summary>
    private double Validate(TrialConfiguration configuration, int seed, Trial? trial, IReadOnlyList<KeyValuePair<string, object>> values)
    {
        var settings = configuration.Settings with { Seed = seed };
        var prepared = _data.Data;
        string? run = trial is null ? null : $"trial-{trial.Number:D4}";
        var hparams = HParams(configuration, values, trial?.Number);
        double Metric(EpochResult e) => _regression ? e.ValMetrics!["rmse"] : e.ValAccuracy!.Value;
        if (_folds is not { } k)
        {
            var model = settings.BuildModel(prepared);
            var trainer = Trainer(model, configuration);
            using var logger = run is null ? null : _logging.Create(model, trainer.Optimizer, hparams, run);
            if (logger is not null) trainer.Callbacks.Add(logger);
            if (trial is not null) trainer.Callbacks.Add(new PruningCallback(trial, Metric));
            var history = trainer.Fit(prepared.TrainLoader(settings.BatchSize, seed), prepared.Validation, settings.Epochs);
            return Metric(history[^1]);
        }
        TensorBoard.TensorBoardLogger? foldLogger = null;
        try
        {
            var result = CrossValidation.Run((Data.InMemoryDataset)prepared.Train,
                _ => settings.BuildModel(prepared),
                model => Optimizers.Create(configuration.Optimizer, model, configuration.OptimizerSettings),
                new CrossValidationOptions
                {
                    Folds = k, Epochs = settings.Epochs, BatchSize = settings.BatchSize, Seed = seed,
                    Preprocessing = settings.FoldPreprocessing,
                    ConfigureTrainer = (t, fold) =>
                    {
                        Configure(t, configuration);
                        if (fold != 0) return;
                        // The first fold's curves stand for the trial in TensorBoard; the k-fold mean is its metric.
                        if (run is not null && _logging.Create(t.Model, t.Optimizer, hparams, run) is { } logger)
                        {
                            foldLogger = logger;
                            t.Callbacks.Add(logger);
                        }
                        if (trial is not null) t.Callbacks.Add(new PruningCallback(trial, Metric));
                    },
                });
            double value = _regression ? result.Mean("rmse") : result.MeanAccuracy;
            foldLogger?.AddFinalMetric($"hparam/{ObjectiveName}", value);
            return value;
        }
        finally
        {
            foldLogger?.Dispose();
        }
    }

    private Trainer Trainer(Nn.Module model, TrialConfiguration configuration)
    {
        var trainer = new Trainer(model, Optimizers.Create(configuration.Optimizer, model, configuration.OptimizerSettings));
        Configure(trainer, configuration);
        return trainer;
    }

    private void Configure(Trainer trainer, TrialConfiguration configuration)
    {
        trainer.ClipGradNorm = configuration.ClipNorm;
        trainer.AccumulationSteps = configuration.Accumulate;
        if (_regression) trainer.Metrics.AddRange(_data.RegressionMetrics());
    }

    /// <summary>The HParams of a trial's run: the data and loop, then every searched parameter under its snake_case name.</summary>
    private Dictionary<string, object?> HParams(TrialConfiguration configuration, IReadOnlyList<KeyValuePair<string, object>> values, int? trial)
    {
        var s = configuration.Settings;
        var hparams = new Dictionary<string, object?>
        {
            ["dataset"] = _data.Name, ["model"] = s.Model, ["optimizer"] = configuration.Optimizer,
            ["batch_size"] = s.BatchSize, ["epochs"] = s.Epochs, ["seed"] = s.Seed, ["hidden"] = string.Join(",", s.Hidden),
        };
        if (trial is not null) hparams["trial"] = trial;
        foreach (var (name, value) in values) hparams[name.Replace('-', '_')] = value;
        return hparams;
    }

    /// <summary>
    /// Runs the search to <paramref name="total"/> trials (with <paramref name="extraWorkers"/>: W−1 worker processes
    /// beside this one), prints a line per finished trial, reruns the best with <paramref name="repeats"/> seeds, tests
    /// the chosen configuration once and prints (or, with <paramref name="json"/>, ends with) the summary.
    /// </summary>
    /// <remarks><paramref name="finalData"/> loads train+validation with the test split for the final model; null when the search data already is that (k-fold).</remarks>
    public int Run(Study study, int total, int workers, int? repeats, bool json, string url, IReadOnlyList<string>? extraWorkers, Func<TrainData>? finalData)
    {
        var clock = Stopwatch.StartNew();
        int before = study.Trials.Count(t => t.State != TrialState.Running);
        _stdout.WriteLine($"Study {study.Name} in {url}: {before} finished trials; searching to {total} ({ObjectiveName}, {(Direction == StudyDirection.Maximize ? "maximized" : "minimized")}; {(workers > 1 ? $"{workers} workers" : "1 worker")})");
        var progress = new Progress(_stdout, Direction, study.Trials.Where(t => t.State != TrialState.Running).Select(t => t.Number));
        var children = extraWorkers is null ? [] : Enumerable.Range(1, workers - 1).Select(i => WorkerProcess.Start(extraWorkers, i)).ToList();
        int newTrials;
        try
        {
            newTrials = study.Optimize(Objective, total, _ => progress.Print(study.Trials));
        }
        finally
        {
            foreach (var child in children) child.WaitForExit();
        }
        foreach (var child in children)
        {
            if (child.NewTrials is { } n) newTrials += n;
            else Console.Error.WriteLine($"descent: warning: worker {child.Index} exited with code {child.ExitCode}: {child.LastError}");
        }
        // Trials still running belong to other workers (on other machines, or killed and not yet failed by the
        // heartbeat rule); one of them may be the best, so the search ends when each has finished or been failed.
        var running = study.Trials.Where(t => t.State == TrialState.Running).Select(t => t.Number).ToList();
        if (running.Count > 0)
        {
            _stdout.WriteLine($"waiting for trial{(running.Count > 1 ? "s" : "")} {string.Join(", ", running)}, still running in other workers");
            while (study.Trials.Any(t => t.State == TrialState.Running)) Thread.Sleep(250);
        }
        var trials = study.Trials;
        progress.Print(trials);
        int Count(TrialState s) => trials.Count(t => t.State == s);
        double searchSeconds = clock.Elapsed.TotalSeconds;
        _stdout.WriteLine(FormattableString.Invariant($"{trials.Count} trials: {Count(TrialState.Complete)} complete, {Count(TrialState.Pruned)} pruned, {Count(TrialState.Failed)} failed; {newTrials} run now ({searchSeconds:F1} s)"));
        if (Count(TrialState.Complete) == 0)
        {
            string firstError = trials.FirstOrDefault(t => t.Error is not null)?.Error ?? "";
            _stdout.WriteLine($"no trial completed, so nothing is tested{(firstError.Length > 0 ? $" (first error: {firstError})" : "")}");
            return 1;
        }
        var best = study.BestTrial;
        _stdout.WriteLine(FormattableString.Invariant($"best: trial {best.Number}  {ObjectiveName} {best.Value:F4}  {Progress.Params(best.Params)}"));
        var chosen = best;
        if (repeats is { } r) chosen = Repeat(trials, r);
        var summary = Test(study, chosen, finalData);
        if (json)
        {
            var line = new Dictionary<string, object?>
            {
                ["study"] = study.Name,
                ["best_value"] = Math.Round(best.Value!.Value, 6),
                ["best_params"] = best.Params,
                ["trials"] = Count(TrialState.Complete),
                ["pruned"] = Count(TrialState.Pruned),
                ["failed"] = Count(TrialState.Failed),
                ["new_trials"] = newTrials,
            };
            foreach (var (name, value) in summary) line[name] = value;
            line["tested_trial"] = chosen.Number;
            line["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3);
            _stdout.WriteLine(JsonSerializer.Serialize(line));
        }
        return 0;
    }

    /// <summary>Reruns the best trials with <paramref name="repeats"/> new seeds; returns the one with the best mean.</summary>
    private FrozenTrial Repeat(IReadOnlyList<FrozenTrial> trials, int repeats)
    {
        var candidates = StudyReport.Ranked(trials, Direction).Take(RepeatedCandidates).ToList();
        _stdout.WriteLine($"Rerunning the {candidates.Count} best trials with {repeats} more seeds each ({ObjectiveName} mean ± std):");
        FrozenTrial? chosen = null;
        double chosenMean = 0;
        foreach (var candidate in candidates)
        {
            var values = candidate.Params.ToList();
            var configuration = _configurations.For(values);
            var scores = Enumerable.Range(1, repeats).Select(i => Validate(configuration, _settings.Seed + i, null, values)).ToArray();
            double mean = scores.Average();
            double std = scores.Length > 1 ? Math.Sqrt(scores.Sum(v => (v - mean) * (v - mean)) / (scores.Length - 1)) : 0;
            _stdout.WriteLine(FormattableString.Invariant($"  trial {candidate.Number,4}  {mean:F4} ± {std:F4}  (search: {candidate.Value:F4})  {Progress.Params(candidate.Params)}"));
            if (chosen is null || (Direction == StudyDirection.Maximize ? mean > chosenMean : mean < chosenMean)) (chosen, chosenMean) = (candidate, mean);
        }
        _stdout.WriteLine($"chosen: trial {chosen!.Number} (best mean over the reruns)");
        return chosen;
    }

    /// <summary>
    /// Trains the chosen configuration on train+validation and evaluates it on the test split — once. A study whose
    /// chosen trial was already tested (a rerun after the search finished) keeps that result and reads nothing.
    /// </summary>
    private Dictionary<string, object?> Test(Study study, FrozenTrial chosen, Func<TrainData>? finalData)
    {
        string tested = chosen.Number.ToString(CultureInfo.InvariantCulture);
        if (study.UserAttrs.GetValueOrDefault("test_trial") == tested && study.UserAttrs.GetValueOrDefault("test") is { } stored)
        {
            _stdout.WriteLine($"test (measured when trial {tested} was first chosen; the test split is not read again): {stored}");
            return JsonSerializer.Deserialize<Dictionary<string, object?>>(study.UserAttrs["test_json"]) ?? [];
        }
        var clock = Stopwatch.StartNew();
        var data = finalData?.Invoke() ?? _data;
        var prepared = data.Data;
        var values = chosen.Params.ToList();
        var configuration = _configurations.For(values);
        var settings = configuration.Settings;
        var model = settings.BuildModel(prepared);
        var trainer = Trainer(model, configuration);
        // The tested run carries its trial's number too, so that every run of the log directory has the same columns.
        using (var logger = _logging.Create(model, trainer.Optimizer, HParams(configuration, values, chosen.Number), "final"))
        {
            if (logger is not null) trainer.Callbacks.Add(logger);
            trainer.Fit(prepared.TrainLoader(settings.BatchSize, settings.Seed), null, settings.Epochs);
            var test = trainer.Evaluate(prepared.Test);
            var summary = new Dictionary<string, object?>();
            string text;
            if (_regression)
            {
                foreach (var name in new[] { "mse", "rmse", "mae", "r2" })
                {
                    logger?.AddFinalMetric($"hparam/test_{name}", test.Values[name]);
                    summary[$"test_{name}"] = Finite(test.Values[name]);
                }
                text = FormattableString.Invariant($"rmse {test.Values["rmse"]:G6}  mae {test.Values["mae"]:G6}  r2 {test.Values["r2"]:F4}");
            }
            else
            {
                logger?.AddFinalMetric("hparam/test_accuracy", test.Accuracy);
                summary["test_accuracy"] = Finite(test.Accuracy);
                text = FormattableString.Invariant($"accuracy {test.Accuracy:F4}");
            }
            text += FormattableString.Invariant($"  loss {test.Loss:F4} on {prepared.Test.Count} test samples");
            summary["test_loss"] = Finite(test.Loss);
            _stdout.WriteLine(FormattableString.Invariant(
                $"test {text}  (trial {tested} retrained on {prepared.Train.Count} train+validation samples; the test split is read this once; {clock.Elapsed.TotalSeconds:F1} s)"));
            study.SetUserAttr("test", text);
            study.SetUserAttr("test_json", JsonSerializer.Serialize(summary));
            study.SetUserAttr("test_trial", tested);
            return summary;
        }
    }

    private static double? Finite(double value) => double.IsFinite(value) ? Math.Round(value, 6) : null;

    /// <summary>The progress lines: one per finished trial (this process's or a worker's), in the order they are seen.</summary>
    private sealed class Progress(TextWriter stdout, StudyDirection direction, IEnumerable<int> alreadyFinished)
    {
        private readonly HashSet<int> _printed = [.. alreadyFinished];

        public static string Params(IReadOnlyDictionary<string, object> values) =>
            string.Join(" ", values.Select(p => $"{p.Key}={StudyReport.Format(p.Value)}"));

        public void Print(IReadOnlyList<FrozenTrial> trials)
        {
            foreach (var t in trials.Where(t => t.State != TrialState.Running && !_printed.Contains(t.Number)).OrderBy(t => t.Finished))
            {
                _printed.Add(t.Number);
                var ranked = StudyReport.Ranked(trials.Where(o => o.State != TrialState.Running && _printed.Contains(o.Number)), direction);
                string outcome = t.State switch
                {
                    TrialState.Complete => FormattableString.Invariant($"value {t.Value:F4}"),
                    TrialState.Pruned => $"pruned at step {(t.IntermediateValues.Count > 0 ? t.IntermediateValues.Keys.Max() : 0)}",
                    _ => $"failed: {t.Error}",
                };
                string bestSoFar = ranked.Count > 0 ? FormattableString.Invariant($"best {ranked[0].Value:F4} (#{ranked[0].Number})") : "best -";
                int pruned = trials.Count(o => o.State == TrialState.Pruned && _printed.Contains(o.Number));
                int failed = trials.Count(o => o.State == TrialState.Failed && _printed.Contains(o.Number));
                double seconds = t.Finished is { } end ? (end - t.Started).TotalSeconds : 0;
                stdout.WriteLine(FormattableString.Invariant($"trial {t.Number,4}  {Params(t.Params)}  {outcome}  {bestSoFar}  pruned {pruned} failed {failed}  ({seconds:F1} s)"));
            }
        }
    }
}

/// <summary>A <c>descent tune --worker I</c> process started by <c>--workers</c>: same executable, same arguments.</summary>
internal sealed class WorkerProcess
{
    private readonly Process _process;
    private string? _lastLine;

    private WorkerProcess(Process process, int index)
    {
        _process = process;
        Index = index;
    }

    public int Index { get; }

    public string LastError { get; private set; } = "";

    public int ExitCode => _process.ExitCode;

    /// <summary>The trials the worker ran, from its last line; null when it failed.</summary>
    public int? NewTrials => _process.ExitCode == 0 && _lastLine is not null
        && JsonSerializer.Deserialize<Dictionary<string, int>>(_lastLine) is { } d && d.TryGetValue("new_trials", out int n) ? n : null;

    /// <summary>Starts the worker: this process's executable (the <c>descent</c> apphost, or <c>dotnet Descent.Cli.dll</c>).</summary>
    public static WorkerProcess Start(IReadOnlyList<string> arguments, int index)
    {
        var info = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string self = typeof(TuneSearch).Assembly.Location;
        string? host = Environment.ProcessPath;
        if (host is not null && Path.GetFileNameWithoutExtension(host) is "Descent.Cli" or "descent") info.FileName = host;
        else
        {
            info.FileName = host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
            info.ArgumentList.Add(self);
        }
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.ArgumentList.Add("--worker");
        info.ArgumentList.Add(index.ToString(CultureInfo.InvariantCulture));
        var worker = new WorkerProcess(Process.Start(info) ?? throw new IOException($"could not start {info.FileName}"), index);
        worker._process.OutputDataReceived += (_, e) => { if (!string.IsNullOrWhiteSpace(e.Data)) worker._lastLine = e.Data; };
        worker._process.ErrorDataReceived += (_, e) => { if (!string.IsNullOrWhiteSpace(e.Data)) worker.LastError = e.Data; };
        worker._process.BeginOutputReadLine();
        worker._process.BeginErrorReadLine();
        return worker;
    }

    public void WaitForExit() => _process.WaitForExit();
}
