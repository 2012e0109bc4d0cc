using System.Data;
using System.Data.Common;
using System.Text.Json;

namespace Descent.Tuning;

/// <summary>
/// The SQL both database storages share: six tables (studies, study attributes, trials, parameters, intermediate
/// values, trial attributes) created on first use, plain ADO.NET. A backend gives connections, the database clock,
/// and the lock that makes starting a trial atomic (<see cref="BeginClaim"/>); times are seconds since 1970 by the
/// database's clock, so workers on machines whose clocks differ still agree on whose heartbeat is stale.
/// </summary>
internal abstract class SqlStudyStorage(TimeSpan heartbeat) : IStudyStorage
{
    protected static readonly string[] Schema =
    [
        "CREATE TABLE IF NOT EXISTS tune_studies (name TEXT PRIMARY KEY, direction TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS tune_study_attrs (study TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (study, key))",
        "CREATE TABLE IF NOT EXISTS tune_trials (study TEXT NOT NULL, number INTEGER NOT NULL, state TEXT NOT NULL, value DOUBLE PRECISION, "
            + "started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION, heartbeat DOUBLE PRECISION NOT NULL, error TEXT, grid_cell INTEGER, "
            + "PRIMARY KEY (study, number), UNIQUE (study, grid_cell))",
        "CREATE TABLE IF NOT EXISTS tune_params (study TEXT NOT NULL, number INTEGER NOT NULL, name TEXT NOT NULL, distribution TEXT NOT NULL, "
            + "value TEXT NOT NULL, PRIMARY KEY (study, number, name))",
        "CREATE TABLE IF NOT EXISTS tune_values (study TEXT NOT NULL, number INTEGER NOT NULL, step INTEGER NOT NULL, value DOUBLE PRECISION, "
            + "PRIMARY KEY (study, number, step))",
        "CREATE TABLE IF NOT EXISTS tune_trial_attrs (study TEXT NOT NULL, number INTEGER NOT NULL, system INTEGER NOT NULL, key TEXT NOT NULL, "
            + "value TEXT NOT NULL, PRIMARY KEY (study, number, system, key))",
    ];

    public TimeSpan? Heartbeat { get; } = heartbeat;

    /// <summary>An open connection.</summary>
    protected abstract DbConnection Open();

    /// <summary>The SQL expression for the database's current time in seconds since 1970.</summary>
    protected abstract string Now { get; }

    /// <summary>A transaction that no other worker can hold for the same study at the same time.</summary>
    protected abstract DbTransaction BeginClaim(DbConnection connection, string study);

    /// <summary>A read-only transaction whose reads all see one snapshot, taking no write lock.</summary>
    protected virtual DbTransaction BeginRead(DbConnection connection) => connection.BeginTransaction(IsolationLevel.RepeatableRead);

    public StudyDirection CreateStudy(string study, StudyDirection direction)
    {
        using var c = Open();
        Execute(c, null, "INSERT INTO tune_studies (name, direction) VALUES (@s, @d) ON CONFLICT (name) DO NOTHING",
            ("s", study), ("d", direction.ToString()));
        return FindStudy(c, study)!.Value;
    }

    public StudyDirection? FindStudy(string study)
    {
        using var c = Open();
        return FindStudy(c, study);
    }

    private static StudyDirection? FindStudy(DbConnection c, string study) =>
        Query(c, null, "SELECT direction FROM tune_studies WHERE name = @s", r => Enum.Parse<StudyDirection>(r.GetString(0)), ("s", study))
            .Cast<StudyDirection?>().SingleOrDefault();

    public IReadOnlyList<string> StudyNames()
    {
        using var c = Open();
        return Query(c, null, "SELECT name FROM tune_studies ORDER BY name", r => r.GetString(0));
    }

