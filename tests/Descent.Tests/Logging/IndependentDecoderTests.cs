using System.Diagnostics;
using System.Text.Json;
using Descent.TensorBoard;

namespace Descent.Tests.Logging;

/// <summary>
/// Descent's files decoded without Descent: <c>tests/tensorboard/decode_events.py</c> checks the framing
/// and both CRCs with its own CRC32C and parses every payload with python3-protobuf against descriptors
/// Debian's <c>protoc</c> compiles from the .proto files. CI installs protobuf-compiler and python3-protobuf.
/// </summary>
public class IndependentDecoderTests
{
    private static JsonElement Decode(string logDir)
    {
        SystemPackages.Protoc.Require();
        SystemPackages.PythonProtobuf.Require();
        var start = new ProcessStartInfo(SystemPackages.Python, [Path.Combine(ArchitectureTests.RepoRoot(), "tests", "tensorboard", "decode_events.py"), logDir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "decode_events.py did not finish in a minute");
        Assert.True(process.ExitCode == 0, $"decode_events.py failed ({process.ExitCode}): {stderr.Result}");
        return JsonDocument.Parse(stdout.Result).RootElement;
    }

    [SkippableFact]
    public void Python_protobuf_decodes_every_record_with_valid_crcs()
    {
        using var dir = new TempDirectory();
        var values = Enumerable.Range(0, 300).Select(i => (float)Math.Cos(i) * 3).ToArray();
        using (var writer = new SummaryWriter(dir.Path))
        {
            for (int i = 0; i < 20; i++) writer.AddScalar("loss/train", 1.0 / (i + 1), i);
            writer.AddScalar("loss/nan", double.NaN, 1);
            writer.AddScalar("loss/new", 0.5, 2, newStyle: true);
            writer.AddScalars("lr", new Dictionary<string, double> { ["a"] = 0.1, ["b"] = 0.2 }, 3);
            writer.AddHistogram("weights/fc", values, 4);
            writer.AddHistogramRaw("raw", 0, 2, 3, 3, 5, [1, 2], [1, 2], 4);
            writer.AddImage("image", Tensor.FromArray(Enumerable.Range(0, 3 * 5 * 7).Select(i => i / 105f).ToArray(), 3, 5, 7), 5);
            writer.AddImage("rgba", new RasterImage(3, 2, 4, new byte[24]), 5);
            writer.AddImages("grid", Tensor.Zeros(11, 1, 4, 4), 5);
            writer.AddFigure("figure", new Descent.Lab.Plots.LineChartFigure("loss", [new Descent.Lab.Plots.Series("train", [(0, 1.0), (1, 0.5)])], width: 300, height: 150), 5);
            writer.AddText("notes", "**bold** λ 损失", 6);
            writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.1, ["opt"] = "sgd", ["nesterov"] = false },
                new Dictionary<string, double> { ["hparam/acc"] = 0.9 }, runName: SummaryWriter.SameRun, step: 7);
            writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.2 }, new Dictionary<string, double> { ["hparam/acc"] = 0.8 });
        }
        var files = Decode(dir.Path).GetProperty("files").EnumerateArray().ToList();
        var reader = EventFileReader.ReadLogDir(dir.Path);
        Assert.Equal(reader.Sum(r => r.Files.Count), files.Count);
        Assert.Equal(reader.Sum(r => r.RecordCount), files.Sum(f => f.GetProperty("records").GetInt32()));

        var main = files.Single(f => f.GetProperty("run").GetString() == ".").GetProperty("values").EnumerateArray().ToList();
        JsonElement Value(string tag) => main.Single(v => v.GetProperty("tag").GetString() == tag);
        var loss = main.Where(v => v.GetProperty("tag").GetString() == "loss/train").ToList();
        Assert.Equal(20, loss.Count);
        Assert.Equal((float)(1.0 / 7), (float)loss[6].GetProperty("value").GetDouble());
        Assert.Equal(6, loss[6].GetProperty("step").GetInt64());
        Assert.Equal("nan", Value("loss/nan").GetProperty("value").GetString());
        Assert.Equal(0.5, Value("loss/new").GetProperty("value").GetDouble());

        var histogram = Value("weights/fc");
        Assert.Equal("histogram", histogram.GetProperty("kind").GetString());
        Assert.Equal(300, histogram.GetProperty("num").GetDouble());
        Assert.Equal(300, histogram.GetProperty("counted").GetDouble());
        Assert.Equal(values.Min(), histogram.GetProperty("min").GetDouble());
        Assert.Equal(HistogramBuckets.Build(values).Bucket.Count, histogram.GetProperty("buckets").GetInt32());

        Assert.Equal((7, 5, 3), (Value("image").GetProperty("width").GetInt32(), Value("image").GetProperty("height").GetInt32(), Value("image").GetProperty("colorspace").GetInt32()));
        Assert.Equal(4, Value("rgba").GetProperty("colorspace").GetInt32());
        Assert.Equal((32, 8), (Value("grid").GetProperty("width").GetInt32(), Value("grid").GetProperty("height").GetInt32()));
        Assert.Equal(300, Value("figure").GetProperty("width").GetInt32());
        Assert.Equal("**bold** λ 损失", Value("notes/text_summary").GetProperty("text").GetString());

        Assert.Equal(["lr", "opt", "nesterov"], Value("_hparams_/experiment").GetProperty("hparams").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["hparam/acc"], Value("_hparams_/experiment").GetProperty("metrics").EnumerateArray().Select(m => m.GetString()));
        var start = Value("_hparams_/session_start_info").GetProperty("hparams");
        Assert.Equal(0.1, start.GetProperty("lr").GetDouble());
        Assert.Equal("sgd", start.GetProperty("opt").GetString());
        Assert.False(start.GetProperty("nesterov").GetBoolean());
        Assert.Equal(1, Value("_hparams_/session_end_info").GetProperty("status").GetInt32());
        Assert.Equal(7, Value("_hparams_/session_end_info").GetProperty("step").GetInt64());

        var scalarsRuns = files.Where(f => f.GetProperty("run").GetString()!.StartsWith("lr_", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, scalarsRuns.Count);
        Assert.All(scalarsRuns, f => Assert.Equal("lr", f.GetProperty("values")[0].GetProperty("tag").GetString()));
    }
}
