using System.Buffers.Binary;
using System.IO.Compression;
using Descent.Data;
using Xunit;

namespace Descent.Tests.Data;

public sealed class IdxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-idx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static byte[] Ramp(int count)
    {
        var bytes = new byte[count];
        for (int i = 0; i < count; i++) bytes[i] = (byte)(i * 7 % 256);
        return bytes;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteThenReadBytes_RoundTripsDataAndShape(bool gzip)
    {
        var data = Ramp(3 * 4 * 5);
        string path = PathOf(gzip ? "images.gz" : "images");
        Idx.WriteBytes(path, data, [3, 4, 5], gzip);

        var (read, shape) = Idx.ReadBytes(path);

        Assert.Equal([3, 4, 5], shape);
        Assert.Equal(data, read);
        Assert.Equal(gzip, File.ReadAllBytes(path)[0] == 0x1F);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadFloats_DividesEveryByteLikeNumPy(bool gzip)
    {
        var data = Ramp(300);
        string path = PathOf("pixels");
        Idx.WriteBytes(path, data, [300], gzip);

        var (values, shape) = Idx.ReadFloats(path, divisor: 255f);

        Assert.Equal([300], shape);
        for (int i = 0; i < data.Length; i++) Assert.Equal(data[i] / 255f, values[i]);
    }

    [Fact]
    public void ReadFloats_SpansManyDecodeChunks()
    {
        var data = Ramp(200_003);
        string path = PathOf("big.gz");
        Idx.WriteBytes(path, data, [200_003], gzip: true);

        var (values, _) = Idx.ReadFloats(path);

        Assert.Equal(data.Length, values.Length);
        for (int i = 0; i < data.Length; i++) Assert.Equal(data[i], values[i]);
    }

    [Fact]
    public void ReadFloats_DecodesBigEndianWiderTypes()
    {
        var file = new List<byte> { 0, 0, 0x0B, 1, 0, 0, 0, 3 };
        foreach (short v in new short[] { -2, 300, 7 })
        {
            var two = new byte[2];
            BinaryPrimitives.WriteInt16BigEndian(two, v);
            file.AddRange(two);
        }
        string int16 = PathOf("int16");
        File.WriteAllBytes(int16, file.ToArray());

        file = [0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        foreach (float v in new[] { 1.5f, -0.25f })
        {
            var four = new byte[4];
            BinaryPrimitives.WriteSingleBigEndian(four, v);
            file.AddRange(four);
        }
        string float32 = PathOf("float32");
        File.WriteAllBytes(float32, file.ToArray());

        Assert.Equal([-2f, 300f, 7f], Idx.ReadFloats(int16).Data);
        var (floats, shape) = Idx.ReadFloats(float32);
        Assert.Equal([1, 2], shape);
        Assert.Equal([1.5f, -0.25f], floats);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedData_NamesFileAndBothSizes(bool gzip)
    {
        string full = PathOf("full");
        Idx.WriteBytes(full, Ramp(6 * 2 * 2), [6, 2, 2]);
        var bytes = File.ReadAllBytes(full)[..(4 + 12 + 10)];
        string path = PathOf(gzip ? "cut.gz" : "cut");
        WriteMaybeGzip(path, bytes, gzip);

        var bytesError = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(path));
        var floatsError = Assert.Throws<InvalidDataException>(() => Idx.ReadFloats(path));

        foreach (var e in new[] { bytesError, floatsError })
        {
            Assert.StartsWith(path + ": truncated", e.Message);
            Assert.Contains("6×2×2 = 24 bytes", e.Message);
            Assert.Contains("holds 10", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void TruncatedHeader_NamesFile()
    {
        string path = PathOf("stub");
        File.WriteAllBytes(path, [0, 0, 8, 3, 0, 0]);

        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(path));

        Assert.StartsWith(path + ": truncated", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BadMagic_NamesFile(bool gzip)
    {
        string path = PathOf(gzip ? "text.gz" : "text");
        WriteMaybeGzip(path, "label,pixel0\n1,2\n"u8.ToArray(), gzip);

        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(path));

        Assert.StartsWith(path + ": bad magic", e.Message);
    }

    [Fact]
    public void CorruptGzip_NamesFile()
    {
        string path = PathOf("corrupt.gz");
        File.WriteAllBytes(path, [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);

        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(path));

        Assert.StartsWith(path + ": not gzip/corrupt gzip", e.Message);
    }

    [Fact]
    public void TrailingBytes_AreAnError()
    {
        string path = PathOf("long");
        Idx.WriteBytes(path, Ramp(4), [4]);
        File.AppendAllText(path, "x");

        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(path));

        Assert.StartsWith(path + ": trailing data", e.Message);
    }

    [Fact]
    public void UnknownElementType_IsAClearError()
    {
        string path = PathOf("odd");
        File.WriteAllBytes(path, [0, 0, 0x0A, 1, 0, 0, 0, 1, 5]);

        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadFloats(path));

        Assert.StartsWith(path + ": unsupported IDX element type 0x0A", e.Message);
    }

    [Fact]
    public void ReadBytes_RejectsNonByteTypes()
    {
        string path = PathOf("ints");
        File.WriteAllBytes(path, [0, 0, 0x0C, 1, 0, 0, 0, 1, 0, 0, 0, 5]);

        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(path));

        Assert.StartsWith(path + ": holds int32 (0x0C)", e.Message);
    }

    [Fact]
    public void MissingFile_RaisesFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => Idx.ReadBytes(PathOf("absent")));
    }

    private static void WriteMaybeGzip(string path, byte[] bytes, bool gzip)
    {
        using var file = File.Create(path);
        using Stream output = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        output.Write(bytes);
    }
}