    public ClaimedTrial? CreateTrial(string study, int? limit, int gridCells)
    {
        using var c = Open();
        using var tx = BeginClaim(c, study);
        ExpireSilent(c, tx, study);
        int count = Query(c, tx, "SELECT COUNT(*) FROM tune_trials WHERE study = @s", r => Convert.ToInt32(r.GetValue(0)), ("s", study))[0];
        if (limit is int l && count >= l) return null;
        int? cell = null;
        if (gridCells > 0)
        {
            var taken = Query(c, tx, "SELECT grid_cell FROM tune_trials WHERE study = @s AND grid_cell IS NOT NULL",
                r => Convert.ToInt32(r.GetValue(0)), ("s", study)).ToHashSet();
            var free = Enumerable.Range(0, gridCells).Where(g => !taken.Contains(g)).ToList();
            if (free.Count == 0) return null;
            cell = free[Random.Shared.Next(free.Count)];
        }
        Execute(c, tx, $"INSERT INTO tune_trials (study, number, state, started, heartbeat, grid_cell) VALUES (@s, @n, 'Running', {Now}, {Now}, @g)",
            ("s", study), ("n", count), ("g", cell));
        tx.Commit();
        return new ClaimedTrial(count, cell);
    }

    public void SetTrialParam(string study, int number, string name, Distribution distribution, object value)
    {
        using var c = Open();
        Execute(c, null, "INSERT INTO tune_params (study, number, name, distribution, value) VALUES (@s, @n, @k, @d, @v) "
            + "ON CONFLICT (study, number, name) DO UPDATE SET distribution = excluded.distribution, value = excluded.value",
            ("s", study), ("n", number), ("k", name), ("d", distribution.ToJson()), ("v", distribution.FormatValue(value)));
    }

    public void SetIntermediateValue(string study, int number, int step, double value)
    {
        using var c = Open();
        Execute(c, null, "INSERT INTO tune_values (study, number, step, value) VALUES (@s, @n, @t, @v) "
            + "ON CONFLICT (study, number, step) DO UPDATE SET value = excluded.value",
            ("s", study), ("n", number), ("t", step), ("v", double.IsNaN(value) ? null : value));
    }

    public void SetTrialAttr(string study, int number, string key, string value, bool system)
    {
        using var c = Open();
        Execute(c, null, "INSERT INTO tune_trial_attrs (study, number, system, key, value) VALUES (@s, @n, @y, @k, @v) "
            + "ON CONFLICT (study, number, system, key) DO UPDATE SET value = excluded.value",
            ("s", study), ("n", number), ("y", system ? 1 : 0), ("k", key), ("v", value));
    }

    public void FinishTrial(string study, int number, TrialState state, double? value, string? error)
    {
        using var c = Open();
        Execute(c, null, $"UPDATE tune_trials SET state = @t, value = @v, error = @e, finished = {Now} WHERE study = @s AND number = @n AND state = 'Running'",
            ("s", study), ("n", number), ("t", state.ToString()), ("v", value), ("e", error));
    }

    public void Beat(string study, int number)
    {
        using var c = Open();
        Execute(c, null, $"UPDATE tune_trials SET heartbeat = {Now} WHERE study = @s AND number = @n AND state = 'Running'",
            ("s", study), ("n", number));
    }

    public FrozenTrial GetTrial(string study, int number) =>
        ReadTrials(study, number).SingleOrDefault() ?? throw new ArgumentException($"study '{study}' has no trial {number}");

    public IReadOnlyList<FrozenTrial> GetTrials(string study)
    {
        using (var c = Open())
        {
            // Mark stale trials under the study's lock: two workers failing the same rows in different orders could
            // deadlock. Reading first keeps the usual case, nothing stale, free of write locks.
            string stale = $"SELECT COUNT(*) FROM tune_trials WHERE study = @s AND state = 'Running' AND heartbeat < {Now} - @g";
            if (Query(c, null, stale, r => Convert.ToInt64(r.GetValue(0)), ("s", study), ("g", Grace))[0] > 0)
            {
                using var tx = BeginClaim(c, study);
                ExpireSilent(c, tx, study);
                tx.Commit();
            }
        }
        return ReadTrials(study, null);
    }

    public IReadOnlyDictionary<string, string> GetStudyAttrs(string study)
    {
        using var c = Open();
        return Query(c, null, "SELECT key, value FROM tune_study_attrs WHERE study = @s", r => (r.GetString(0), r.GetString(1)), ("s", study))
            .ToDictionary(a => a.Item1, a => a.Item2);
    }

    public void SetStudyAttr(string study, string key, string value)
    {
        using var c = Open();
        if (FindStudy(c, study) is null) throw new ArgumentException($"no study '{study}' in the storage");
        Execute(c, null, "INSERT INTO tune_study_attrs (study, key, value) VALUES (@s, @k, @v) ON CONFLICT (study, key) DO UPDATE SET value = excluded.value",
            ("s", study), ("k", key), ("v", value));
    }

