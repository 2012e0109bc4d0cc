using System.CommandLine;
using System.Text.Json;
using Descent.Cli.Commands;
using Descent.Data;
using Descent.Tuning;

namespace Descent.Tests.Cli;

/// <summary>
/// <c>descent tune</c> in-process: the JSON summary's shape, the test split read exactly once (a dataset wrapper counts
/// every sample read), the report's table, importances and plots, and bad input refused with one line and exit code 2.
/// </summary>
public sealed class TuneCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-tune-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonElement Json(string output) => JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    /// <summary>Counts how often each sample is read; a wrapper of the test split proves when and how often it is read.</summary>
    private sealed class CountingDataset(Dataset inner) : Dataset([.. inner.SampleShape], inner.NumClasses)
    {
        public readonly int[] Reads = new int[inner.Count];

        public override int Count => inner.Count;

        public override void CopySample(int index, Span<float> destination)
        {
            Reads[index]++;
            inner.CopySample(index, destination);
        }

        public override int GetLabel(int index) => inner.GetLabel(index);

        public override void GetBatch(ReadOnlySpan<int> indices, Span<float> features, Span<float> targets)
        {
            foreach (int i in indices) Reads[i]++;
            inner.GetBatch(indices, features, targets);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_test_split_is_read_exactly_once_after_the_search(bool folds)
    {
        var wrappers = new List<CountingDataset>();
        var stdout = new StringWriter();
        var tune = TuneCommand.Create(stdout, data =>
        {
            var counting = new CountingDataset(data.Test);
            wrappers.Add(counting);
            return data with { Test = counting };
        });
        var root = new RootCommand();
        root.Subcommands.Add(tune);
        string[] args = ["tune", "--space", "lr=log:1e-3..1e-1, optimizer=sgd|adam", "--trials", "4", "--repeats", "2", "--epochs", "2",
            "--hidden", "32", "--storage", "memory", "--json", .. folds ? new[] { "--folds", "3" } : []];
        int code = root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stdout, EnableDefaultExceptionHandler = false });
        Assert.True(code == 0, stdout.ToString());
        // The search, the reruns and the final model each load data; only the final evaluation reads a test split,
        // and it reads every test sample once.
        Assert.NotEmpty(wrappers);
        var read = wrappers.Where(w => w.Reads.Any(r => r > 0)).ToList();
        var tested = Assert.Single(read);
        Assert.All(tested.Reads, r => Assert.Equal(1, r));
        Assert.Equal(360, tested.Count);
        Assert.Equal(folds ? 1 : 2, wrappers.Count);
        Assert.Contains("the test split is read this once", stdout.ToString());
    }

    [Fact]
    public void The_json_summary_has_the_study_the_best_trial_the_counts_and_the_test_accuracy()
    {
        string db = Path.Combine(_dir, "study.db");
        var (code, output, err) = CliRunner.Run("tune", "--space", "lr=log:1e-3..0.3, hidden=32|64", "--trials", "5", "--epochs", "2",
            "--storage", db, "--study", "shape", "--sampler", "random", "--logdir", Path.Combine(_dir, "logs"), "--json");
        Assert.True(code == 0, output + err);
        var json = Json(output);
        Assert.Equal("shape", json.GetProperty("study").GetString());
        Assert.Equal(5, json.GetProperty("trials").GetInt32() + json.GetProperty("pruned").GetInt32() + json.GetProperty("failed").GetInt32());
        Assert.Equal(5, json.GetProperty("new_trials").GetInt32());
        var best = json.GetProperty("best_params");
        Assert.InRange(best.GetProperty("lr").GetDouble(), 1e-3, 0.3);
        Assert.Contains(best.GetProperty("hidden").GetString(), new[] { "32", "64" });
        Assert.InRange(json.GetProperty("best_value").GetDouble(), 0, 1);
        Assert.InRange(json.GetProperty("test_accuracy").GetDouble(), 0, 1);
        // One progress line per trial, and a TensorBoard run with its hparams per trial.
        Assert.Equal(5, output.Split('\n').Count(l => l.StartsWith("trial ", StringComparison.Ordinal)));
        for (int t = 0; t < 5; t++) Assert.True(Directory.Exists(Path.Combine(_dir, "logs", $"trial-{t:D4}")), $"trial-{t:D4}");

        // Run again: the study is done, nothing new runs, and the test split is not read again.
        var (again, rerun, rerunErr) = CliRunner.Run("tune", "--space", "lr=log:1e-3..0.3, hidden=32|64", "--trials", "5", "--epochs", "2",
            "--storage", db, "--study", "shape", "--sampler", "random", "--json");
        Assert.True(again == 0, rerun + rerunErr);
        Assert.Equal(0, Json(rerun).GetProperty("new_trials").GetInt32());
        Assert.Equal(json.GetProperty("test_accuracy").GetDouble(), Json(rerun).GetProperty("test_accuracy").GetDouble());
        Assert.Contains("the test split is not read again", rerun);

        // The report: ranked table, importances, plots.
        string plots = Path.Combine(_dir, "plots");
        var (reportCode, report, reportErr) = CliRunner.Run("tune", "--report", "--storage", db, "--study", "shape", "--plots", plots);
        Assert.True(reportCode == 0, report + reportErr);
        Assert.Contains("rank", report);
        Assert.Contains("Parameter importance", report);
        foreach (var file in new[] { "history.svg", "parallel-coordinates.svg", "slice-lr.svg", "slice-hidden.svg" })
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(plots, file)));
    }

    [Fact]
    public void The_median_pruner_stops_trials_early_on_their_per_epoch_validation_accuracy()
    {
        string db = Path.Combine(_dir, "pruned.db");
        const int epochs = 6;
        var (code, output, err) = CliRunner.Run("tune", "--space", "lr=log:1e-5..1", "--trials", "14", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--hidden", "32", "--sampler", "random", "--prune", "median", "--storage", db, "--study", "pruned", "--json");
        Assert.True(code == 0, output + err);
        var json = Json(output);
        using var storage = StudyStorage.Open(db);
        var trials = Study.Load("pruned", storage).Trials;
        var pruned = trials.Where(t => t.State == TrialState.Pruned).ToList();
        Assert.NotEmpty(pruned);
        Assert.Equal(pruned.Count, json.GetProperty("pruned").GetInt32());
        // A pruned trial reported fewer epochs than it was given; a complete one reported every epoch.
        Assert.All(pruned, t => Assert.InRange(t.IntermediateValues.Count, 1, epochs - 1));
        Assert.All(trials.Where(t => t.State == TrialState.Complete), t => Assert.Equal(Enumerable.Range(1, epochs), t.IntermediateValues.Keys.Order()));
        Assert.Contains("pruned at step", output);
    }

    public static TheoryData<string[], string> BadInput() => new()
    {
        { ["tune", "--trials", "3"], "--space is required" },
        { ["tune", "--space", "lr=log:1e-3..1e-1"], "--trials is required" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "0"], "--trials must be a positive integer, got 0" },
        { ["tune", "--space", "speed=1|2", "--trials", "3"], "--space: 'speed' is not a tunable option of train (tunable: lr, optimizer," },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--lr", "0.1", "--trials", "3"], "--lr is given both on the command line and in --space; keep one" },
        { ["tune", "--space", "dropout=0..1.5", "--trials", "3"], "--space dropout=1.5: --dropout:" },
        { ["tune", "--space", "epochs=1..5", "--trials", "3"], "--space epochs: train's --epochs takes integers (use int:LOW..HIGH)" },
        { ["tune", "--space", "optimizer=sgd|bogus", "--trials", "3"], "--space optimizer=bogus:" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "3", "--folds", "1"], "--folds must be at least 2, got 1" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "3", "--workers", "0"], "--workers must be a positive integer, got 0" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "3", "--sampler", "bayes"], "bayes" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "3", "--heartbeat", "0"], "--heartbeat must be a positive number of seconds, got 0" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "3", "--folds", "3", "--val-fraction", "0.2"], "--val-fraction does not apply with --folds" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "3", "--workers", "2", "--storage", "memory"], "--workers needs a database --storage" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "3", "--heartbeat", "5", "--storage", "memory"], "--heartbeat needs a database --storage" },
        { ["tune", "--space", "lr=1e-3..1e-1:0.01, speed=1|2", "--trials", "3"], "'speed' is not a tunable option" },
        { ["tune", "--report", "--storage", "memory"], "--report needs --storage URL and --study NAME" },
        { ["tune", "--report", "--storage", "/nonexistent/study.db", "--study", "x"], "--storage /nonexistent/study.db: no such file" },
        { ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", "3", "--epochs", "1", "--storage", "postgresql://postgres@127.0.0.1:1/descent"], "--storage postgresql://postgres@127.0.0.1:1/descent: " },
        { ["tune", "--report", "--storage", "memory", "--study", "x", "--trials", "3"], "--trials does not apply with --report" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Bad_input_is_one_line_and_exit_code_2(string[] args, string expected)
    {
        string line = CliRunner.AssertUsageError(args);
        Assert.Contains(expected, line);
    }

    [Fact]
    public void Importances_are_each_parameters_share_of_the_variance_it_explains_alone()
    {
        // A full 2 × 2 × 2 design: value = 3·[a = x] + 1·[b = y] + 0·c. The between-group sums of squares are
        // 8·(1.5)² = 18 for a, 8·(0.5)² = 2 for b and 0 for c, of a total of 20: shares 0.9, 0.1 and 0.
        var trials = new List<FrozenTrial>();
        int n = 0;
        foreach (var a in new[] { "x", "w" })
            foreach (var b in new[] { "y", "z" })
                foreach (var c in new[] { 1.0, 2.0 })
                    trials.Add(new FrozenTrial(n++, TrialState.Complete, new Dictionary<string, object> { ["a"] = a, ["b"] = b, ["c"] = c },
                        new Dictionary<string, Distribution>(), (a == "x" ? 3 : 0) + (b == "y" ? 1 : 0), new Dictionary<int, double>(),
                        DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, new Dictionary<string, string>()));
        var shares = Descent.Lab.Tuning.StudyReport.Importances(trials).ToDictionary();
        Assert.Equal(0.9, shares["a"], 12);
        Assert.Equal(0.1, shares["b"], 12);
        Assert.Equal(0.0, shares["c"], 12);
    }
}
