using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Descent.Tests.Tuning;

/// <summary>
/// A real PostgreSQL server for tests: Debian's <c>initdb</c> and <c>pg_ctl</c> (under /usr/lib/postgresql/*/bin, the
/// newest version) make a cluster in a temporary folder, listening on 127.0.0.1 only, on a free port, with its Unix
/// socket inside the folder; a database <c>descent</c> is created and <see cref="Url"/> names it. As root the programs
/// run as the <c>postgres</c> user (initdb refuses root). Dispose stops the server and deletes the folder. Call
/// <c>SystemPackages.PostgreSql.Require()</c> first.
/// </summary>
internal sealed class PostgresServer : IDisposable
{
    private readonly string bin, folder, data;
    private readonly bool asPostgres = Environment.IsPrivilegedProcess;
    private bool started;

    public PostgresServer()
    {
        bin = Directory.GetDirectories("/usr/lib/postgresql")
            .Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")))
            .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out int v) ? v : 0)
            .FirstOrDefault() ?? throw new InvalidOperationException("no initdb under /usr/lib/postgresql/*/bin");
        folder = Directory.CreateTempSubdirectory("descent-pg-").FullName;
        data = Path.Combine(folder, "data");
        try
        {
            // The server runs as postgres when we are root: it must be able to write its data, socket and log here.
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111);
            Port = FreePort();
            Run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync");
            Run("pg_ctl", "-D", data, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "120",
                "-o", $"-p {Port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start");
            started = true;
            Run("createdb", "-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", "descent");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The port the server listens on, at 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The test database, as a <c>postgresql://</c> URL for <c>StudyStorage.Open</c>.</summary>
    public string Url => $"postgresql://postgres@127.0.0.1:{Port}/descent";

    public void Dispose()
    {
        try
        {
            if (started) Run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException) { }
        started = false;
        try { Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : Path.Combine(bin, program))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        if (asPostgres)
            foreach (string a in new[] { "-u", "postgres", "--", Path.Combine(bin, program) }) start.ArgumentList.Add(a);
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {stderr.Trim()} {stdout.Result.Trim()}");
    }
}

/// <summary>One <see cref="PostgresServer"/> for a test class, started by the first test that asks for it.</summary>
public sealed class PostgresFixture : IDisposable
{
    private readonly Lazy<PostgresServer> server = new(() => new PostgresServer());

    /// <summary>The server's URL; starts it on first use. Call <c>SystemPackages.PostgreSql.Require()</c> first.</summary>
    public string Url => server.Value.Url;

    public void Dispose()
    {
        if (server.IsValueCreated) server.Value.Dispose();
    }
}
