using System.Diagnostics;
using System.Text.RegularExpressions;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Descent.Lab.Plots;

namespace Descent.Tests.Logging;

/// <summary>Every <c>Add*</c> method, written by <see cref="SummaryWriter"/> and read back by <see cref="EventFileReader"/>.</summary>
public class SummaryWriterRoundTripTests
{
    private static EventRun Write(TempDirectory dir, Action<SummaryWriter> log)
    {
        using (var writer = new SummaryWriter(dir.Path)) log(writer);
        return EventFileReader.ReadRun(dir.Path);
    }

    [Fact]
    public void File_name_follows_pytorch_and_wall_time_is_unix_seconds()
    {
        using var dir = new TempDirectory();
        double before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        string path;
        using (var writer = new SummaryWriter(dir.Path, filenameSuffix: ".v2"))
        {
            writer.AddScalar("x", 1);
            path = writer.FilePath;
        }
        double after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var match = Regex.Match(Path.GetFileName(path), @"^events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)\.v2$");
        Assert.True(match.Success, Path.GetFileName(path));
        Assert.Equal(Environment.ProcessId.ToString(), match.Groups[3].Value);
        Assert.InRange(long.Parse(match.Groups[1].Value), (long)before - 1, (long)after);
        var point = EventFileReader.ReadRun(dir.Path).Scalars["x"].Single();
        Assert.InRange(point.WallTime, before - 0.01, after + 0.01);
    }

    [Fact]
    public void A_new_run_directory_is_named_date_host_comment()
    {
        using var dir = new TempDirectory();
        string run = SummaryWriter.CreateRunDirectory(dir.Path, "_lr0.1");
        Assert.True(Directory.Exists(run));
        Assert.Equal(dir.Path, Path.GetDirectoryName(run));
        Assert.Matches(@"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\d{2}_\d{2}-\d{2}-\d{2}_.+_lr0\.1$", Path.GetFileName(run));
    }

    [Fact]
    public void Run_directories_created_at_the_same_moment_are_distinct()
    {
        using var dir = new TempDirectory();
        // Threads race through the same file-system calls as processes would: all check, create and mark at once.
        const int runs = 8;
        var names = new string[runs];
        using var start = new Barrier(runs);
        var threads = Enumerable.Range(0, runs).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            names[i] = SummaryWriter.CreateRunDirectory(dir.Path);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(runs, names.Distinct().Count());
        Assert.Equal(runs, Directory.GetDirectories(dir.Path).Length);
        // Names of one second are that second's name, then _1, _2, ...
        Assert.All(names, n => Assert.Matches(@"_\d{2}-\d{2}-\d{2}_[^/\\]+?(_\d+)?$", n));
    }

