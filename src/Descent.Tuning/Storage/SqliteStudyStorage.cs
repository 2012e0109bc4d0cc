using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Descent.Tuning;

/// <summary>
/// A study database in one SQLite file, shared safely by the processes of one machine: write-ahead logging so readers
/// never wait, a 60 s busy timeout, and trials started inside <c>BEGIN IMMEDIATE</c>, which holds the file's one write
/// lock, so two workers never get the same trial number.
/// </summary>
internal sealed class SqliteStudyStorage : SqlStudyStorage
{
    private readonly string connectionString;

    public SqliteStudyStorage(string path, TimeSpan heartbeat) : base(heartbeat)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("the SQLite storage needs a file path");
        string full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is string directory) Directory.CreateDirectory(directory);
        connectionString = new SqliteConnectionStringBuilder { DataSource = full, DefaultTimeout = 60, Pooling = true }.ToString();
        using var c = Open();
        Execute(c, null, "PRAGMA journal_mode=WAL");
        using var tx = Begin(c);
        foreach (string statement in Schema) Execute(c, tx, statement);
        tx.Commit();
    }

    protected override string Now => "((julianday('now') - 2440587.5) * 86400.0)";

    protected override DbConnection Open()
    {
        var c = new SqliteConnection(connectionString);
        c.Open();
        Execute(c, null, "PRAGMA busy_timeout=60000");
        return c;
    }

    protected override DbTransaction BeginClaim(DbConnection connection, string study) => Begin(connection);

    // A deferred transaction only reads: in WAL mode it sees one snapshot and blocks no writer.
    protected override DbTransaction BeginRead(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: true);

    // Microsoft.Data.Sqlite begins a non-deferred transaction with BEGIN IMMEDIATE: the write lock is taken up front,
    // so the count read inside it cannot go stale.
    private static DbTransaction Begin(DbConnection connection) => ((SqliteConnection)connection).BeginTransaction(deferred: false);

    public override void Dispose() => SqliteConnection.ClearPool(new SqliteConnection(connectionString));
}
