using System.Buffers.Binary;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Google.Protobuf;

namespace Descent.Tests.Logging;

/// <summary>Damaged files: a flipped byte is reported with file and offset; a cut-off tail is tolerated.</summary>
public class EventFileDamageTests
{
    /// <summary>A run of five scalars; returns the file and the offsets of its six records.</summary>
    private static (string Path, long[] Offsets) FiveScalars(TempDirectory dir)
    {
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            for (int i = 0; i < 5; i++) writer.AddScalar("loss", i, i);
            path = writer.FilePath;
        }
        return (path, EventFileReader.ReadFile(path).Events.Select(e => e.Offset).ToArray());
    }

    private static void Flip(string path, long offset)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[offset] ^= 0x20;
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void A_flipped_payload_byte_names_the_file_and_the_record_offset()
    {
        using var dir = new TempDirectory();
        var (path, offsets) = FiveScalars(dir);
        Flip(path, offsets[3] + TfRecord.HeaderLength + 2);
        var e = Assert.Throws<InvalidDataException>(() => EventFileReader.ReadRun(dir.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"offset {offsets[3]}", e.Message);
        Assert.Contains("payload is damaged", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void A_flipped_length_byte_is_detected()
    {
        using var dir = new TempDirectory();
        var (path, offsets) = FiveScalars(dir);
        Flip(path, offsets[2]);
        var e = Assert.Throws<InvalidDataException>(() => EventFileReader.ReadFile(path));
        Assert.Contains($"offset {offsets[2]}", e.Message);
        Assert.Contains("length field is damaged", e.Message);
    }

    [Fact]
    public void A_flipped_payload_crc_byte_is_detected()
    {
        using var dir = new TempDirectory();
        var (path, offsets) = FiveScalars(dir);
        Flip(path, offsets[2] - 1);
        var e = Assert.Throws<InvalidDataException>(() => EventFileReader.ReadFile(path));
        Assert.Contains($"offset {offsets[1]}", e.Message);
    }

    [Fact]
    public void Every_single_byte_flip_is_caught()
    {
        using var dir = new TempDirectory();
        var (path, _) = FiveScalars(dir);
        var original = File.ReadAllBytes(path);
        for (int i = 0; i < original.Length; i++)
        {
            var damaged = (byte[])original.Clone();
            damaged[i] ^= 0x01;
            File.WriteAllBytes(path, damaged);
            Assert.Throws<InvalidDataException>(() => EventFileReader.ReadFile(path));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(20)]
    [InlineData(41)]
    public void A_half_written_last_record_is_tolerated_and_reported(int keptBytesOfLastRecord)
    {
        using var dir = new TempDirectory();
        var (path, offsets) = FiveScalars(dir);
        var bytes = File.ReadAllBytes(path);
        long cut = offsets[^1] + keptBytesOfLastRecord;
        Assert.True(cut < bytes.Length);
        File.WriteAllBytes(path, bytes[..(int)cut]);
        var file = EventFileReader.ReadFile(path);
        Assert.Equal(5, file.Events.Count);
        Assert.Equal(keptBytesOfLastRecord, file.PartialTailBytes);
        var run = EventFileReader.ReadRun(dir.Path);
        Assert.Equal([0.0, 1, 2, 3], run.Scalars["loss"].Select(s => s.Value));
    }

    [Fact]
    public void A_truncated_file_keeps_every_whole_record()
    {
        using var dir = new TempDirectory();
        var (path, offsets) = FiveScalars(dir);
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(offsets[3] + 5);
        var file = EventFileReader.ReadFile(path);
        Assert.Equal(3, file.Events.Count);
        Assert.Equal(5, file.PartialTailBytes);
        Assert.Equal(offsets[3] + 5, file.Length);
    }

    [Fact]
    public void An_empty_event_file_has_no_records()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.Sub("events.out.tfevents.0000000000.host.1.0"), []);
        var run = EventFileReader.ReadRun(dir.Path);
        Assert.Equal(0, run.RecordCount);
        Assert.Empty(run.Tags);
    }

    [Fact]
    public void A_file_that_is_not_an_event_file_is_named_as_such()
    {
        using var dir = new TempDirectory();
        string path = dir.Sub("notes.tfevents.txt");
        File.WriteAllText(path, "this is a text file, not TensorBoard records");
        var e = Assert.Throws<InvalidDataException>(() => EventFileReader.ReadLogDir(dir.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains("offset 0", e.Message);
        Assert.Contains("not a TensorBoard event file", e.Message);
    }

    [Fact]
    public void A_record_with_valid_checksums_but_no_event_inside_is_reported()
    {
        using var dir = new TempDirectory();
        string path = dir.Sub("events.out.tfevents.1700000000.host.1.0");
        var first = TfRecord.Frame(new Event { WallTime = 1700000000, FileVersion = "brain.Event:2" }.ToByteArray());
        // Field 1 declared as a double but only three bytes follow: not a parseable Event.
        var junk = TfRecord.Frame([0x09, 0x01, 0x02, 0x03]);
        File.WriteAllBytes(path, [.. first, .. junk]);
        var e = Assert.Throws<InvalidDataException>(() => EventFileReader.ReadFile(path));
        Assert.Contains($"offset {first.Length}", e.Message);
        Assert.Contains("not an Event", e.Message);
    }

    [Fact]
    public void A_record_claiming_an_impossible_length_is_damage_not_a_tail()
    {
        using var dir = new TempDirectory();
        string path = dir.Sub("events.out.tfevents.1700000000.host.1.0");
        var header = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, ulong.MaxValue / 2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), TfRecord.MaskedCrc32C(header.AsSpan(0, 8)));
        File.WriteAllBytes(path, header);
        Assert.Contains("more than any event can hold", Assert.Throws<InvalidDataException>(() => EventFileReader.ReadFile(path)).Message);
    }

    [Fact]
    public void Missing_directories_are_reported_as_such()
    {
        Assert.Throws<DirectoryNotFoundException>(() => EventFileReader.ReadLogDir("/nonexistent/descent-logdir"));
        Assert.Throws<DirectoryNotFoundException>(() => EventFileReader.ReadRun("/nonexistent/descent-logdir"));
    }
}
