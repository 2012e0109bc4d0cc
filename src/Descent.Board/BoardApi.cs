using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Web;

namespace Descent.Board;

/// <summary>
/// An HTTP answer of the board (what TensorBoard's web server would send for the same kind of request):
/// status, content type, body or the file to send, and extra headers. <see cref="BoardApi.Handle"/> produces
/// it without a socket; <see cref="BoardServer"/> writes it to the browser.
/// </summary>
/// <param name="Status">HTTP status code: 200, or 400, 404, 405 or 500 with a one-line plain-text reason as the body.</param>
/// <param name="ContentType">The <c>Content-Type</c> header, e.g. <c>application/json; charset=utf-8</c> or <c>image/png</c>.</param>
/// <param name="Body">The bytes to send (not sent for <c>HEAD</c>); empty when <see cref="FilePath"/> is set.</param>
/// <param name="Headers">Extra headers (<c>Cache-Control</c>, and the sandboxing <c>Content-Security-Policy</c> on <c>/files/</c>), or null.</param>
public sealed record BoardResponse(int Status, string ContentType, byte[] Body, IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>
    /// For <c>/files/</c>: the full path of the file under the log directory to send as the body, which the
    /// server streams from disk rather than holding in memory; null for every other answer.
    /// </summary>
    public string? FilePath { get; init; }

    internal static BoardResponse Text(int status, string text) => new(status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text + "\n"));
}

