using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Descent.Board;
using Descent.TensorBoard;
using Descent.Tests.Logging;

namespace Descent.Tests.Board;

/// <summary>
/// The board against a real log directory: runs written with <see cref="SummaryWriter"/>, a playground output
/// written by <c>descent playground</c>, served in-process on a free port and read with <see cref="HttpClient"/>.
/// </summary>
public sealed class BoardTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly HttpClient _http = new();
    private BoardServer? _server;

    public void Dispose()
    {
        _server?.Dispose();
        _http.Dispose();
        _dir.Dispose();
    }

    private void WriteRunA()
    {
        using var writer = new SummaryWriter(_dir.Sub("runs/a"));
        for (int i = 1; i <= 3; i++) writer.AddScalar("train/loss", 1.0 / i, i);
        writer.AddScalar("train/acc", 0.5, 3);
        writer.AddHistogram("weights/fc", [1f, 2f, 2f, 3f, 10f], 3);
        writer.AddImage("sample", Tensor.Zeros(3, 4, 5), 3);
        writer.AddText("notes", "hello <board>", 2);
        writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.1, ["opt"] = "sgd" }, new Dictionary<string, double> { ["hparam/acc"] = 0.9 }, runName: SummaryWriter.SameRun);
    }

    private void WriteRun(string name, string tag, params double[] values)
    {
        using var writer = new SummaryWriter(_dir.Sub(name));
        for (int i = 0; i < values.Length; i++) writer.AddScalar(tag, values[i], i);
    }

    private void WritePlayground()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Descent.Cli.Cli.Run(["playground", "--preset", "saddle", "--steps", "20", "--out", _dir.Sub("experiments/pg")], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        File.WriteAllText(_dir.Sub("figure.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    }

    private Uri Start(string? logDir = null)
    {
        _server = BoardServer.Start(logDir ?? _dir.Path, port: 0, refreshInterval: TimeSpan.Zero);
        return _server.Url;
    }

    private async Task<JsonElement> Json(string path)
    {
        var response = await _http.GetAsync(new Uri(_server!.Url, path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    private static List<string> Names(JsonElement runs) => runs.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToList();

    [Fact]
    public async Task Serves_the_page_and_lists_runs_with_their_tags()
    {
        WriteRunA();
        WriteRun("runs/b", "train/loss", 2, 1);
        Start();
        var page = await _http.GetStringAsync(_server!.Url);
        Assert.Contains("<title>Descent board</title>", page);
        Assert.Contains("fetch(\"api/\"", page);
        Assert.DoesNotContain("://cdn", page);

        var runs = await Json("api/runs");
        Assert.Equal(["runs/a", "runs/b"], Names(runs));
        var a = runs.GetProperty("runs")[0];
        Assert.True(a.GetProperty("error").ValueKind == JsonValueKind.Null);
        var tags = a.GetProperty("tags");
        Assert.Equal(["train/loss", "train/acc", "hparam/acc"], tags.GetProperty("scalars").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.Equal("weights/fc", tags.GetProperty("histograms")[0].GetString());
        Assert.Equal("sample", tags.GetProperty("images")[0].GetString());
        Assert.Equal("notes/text_summary", tags.GetProperty("texts")[0].GetString());
        Assert.True(tags.GetProperty("hParams").GetBoolean());
    }

    [Fact]
    public async Task Scalars_overlay_every_run_with_the_values_written()
    {
        WriteRunA();
        WriteRun("runs/b", "train/loss", 2, double.NaN);
        Start();
        var charts = await Json("api/scalars?tag=" + Uri.EscapeDataString("train/loss"));
        var chart = Assert.Single(charts.EnumerateArray());
        Assert.Equal("train/loss", chart.GetProperty("tag").GetString());
        var series = chart.GetProperty("runs").EnumerateArray().ToDictionary(s => s.GetProperty("run").GetString()!, s => s.GetProperty("points"));
        Assert.Equal(["runs/a", "runs/b"], series.Keys.ToArray());
        var a = series["runs/a"].EnumerateArray().ToList();
        Assert.Equal(3, a.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(i + 1, a[i][0].GetDouble());
            Assert.Equal((double)(float)(1.0 / (i + 1)), a[i][1].GetDouble());
        }
        // JSON has no NaN: it arrives as the string the page turns back into a number.
        Assert.Equal("NaN", series["runs/b"][1][1].GetString());
        Assert.Equal(3, (await Json("api/scalars")).GetArrayLength());
    }

    [Fact]
    public async Task Histograms_texts_and_hparams_come_as_plain_records()
    {
        WriteRunA();
        Start();
        var histogram = Assert.Single((await Json("api/histograms")).EnumerateArray());
        Assert.Equal("weights/fc", histogram.GetProperty("tag").GetString());
        var series = histogram.GetProperty("runs")[0];
        Assert.Equal(1, series.GetProperty("low").GetDouble());
        Assert.Equal(10, series.GetProperty("high").GetDouble());
        var step = series.GetProperty("steps")[0];
        Assert.Equal(3, step.GetProperty("step").GetInt64());
        Assert.Equal(5, step.GetProperty("count").GetDouble());
        var counts = step.GetProperty("counts").EnumerateArray().Select(c => c.GetDouble()).ToList();
        Assert.Equal(BoardSnapshot.HistogramBins, counts.Count);
        Assert.Equal(5, counts.Sum(), 6);
        Assert.True(counts[^1] > 0, "the value 10 lands in the last bin");

        var text = Assert.Single((await Json("api/texts")).EnumerateArray());
        Assert.Equal("runs/a", text.GetProperty("run").GetString());
        Assert.Equal("hello <board>", text.GetProperty("entries")[0].GetProperty("text").GetString());

        var hparams = await Json("api/hparams");
        Assert.Equal(["lr", "opt"], hparams.GetProperty("hParams").EnumerateArray().Select(h => h.GetString()!).ToArray());
        Assert.Equal("hparam/acc", hparams.GetProperty("metrics")[0].GetString());
        var row = Assert.Single(hparams.GetProperty("rows").EnumerateArray());
        Assert.Equal("success", row.GetProperty("status").GetString());
        Assert.Equal(0.1, row.GetProperty("hParams").GetProperty("lr").GetDouble());
        Assert.Equal("sgd", row.GetProperty("hParams").GetProperty("opt").GetString());
        Assert.Equal((double)0.9f, row.GetProperty("metrics").GetProperty("hparam/acc").GetDouble());
    }

    [Fact]
    public async Task Images_are_served_as_the_png_that_was_logged()
    {
        WriteRunA();
        Start();
        var series = Assert.Single((await Json("api/images")).EnumerateArray());
        Assert.Equal("sample", series.GetProperty("tag").GetString());
        var item = series.GetProperty("items")[0];
        Assert.Equal(5, item.GetProperty("width").GetInt32());
        var response = await _http.GetAsync(new Uri(_server!.Url, item.GetProperty("url").GetString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var png = PngDecoding.Decode(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((5, 4), (png.Width, png.Height));

        var missing = await _http.GetAsync(new Uri(_server.Url, BoardSnapshot.ImageUrl("runs/a", "sample", 7)));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Playground_outputs_and_other_pictures_are_listed_and_served()
    {
        WritePlayground();
        Start();
        var pictures = await Json("api/pictures");
        var pg = Assert.Single(pictures.GetProperty("playground").EnumerateArray());
        Assert.Equal("experiments/pg", pg.GetProperty("folder").GetString());
        Assert.Equal("saddle", pg.GetProperty("prefix").GetString());
        foreach (var (key, file) in new[] { ("contour", "saddle-contour.svg"), ("loss", "saddle-loss.svg"), ("animation", "saddle-animation.svg") })
        {
            string url = pg.GetProperty(key).GetString()!;
            Assert.StartsWith("files/experiments/pg/" + file, url);
            var response = await _http.GetAsync(new Uri(_server!.Url, url));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<svg", await response.Content.ReadAsStringAsync());
        }
        var summary = pg.GetProperty("summary");
        Assert.Equal("label", summary.GetProperty("columns")[0].GetString());
        int optimizers = summary.GetProperty("rows").GetArrayLength();
        Assert.True(optimizers >= 2);
        Assert.Equal(optimizers, pg.GetProperty("traces").GetArrayLength());
        var other = Assert.Single(pictures.GetProperty("pictures").EnumerateArray());
        Assert.Equal("figure.svg", other.GetProperty("path").GetString());
    }

    /// <summary>
    /// A request sent with its target exactly as written: <see cref="Uri"/> would otherwise decode <c>%2e</c> and
    /// drop <c>..</c> segments before the request leaves, and the server would never see the traversal.
    /// </summary>
    private Task<HttpResponseMessage> GetRaw(string path) =>
        _http.GetAsync(new Uri(_server!.Url + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));

    /// <summary>The log directory is <c>logs</c> inside the temporary directory, and <c>secret.svg</c> lies next to it, outside.</summary>
    private (string LogDir, string Secret) LogDirWithSecretOutside()
    {
        string logDir = Directory.CreateDirectory(_dir.Sub("logs")).FullName;
        string secret = _dir.Sub("secret.svg");
        File.WriteAllText(secret, "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>secret</text></svg>");
        return (logDir, secret);
    }

    [Theory]
    [InlineData("files/%2e%2e/secret.svg")]
    [InlineData("files/..%2Fsecret.svg")]
    [InlineData("files/%2E%2E%2Fsecret.svg")]
    [InlineData("files/sub%2F..%2F..%2Fsecret.svg")]
    [InlineData("files/{absolute}")]
    [InlineData("files/a%5C..%5C..%5Csecret.svg")]
    [InlineData("files/..%5Csecret.svg")]
    public async Task Files_outside_the_log_directory_are_refused(string path)
    {
        var (logDir, secret) = LogDirWithSecretOutside();
        // The secret is there to be taken: were the path not refused, the answer would be 200 with the secret.
        Assert.Equal(secret, Path.GetFullPath(Path.Combine(logDir, "..", "secret.svg")));
        path = path.Replace("{absolute}", Uri.EscapeDataString(secret), StringComparison.Ordinal);
        Start(logDir);
        var response = await GetRaw(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {body}");
        Assert.DoesNotContain("secret</text>", body);
        Assert.Equal(400, BoardApi.Handle(_server!.LogDir, "GET", "/" + path, TimeSpan.Zero).Status);
    }

    [Fact]
    public async Task Files_are_sent_whole_or_in_the_range_asked_for()
    {
        // 100 kB of a known pattern: larger than one block of the stream copy, so the answer takes several reads.
        byte[] bytes = Enumerable.Range(0, 100_000).Select(i => (byte)('a' + i % 26)).ToArray();
        File.WriteAllBytes(_dir.Sub("big.csv"), bytes);
        Start();
        var whole = await _http.GetAsync(new Uri(_server!.Url, "files/big.csv"));
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("text/csv", whole.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes.Length, whole.Content.Headers.ContentLength);
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
        Assert.StartsWith("sandbox", whole.Headers.GetValues("Content-Security-Policy").Single());

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.Url, "files/big.csv"));
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(70_000, 70_099);
        var part = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal("bytes 70000-70099/100000", part.Content.Headers.ContentRange?.ToString());
        Assert.Equal(bytes[70_000..70_100], await part.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_loopback_board_answers_only_to_its_own_names()
    {
        Start();
        foreach (var (host, status) in new[] { ("evil.example", HttpStatusCode.BadRequest), ("localhost", HttpStatusCode.OK), ("127.0.0.1", HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server!.Url, "api/runs"));
            request.Headers.Host = $"{host}:{_server.Url.Port}";
            var response = await _http.SendAsync(request);
            Assert.True(response.StatusCode == status, $"{host}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task A_symlinked_directory_pointing_outside_is_neither_listed_nor_served()
    {
        var (logDir, secret) = LogDirWithSecretOutside();
        WriteRun("logs/runs/a", "loss", 1, 2);
        WriteRun("elsewhere", "loss", 3); // a run outside the log directory, reachable only through the link
        File.WriteAllText(Path.Combine(logDir, "inside.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
        string link = Path.Combine(logDir, "link");
        try
        {
            Directory.CreateSymbolicLink(link, "..");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return; // this system lets no one make symbolic links (Windows without developer mode): nothing to check
        }
        Assert.True(File.Exists(Path.Combine(link, "secret.svg")), "the link reaches the secret");
        string fileLink = Path.Combine(logDir, "secret-link.svg");
        File.CreateSymbolicLink(fileLink, secret);
        Start(logDir);

        var runs = await Json("api/runs");
        Assert.Equal(["runs/a"], Names(runs));
        var pictures = await Json("api/pictures");
        Assert.Equal(["inside.svg"], pictures.GetProperty("pictures").EnumerateArray().Select(p => p.GetProperty("path").GetString()!).ToArray());
        Assert.Empty(pictures.GetProperty("playground").EnumerateArray());

        Assert.Equal(HttpStatusCode.OK, (await GetRaw("files/inside.svg")).StatusCode);
        foreach (var path in new[] { "files/link/secret.svg", "files/link/logs/inside.svg", "files/link/elsewhere", "files/secret-link.svg", "files/link/nothing.svg" })
        {
            var response = await GetRaw(path);
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {body}");
            Assert.DoesNotContain("secret</text>", body);
        }
        Assert.Null(BoardApi.ResolveUnderRoot(logDir, "link/secret.svg"));
        Assert.Null(BoardApi.ResolveUnderRoot(logDir, "secret-link.svg"));
        Assert.Equal(Path.Combine(logDir, "inside.svg"), BoardApi.ResolveUnderRoot(logDir, "inside.svg"));

        // Looking again (the link still there) does not pick anything up either.
        Assert.Single(_server!.LogDir.Refresh().Runs);
    }

    [Fact]
    public async Task An_unreadable_file_shows_on_its_run_or_is_left_out_and_the_rest_still_works()
    {
        // A directory where a file is expected cannot be read (UnauthorizedAccessException on Unix), as root too.
        Directory.CreateDirectory(_dir.Sub("folder.csv"));
        Assert.Null(BoardPictureScan.ReadCsv(_dir.Sub("folder.csv")));
        Assert.Null(BoardPictureScan.ReadCsv(_dir.Sub("missing.csv")));

        WritePlayground();
        WriteRun("runs/good", "loss", 1, 2);
        WriteRun("runs/locked", "loss", 3);
        string summary = _dir.Sub("experiments/pg/saddle-summary.csv");
        string events = Directory.GetFiles(_dir.Sub("runs/locked"))[0];
        if (OperatingSystem.IsWindows()) return;
        File.SetUnixFileMode(summary, UnixFileMode.None);
        File.SetUnixFileMode(events, UnixFileMode.None);
        try
        {
            bool unreadable;
            try
            {
                File.ReadAllBytes(events);
                unreadable = false;
            }
            catch (UnauthorizedAccessException)
            {
                unreadable = true;
            }
            Start();
            var runs = (await Json("api/runs")).GetProperty("runs").EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!);
            Assert.Equal(JsonValueKind.Null, runs["runs/good"].GetProperty("error").ValueKind);
            var pg = Assert.Single((await Json("api/pictures")).GetProperty("playground").EnumerateArray());
            Assert.Equal(unreadable ? 1 : 2, (await Json("api/scalars")).EnumerateArray().Single().GetProperty("runs").GetArrayLength());
            if (unreadable) // not when the tests run as root, who reads every file
            {
                Assert.Contains(events, runs["runs/locked"].GetProperty("error").GetString()!);
                Assert.Equal(JsonValueKind.Null, pg.GetProperty("summary").ValueKind);
            }
        }
        finally
        {
            File.SetUnixFileMode(summary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.SetUnixFileMode(events, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Fact]
    public void Open_ended_histogram_buckets_are_clipped_to_their_own_step()
    {
        // Step 1 holds values in [0.2, 1] in TensorFlow's buckets, open-ended at both ends; step 2 reaches 0 and 10.
        var narrow = new HistogramEvent(0, 1, Min: 0.2, Max: 1, Count: 2, Sum: 1, SumSquares: 1,
            [-double.MaxValue, 0.5, double.MaxValue], [0, 1, 1]);
        var wide = new HistogramEvent(0, 2, Min: 0, Max: 10, Count: 1, Sum: 10, SumSquares: 100, [10], [1]);
        var series = BoardSnapshot.HistogramSeries("r", [narrow, wide]);
        Assert.Equal((0.0, 10.0), (series.Low, series.High));
        double width = 10.0 / BoardSnapshot.HistogramBins;
        var counts = series.Steps[0].Counts;
        Assert.Equal(2, counts.Sum(), 9);
        // Nothing of step 1 lands above its own maximum 1 or below its own minimum 0.2.
        for (int i = 0; i < counts.Count; i++)
            if (i * width >= 1 || (i + 1) * width <= 0.2) Assert.True(counts[i] == 0, $"bin {i} holds {counts[i]}");
        // The bucket [0.2, 0.5] shares its count by overlap: bin 0 = [0, 0.25] takes 0.05 of its 0.3.
        Assert.Equal(0.05 / 0.3, counts[0], 9);
        Assert.Equal(1, series.Steps[1].Counts.Sum(), 9);
    }

    [Fact]
    public void Paths_that_could_leave_the_log_directory_do_not_resolve()
    {
        string root = _dir.Path;
        foreach (var bad in new[] { "..", "../x.svg", "a/../../x.svg", "%2e%2e/x.svg", "..%2fx.svg", "/etc/passwd", "%2fetc%2fpasswd", "a\\..\\x.svg", "a//b.svg", "./a.svg", "C:%5Cx.svg", "a%00.svg" })
            Assert.True(BoardApi.ResolveUnderRoot(root, bad) is null, bad);
        Assert.Equal(Path.Combine(root, "sub", "a b.svg"), BoardApi.ResolveUnderRoot(root, "sub/a%20b.svg"));
    }

    [Fact]
    public async Task A_run_that_starts_or_grows_after_the_first_request_shows_up_on_the_next()
    {
        WriteRun("runs/first", "loss", 1);
        Start();
        Assert.Equal(["runs/first"], Names(await Json("api/runs")));
        long version = (await Json("api/runs")).GetProperty("version").GetInt64();

        using (var writer = new SummaryWriter(_dir.Sub("runs/live")))
        {
            writer.AddScalar("loss", 3, 1);
            writer.Flush();
            var runs = await Json("api/runs");
            Assert.Equal(["runs/first", "runs/live"], Names(runs));
            Assert.True(runs.GetProperty("version").GetInt64() > version);
            writer.AddScalar("loss", 2, 2);
            writer.AddScalar("loss", 1, 3);
            writer.Flush();
            var chart = Assert.Single((await Json("api/scalars?tag=loss")).EnumerateArray());
            var live = chart.GetProperty("runs").EnumerateArray().Single(s => s.GetProperty("run").GetString() == "runs/live");
            Assert.Equal([3.0, 2.0, 1.0], live.GetProperty("points").EnumerateArray().Select(p => p[1].GetDouble()).ToArray());
        }
    }

    [Fact]
    public async Task A_damaged_event_file_is_shown_on_its_run_and_the_rest_still_works()
    {
        WriteRun("runs/good", "loss", 1, 2);
        WriteRun("runs/bad", "loss", 5, 6, 7);
        string damaged = Directory.GetFiles(_dir.Sub("runs/bad"))[0];
        var bytes = File.ReadAllBytes(damaged);
        bytes[^6] ^= 0xFF;
        File.WriteAllBytes(damaged, bytes);
        Start();
        var runs = (await Json("api/runs")).GetProperty("runs").EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!);
        string error = runs["runs/bad"].GetProperty("error").GetString()!;
        Assert.Contains(damaged, error);
        Assert.Contains("byte offset", error);
        Assert.Equal(JsonValueKind.Null, runs["runs/good"].GetProperty("error").ValueKind);
        var chart = Assert.Single((await Json("api/scalars")).EnumerateArray());
        Assert.Equal("runs/good", Assert.Single(chart.GetProperty("runs").EnumerateArray()).GetProperty("run").GetString());
    }

    [Fact]
    public void Unknown_routes_and_writes_are_refused()
    {
        var logDir = new BoardLogDir(_dir.Path);
        Assert.Equal(404, BoardApi.Handle(logDir, "GET", "/api/nothing", TimeSpan.Zero).Status);
        Assert.Equal(405, BoardApi.Handle(logDir, "POST", "/api/runs", TimeSpan.Zero).Status);
        Assert.Equal(400, BoardApi.Handle(logDir, "GET", "/api/image?run=a", TimeSpan.Zero).Status);
        File.WriteAllText(_dir.Sub("notes.txt"), "text");
        Assert.Equal(404, BoardApi.Handle(logDir, "GET", "/files/notes.txt", TimeSpan.Zero).Status);
    }

    [Fact]
    public void An_event_file_that_grew_is_read_on_from_where_the_last_read_stopped()
    {
        using var writer = new SummaryWriter(_dir.Path);
        writer.AddScalar("x", 1, 1);
        writer.Flush();
        var first = EventFileReader.ReadFile(writer.FilePath);
        writer.AddScalar("x", 2, 2);
        writer.Flush();
        var grown = EventFileReader.ReadFile(writer.FilePath, first);
        var whole = EventFileReader.ReadFile(writer.FilePath);
        Assert.Equal(whole.Length, grown.Length);
        Assert.Equal(whole.Events.Select(e => (e.Offset, e.Event)), grown.Events.Select(e => (e.Offset, e.Event)));
        Assert.True(grown.Events.Count > first.Events.Count);
    }

    [Fact]
    public void Export_writes_one_self_contained_page()
    {
        WriteRunA();
        WritePlayground();
        string file = _dir.Sub("out/board.html");
        var stdout = new StringWriter();
        Assert.Equal(0, Descent.Cli.Cli.Run(["board", "--logdir", _dir.Path, "--export", file], stdout, new StringWriter()));
        Assert.Contains(file, stdout.ToString());
        string html = File.ReadAllText(file);
        Assert.Contains("window.BOARD_SNAPSHOT = {", html);
        Assert.DoesNotContain("<!--SNAPSHOT-->", html);
        Assert.Contains("data:image/png;base64,", html);
        Assert.Contains("data:image/svg\\u002Bxml;base64,", html); // '+' escaped by the JSON encoder
        Assert.Contains("hello \\u003Cboard\\u003E", html); // logged text cannot close the script element
    }

    [Fact]
    public void A_missing_log_directory_is_one_line_naming_it()
    {
        var stderr = new StringWriter();
        string missing = _dir.Sub("nope");
        Assert.Equal(2, Descent.Cli.Cli.Run(["board", "--logdir", missing], new StringWriter(), stderr));
        string line = stderr.ToString().TrimEnd();
        Assert.StartsWith("descent: error: ", line);
        Assert.Contains(missing, line);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void A_port_in_use_is_one_line_naming_the_port()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            var stderr = new StringWriter();
            Assert.Equal(2, Descent.Cli.Cli.Run(["board", "--logdir", _dir.Path, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], new StringWriter(), stderr));
            string line = stderr.ToString().TrimEnd();
            Assert.StartsWith("descent: error: ", line);
            Assert.Contains($"port {port}", line);
            Assert.DoesNotContain('\n', line);
        }
        finally
        {
            taken.Stop();
        }
    }
}
