using System.CommandLine;
using Descent.Board;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent board --logdir DIR</c>: a local web dashboard of a log directory (runs, scalars, histograms,
/// images, text, hparams, playground outputs and pictures) that follows runs while they train;
/// <c>--export FILE.html</c> writes the same page as one self-contained file instead.
/// </summary>
public static class BoardCommand
{
    /// <summary>Builds the command; the URL goes to <paramref name="stdout"/>, bad input throws <see cref="UsageException"/> or <see cref="DirectoryNotFoundException"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("board", "Serve a live dashboard of a log directory: scalars, histograms, images, text, hparams, playground pictures.");
        var logdir = new Option<string>("--logdir") { Description = "Log directory: every directory below it with event files is a run; playground outputs and SVGs are shown too", Required = true };
        var port = new Option<int>("--port") { Description = "TCP port (0 takes a free one; the address printed tells which)", DefaultValueFactory = _ => 6006 };
        var host = new Option<string>("--host") { Description = "IP address to listen on, or localhost (0.0.0.0 for every interface)", DefaultValueFactory = _ => "127.0.0.1" };
        var export = new Option<string?>("--export") { Description = "Write a self-contained snapshot page to this HTML file and exit instead of serving" };
        cmd.Options.Add(logdir);
        cmd.Options.Add(port);
        cmd.Options.Add(host);
        cmd.Options.Add(export);
        cmd.SetAction(parse =>
        {
            string dir = parse.GetValue(logdir)!;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"--logdir: log directory '{dir}' does not exist");
            if (parse.GetValue(export) is { } file)
            {
                parse.Refuse([port, host], "with --export (it writes a file and serves nothing)");
                return Export(dir, OutputPaths.FileIn(file, "--export"), stdout);
            }
            return Serve(dir, parse.GetValue(port), parse.GetValue(host)!, stdout);
        });
        return cmd;
    }

    private static int Export(string dir, string file, TextWriter stdout)
    {
        var logDir = new BoardLogDir(dir);
        File.WriteAllText(OutputPaths.CreateParent(file), BoardExport.Html(logDir));
        var snapshot = logDir.Current;
        stdout.WriteLine($"board snapshot of {dir} ({snapshot.Runs.Count} run{(snapshot.Runs.Count == 1 ? "" : "s")}, {snapshot.Pictures.Playground.Count} playground output{(snapshot.Pictures.Playground.Count == 1 ? "" : "s")}): {file}");
        return 0;
    }

    private static int Serve(string dir, int port, string host, TextWriter stdout)
    {
        if (port is < 0 or > 65535) throw new UsageException($"--port must be between 0 and 65535, got {port}");
        BoardServer server;
        try
        {
            server = BoardServer.Start(dir, port, host);
        }
        catch (IOException e)
        {
            // Kestrel's message names the address; its inner exception says why (e.g. "Address already in use").
            string why = e.InnerException?.Message ?? e.Message;
            throw new UsageException($"cannot listen on {host} port {port}: {why} (is another board or TensorBoard using it? choose another with --port)");
        }
        using (server)
        {
            var snapshot = server.LogDir.Current;
            stdout.WriteLine($"descent board: {server.Url}  ({snapshot.Runs.Count} run{(snapshot.Runs.Count == 1 ? "" : "s")} under {server.LogDir.Root}; Ctrl+C to stop)");
            stdout.Flush();
            using var stopped = new ManualResetEventSlim();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true; // stop the server ourselves and exit 0 rather than being killed mid-answer
                stopped.Set();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                stopped.Wait();
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }
        stdout.WriteLine("descent board: stopped");
        return 0;
    }
}
