using System.Data.Common;
using Npgsql;

namespace Descent.Tuning;

/// <summary>
/// A study database in PostgreSQL, shared by workers on many machines. A trial is started inside a transaction that
/// first locks the study's row (<c>SELECT … FOR UPDATE</c>), so numbers and grid cells are handed out one worker at a
/// time; a unique constraint on (study, grid cell) backs the grid up. Tables are created under an advisory lock, so
/// workers starting together do not trip over each other.
/// </summary>
internal sealed class PostgresStudyStorage : SqlStudyStorage
{
    private const long SchemaLock = 0x44657363656E74; // "Descent"
    private readonly NpgsqlDataSource dataSource;

    public PostgresStudyStorage(string url, TimeSpan heartbeat) : base(heartbeat)
    {
        dataSource = NpgsqlDataSource.Create(ConnectionString(url));
        using var c = Open();
        using var tx = c.BeginTransaction();
        Execute(c, tx, "SELECT pg_advisory_xact_lock(@k)", ("k", SchemaLock));
        foreach (string statement in Schema) Execute(c, tx, statement);
        tx.Commit();
    }

    /// <summary>Npgsql's connection string for <c>postgresql://user[:password]@host[:port]/database</c>.</summary>
    internal static string ConnectionString(string url)
    {
        string Bad(string why) => $"storage '{url}': {why} (expected postgresql://user[:password]@host:port/database)";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgresql" or "postgres"))
            throw new ArgumentException(Bad("not a URL"));
        string database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0) throw new ArgumentException(Bad("no database named"));
        string[] user = uri.UserInfo.Split(':', 2);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
            Database = database,
            CommandTimeout = 60,
        };
        if (user[0].Length > 0) builder.Username = Uri.UnescapeDataString(user[0]);
        if (user.Length > 1) builder.Password = Uri.UnescapeDataString(user[1]);
        return builder.ConnectionString;
    }

    protected override string Now => "extract(epoch from clock_timestamp())::double precision";

    protected override DbConnection Open() => dataSource.OpenConnection();

    protected override DbTransaction BeginClaim(DbConnection connection, string study)
    {
        var tx = connection.BeginTransaction();
        Execute(connection, tx, "SELECT name FROM tune_studies WHERE name = @s FOR UPDATE", ("s", study));
        return tx;
    }

    public override void Dispose() => dataSource.Dispose();
}
