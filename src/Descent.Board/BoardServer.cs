using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Descent.Board;

/// <summary>
/// The board's web server: an ASP.NET Core app on Kestrel with one route that answers with
/// <see cref="BoardApi.Handle"/>, streaming files from the log directory. It can run inside a training program
/// (<c>using var board = BoardServer.Start("runs");</c>) as well as from <c>descent board</c>.
/// </summary>
public sealed class BoardServer : IDisposable
{
    private readonly WebApplication _app;

    private BoardServer(WebApplication app, BoardLogDir logDir, Uri url, TimeSpan refreshInterval)
    {
        _app = app;
        LogDir = logDir;
        Url = url;
        RefreshInterval = refreshInterval;
    }

    /// <summary>What the board shows.</summary>
    public BoardLogDir LogDir { get; }

    /// <summary>The page's address with the port actually listened on, e.g. <c>http://127.0.0.1:6006/</c>.</summary>
    public Uri Url { get; }

    /// <summary>Requests within this time of the last look at the disk are answered from that look.</summary>
    public TimeSpan RefreshInterval { get; }

    /// <summary>
    /// Reads <paramref name="logDir"/> and starts serving it on <paramref name="host"/>:<paramref name="port"/>.
    /// A host of <c>0.0.0.0</c> (or <c>*</c>) listens on every IPv4 interface, <c>::</c> on every interface.
    /// </summary>
    /// <param name="logDir">The log directory.</param>
    /// <param name="port">TCP port; 0 takes a free one (<see cref="Url"/> tells which).</param>
    /// <param name="host">An IP address or <c>localhost</c>; the default takes requests from this machine only.</param>
    /// <param name="refreshInterval">How old a look at the disk may be before a request looks again (default one second).</param>
    /// <exception cref="DirectoryNotFoundException">No such log directory.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A port outside 0–65535.</exception>
    /// <exception cref="ArgumentException">A host that is not an IP address or <c>localhost</c>.</exception>
    /// <exception cref="IOException">The port is in use, or the address cannot be listened on.</exception>
    public static BoardServer Start(string logDir, int port = 6006, string host = "127.0.0.1", TimeSpan? refreshInterval = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        IPAddress address = host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" or "+" => IPAddress.Any,
            _ when IPAddress.TryParse(host.Trim('[', ']'), out var parsed) => parsed,
            _ => throw new ArgumentException($"cannot listen on '{host}': give an IP address (127.0.0.1, 0.0.0.0, ::) or localhost"),
        };
        var dir = new BoardLogDir(logDir);
        var refresh = refreshInterval ?? TimeSpan.FromSeconds(1);

        // No arguments, no content root of the caller's: the board reads nothing but its log directory.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, port);
            kestrel.AddServerHeader = false;
            var limits = kestrel.Limits;
            limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10); // a half-sent request is cut off
            limits.KeepAliveTimeout = TimeSpan.FromSeconds(30);      // the page polls every 5 s
            limits.MaxRequestBodySize = 0;                           // the board only reads
            limits.MaxRequestLineSize = 8 * 1024;
            limits.MaxRequestHeadersTotalSize = 32 * 1024;
            limits.MaxConcurrentConnections = 100;
            limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        });
        // Only a loopback board's own names are answered (the host's filtering middleware, on by default, applies
        // the list), so a web page cannot reach it through a DNS name of its own that resolves to 127.0.0.1
        // (DNS rebinding). A board on every interface answers any name.
        string[] hosts = IPAddress.IsLoopback(address) ? ["127.0.0.1", "localhost", "[::1]"]
            : address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? ["*"]
            : [Bracketed(address)];
        builder.Services.Configure<HostFilteringOptions>(options => options.AllowedHosts = hosts);
        // Warnings and errors only, on stderr; a failed start is thrown to the caller, so the host need not log it.
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Services.Configure<ConsoleLoggerOptions>(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.AddSingleton<IHostLifetime, StoppedByDispose>();

        var app = builder.Build();
        app.Map("{**path}", (HttpContext context) => Answer(context, dir, refresh));
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch
        {
            ((IDisposable)app).Dispose();
            throw;
        }
        int actualPort = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()).Port;
        IPAddress shown = address.Equals(IPAddress.Any) ? IPAddress.Loopback : address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : address;
        return new BoardServer(app, dir, new Uri($"http://{Bracketed(shown)}:{actualPort}/"), refresh);
    }

    private static string Bracketed(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    private static IResult Answer(HttpContext context, BoardLogDir logDir, TimeSpan refreshInterval)
    {
        // The target as sent, still percent-encoded: Kestrel's decoded path has already resolved "%2e%2e" and
        // the like, and the board refuses such a path rather than serve what it resolved to.
        string target = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        BoardResponse answer;
        try
        {
            answer = BoardApi.Handle(logDir, context.Request.Method, target, refreshInterval);
        }
        catch (Exception e)
        {
            // A request must never take the board down; the page shows the message.
            answer = BoardResponse.Text(500, $"internal error: {e.Message}");
        }
        context.Response.StatusCode = answer.Status;
        if (answer.Headers is not null)
            foreach (var (name, value) in answer.Headers) context.Response.Headers[name] = value;
        if (answer.FilePath is not { } path)
            return Results.Bytes(answer.Body, answer.ContentType);
        try
        {
            // Streamed from disk in small blocks (and closed when sent), with Range requests answered.
            return Results.File(File.OpenRead(path), answer.ContentType, enableRangeProcessing: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Results.Text($"cannot read {path}: {e.Message}\n", "text/plain; charset=utf-8", statusCode: 404);
        }
    }

    /// <summary>
    /// Instead of the host's default, which stops the app on Ctrl+C: a training program that shows its own
    /// board keeps Ctrl+C for itself, and the board stops when it is disposed.
    /// </summary>
    private sealed class StoppedByDispose : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Stops listening; requests still in flight get a second to finish.</summary>
    public void Dispose()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        _app.StopAsync(grace.Token).GetAwaiter().GetResult();
        ((IDisposable)_app).Dispose();
    }
}