/// <summary>
/// The board's routes as a function from a request line to a response, so that the HTTP server stays one
/// route and every answer can be produced (and tested, and exported) without a socket.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term><c>/</c></term><description>the page</description></item>
/// <item><term><c>/api/runs</c></term><description><see cref="BoardRunList"/></description></item>
/// <item><term><c>/api/scalars[?tag=T]</c></term><description><see cref="BoardScalarChart"/>s</description></item>
/// <item><term><c>/api/histograms[?tag=T]</c></term><description><see cref="BoardHistogramChart"/>s</description></item>
/// <item><term><c>/api/images</c></term><description><see cref="BoardImageSeries"/>s</description></item>
/// <item><term><c>/api/image?run=R&amp;tag=T&amp;index=I</c></term><description>the encoded image</description></item>
/// <item><term><c>/api/texts</c></term><description><see cref="BoardTextSeries"/>s</description></item>
/// <item><term><c>/api/hparams</c></term><description><see cref="BoardHParamsTable"/></description></item>
/// <item><term><c>/api/pictures</c></term><description><see cref="BoardPictures"/></description></item>
/// <item><term><c>/files/PATH</c></term><description>a picture or CSV under the log directory</description></item>
/// </list>
/// </remarks>
public static class BoardApi
{
    /// <summary>How the API writes JSON: camelCase names, NaN and infinities as strings (JSON has no literal for them).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static readonly Dictionary<string, string> FileTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif",
        [".csv"] = "text/csv; charset=utf-8",
    };

    // Files from the log directory are shown, never run: a sandboxed document may not execute script, so an
    // SVG with script in it cannot act as the board's origin. SMIL animation (the playground's) still plays.
    private static readonly Dictionary<string, string> FileHeaders = new()
    {
        ["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ["X-Content-Type-Options"] = "nosniff",
    };

    private static readonly Lazy<byte[]> PageBytes = new(() => Encoding.UTF8.GetBytes(Page()));

    /// <summary>The dashboard page (HTML with its script and styles inline).</summary>
    public static string Page()
    {
        using var stream = typeof(BoardApi).Assembly.GetManifestResourceStream("Descent.Board.board.html")
            ?? throw new InvalidOperationException("the board page is missing from the assembly");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>JSON of a value as the API writes it.</summary>
    public static string Json<T>(T value) => JsonSerializer.Serialize(value, JsonOptions);

    /// <summary>Answers one request. <paramref name="target"/> is the raw request target (path and query, still percent-encoded).</summary>
    public static BoardResponse Handle(BoardLogDir logDir, string method, string target, TimeSpan refreshInterval)
    {
        ArgumentNullException.ThrowIfNull(logDir);
        ArgumentNullException.ThrowIfNull(target);
        if (method is not ("GET" or "HEAD")) return BoardResponse.Text(405, $"{method} is not allowed: the board only reads");
        int q = target.IndexOf('?');
        string rawPath = q < 0 ? target : target[..q];
        var query = HttpUtility.ParseQueryString(q < 0 ? "" : target[(q + 1)..]);
        if (rawPath == "/" || rawPath == "/index.html")
            return new BoardResponse(200, "text/html; charset=utf-8", PageBytes.Value, new Dictionary<string, string> { ["Cache-Control"] = "no-cache" });
        if (rawPath.StartsWith("/files/", StringComparison.Ordinal))
            return ServeFile(logDir.Root, rawPath["/files/".Length..]);

        var snapshot = logDir.RefreshIfOlderThan(refreshInterval);
        string? tag = query["tag"];
        return rawPath switch
        {
            "/api/runs" => JsonResponse(snapshot.RunList()),
            "/api/scalars" => JsonResponse(snapshot.Scalars(tag)),
            "/api/histograms" => JsonResponse(snapshot.Histograms(tag)),
            "/api/images" => JsonResponse(snapshot.Images()),
            "/api/image" => ServeImage(snapshot, query["run"], tag, query["index"]),
            "/api/texts" => JsonResponse(snapshot.Texts()),
            "/api/hparams" => JsonResponse(snapshot.HParams()),
            "/api/pictures" => JsonResponse(snapshot.Pictures),
            _ => BoardResponse.Text(404, $"no such page: {rawPath}"),
        };
    }

    private static BoardResponse JsonResponse<T>(T value) =>
        new(200, "application/json; charset=utf-8", JsonSerializer.SerializeToUtf8Bytes(value, JsonOptions), new Dictionary<string, string> { ["Cache-Control"] = "no-store" });

    private static BoardResponse ServeImage(BoardSnapshot snapshot, string? run, string? tag, string? index)
    {
        if (run is null || tag is null || !int.TryParse(index, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i))
            return BoardResponse.Text(400, "api/image needs run, tag and index");
        if (snapshot.Image(run, tag, i) is not { } image) return BoardResponse.Text(404, $"run '{run}' has no image {i} of tag '{tag}'");
        return new BoardResponse(200, ImageType(image.Encoded), image.Encoded, new Dictionary<string, string> { ["Cache-Control"] = "max-age=3600" });
    }

    /// <summary>The content type of encoded image bytes, by their signature.</summary>
    public static string ImageType(byte[] encoded) =>
        encoded is [0x89, (byte)'P', (byte)'N', (byte)'G', ..] ? "image/png" :
        encoded is [0xFF, 0xD8, ..] ? "image/jpeg" :
        encoded is [(byte)'G', (byte)'I', (byte)'F', ..] ? "image/gif" : "application/octet-stream";

    /// <summary>
    /// The full path of <paramref name="encodedPath"/> (a percent-encoded path relative to the log directory),
    /// or null when it could leave the log directory: <c>..</c> or <c>.</c> segments, an absolute or rooted
    /// path, backslashes, empty segments or control characters are refused before any file is looked at.
    /// Then each segment under the log directory that exists is looked at, and a path through a symbolic link
    /// (or junction), whether a directory on the way or the file itself, is refused too: a link may point
    /// anywhere, so only real files under the log directory are served.
    /// </summary>
    /// <param name="root">The log directory (full path).</param>
    /// <param name="encodedPath">The part of the request path after <c>/files/</c>, still percent-encoded.</param>
    public static string? ResolveUnderRoot(string root, string encodedPath)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(encodedPath);
        string relative;
        try
        {
            relative = Uri.UnescapeDataString(encodedPath);
        }
        catch (UriFormatException)
        {
            return null;
        }
        if (relative.Length == 0 || relative.Contains('\\') || relative.Any(char.IsControl) || Path.IsPathRooted(relative) || relative.Contains(':'))
            return null;
        string[] segments = relative.Split('/');
        if (segments.Any(s => s is "" or "." or ".."))
            return null;
        string full = Path.GetFullPath(Path.Combine(root, relative));
        string rootWithSeparator = Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal)) return null;
        return PassesThroughLink(root, segments) ? null : full;
    }

    /// <summary>
    /// Whether any of <paramref name="segments"/>, walked from <paramref name="root"/>, is a symbolic link or
    /// junction. The walk stops at the first segment that does not exist (nothing below it can be served);
    /// a segment that cannot be looked at counts as a link, so the path is refused rather than trusted.
    /// </summary>
    private static bool PassesThroughLink(string root, string[] segments)
    {
        string current = root;
        foreach (var segment in segments)
        {
            current = Path.Combine(current, segment);
            try
            {
                FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
                if (info.LinkTarget is not null) return true;
                if (!info.Exists) return false;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return false;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return true;
            }
        }
        return false;
    }

    private static BoardResponse ServeFile(string root, string encodedPath)
    {
        if (ResolveUnderRoot(root, encodedPath) is not { } path) return BoardResponse.Text(400, "refused: files are served only from inside the log directory");
        if (!FileTypes.TryGetValue(Path.GetExtension(path), out var type)) return BoardResponse.Text(404, "only pictures and CSV files are served");
        if (!File.Exists(path)) return BoardResponse.Text(404, $"no such file: {Uri.UnescapeDataString(encodedPath)}");
        return new BoardResponse(200, type, [], FileHeaders) { FilePath = path };
    }
}
