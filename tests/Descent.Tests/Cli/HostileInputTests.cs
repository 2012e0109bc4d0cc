using Descent.Data;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Descent.Tests.Logging;
using Google.Protobuf;
using static Descent.Tests.Cli.CliRunner;

namespace Descent.Tests.Cli;

/// <summary>Sizes too large for the machine, files that are not what they claim, and names that would garble a terminal.</summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Playground_steps_beyond_the_limit_are_refused_in_one_line()
    {
        string line = AssertUsageError("playground", "--function", "quadratic", "--optimizer", "sgd", "--steps", "2147483647");
        Assert.Equal($"descent: error: --steps must be a positive integer no larger than {Lab.Playground.PlaygroundRun.MaxSteps}, got 2147483647", line);
    }

    [Fact]
    public void A_refused_command_leaves_no_output_folder()
    {
        string outDir = _dir.Sub("new/pictures");
        AssertUsageError("playground", "--function", "quadratic", "--optimizers", "sgd,nope", "--out", outDir);
        AssertUsageError("playground", "--preset", "saddle", "--steps", "0", "--out", outDir);
        AssertUsageError("playground", "--function", "quadratic", "--optimizer", "sgd", "--steps", "3", "--trace", Path.Combine(outDir, "t.csv"), "--start", "x");
        // The data is missing: found out after the output folder was checked, before anything is written.
        AssertUsageError("compare", "--optimizers", "sgd", "--dataset", "mnist", "--data-dir", _dir.Sub("no-data"), "--out", outDir);
        Assert.False(Directory.Exists(_dir.Sub("new")));
    }

    [Fact]
    public void Events_refuses_files_that_are_not_event_files()
    {
        string text = _dir.Sub("notes.txt");
        File.WriteAllText(text, "step,loss\n1,0.5\n");
        Assert.Contains("not a TensorBoard event file", AssertUsageError("events", text));

        string empty = _dir.Sub("empty.bin");
        File.WriteAllBytes(empty, []);
        Assert.Contains("not a TensorBoard event file: it holds no complete record", AssertUsageError("events", empty));

        // Valid TFRecord framing around something else (a tf.data file): the first record is not the file-version event.
        string records = _dir.Sub("data.tfrecord");
        File.WriteAllBytes(records, TfRecord.Frame(new Event { Step = 3, Summary = new Summary() }.ToByteArray()));
        Assert.Contains("the first record is not the 'brain.Event:N' file-version event", AssertUsageError("events", records));
    }

    [Fact]
    public void Events_prints_control_characters_in_names_as_escapes()
    {
        string run = _dir.Sub("run\u001b[2J");
        Directory.CreateDirectory(run);
        // Descent's writer refuses such tags; other writers need not.
        var text = new TensorProto { Dtype = DataType.DtString };
        text.StringVal.Add(ByteString.CopyFromUtf8("bell\u0007 and \u202eoverride"));
        var events = new[]
        {
            new Event { WallTime = 1700000000, FileVersion = "brain.Event:2" },
            new Event { Step = 1, Summary = new Summary { Value = { new Summary.Types.Value { Tag = "loss\u001b[31m\nfake row", SimpleValue = 0.5f } } } },
            new Event { Step = 1, Summary = new Summary { Value = { new Summary.Types.Value { Tag = "note", Tensor = text, Metadata = SummaryWriter.PluginMetadata("text", ByteString.Empty) } } } },
        };
        File.WriteAllBytes(Path.Combine(run, "events.out.tfevents.1700000000.host"), [.. events.SelectMany(e => TfRecord.Frame(e.ToByteArray()))]);
        var (code, stdout, _) = Run("events", _dir.Path);
        Assert.Equal(0, code);
        Assert.DoesNotContain('\u001b', stdout);
        Assert.DoesNotContain('\u0007', stdout);
        Assert.DoesNotContain('\u202e', stdout);
        Assert.Contains("run run\\u001B[2J  (1 file, ", stdout);
        Assert.Contains("loss\\u001B[31m\\nfake row", stdout);
        Assert.Contains("bell\\u0007 and \\u202Eoverride", stdout);
    }

    [Fact]
    public void A_crafted_idx_header_is_refused_without_allocating_what_it_claims()
    {
        // 16 bytes that claim 1023×1024×2048 uint8 values: 8.6 GB once read as floats.
        string path = _dir.Sub("train-images-idx3-ubyte");
        File.WriteAllBytes(path, [0, 0, 8, 3, 0, 0, 0x03, 0xFF, 0, 0, 0x04, 0, 0, 0, 0x08, 0]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadFloats(path, 255));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Equal($"{path}: truncated: header says 1023×1024×2048 = 2145386496 bytes of data but the file holds 0", e.Message);
    }
}
