namespace Descent.Tuning;

/// <summary>
/// Where studies and their trials live (Optuna's <c>BaseStorage</c>): in this process (<c>"memory"</c>), in a SQLite file,
/// or in a PostgreSQL database shared by workers on many machines. Open one with <see cref="StudyStorage.Open"/>.
/// Every method is safe to call from several threads, and the database ones from several processes.
/// </summary>
public interface IStudyStorage : IDisposable
{
    /// <summary>How often a running trial's worker beats; a trial silent for twice this long is marked failed. Null: never.</summary>
    TimeSpan? Heartbeat { get; }

    /// <summary>Creates the study if no study has that name and returns the stored direction (the existing one's, if any).</summary>
    StudyDirection CreateStudy(string study, StudyDirection direction);

    /// <summary>The direction of the study called <paramref name="study"/>, or null when there is none.</summary>
    StudyDirection? FindStudy(string study);

    /// <summary>The names of all studies in the storage.</summary>
    IReadOnlyList<string> StudyNames();

    /// <summary>
    /// Starts a new running trial with the next number, atomically across workers. Returns null when the study already
    /// holds <paramref name="limit"/> trials, or when <paramref name="gridCells"/> is positive and every cell of the grid
    /// is taken; otherwise the trial also claims a free cell of [0, <paramref name="gridCells"/>).
    /// </summary>
    ClaimedTrial? CreateTrial(string study, int? limit, int gridCells);

    /// <summary>Records a parameter value with its distribution.</summary>
    void SetTrialParam(string study, int number, string name, Distribution distribution, object value);

    /// <summary>Records the value reported at <paramref name="step"/>, replacing an earlier one.</summary>
    void SetIntermediateValue(string study, int number, int step, double value);

    /// <summary>Sets a trial attribute: a user's (<see cref="FrozenTrial.UserAttrs"/>) or the library's (<see cref="FrozenTrial.SystemAttrs"/>).</summary>
    void SetTrialAttr(string study, int number, string key, string value, bool system);

    /// <summary>Finishes a running trial; a trial no longer running (already failed by its heartbeat) is left as it is.</summary>
    void FinishTrial(string study, int number, TrialState state, double? value, string? error);

    /// <summary>Notes that the worker of a running trial is alive.</summary>
    void Beat(string study, int number);

    /// <summary>One trial, fresh.</summary>
    FrozenTrial GetTrial(string study, int number);

    /// <summary>All trials by number, after marking those whose worker stopped beating as failed.</summary>
    IReadOnlyList<FrozenTrial> GetTrials(string study);

    /// <summary>The study's attributes.</summary>
    IReadOnlyDictionary<string, string> GetStudyAttrs(string study);

    /// <summary>Sets a study attribute.</summary>
    void SetStudyAttr(string study, string key, string value);
}

/// <summary>A trial just started by <see cref="IStudyStorage.CreateTrial"/>: its number and, for a grid search, its cell.</summary>
public sealed record ClaimedTrial(int Number, int? GridCell);

/// <summary>Opens storages by URL, like the <c>storage=</c> argument of Optuna's <c>create_study</c>.</summary>
public static class StudyStorage
{
    /// <summary>What a database storage's workers do unless told: beat every 10 s, so a dead worker's trial fails after 20 s.</summary>
    public static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(10);

    /// <summary>The <see cref="FrozenTrial.Error"/> of a trial whose worker stopped beating (killed, or its machine lost).</summary>
    public const string StoppedBeating = "worker stopped beating";

    /// <summary>
    /// Opens <c>"memory"</c> (this process only), a SQLite file (<c>"sqlite:///abs/path/study.db"</c> or a plain path
    /// ending in <c>.db</c>, created if missing, shared safely by processes on this machine) or a PostgreSQL database
    /// (<c>"postgresql://user[:password]@host:port/database"</c>, shared by workers on many machines). Tables are created
    /// on first use. A trial whose worker has not beaten for twice <paramref name="heartbeat"/> is marked failed by whoever
    /// looks next (Optuna's <c>heartbeat_interval</c>; the grace period is twice it). Default: 10 s for databases, none
    /// for memory.
    /// </summary>
    /// <exception cref="ArgumentException">The URL is none of these forms.</exception>
    public static IStudyStorage Open(string url, TimeSpan? heartbeat = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (heartbeat is TimeSpan h && h <= TimeSpan.Zero)
            throw new ArgumentException($"heartbeat must be positive, got {h}");
        if (url == "memory") return new InMemoryStudyStorage(heartbeat);
        if (url.StartsWith("sqlite://", StringComparison.Ordinal))
            return new SqliteStudyStorage(url["sqlite://".Length..], heartbeat ?? DefaultHeartbeat);
        if (url.StartsWith("postgresql://", StringComparison.Ordinal) || url.StartsWith("postgres://", StringComparison.Ordinal))
            return new PostgresStudyStorage(url, heartbeat ?? DefaultHeartbeat);
        if (url.EndsWith(".db", StringComparison.Ordinal) && !url.Contains("://"))
            return new SqliteStudyStorage(url, heartbeat ?? DefaultHeartbeat);
        throw new ArgumentException($"storage '{url}': expected memory, a path ending in .db, sqlite:///path/to/study.db or postgresql://user@host:port/database");
    }
}
