using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Descent.Lab.Tuning;
using Descent.Training;
using Descent.Tuning;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent tune</c>: a hyperparameter search over train's options (a <see cref="Study"/> of Descent.Tuning, kept in
/// a database so a killed search resumes and several processes share it), chosen on validation data only; the test
/// split is read once, by the best configuration retrained on train+validation. <c>--report</c> shows a study.
/// </summary>
internal static class TuneCommand
{
    /// <param name="stdout">Where progress and results go.</param>
    /// <param name="prepared">Applied to the data each time it is loaded (tests wrap the test split to count its reads); null for none.</param>
    public static Command Create(TextWriter stdout, Func<PreparedData, PreparedData>? prepared = null)
    {
        var cmd = new Command("tune", "Search train's hyperparameters on validation data (a study in SQLite or PostgreSQL), then test the best configuration once.");
        var data = new ModelDataOptionSet();
        var userData = new UserDataOptionSet();
        var optim = new OptimizerOptionSet();
        var space = new Option<string?>("--space") { Description = "The search space: \"lr=log:1e-4..1e-1, optimizer=sgd|adam, hidden=128,64|256,128, dropout=0..0.5, epochs=int:5..20\" or a JSON file; names are train's options" };
        var trials = new Option<int?>("--trials") { Description = "Trials the study should hold when done (finished or running, all processes and earlier runs counted)" };
        var sampler = new Option<string>("--sampler") { Description = "tpe (Optuna's default), random or grid", DefaultValueFactory = _ => "tpe" };
        var prune = new Option<string>("--prune") { Description = "Stop unpromising trials on their per-epoch validation metric: none, median or halving (successive halving, asynchronous)", DefaultValueFactory = _ => "none" };
        var folds = new Option<int?>("--folds") { Description = "Score each trial by k-fold cross-validation on the training split (the mean over the folds) instead of one validation split" };
        var repeats = new Option<int?>("--repeats") { Description = $"After the search, rerun the {TuneSearch.RepeatedCandidates} best trials with R more seeds and report mean ± std; the best mean is tested" };
        var workers = new Option<int>("--workers") { Description = "Worker processes on this machine sharing the study (this one and W−1 more)", DefaultValueFactory = _ => 1 };
        var storage = new Option<string?>("--storage") { Description = "Where the study lives: FILE.db or sqlite:///FILE.db (default: NAME.db beside --logdir, or runs/tune/NAME.db), postgresql://user:password@host:port/db, or memory" };
        var study = new Option<string?>("--study") { Description = "The study's name (default: the dataset's)" };
        var heartbeat = new Option<double?>("--heartbeat") { Description = $"Seconds between a worker's heartbeats; a running trial whose worker is silent for twice this is marked failed (default {StudyStorage.DefaultHeartbeat.TotalSeconds})" };
        var logdir = new Option<string?>("--logdir") { Description = "Write every trial as a TensorBoard run DIR/trial-NNNN with its hparams (descent board's HParams tab), and the tested model as DIR/final" };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary as the last line of stdout" };
        var report = new Option<bool>("--report") { Description = "Print the study's ranked trials and parameter importances and write its plots (with --storage and --study)" };
        var plots = new Option<string?>("--plots") { Description = "--report: the folder for the SVG plots (default: NAME-report beside a SQLite file, else ./NAME-report)" };
        // A worker started by --workers: it runs trials only; the process that started it reports.
        var worker = new Option<int?>("--worker") { Hidden = true };
        foreach (var o in data.All.Concat(userData.All).Concat(optim.All).Concat([space, trials, sampler, prune, folds, repeats, workers, storage, study, heartbeat, logdir, plots, report, json, worker]))
            cmd.Options.Add(o);
        sampler.AcceptOnlyFromAmong("tpe", "random", "grid");
        prune.AcceptOnlyFromAmong("none", "median", "halving");

        cmd.SetAction(parse =>
        {
            var heartbeatTime = parse.GetValue(heartbeat) is { } h ? (h > 0 ? TimeSpan.FromSeconds(h) : throw new UsageException($"--heartbeat must be a positive number of seconds, got {h}")) : (TimeSpan?)null;
            if (parse.GetValue(report))
            {
                parse.Refuse([.. data.All, .. userData.All, .. optim.All, space, trials, sampler, prune, folds, repeats, workers, heartbeat, logdir, json], "with --report (it reads a study; give --storage and --study)");
                if (parse.GetValue(storage) is not { } reportStorage || parse.GetValue(study) is not { } reportStudy)
                    throw new UsageException("--report needs --storage URL and --study NAME");
                return Report(reportStorage, reportStudy, parse.GetValue(plots), stdout);
            }
            if (parse.Given(plots)) throw new UsageException("--plots applies only with --report");
            int? k = parse.GetValue(folds);
            if (k is < 2) throw new UsageException($"--folds must be at least 2, got {k}");
            if (k is not null && parse.Given(data.ValFraction)) throw new UsageException("--val-fraction does not apply with --folds (the folds are the validation data)");
            if (parse.GetValue(data.ValFraction) is 0) throw new UsageException("--val-fraction must be positive: the search scores each trial on the validation split (or use --folds K)");
            // The search needs validation data: the dataset's own fraction, or 10 % where it has none (Fashion-MNIST).
            var settings = data.Settings(parse, defaultValFraction: 0.1, userData: true);
            if (k is not null) settings = settings with { ValFraction = 0 };
            var source = userData.Source(parse, data, settings);
            parse.Refuse([userData.Predict, userData.Out], "to tune (train the chosen configuration with descent train to predict)");
            if (k is not null && source is not null) throw new UsageException("--folds applies to the built-in datasets; with --data FILE.csv or an image folder the search uses a validation split");
            optim.CheckTraining(parse);
            if (parse.GetValue(space) is not { } spaceText) throw new UsageException("--space is required: the parameters to search, e.g. --space \"lr=log:1e-4..1e-1, optimizer=sgd|adam\"");
            if (parse.GetValue(trials) is not { } total) throw new UsageException("--trials is required: how many trials the study should hold");
            if (total < 1) throw new UsageException($"--trials must be a positive integer, got {total}");
            if (parse.GetValue(workers) is var w && w < 1) throw new UsageException($"--workers must be a positive integer, got {w}");
            if (parse.GetValue(repeats) is < 1 and var r) throw new UsageException($"--repeats must be a positive integer, got {r}");
            if (parse.GetValue(workers) > 1 && parse.GetValue(storage) == "memory")
                throw new UsageException("--workers needs a database --storage (a memory study is one process's own)");
            if (heartbeatTime is not null && parse.GetValue(storage) == "memory")
                throw new UsageException("--heartbeat needs a database --storage (a memory study's trials end with its process)");
            var logging = new LoggingSettings(parse.GetValue(logdir), null, null);
            logging.Check();

            var searchSpace = ParseSpace(spaceText);
            var optionsByName = cmd.Options.ToDictionary(o => o.Name);
            foreach (var (name, _) in searchSpace.Parameters)
            {
                if (!TrialConfigurations.Tunable.Contains(name))
                    throw new UsageException($"--space: '{name}' is not a tunable option of train (tunable: {string.Join(", ", TrialConfigurations.Tunable)})");
                if (parse.Given(optionsByName["--" + name]))
                    throw new UsageException($"--{name} is given both on the command line and in --space; keep one");
            }
            var configurations = new TrialConfigurations(TrialConfigurations.TrainTokens(parse, [.. data.All, .. optim.All]), settings.ValFraction);
            configurations.Check(searchSpace);

            var loaded = TrainData.Load(settings, source, asImages: settings.Model == "cnn" || searchSpace.Parameters.Any(p => p.Key == "model"));
            if (prepared is not null) loaded = loaded with { Data = prepared(loaded.Data) };
            string studyName = parse.GetValue(study) ?? DefaultStudyName(loaded.Name);
            string url = parse.GetValue(storage) ?? DefaultStorage(parse.GetValue(logdir), studyName);

            var search = new TuneSearch(loaded, settings, configurations, searchSpace, k, logging, stdout);
            int? workerIndex = parse.GetValue(worker);
            ISampler studySampler = parse.GetValue(sampler) switch
            {
                "random" => new RandomSampler(settings.Seed + (workerIndex ?? 0)),
                "grid" => new GridSampler(searchSpace),
                _ => new TpeSampler(settings.Seed + (workerIndex ?? 0)),
            };
            IPruner pruner = parse.GetValue(prune) switch
            {
                "median" => new MedianPruner(),
                "halving" => new SuccessiveHalvingPruner(),
                _ => new NopPruner(),
            };
            using var store = OpenStorage(url, heartbeatTime);
            var theStudy = InStorageTerms(url, () => Study.Create(studyName, store, search.Direction, studySampler, pruner));
            if (workerIndex is not null)
            {
                int ran = theStudy.Optimize(search.Objective, total);
                stdout.WriteLine(JsonSerializer.Serialize(new Dictionary<string, int> { ["new_trials"] = ran }));
                return 0;
            }
            if (!theStudy.UserAttrs.ContainsKey("objective")) theStudy.SetUserAttr("objective", search.ObjectiveName);
            return search.Run(theStudy, total, parse.GetValue(workers), parse.GetValue(repeats), parse.GetValue(json), url,
                extraWorkers: parse.GetValue(workers) > 1 ? WorkerArguments(parse) : null,
                finalData: k is not null ? null : () =>
                {
                    var all = TrainData.Load(settings with { ValFraction = 0 }, source, asImages: loaded.Data.Train.SampleShape.Count == 3);
                    return prepared is null ? all : all with { Data = prepared(all.Data) };
                });
        });
        return cmd;
    }

