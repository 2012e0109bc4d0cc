using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Google.Protobuf;

namespace Descent.Tests.Logging;

/// <summary>Forms other writers use (TensorFlow 2's tensor summaries, PyTorch's double-precision scalars), read back.</summary>
public class EventFileReaderTests
{
    private static string WriteEvents(TempDirectory dir, params Event[] events)
    {
        string path = dir.Sub("events.out.tfevents.1700000000.host.1.0");
        var bytes = new List<byte>(TfRecord.Frame(new Event { WallTime = 1700000000, FileVersion = "brain.Event:2" }.ToByteArray()));
        foreach (var e in events) bytes.AddRange(TfRecord.Frame(e.ToByteArray()));
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    private static Event Summary(long step, string tag, string plugin, TensorProto tensor) => new()
    {
        WallTime = 1700000000 + step,
        Step = step,
        Summary = new Summary { Value = { new Summary.Types.Value { Tag = tag, Tensor = tensor, Metadata = SummaryWriter.PluginMetadata(plugin, ByteString.Empty) } } },
    };

    [Fact]
    public void Tensor_forms_of_scalars_histograms_images_and_text_are_decoded()
    {
        using var dir = new TempDirectory();
        var doubleScalar = new TensorProto { Dtype = DataType.DtDouble };
        doubleScalar.DoubleVal.Add(0.125);
        var contentScalar = new TensorProto { Dtype = DataType.DtFloat, TensorContent = ByteString.CopyFrom(BitConverter.GetBytes(2.5f)) };
        // The histograms plugin's k×3 tensor: [left, right, count] rows, here as raw little-endian doubles.
        double[] rows = [-1, 0, 3, 0, 2, 5];
        var histogram = new TensorProto { Dtype = DataType.DtDouble, TensorContent = ByteString.CopyFrom(rows.SelectMany(BitConverter.GetBytes).ToArray()) };
        var png = PngEncoder.Encode(new byte[2 * 3 * 3], 2, 3, 3);
        var image = new TensorProto { Dtype = DataType.DtString };
        image.StringVal.Add(ByteString.CopyFromUtf8("2"));
        image.StringVal.Add(ByteString.CopyFromUtf8("3"));
        image.StringVal.Add(ByteString.CopyFrom(png));
        var text = new TensorProto { Dtype = DataType.DtString };
        text.StringVal.Add(ByteString.CopyFromUtf8("plain *markdown*"));
        WriteEvents(dir,
            Summary(1, "double", "scalars", doubleScalar),
            Summary(2, "content", "scalars", contentScalar),
            Summary(3, "hist", "histograms", histogram),
            Summary(4, "img", "images", image),
            Summary(5, "note", "text", text),
            new Event { WallTime = 1700000006, Step = 6, SessionLog = new SessionLog { Status = SessionLog.Types.SessionStatus.Start } });

        var run = EventFileReader.ReadRun(dir.Path);
        Assert.Equal(0.125, run.Scalars["double"].Single().Value);
        Assert.Equal(2.5, run.Scalars["content"].Single().Value);
        var h = run.Histograms["hist"].Single();
        Assert.Equal((-1.0, 2.0, 8.0), (h.Min, h.Max, h.Count));
        Assert.Equal([0.0, 2], h.BucketLimits);
        Assert.Equal([3.0, 5], h.BucketCounts);
        Assert.True(double.IsNaN(h.Sum));
        var img = run.Images["img"].Single();
        Assert.Equal((2, 3), (img.Width, img.Height));
        Assert.Equal(png, img.Encoded);
        Assert.Equal("plain *markdown*", run.Texts["note"].Single().Text);
        Assert.Equal(7, run.RecordCount);
        Assert.Equal([TagKind.Scalar, TagKind.Scalar, TagKind.Histogram, TagKind.Image, TagKind.Text], run.Tags.Select(t => t.Kind));
    }

    [Fact]
    public void Metadata_of_the_first_value_decides_the_plugin_of_later_values()
    {
        using var dir = new TempDirectory();
        var first = new TensorProto { Dtype = DataType.DtFloat };
        first.FloatVal.Add(1);
        var second = new TensorProto { Dtype = DataType.DtFloat };
        second.FloatVal.Add(2);
        var withoutMetadata = new Event { WallTime = 1700000002, Step = 2, Summary = new Summary { Value = { new Summary.Types.Value { Tag = "x", Tensor = second } } } };
        WriteEvents(dir, Summary(1, "x", "scalars", first), withoutMetadata);
        Assert.Equal([1.0, 2.0], EventFileReader.ReadRun(dir.Path).Scalars["x"].Select(s => s.Value));
    }

    [Fact]
    public void Values_of_unknown_plugins_are_counted_as_other()
    {
        using var dir = new TempDirectory();
        var tensor = new TensorProto { Dtype = DataType.DtInt32 };
        tensor.IntVal.Add(3);
        WriteEvents(dir, Summary(1, "custom", "my_plugin", tensor));
        var tag = EventFileReader.ReadRun(dir.Path).Tags.Single();
        Assert.Equal((TagKind.Other, "my_plugin", 1), (tag.Kind, tag.PluginName, tag.Count));
    }

    [Fact]
    public void A_malformed_known_plugin_value_names_file_offset_and_tag()
    {
        using var dir = new TempDirectory();
        var notAScalar = new TensorProto { Dtype = DataType.DtString };
        notAScalar.StringVal.Add(ByteString.CopyFromUtf8("x"));
        string path = WriteEvents(dir, Summary(1, "loss", "scalars", notAScalar));
        var e = Assert.Throws<InvalidDataException>(() => EventFileReader.ReadRun(dir.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains("offset 40", e.Message);
        Assert.Contains("tag 'loss'", e.Message);
    }
}