    [Fact]
    public void Writers_in_new_run_directories_of_the_same_second_write_two_runs()
    {
        using var dir = new TempDirectory();
        var first = SummaryWriter.CreateRunDirectory(dir.Path);
        var second = SummaryWriter.CreateRunDirectory(dir.Path);
        using (var a = new SummaryWriter(first)) a.AddScalar("x", 1);
        using (var b = new SummaryWriter(second)) b.AddScalar("x", 2);
        var runs = EventFileReader.ReadLogDir(dir.Path);
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Single(r.Scalars["x"]));
    }

    [Fact]
    public void Writers_started_together_get_distinct_files()
    {
        using var dir = new TempDirectory();
        string first, second;
        using (var a = new SummaryWriter(dir.Sub("a"))) first = a.FilePath;
        using (var b = new SummaryWriter(dir.Sub("a"))) second = b.FilePath;
        Assert.NotEqual(Path.GetFileName(first), Path.GetFileName(second));
        Assert.Equal(2, EventFileReader.ReadRun(dir.Sub("a")).Files.Count);
    }

    [Fact]
    public void AddScalar_round_trips_values_steps_and_both_encodings()
    {
        using var dir = new TempDirectory();
        var run = Write(dir, w =>
        {
            for (int i = 0; i < 100; i++) w.AddScalar("loss/train", 1.0 / (i + 1), i, wallTime: 1700000000 + i);
            w.AddScalar("loss/new", 0.25, 3, newStyle: true);
            w.AddScalar("big_step", 2, long.MaxValue);
            w.AddScalar("negative_step", 3, -7);
        });
        var loss = run.Scalars["loss/train"];
        Assert.Equal(100, loss.Count);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(i, loss[i].Step);
            Assert.Equal((float)(1.0 / (i + 1)), loss[i].Value);
            Assert.Equal(1700000000 + i, loss[i].WallTime);
        }
        Assert.Equal(new ScalarEvent(run.Scalars["loss/new"][0].WallTime, 3, 0.25), run.Scalars["loss/new"][0]);
        Assert.Equal("scalars", run.Tags.Single(t => t.Tag == "loss/new").PluginName);
        Assert.Equal(long.MaxValue, run.Scalars["big_step"][0].Step);
        Assert.Equal(-7, run.Scalars["negative_step"][0].Step);
        Assert.All(run.Tags, t => Assert.Equal(TagKind.Scalar, t.Kind));
    }

    [Fact]
    public void Nan_and_infinite_scalars_are_written_faithfully()
    {
        using var dir = new TempDirectory();
        var run = Write(dir, w =>
        {
            w.AddScalar("v", double.NaN, 1);
            w.AddScalar("v", double.PositiveInfinity, 2);
            w.AddScalar("v", double.NegativeInfinity, 3);
            w.AddScalar("v", 1e300, 4, newStyle: true);
        });
        var v = run.Scalars["v"];
        Assert.True(double.IsNaN(v[0].Value));
        Assert.Equal(double.PositiveInfinity, v[1].Value);
        Assert.Equal(double.NegativeInfinity, v[2].Value);
        Assert.Equal(double.PositiveInfinity, v[3].Value);
    }

    [Fact]
    public void AddScalars_writes_one_run_per_key_with_the_main_tag()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalars("loss/all", new Dictionary<string, double> { ["train"] = 1, ["val"] = 2 }, 1);
            writer.AddScalars("loss/all", new Dictionary<string, double> { ["train"] = 0.5, ["val"] = 1.5 }, 2);
        }
        var runs = EventFileReader.ReadLogDir(dir.Path).ToDictionary(r => r.Name);
        Assert.Equal([".", "loss_all_train", "loss_all_val"], runs.Keys.Order(StringComparer.Ordinal));
        Assert.Single(runs["loss_all_train"].Files);
        Assert.Equal([1.0, 0.5], runs["loss_all_train"].Scalars["loss/all"].Select(s => s.Value));
        Assert.Equal([1L, 2L], runs["loss_all_val"].Scalars["loss/all"].Select(s => s.Step));
        Assert.Equal([2.0, 1.5], runs["loss_all_val"].Scalars["loss/all"].Select(s => s.Value));
        Assert.Equal(runs["loss_all_train"].Scalars["loss/all"][0].WallTime, runs["loss_all_val"].Scalars["loss/all"][0].WallTime);
    }

    [Fact]
    public void AddHistogram_round_trips_buckets_and_statistics()
    {
        using var dir = new TempDirectory();
        var values = Enumerable.Range(0, 1000).Select(i => (float)Math.Sin(i)).ToArray();
        var run = Write(dir, w =>
        {
            w.AddHistogram("w", values, 10);
            w.AddHistogram("t", Tensor.FromArray(values, 10, 100), 11, maxBins: 16);
        });
        var h = run.Histograms["w"].Single();
        var expected = HistogramBuckets.Build(values);
        Assert.Equal(10, h.Step);
        Assert.Equal(expected.BucketLimit, h.BucketLimits);
        Assert.Equal(expected.Bucket, h.BucketCounts);
        Assert.Equal(1000, h.Count);
        Assert.Equal(values.Min(), h.Min);
        Assert.Equal(values.Max(), h.Max);
        Assert.Equal(values.Sum(v => (double)v), h.Sum, 9);
        Assert.Equal(1000, h.BucketCounts.Sum());
        var merged = run.Histograms["t"].Single();
        Assert.True(merged.BucketCounts.Count <= 17);
        Assert.Equal(1000, merged.BucketCounts.Sum());
        Assert.All(run.Tags, t => Assert.Equal(TagKind.Histogram, t.Kind));
    }

    [Fact]
    public void AddHistogramRaw_writes_the_given_buckets()
    {
        using var dir = new TempDirectory();
        var run = Write(dir, w => w.AddHistogramRaw("raw", -1, 3, 6, 5, 11, [0, 1, 3], [1, 2, 3], 4));
        var h = run.Histograms["raw"].Single();
        Assert.Equal(new HistogramEvent(h.WallTime, 4, -1, 3, 6, 5, 11, h.BucketLimits, h.BucketCounts), h);
        Assert.Equal([0.0, 1, 3], h.BucketLimits);
        Assert.Equal([1.0, 2, 3], h.BucketCounts);
    }

    [Fact]
    public void AddImage_stores_an_rgb_png_in_every_data_format()
    {
        using var dir = new TempDirectory();
        // A 2×3 RGB image with distinct channel values.
        var chw = new float[3 * 2 * 3];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 3; x++) chw[(c * 2 + y) * 3 + x] = (c * 6 + y * 3 + x) / 17f;
        var hwc = new float[chw.Length];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 3; x++) hwc[(y * 3 + x) * 3 + c] = chw[(c * 2 + y) * 3 + x];
        var run = Write(dir, w =>
        {
            w.AddImage("chw", Tensor.FromArray(chw, 3, 2, 3), 1);
            w.AddImage("hwc", Tensor.FromArray(hwc, 2, 3, 3), 1, dataFormats: "HWC");
            w.AddImage("grey", Tensor.FromArray([0f, 0.5f, 1f, 2f, -1f, float.NaN], 2, 3), 2, dataFormats: "HW");
        });
        var fromChw = PngDecoding.Decode(run.Images["chw"].Single().Encoded);
        var fromHwc = PngDecoding.Decode(run.Images["hwc"].Single().Encoded);
        Assert.Equal((3, 2, 3), (fromChw.Width, fromChw.Height, fromChw.Channels));
        Assert.Equal(hwc.Select(v => (byte)(v * 255f)), fromChw.Pixels);
        Assert.Equal(fromChw.Pixels, fromHwc.Pixels);
        var image = run.Images["chw"].Single();
        Assert.Equal((3, 2, 3), (image.Width, image.Height, image.Colorspace));

        var grey = PngDecoding.Decode(run.Images["grey"].Single().Encoded);
        Assert.Equal(3, grey.Channels);
        Assert.Equal(new byte[] { 0, 0, 0, 127, 127, 127, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0 }, grey.Pixels);
        Assert.Equal(3, run.Images["grey"].Single().Colorspace);
    }

    [Fact]
    public void AddImage_of_bytes_keeps_rgba()
    {
        using var dir = new TempDirectory();
        var pixels = Enumerable.Range(0, 4 * 2 * 4).Select(i => (byte)(i * 7)).ToArray();
        var run = Write(dir, w => w.AddImage("rgba", new RasterImage(4, 2, 4, pixels)));
        var decoded = PngDecoding.Decode(run.Images["rgba"].Single().Encoded);
        Assert.Equal(4, decoded.Channels);
        Assert.Equal(pixels, decoded.Pixels);
        Assert.Equal(4, run.Images["rgba"].Single().Colorspace);
    }

    [Fact]
    public void AddImages_tiles_a_batch_eight_per_row()
    {
        using var dir = new TempDirectory();
        int n = 10, h = 2, w = 3;
        var data = new float[n * h * w];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < h * w; p++) data[i * h * w + p] = (i + 1) / 10f;
        var run = Write(dir, writer =>
        {
            writer.AddImages("grid", Tensor.FromArray(data, n, 1, h, w), 5);
            writer.AddImages("nhwc", Tensor.FromArray(data, n, h, w, 1), 5, dataFormats: "NHWC");
        });
        var grid = PngDecoding.Decode(run.Images["grid"].Single().Encoded);
        Assert.Equal((8 * w, 2 * h, 3), (grid.Width, grid.Height, grid.Channels));
        byte Pixel(int x, int y) => grid.Pixels[(y * grid.Width + x) * 3];
        Assert.Equal((byte)(0.1f * 255f), Pixel(0, 0));
        Assert.Equal((byte)(0.8f * 255f), Pixel(7 * w + 2, h - 1));
        Assert.Equal((byte)(1f * 255f), Pixel(w, h));
        Assert.Equal(0, Pixel(2 * w, h));
        Assert.Equal(grid.Pixels, PngDecoding.Decode(run.Images["nhwc"].Single().Encoded).Pixels);
    }

    [Fact]
    public void AddText_uses_the_text_plugin_as_pytorch()
    {
        using var dir = new TempDirectory();
        string text = "# Run notes\n**lr** = 0.1, λ ≈ 2 — 损失";
        var run = Write(dir, w => w.AddText("notes", text, 3));
        var tag = run.Tags.Single();
        Assert.Equal("notes/text_summary", tag.Tag);
        Assert.Equal("text", tag.PluginName);
        Assert.Equal(TagKind.Text, tag.Kind);
        Assert.Equal(text, run.Texts["notes/text_summary"].Single().Text);
        var value = run.Files[0].Events[1].Event.Summary.Value[0];
        Assert.Equal(DataType.DtString, value.Tensor.Dtype);
        Assert.Equal([1L], value.Tensor.TensorShape.Dim.Select(d => d.Size));
        Assert.True(value.Metadata.PluginData.Content.IsEmpty);
    }

    [Fact]
    public void AddHParams_in_a_new_run_writes_three_records_and_the_metrics()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path))
            writer.AddHParams(
                new Dictionary<string, object?> { ["lr"] = 0.05, ["batch"] = 32, ["optimizer"] = "sgd", ["nesterov"] = true, ["skipped"] = null, ["half"] = (Half)0.5, ["decay"] = 0.1m, ["mode"] = DayOfWeek.Monday },
                new Dictionary<string, double> { ["hparam/accuracy"] = 0.97, ["hparam/loss"] = 0.1 },
                new Dictionary<string, IReadOnlyList<object>> { ["optimizer"] = ["sgd", "adam"] },
                step: 7);
        var runs = EventFileReader.ReadLogDir(dir.Path);
        Assert.Equal(2, runs.Count);
        var session = runs.Single(r => r.Name != ".");
        Assert.Matches(@"^\d{10}\.\d+$", session.Name);
        var hp = session.HParams!;
        Assert.Equal(["lr", "batch", "optimizer", "nesterov", "half", "decay", "mode"], hp.Experiment!.HparamInfos.Select(i => i.Name));
        Assert.Equal([HParamDataType.DataTypeFloat64, HParamDataType.DataTypeFloat64, HParamDataType.DataTypeString, HParamDataType.DataTypeBool,
            HParamDataType.DataTypeFloat64, HParamDataType.DataTypeFloat64, HParamDataType.DataTypeString], hp.Experiment.HparamInfos.Select(i => i.Type));
        Assert.Equal(0.5, hp.HParams["half"]);
        Assert.Equal(0.1, hp.HParams["decay"]);
        Assert.Equal("Monday", hp.HParams["mode"]);
        Assert.Equal(["sgd", "adam"], hp.Experiment.HparamInfos[2].DomainDiscrete.Values.Select(v => v.StringValue));
        Assert.Equal(["hparam/accuracy", "hparam/loss"], hp.Experiment.MetricInfos.Select(m => m.Name.Tag));
        Assert.Equal(0.05, hp.HParams["lr"]);
        Assert.Equal(32.0, hp.HParams["batch"]);
        Assert.Equal("sgd", hp.HParams["optimizer"]);
        Assert.Equal(true, hp.HParams["nesterov"]);
        Assert.False(hp.HParams.ContainsKey("skipped"));
        Assert.Equal(SessionStatus.StatusSuccess, hp.SessionEnd!.Status);
        Assert.Equal((float)0.97, session.Scalars["hparam/accuracy"].Single().Value);
        Assert.All(session.Tags, t => Assert.Equal(7, t.LastStep));
        Assert.Equal(3, session.Tags.Count(t => t.Kind == TagKind.HParams));
        Assert.Null(runs.Single(r => r.Name == ".").HParams);
    }

    [Fact]
    public void AddHParams_same_run_puts_the_session_next_to_the_curves()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalar("loss", 1, 1);
            writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.1 }, new Dictionary<string, double> { ["hparam/acc"] = 0.5 }, runName: SummaryWriter.SameRun);
            writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.2 }, new Dictionary<string, double> { ["hparam/acc"] = 0.6 }, runName: "named/session");
        }
        var runs = EventFileReader.ReadLogDir(dir.Path).ToDictionary(r => r.Name);
        Assert.Equal([".", "named/session"], runs.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0.1, runs["."].HParams!.HParams["lr"]);
        Assert.Equal(0.2, runs["named/session"].HParams!.HParams["lr"]);
        Assert.True(runs["."].Scalars.ContainsKey("loss"));
    }

    [Fact]
    public void AddFigure_draws_a_line_chart_as_an_rgb_image()
    {
        using var dir = new TempDirectory();
        var series = new Series("train", [(0, 1.0), (1, 0.5), (2, double.NaN), (3, 0.2)]);
        var figure = new LineChartFigure("loss", [series], logY: true, width: 320, height: 200);
        var run = Write(dir, w =>
        {
            w.AddFigure("chart", figure, 1);
            w.AddFigure("charts", [figure, figure, figure], 1);
        });
        var chart = PngDecoding.Decode(run.Images["chart"].Single().Encoded);
        Assert.Equal((320, 200, 3), (chart.Width, chart.Height, chart.Channels));
        // The first series is drawn in the palette's first colour, #1f77b4.
        bool hasLine = Enumerable.Range(0, chart.Pixels.Length / 3).Any(i => chart.Pixels[3 * i] == 0x1f && chart.Pixels[3 * i + 1] == 0x77 && chart.Pixels[3 * i + 2] == 0xb4);
        Assert.True(hasLine);
        var grid = run.Images["charts"].Single();
        Assert.Equal((960, 200), (grid.Width, grid.Height));
    }

    [Fact]
    public void Flush_makes_events_readable_while_the_writer_is_open()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path, flushSecs: 3600);
        writer.AddScalar("a", 1, 1);
        writer.AddHistogram("h", [1f, 2f], 1);
        writer.Flush();
        var run = EventFileReader.ReadRun(dir.Path);
        Assert.Single(run.Scalars["a"]);
        Assert.Single(run.Histograms["h"]);
        Assert.Equal(0, run.Files[0].PartialTailBytes);
    }

    [Fact]
    public void The_timer_flushes_without_being_asked()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path, flushSecs: 0.05);
        writer.AddScalar("a", 1, 1);
        // Nothing but the writer's timer flushes the file here; the minute is only a bound on a hung test.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(1) && !EventFileReader.ReadRun(dir.Path).Scalars.ContainsKey("a")) Thread.Sleep(10);
        Assert.True(EventFileReader.ReadRun(dir.Path).Scalars.ContainsKey("a"), "the scalar reached the file on the timer");
    }

    [Fact]
    public void A_small_queue_blocks_producers_instead_of_losing_events()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path, maxQueue: 2))
        {
            var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                for (int i = 0; i < 500; i++) writer.AddScalar($"t{t}", i, i);
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }
        var run = EventFileReader.ReadRun(dir.Path);
        for (int t = 0; t < 4; t++) Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), run.Scalars[$"t{t}"].Select(s => s.Step));
    }

    [Fact]
    public void Normalized_tags_follow_tensorflow_clean_tag()
    {
        Assert.Equal("loss__train_", TensorBoardTags.Normalize("loss (train)"));
        Assert.Equal("a/b.c-d_é", TensorBoardTags.Normalize("//a/b.c-d_é"));
        Assert.Equal("x_y", TensorBoardTags.Normalize("x:y"));
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path, normalizeTags: true)) writer.AddScalar("/acc @ top-1", 1);
        Assert.Equal("acc___top-1", EventFileReader.ReadRun(dir.Path).Tags.Single().Tag);
    }
}