    /// <summary>Opens the storage; a database that cannot be opened or reached is the user's to fix, in one line.</summary>
    private static IStudyStorage OpenStorage(string url, TimeSpan? heartbeat) => InStorageTerms(url, () => StudyStorage.Open(url, heartbeat));

    private static T InStorageTerms<T>(string url, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (System.Data.Common.DbException e)
        {
            throw new UsageException($"--storage {url}: {e.Message}");
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new UsageException($"--storage {url}: {e.Message}");
        }
    }

    private static SearchSpace ParseSpace(string text)
    {
        try
        {
            return text.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? SearchSpace.FromJsonFile(text) : SearchSpace.Parse(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or JsonException)
        {
            throw new UsageException($"--space: {e.Message}");
        }
        catch (FileNotFoundException)
        {
            throw new UsageException($"--space {text}: no such file");
        }
    }

    /// <summary>The dataset's name as a study name: <c>digits</c>, <c>houses</c> for houses.csv, <c>photos</c> for photos/.</summary>
    private static string DefaultStudyName(string dataName) => Path.GetFileNameWithoutExtension(dataName.TrimEnd('/'));

    /// <summary>NAME.db beside the log directory, or runs/tune/NAME.db without one.</summary>
    private static string DefaultStorage(string? logdir, string studyName)
    {
        string folder = logdir is null ? Path.Combine("runs", "tune") : Path.GetDirectoryName(Path.GetFullPath(logdir.TrimEnd('/', '\\'))) ?? ".";
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, studyName + ".db");
    }