    public abstract void Dispose();

    private void ExpireSilent(DbConnection c, DbTransaction? tx, string study) =>
        Execute(c, tx, $"UPDATE tune_trials SET state = 'Failed', error = @e, finished = {Now} WHERE study = @s AND state = 'Running' AND heartbeat < {Now} - @g",
            ("s", study), ("e", StudyStorage.StoppedBeating), ("g", Grace));

    /// <summary>Seconds without a beat after which a running trial counts as dead: twice the heartbeat.</summary>
    private double Grace => 2 * Heartbeat!.Value.TotalSeconds;

    /// <summary>The study's trials (or the one numbered <paramref name="only"/>), read in one transaction so the parts agree.</summary>
    private List<FrozenTrial> ReadTrials(string study, int? only)
    {
        using var c = Open();
        using var tx = BeginRead(c);
        string filter = only is null ? "study = @s" : "study = @s AND number = @n";
        (string, object?)[] args = [("s", study), ("n", only)];
        var rows = Query(c, tx, $"SELECT number, state, value, started, finished, error FROM tune_trials WHERE {filter} ORDER BY number", r => (
            Number: Convert.ToInt32(r.GetValue(0)), State: Enum.Parse<TrialState>(r.GetString(1)), Value: NullableDouble(r, 2),
            Started: Time(Convert.ToDouble(r.GetValue(3))), Finished: NullableDouble(r, 4) is double f ? Time(f) : (DateTimeOffset?)null,
            Error: r.IsDBNull(5) ? null : r.GetString(5)), args);
        var parameters = Query(c, tx, $"SELECT number, name, distribution, value FROM tune_params WHERE {filter}", r =>
        {
            string name = r.GetString(1);
            using var json = JsonDocument.Parse(r.GetString(2));
            var distribution = Distribution.FromJson(json.RootElement, $"parameter '{name}'");
            return (Number: Convert.ToInt32(r.GetValue(0)), Name: name, Distribution: distribution, Value: distribution.ParseValue(r.GetString(3)));
        }, args).ToLookup(p => p.Number);
        var values = Query(c, tx, $"SELECT number, step, value FROM tune_values WHERE {filter}", r =>
            (Number: Convert.ToInt32(r.GetValue(0)), Step: Convert.ToInt32(r.GetValue(1)), Value: NullableDouble(r, 2) ?? double.NaN), args).ToLookup(v => v.Number);
        var attrs = Query(c, tx, $"SELECT number, system, key, value FROM tune_trial_attrs WHERE {filter}", r =>
            (Number: Convert.ToInt32(r.GetValue(0)), System: Convert.ToInt32(r.GetValue(1)) != 0, Key: r.GetString(2), Value: r.GetString(3)), args)
            .ToLookup(a => a.Number);
        tx.Commit();
        return rows.Select(t => new FrozenTrial(t.Number, t.State,
                parameters[t.Number].ToDictionary(p => p.Name, p => p.Value),
                parameters[t.Number].ToDictionary(p => p.Name, p => p.Distribution),
                t.Value, values[t.Number].ToDictionary(v => v.Step, v => v.Value), t.Started, t.Finished, t.Error,
                attrs[t.Number].Where(a => !a.System).ToDictionary(a => a.Key, a => a.Value))
            { SystemAttrs = attrs[t.Number].Where(a => a.System).ToDictionary(a => a.Key, a => a.Value) })
            .ToList();
    }

    private static DateTimeOffset Time(double seconds) => DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));

    private static double? NullableDouble(DbDataReader r, int i) => r.IsDBNull(i) ? null : Convert.ToDouble(r.GetValue(i));

    protected static void Execute(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var command = Command(c, tx, sql, args);
        command.ExecuteNonQuery();
    }

    protected static List<T> Query<T>(DbConnection c, DbTransaction? tx, string sql, Func<DbDataReader, T> read, params (string Name, object? Value)[] args)
    {
        using var command = Command(c, tx, sql, args);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(read(reader));
        return rows;
    }

    private static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, (string Name, object? Value)[] args)
    {
        var command = c.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        command.CommandTimeout = 60;
        foreach (var (name, value) in args)
        {
            if (!sql.Contains("@" + name, StringComparison.Ordinal)) continue;
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }
}
