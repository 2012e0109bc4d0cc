using Descent.TensorBoard;

namespace Descent.Tests.Logging;

public class SummaryWriterBadInputTests
{
    [Fact]
    public void An_unwritable_log_directory_is_refused_at_construction()
    {
        using var dir = new TempDirectory();
        string file = dir.Sub("not-a-directory");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<ArgumentException>(() => new SummaryWriter(Path.Combine(file, "run")));
        Assert.Contains("cannot write TensorBoard events", e.Message);
        Assert.Contains(Path.Combine(file, "run"), e.Message);
        // The failed writer released its claim: the same directory can be tried again.
        Assert.Throws<ArgumentException>(() => new SummaryWriter(Path.Combine(file, "run")));
        Assert.Throws<ArgumentException>(() => new SummaryWriter("  "));
    }

    [Fact]
    public void Bad_writer_settings_are_refused()
    {
        using var dir = new TempDirectory();
        Assert.Throws<ArgumentOutOfRangeException>(() => new SummaryWriter(dir.Path, flushSecs: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SummaryWriter(dir.Path, flushSecs: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SummaryWriter(dir.Path, maxQueue: 0));
        Assert.Throws<ArgumentException>(() => new SummaryWriter(dir.Path, filenameSuffix: "/x"));
    }

    [Fact]
    public void Two_writers_for_one_run_directory_are_refused()
    {
        using var dir = new TempDirectory();
        using var first = new SummaryWriter(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => new SummaryWriter(dir.Path + Path.DirectorySeparatorChar));
        Assert.Contains("one event file per run directory", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("loss\ntrain")]
    [InlineData("tab\there")]
    [InlineData("nul\0")]
    public void Tags_no_reader_can_use_are_refused_with_a_reason(string tag)
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => writer.AddScalar(tag, 1));
        Assert.Equal("tag", e.ParamName);
        Assert.True(e.Message.Contains("empty") || e.Message.Contains("control character"), e.Message);
        Assert.Throws<ArgumentException>(() => writer.AddHistogram(tag, [1f]));
        Assert.Throws<ArgumentException>(() => writer.AddText(tag, "x"));
        Assert.False(TensorBoardTags.IsValid(tag));
    }

    [Fact]
    public void A_tag_with_an_unpaired_surrogate_is_refused()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        string tag = "half " + (char)0xD800 + " surrogate";
        Assert.Contains("unpaired UTF-16 surrogate at index 5", Assert.Throws<ArgumentException>(() => writer.AddScalar(tag, 1)).Message);
        Assert.Throws<ArgumentException>(() => writer.AddScalar("end" + (char)0xDC00, 1));
        Assert.True(TensorBoardTags.IsValid("pair " + char.ConvertFromUtf32(0x1F600)));
    }

    [Fact]
    public void Unusual_but_valid_tags_are_kept()
    {
        foreach (var tag in new[] { "loss (train)", "a:b", "/lead", "emoji 😀", "损失/λ", "trailing/" })
            Assert.True(TensorBoardTags.IsValid(tag), tag);
        Assert.Throws<ArgumentNullException>(() => TensorBoardTags.Validate(null!));
    }

