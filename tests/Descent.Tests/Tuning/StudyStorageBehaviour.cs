using Descent.Tuning;

namespace Descent.Tests.Tuning;

/// <summary>
/// What every storage must do, run on memory, SQLite and PostgreSQL: typed round trips, a study-wide trial count that
/// makes a rerun do only the missing trials, failures and prunes that do not stop the search, atomic trial numbers
/// and grid cells under concurrent workers, and heartbeat expiry.
/// </summary>
public abstract class StudyStorageBehaviour
{
    /// <summary>A storage on this backend; each call for the same test reaches the same studies (a new connection for databases).</summary>
    protected abstract IStudyStorage Open(TimeSpan? heartbeat = null);

    private static string NewName() => "study-" + Guid.NewGuid().ToString("N")[..8];

    [SkippableFact]
    public void A_trial_comes_back_typed_with_its_values_and_attributes()
    {
        using var storage = Open();
        var study = Study.Create(NewName(), storage, StudyDirection.Minimize, new RandomSampler(1));
        var trial = study.Ask();
        double lr = trial.SuggestFloat("lr", 1e-4, 1e-1, log: true);
        int layers = trial.SuggestInt("layers", 1, 4);
        string optimizer = trial.SuggestCategorical("optimizer", ["sgd", "adam"]);
        double dropout = (double)trial.Suggest("dropout", new FloatDistribution(0, 0.5, Step: 0.1));
        Assert.Equal(lr, trial.SuggestFloat("lr", 1e-4, 1e-1, log: true));
        Assert.Throws<ArgumentException>(() => trial.SuggestInt("layers", 1, 8));
        trial.Report(0.9, 0);
        trial.Report(0.5, 1);
        trial.SetUserAttr("note", "first");
        study.Tell(trial, 0.25);
        study.SetUserAttr("test_accuracy", "0.97");

        using var reopened = Open();
        var loaded = Study.Load(study.Name, reopened);
        Assert.Equal(StudyDirection.Minimize, loaded.Direction);
        var frozen = Assert.Single(loaded.Trials);
        Assert.Equal((0, TrialState.Complete, 0.25), (frozen.Number, frozen.State, frozen.Value!.Value));
        Assert.Equal(lr, Assert.IsType<double>(frozen.Params["lr"]));
        Assert.Equal(layers, Assert.IsType<int>(frozen.Params["layers"]));
        Assert.Equal(optimizer, Assert.IsType<string>(frozen.Params["optimizer"]));
        Assert.Equal(dropout, Assert.IsType<double>(frozen.Params["dropout"]));
        Assert.Equal(new FloatDistribution(1e-4, 1e-1, Log: true), frozen.Distributions["lr"]);
        Assert.Equal(new IntDistribution(1, 4), frozen.Distributions["layers"]);
        Assert.Equal(new CategoricalDistribution(["sgd", "adam"]), frozen.Distributions["optimizer"]);
        Assert.Equal(new FloatDistribution(0, 0.5, Step: 0.1), frozen.Distributions["dropout"]);
        Assert.Equal(new Dictionary<int, double> { [0] = 0.9, [1] = 0.5 }, frozen.IntermediateValues);
        Assert.Equal("first", frozen.UserAttrs["note"]);
        Assert.True(frozen.Finished >= frozen.Started);
        Assert.Equal("0.97", loaded.UserAttrs["test_accuracy"]);
        Assert.Equal(0.25, loaded.BestValue);
        Assert.Throws<ArgumentException>(() => Study.Create(study.Name, reopened, StudyDirection.Maximize));
        Assert.Throws<ArgumentException>(() => Study.Load("no-such-study", reopened));
    }

    [SkippableFact]
    public void Optimize_counts_the_whole_study_so_a_rerun_does_only_the_missing_trials()
    {
        string name = NewName();
        using (var storage = Open())
        {
            var study = Study.Create(name, storage, StudyDirection.Minimize, new RandomSampler(2));
            Assert.Equal(5, study.Optimize(t => Math.Pow(t.SuggestFloat("x", -3, 3), 2), 5));
        }
        using (var storage = Open())
        {
            var study = Study.Create(name, storage, StudyDirection.Minimize, new RandomSampler(3));
            var seen = new List<int>();
            Assert.Equal(3, study.Optimize(t => Math.Pow(t.SuggestFloat("x", -3, 3), 2), 8, f => seen.Add(f.Number)));
            Assert.Equal([5, 6, 7], seen);
            Assert.Equal(Enumerable.Range(0, 8), study.Trials.Select(t => t.Number));
            Assert.All(study.Trials, t => Assert.Equal(TrialState.Complete, t.State));
            Assert.Equal(0, study.Optimize(t => 0, 8));
        }
    }

