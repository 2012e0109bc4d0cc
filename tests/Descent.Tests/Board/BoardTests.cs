using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Descent.Board;
using Descent.Logging.TensorBoard;
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

    private Uri Start()
    {
        // HttpListener cannot take port 0, so ask the system for a free port and retry should another process grab it first.
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            try
            {
                _server = BoardServer.Start(_dir.Path, port, refreshInterval: TimeSpan.Zero);
                return _server.Url;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }
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

    [Theory]
    [InlineData("files/%2e%2e/secret.svg")]
    [InlineData("files/..%2Fsecret.svg")]
    [InlineData("files/sub%2F..%2F..%2Fsecret.svg")]
    [InlineData("files/%2Ftmp%2Fsecret.svg")]
    [InlineData("files/a%5C..%5C..%5Csecret.svg")]
    public async Task Files_outside_the_log_directory_are_refused(string path)
    {
        string secret = Path.Combine(Path.GetDirectoryName(_dir.Path)!, "secret.svg");
        Start();
        var response = await _http.GetAsync(new Uri(_server!.Url, path));
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
        Assert.DoesNotContain("<svg", await response.Content.ReadAsStringAsync());
        Assert.False(File.Exists(secret) && response.StatusCode == HttpStatusCode.OK);
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