    [Fact]
    public void A_histogram_of_an_empty_tensor_is_refused()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => writer.AddHistogram("empty", Tensor.Zeros(0, 3)));
        Assert.Contains("empty tensor", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.AddHistogram("h", [1f], maxBins: 0));
        Assert.Throws<ArgumentException>(() => writer.AddHistogramRaw("raw", 0, 1, 1, 1, 1, [1, 2], [1]));
        Assert.Throws<ArgumentException>(() => writer.AddHistogramRaw("raw", 0, 1, 1, 1, 1, [], []));
    }

    [Theory]
    [InlineData(new[] { 2, 8, 8 }, "CHW", "2 channels")]
    [InlineData(new[] { 28, 28, 1 }, "CHW", "try dataFormats 'HWC'")]
    [InlineData(new[] { 8, 8 }, "CHW", "rank 2")]
    [InlineData(new[] { 3, 0, 8 }, "CHW", "at least one element")]
    [InlineData(new[] { 3, 8, 8 }, "CHX", "must order the axes")]
    [InlineData(new[] { 3, 8, 8 }, "CCW", "must order the axes")]
    [InlineData(new[] { 8, 8, 5 }, "HWC", "5 channels")]
    public void Images_with_a_wrong_shape_are_refused_with_the_shape(int[] shape, string format, string message)
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => writer.AddImage("img", Tensor.Zeros(shape), dataFormats: format));
        Assert.Contains(message, e.Message);
        Assert.Contains("img", e.Message);
    }

    [Fact]
    public void Image_batches_with_a_wrong_shape_are_refused()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        Assert.Contains("rank 3", Assert.Throws<ArgumentException>(() => writer.AddImages("b", Tensor.Zeros(3, 8, 8))).Message);
        Assert.Contains("2 channels", Assert.Throws<ArgumentException>(() => writer.AddImages("b", Tensor.Zeros(4, 2, 8, 8))).Message);
        Assert.Contains("NHWC", Assert.Throws<ArgumentException>(() => writer.AddImages("b", Tensor.Zeros(4, 8, 8, 3))).Message);
        Assert.Throws<ArgumentException>(() => writer.AddImages("b", Tensor.Zeros(0, 1, 8, 8)));
        Assert.Throws<ArgumentException>(() => new RasterImage(2, 2, 2, new byte[8]));
        Assert.Throws<ArgumentException>(() => new RasterImage(2, 2, 3, new byte[8]));
    }

    [Fact]
    public void Oversized_events_are_refused_before_they_make_a_file_unreadable()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => writer.AddText("huge", new string('x', SummaryWriter.MaxEventBytes + 1)));
        Assert.Contains("64 MB", e.Message);
    }

    [Fact]
    public void Bad_scalars_hparams_and_wall_times_are_refused()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path);
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.AddScalar("x", 1, wallTime: double.NaN));
        Assert.Throws<ArgumentException>(() => writer.AddScalars("m", new Dictionary<string, double> { ["a/b"] = 1 }));
        Assert.Throws<ArgumentException>(() => writer.AddScalars("m", new Dictionary<string, double> { [".."] = 1 }));
        var type = Assert.Throws<ArgumentException>(() => writer.AddHParams(new Dictionary<string, object?> { ["model"] = new object() }, new Dictionary<string, double>()));
        Assert.Contains("numbers, bools or strings", type.Message);
        Assert.Throws<ArgumentException>(() => writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.1 }, new Dictionary<string, double>(),
            new Dictionary<string, IReadOnlyList<object>> { ["lr"] = ["fast"] }));
        Assert.Throws<ArgumentException>(() => writer.AddHParams(new Dictionary<string, object?>(), new Dictionary<string, double> { [""] = 1 }));
        Assert.Throws<ArgumentException>(() => writer.AddHParams(new Dictionary<string, object?>(), new Dictionary<string, double>(), runName: "../outside"));
    }

    [Fact]
    public void A_disposed_writer_refuses_more_events_and_disposes_twice_quietly()
    {
        using var dir = new TempDirectory();
        var writer = new SummaryWriter(dir.Path);
        writer.Dispose();
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.AddScalar("x", 1));
        Assert.Throws<ObjectDisposedException>(() => writer.AddHistogram("x", [1f]));
        Assert.Throws<ObjectDisposedException>(() => writer.Flush());
        using var again = new SummaryWriter(dir.Path);
    }

    [Fact]
    public void Disposing_while_producers_wait_on_a_full_queue_loses_no_accepted_record()
    {
        for (int trial = 0; trial < 20; trial++)
        {
            using var dir = new TempDirectory();
            var writer = new SummaryWriter(dir.Path, flushSecs: 3600, maxQueue: 4);
            int accepted = 0;
            var producers = Enumerable.Range(0, 3).Select(p => new Thread(() =>
            {
                try
                {
                    for (int i = 0; i < 200; i++)
                    {
                        writer.AddScalar($"p{p}", i, i);
                        Interlocked.Increment(ref accepted);
                    }
                }
                catch (ObjectDisposedException)
                {
                    // Refused: the writer was disposed while this producer waited or before it called.
                }
            })).ToList();
            producers.ForEach(t => t.Start());
            Thread.Sleep(trial % 3);
            writer.Dispose();
            producers.ForEach(t => t.Join());
            int written = EventFileReader.ReadRun(dir.Path).Scalars.Values.Sum(series => series.Count);
            Assert.Equal(accepted, written);
        }
    }

    [Fact]
    public void A_write_failure_on_the_background_thread_reaches_the_caller()
    {
        using var dir = new TempDirectory();
        var writer = new SummaryWriter(dir.Sub("run"), flushSecs: 3600);
        // The file fails under the writer's thread, as on a full disk: the thread is idle (nothing is queued
        // and the timer is an hour away), so it is not using the file while it is closed here.
        writer.MainFile.Close();
        writer.AddScalar("x", 1);
        var e = Assert.Throws<IOException>(writer.Flush);
        Assert.Contains("writing TensorBoard events failed", e.Message);
        Assert.Throws<IOException>(() => writer.AddScalar("y", 2));
        Assert.Throws<IOException>(writer.Dispose);
    }
}