    [SkippableFact]
    public void A_crashed_or_pruned_trial_is_recorded_and_the_search_goes_on()
    {
        using var storage = Open();
        var study = Study.Create(NewName(), storage, StudyDirection.Maximize, new RandomSampler(4));
        var ended = new List<FrozenTrial>();
        int ran = study.Optimize(t =>
        {
            t.SuggestInt("k", 0, 9);
            t.Report(0.5, 0);
            return t.Number switch
            {
                1 => throw new InvalidOperationException("out of memory\nat layer 3"),
                2 => throw new TrialPrunedException(),
                3 => double.NaN,
                _ => t.Number,
            };
        }, 5, ended.Add);
        Assert.Equal(5, ran);
        Assert.Equal([TrialState.Complete, TrialState.Failed, TrialState.Pruned, TrialState.Failed, TrialState.Complete],
            ended.Select(t => t.State));
        Assert.Equal("InvalidOperationException: out of memory at layer 3", ended[1].Error);
        Assert.Equal(0.5, ended[2].Value);
        Assert.Equal("the objective returned NaN", ended[3].Error);
        Assert.Equal(4, study.BestTrial.Number);
        Assert.Equal(4.0, study.BestValue);
    }

    [SkippableFact]
    public void Concurrent_workers_never_share_a_trial_number()
    {
        string name = NewName();
        using (var storage = Open()) Study.Create(name, storage, StudyDirection.Minimize);
        var ran = new int[4];
        var workers = Enumerable.Range(0, 4).Select(w => new Thread(() =>
        {
            using var storage = Open();
            var study = Study.Create(name, storage, StudyDirection.Minimize, new RandomSampler(w));
            ran[w] = study.Optimize(t => t.SuggestFloat("x", 0, 1) + w, 40);
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        using var check = Open();
        var trials = Study.Load(name, check).Trials;
        Assert.Equal(40, ran.Sum());
        Assert.Equal(Enumerable.Range(0, 40), trials.Select(t => t.Number));
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
    }

    [SkippableFact]
    public void Concurrent_grid_workers_evaluate_every_combination_exactly_once()
    {
        var space = SearchSpace.Parse("optimizer=sgd|momentum|adam, layers=int:1..3, dropout=0..0.3:0.1");
        string name = NewName();
        using (var storage = Open()) Study.Create(name, storage, StudyDirection.Minimize);
        var ran = new int[3];
        var workers = Enumerable.Range(0, 3).Select(w => new Thread(() =>
        {
            using var storage = Open();
            var study = Study.Create(name, storage, StudyDirection.Minimize, new GridSampler(space));
            ran[w] = study.Optimize(t => { space.Suggest(t); return 0; }, 100);
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        using var check = Open();
        var combos = Study.Load(name, check).Trials
            .Select(t => $"{t.Params["optimizer"]} {t.Params["layers"]} {(double)t.Params["dropout"]:0.0}").ToList();
        Assert.Equal(36, ran.Sum());
        Assert.Equal(36, combos.Count);
        var expected = from o in new[] { "sgd", "momentum", "adam" } from l in new[] { 1, 2, 3 } from d in new[] { 0.0, 0.1, 0.2, 0.3 }
                       select $"{o} {l} {d:0.0}";
        Assert.Equal(expected.Order(), combos.Order());
    }

    [SkippableFact]
    public void A_trial_whose_worker_stops_beating_is_marked_failed_and_the_search_still_finishes()
    {
        var heartbeat = TimeSpan.FromMilliseconds(200);
        string name = NewName();
        using var storage = Open(heartbeat);
        var study = Study.Create(name, storage, StudyDirection.Minimize, new RandomSampler(5));
        // A worker that claimed trial 0 and died: nothing beats for it.
        Assert.Equal(0, storage.CreateTrial(name, null, 0)!.Number);
        Assert.Equal(TrialState.Running, study.Trials[0].State);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (study.Trials[0].State == TrialState.Running && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Assert.Equal((TrialState.Failed, "worker stopped beating"), (study.Trials[0].State, study.Trials[0].Error));
        // A worker that was only slow and finishes late does not bring the trial back: others have counted it failed.
        storage.FinishTrial(name, 0, TrialState.Complete, 1.0, null);
        Assert.Equal(TrialState.Failed, study.Trials[0].State);
        // The other workers go on (with a heartbeat no stall of this machine can outlast).
        using var other = Open(TimeSpan.FromMinutes(1));
        var worker = Study.Create(name, other, StudyDirection.Minimize, new RandomSampler(6));
        Assert.Equal(3, worker.Optimize(t => t.SuggestFloat("x", 0, 1), 4));
        Assert.Equal([TrialState.Failed, TrialState.Complete, TrialState.Complete, TrialState.Complete], worker.Trials.Select(t => t.State));
    }
}

/// <summary>The behaviour suite on the in-process storage.</summary>
public sealed class InMemoryStudyStorageTests : StudyStorageBehaviour
{
    private IStudyStorage? storage;

    protected override IStudyStorage Open(TimeSpan? heartbeat = null)
    {
        // Memory lives as long as its object: every open of one test hands back the first one (with its heartbeat).
        lock (this) return new Undisposed(storage ??= StudyStorage.Open("memory", heartbeat));
    }

    private sealed class Undisposed(IStudyStorage inner) : IStudyStorage
    {
        public TimeSpan? Heartbeat => inner.Heartbeat;
        public StudyDirection CreateStudy(string study, StudyDirection direction) => inner.CreateStudy(study, direction);
        public StudyDirection? FindStudy(string study) => inner.FindStudy(study);
        public IReadOnlyList<string> StudyNames() => inner.StudyNames();
        public ClaimedTrial? CreateTrial(string study, int? limit, int gridCells) => inner.CreateTrial(study, limit, gridCells);
        public void SetTrialParam(string study, int number, string name, Distribution distribution, object value) => inner.SetTrialParam(study, number, name, distribution, value);
        public void SetIntermediateValue(string study, int number, int step, double value) => inner.SetIntermediateValue(study, number, step, value);
        public void SetTrialAttr(string study, int number, string key, string value, bool system) => inner.SetTrialAttr(study, number, key, value, system);
        public void FinishTrial(string study, int number, TrialState state, double? value, string? error) => inner.FinishTrial(study, number, state, value, error);
        public void Beat(string study, int number) => inner.Beat(study, number);
        public FrozenTrial GetTrial(string study, int number) => inner.GetTrial(study, number);
        public IReadOnlyList<FrozenTrial> GetTrials(string study) => inner.GetTrials(study);
        public IReadOnlyDictionary<string, string> GetStudyAttrs(string study) => inner.GetStudyAttrs(study);
        public void SetStudyAttr(string study, string key, string value) => inner.SetStudyAttr(study, key, value);
        public void Dispose() { }
    }
}

/// <summary>The behaviour suite on a SQLite file, each test with its own file.</summary>
public sealed class SqliteStudyStorageTests : StudyStorageBehaviour, IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("descent-sqlite-").FullName;

    protected override IStudyStorage Open(TimeSpan? heartbeat = null) =>
        StudyStorage.Open("sqlite://" + Path.Combine(folder, "study.db"), heartbeat);

    [Fact]
    public void A_plain_path_ending_in_db_is_a_sqlite_file_created_with_its_folder()
    {
        string path = Path.Combine(folder, "nested", "search.db");
        using (var storage = StudyStorage.Open(path)) Study.Create("s", storage, StudyDirection.Minimize);
        Assert.True(File.Exists(path));
        using var again = StudyStorage.Open(path);
        Assert.Equal(["s"], again.StudyNames());
        Assert.Equal(StudyStorage.DefaultHeartbeat, again.Heartbeat);
    }

    [Fact]
    public void The_file_is_in_write_ahead_logging_mode()
    {
        using (var storage = Open()) Study.Create("wal", storage, StudyDirection.Minimize);
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(folder, "study.db")}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public void A_running_trial_whose_worker_beats_is_not_failed()
    {
        // Beats every second against a two-second grace period: only a stall of seconds could fail it.
        using var storage = Open(TimeSpan.FromSeconds(1));
        var study = Study.Create("beating", storage, StudyDirection.Minimize);
        study.Optimize(t => { Thread.Sleep(5000); return 1; }, 1);
        Assert.Equal(TrialState.Complete, Assert.Single(study.Trials).State);
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}

/// <summary>The behaviour suite on a real PostgreSQL server started for the class.</summary>
public sealed class PostgresStudyStorageTests(PostgresFixture server) : StudyStorageBehaviour, IClassFixture<PostgresFixture>
{
    protected override IStudyStorage Open(TimeSpan? heartbeat = null)
    {
        SystemPackages.PostgreSql.Require();
        return StudyStorage.Open(server.Url, heartbeat);
    }

    [Fact]
    public void A_postgresql_url_becomes_npgsql_settings()
    {
        string cs = Descent.Tuning.PostgresStudyStorage.ConnectionString("postgresql://tuner:s%40cret@db.example:6543/studies");
        Assert.Contains("Host=db.example", cs);
        Assert.Contains("Port=6543", cs);
        Assert.Contains("Database=studies", cs);
        Assert.Contains("Username=tuner", cs);
        Assert.Contains("Password=s@cret", cs);
        Assert.Throws<ArgumentException>(() => Descent.Tuning.PostgresStudyStorage.ConnectionString("postgresql://host:5432/"));
        Assert.Throws<ArgumentException>(() => StudyStorage.Open("mysql://host/db"));
    }
}
