using System.Net;

namespace Descent.Board;

/// <summary>
/// The board's web server: <see cref="HttpListener"/> answering with <see cref="BoardApi.Handle"/>. Starts in
/// milliseconds, needs nothing beyond the base library, and can run inside a training program
/// (<c>using var board = BoardServer.Start("runs");</c>) as well as from <c>descent board</c>.
/// </summary>
public sealed class BoardServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _loop;

    private BoardServer(BoardLogDir logDir, HttpListener listener, Uri url, TimeSpan refreshInterval)
    {
        LogDir = logDir;
        _listener = listener;
        Url = url;
        RefreshInterval = refreshInterval;
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>What the board shows.</summary>
    public BoardLogDir LogDir { get; }

    /// <summary>The page's address, e.g. <c>http://127.0.0.1:6006/</c>.</summary>
    public Uri Url { get; }

    /// <summary>Requests within this time of the last look at the disk are answered from that look.</summary>
    public TimeSpan RefreshInterval { get; }

    /// <summary>Finishes when the server has stopped (<see cref="Dispose"/>).</summary>
    public Task Completion => _loop;

    /// <summary>
    /// Reads <paramref name="logDir"/> and starts serving it on <paramref name="host"/>:<paramref name="port"/>.
    /// A host of <c>0.0.0.0</c>, <c>*</c> or <c>+</c> listens on every interface.
    /// </summary>
    /// <param name="logDir">The log directory.</param>
    /// <param name="port">TCP port.</param>
    /// <param name="host">Address or name to listen on; the default takes requests from this machine only.</param>
    /// <param name="refreshInterval">How old a look at the disk may be before a request looks again (default one second).</param>
    /// <exception cref="DirectoryNotFoundException">No such log directory.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A port outside 1–65535.</exception>
    /// <exception cref="HttpListenerException">The port is in use, or the address cannot be listened on.</exception>
    public static BoardServer Start(string logDir, int port = 6006, string host = "127.0.0.1", TimeSpan? refreshInterval = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        var dir = new BoardLogDir(logDir);
        bool anyAddress = host is "0.0.0.0" or "*" or "+" or "::";
        string prefixHost = anyAddress ? "+" : host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host;
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://{prefixHost}:{port}/");
        // HttpListener matches the Host header against its prefixes, so a loopback board also answers to
        // "localhost", which is what people type.
        if (host is "127.0.0.1" or "localhost") listener.Prefixes.Add($"http://{(host == "localhost" ? "127.0.0.1" : "localhost")}:{port}/");
        listener.Start();
        var url = new Uri($"http://{(anyAddress ? "127.0.0.1" : prefixHost)}:{port}/");
        return new BoardServer(dir, listener, url, refreshInterval ?? TimeSpan.FromSeconds(1));
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break; // stopped
            }
            _ = Task.Run(() => Answer(context));
        }
    }

    private void Answer(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            BoardResponse answer;
            try
            {
                answer = BoardApi.Handle(LogDir, context.Request.HttpMethod, context.Request.RawUrl ?? "/", RefreshInterval);
            }
            catch (Exception e)
            {
                // A request must never take the board down; the page shows the message.
                answer = BoardResponse.Text(500, $"internal error: {e.Message}");
            }
            response.StatusCode = answer.Status;
            response.ContentType = answer.ContentType;
            if (answer.Headers is not null)
                foreach (var (name, value) in answer.Headers) response.Headers[name] = value;
            response.ContentLength64 = answer.Body.Length;
            if (context.Request.HttpMethod != "HEAD") response.OutputStream.Write(answer.Body);
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The browser went away mid-answer: nothing to do.
        }
    }

    /// <summary>Stops listening; requests in flight are cut off.</summary>
    public void Dispose()
    {
        if (!_listener.IsListening) return;
        _listener.Stop();
        _listener.Close();
    }
}
