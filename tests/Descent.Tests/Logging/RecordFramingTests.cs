using System.Text;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Google.Protobuf;

namespace Descent.Tests.Logging;

/// <summary>The TFRecord framing and the protobuf bytes, against the worked examples of the format spec.</summary>
public class RecordFramingTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    [Fact]
    public void Crc32c_matches_the_standard_check_values()
    {
        Assert.Equal(0xE3069283u, TfRecord.Crc32C("123456789"u8));
        Assert.Equal(0x8A9136AAu, TfRecord.Crc32C(new byte[32]));
        Assert.Equal(0x62A8AB43u, TfRecord.Crc32C(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x5794D08Au, TfRecord.MaskedCrc32C(Concat([0x1A, 0x11], "CRC test, one two"u8.ToArray())));
    }

    [Fact]
    public void Mask_and_unmask_are_inverse()
    {
        foreach (uint crc in new uint[] { 0, 1, 0x4A65BFE4, 0xFFFFFFFF, 0x80000000 })
            Assert.Equal(crc, TfRecord.Unmask(TfRecord.Mask(crc)));
        Assert.Equal(0x224B7FA3u, TfRecord.Mask(0x4A65BFE4));
    }

    [Fact]
    public void A_24_byte_payload_gets_the_spec_header()
    {
        var record = TfRecord.Frame(new byte[24]);
        Assert.Equal(Hex("18 00 00 00 00 00 00 00 A3 7F 4B 22"), record[..12]);
        Assert.Equal(40, record.Length);
    }

    [Fact]
    public void The_first_record_is_byte_for_byte_the_spec_example()
    {
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        TfRecord.Write(writer, new Event { WallTime = 1700000000.0, FileVersion = "brain.Event:2" });
        var expected = Hex("18 00 00 00 00 00 00 00 A3 7F 4B 22" +
            "09 00 00 00 40 FC 54 D9 41" +
            "1A 0D 62 72 61 69 6E 2E 45 76 65 6E 74 3A 32" +
            "EC ED 8F 9D");
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void A_writer_file_starts_with_the_24_byte_file_version_record()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path)) path = writer.FilePath;
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(Hex("18 00 00 00 00 00 00 00 A3 7F 4B 22"), bytes[..12]);
        var first = Event.Parser.ParseFrom(bytes.AsSpan(12, 24));
        Assert.Equal("brain.Event:2", first.FileVersion);
        Assert.Equal(0, first.Step);
        Assert.InRange(first.WallTime, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.Equal(TfRecord.MaskedCrc32C(bytes.AsSpan(12, 24)), BitConverter.ToUInt32(bytes, 36));
        Assert.Equal(40, bytes.Length);
    }

    [Fact]
    public void A_scalar_event_is_byte_for_byte_the_spec_example()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalar("loss", 0.5, step: 5, wallTime: 1700000000.0);
            path = writer.FilePath;
        }
        var record = File.ReadAllBytes(path)[40..];
        var expected = Hex("1A 00 00 00 00 00 00 00 12 9B D8 2D" +
            "09 00 00 00 40 FC 54 D9 41 10 05 2A 0D 0A 0B 0A 04 6C 6F 73 73 15 00 00 00 3F" +
            "94 34 FF 71");
        Assert.Equal(expected, record);
    }

    [Fact]
    public void A_new_style_scalar_is_the_spec_tensor_form()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalar("loss", 0.5, step: 5, wallTime: 1700000000.0, newStyle: true);
            path = writer.FilePath;
        }
        var record = File.ReadAllBytes(path)[40..];
        var payload = Hex("09 00 00 00 40 FC 54 D9 41 10 05 2A 1F 0A 1D 0A 04 6C 6F 73 73 42 08 08 01 2A 04 00 00 00 3F 4A 0B 0A 09 0A 07")
            .Concat("scalars"u8.ToArray()).ToArray();
        Assert.Equal(44, payload.Length);
        Assert.Equal(TfRecord.Frame(payload), record);
    }

    [Fact]
    public void Hparams_plugin_contents_match_tensorboardX_recorded_bytes()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path))
            writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.1 }, new Dictionary<string, double> { ["accuracy"] = 0.5 }, runName: SummaryWriter.SameRun);
        var contents = EventFileReader.ReadRun(dir.Path).Files[0].Events
            .Where(e => e.Event.Summary?.Value.Count > 0 && e.Event.Summary.Value[0].Tag.StartsWith("_hparams_/", StringComparison.Ordinal))
            .ToDictionary(e => e.Event.Summary.Value[0].Tag, e => e.Event.Summary.Value[0].Metadata.PluginData.Content.ToByteArray());
        Assert.Equal(Hex("12 16 22 06 0A 02").Concat("lr"u8.ToArray()).Concat(Hex("20 03 2A 0C 0A 0A 12 08")).Concat("accuracy"u8.ToArray()),
            contents["_hparams_/experiment"]);
        Assert.Equal(Hex("1A 11 0A 0F 0A 02").Concat("lr"u8.ToArray()).Concat(Hex("12 09 11")).Concat(BitConverter.GetBytes(0.1)),
            contents["_hparams_/session_start_info"]);
        Assert.Equal(Hex("22 02 08 01"), contents["_hparams_/session_end_info"]);
    }

    [Fact]
    public void A_negative_step_is_a_ten_byte_varint_and_step_zero_is_absent()
    {
        var negative = new Event { WallTime = 1, Step = -1 }.ToByteArray();
        Assert.Equal(Hex("10 FF FF FF FF FF FF FF FF FF 01"), negative[9..]);
        Assert.Equal(9, new Event { WallTime = 1, Step = 0 }.ToByteArray().Length);
    }

    [Fact]
    public void Tags_are_written_as_utf8_unchanged()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path)) writer.AddScalar("损失/λ", 1, wallTime: 1700000000.0);
        var bytes = File.ReadAllBytes(Directory.GetFiles(dir.Path)[0]);
        Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes("损失/λ")) > 0);
        Assert.Equal("损失/λ", EventFileReader.ReadRun(dir.Path).Tags.Single().Tag);
    }
}