    /// <summary>The command line of a worker: this one's own arguments (as parsed) and <c>--worker</c>.</summary>
    private static IReadOnlyList<string> WorkerArguments(ParseResult parse) => [.. parse.Tokens.Select(t => t.Value)];

    private static int Report(string url, string name, string? plotFolder, TextWriter stdout)
    {
        // Reading a study must not leave an empty database behind.
        if (!url.Contains("://", StringComparison.Ordinal) && url != "memory" && !File.Exists(url) || url.StartsWith("sqlite://", StringComparison.Ordinal) && !File.Exists(SqlitePath(url)))
            throw new UsageException($"--storage {url}: no such file");
        using var store = OpenStorage(url, null);
        var theStudy = InStorageTerms(url, () => Study.Load(name, store));
        var trials = theStudy.Trials;
        string valueName = theStudy.UserAttrs.GetValueOrDefault("objective") ?? "value";
        int Count(TrialState s) => trials.Count(t => t.State == s);
        stdout.WriteLine($"Study {name} ({url}): {trials.Count} trials: {Count(TrialState.Complete)} complete, {Count(TrialState.Pruned)} pruned, {Count(TrialState.Failed)} failed, {Count(TrialState.Running)} running; {valueName} {(theStudy.Direction == StudyDirection.Maximize ? "maximized" : "minimized")}");
        if (Count(TrialState.Complete) == 0)
        {
            stdout.WriteLine("no complete trial yet");
            return 0;
        }
        stdout.WriteLine();
        stdout.Write(StudyReport.Table(trials, theStudy.Direction, valueName));
        var importances = StudyReport.Importances(trials);
        if (importances.Count > 0)
        {
            stdout.WriteLine();
            stdout.WriteLine("Parameter importance (share of the value's variance each parameter explains alone):");
            foreach (var (param, share) in importances) stdout.WriteLine(FormattableString.Invariant($"  {param,-24} {share,6:F3}  {new string('#', (int)Math.Round(share * 40))}"));
        }
        if (theStudy.UserAttrs.GetValueOrDefault("test") is { } test)
            stdout.WriteLine($"\nTest split (read once, after the search, by trial {theStudy.UserAttrs.GetValueOrDefault("test_trial")} retrained on train+validation): {test}");
        string folder = plotFolder ?? Path.Combine(File.Exists(SqlitePath(url)) ? Path.GetDirectoryName(Path.GetFullPath(SqlitePath(url)))! : ".", name + "-report");
        var written = StudyReport.WritePlots(trials, theStudy.Direction, valueName, folder);
        stdout.WriteLine($"\nwrote {written.Count} plots to {folder}");
        return 0;
    }

    private static string SqlitePath(string url) => url.StartsWith("sqlite:///", StringComparison.Ordinal) ? url["sqlite://".Length..] : url;
}
