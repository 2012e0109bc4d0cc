using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Descent.Tests.Logging;

/// <summary>A decoder for the PNGs the writer makes, written from the PNG specification to check them independently.</summary>
internal static class PngDecoding
{
    public sealed record Decoded(int Width, int Height, int Channels, byte[] Pixels, IReadOnlyList<string> Chunks);

    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Bitwise CRC-32 (reflected 0xEDB88320), deliberately without a table.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    public static Decoded Decode(byte[] png)
    {
        Assert.True(png.AsSpan().StartsWith(Signature), "PNG signature");
        int at = 8;
        var chunks = new List<string>();
        var idat = new MemoryStream();
        int width = 0, height = 0, channels = 0;
        while (at < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.True(stored == Crc32(png.AsSpan(at + 4, 4 + length)), $"CRC of chunk {type}");
            chunks.Add(type);
            switch (type)
            {
                case "IHDR":
                    Assert.Equal(13, length);
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    Assert.Equal(8, data[8]);
                    channels = data[9] switch { 0 => 1, 4 => 2, 2 => 3, 6 => 4, var t => throw new Xunit.Sdk.XunitException($"color type {t}") };
                    Assert.Equal(0, data[10]);
                    Assert.Equal(0, data[11]);
                    Assert.Equal(0, data[12]);
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
            }
            at += 12 + length;
        }
        Assert.Equal("IHDR", chunks[0]);
        Assert.Equal("IEND", chunks[^1]);
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress)) zlib.CopyTo(inflated);
        var raw = inflated.ToArray();
        int rowBytes = width * channels;
        Assert.Equal(height * (rowBytes + 1), raw.Length);
        var pixels = new byte[height * rowBytes];
        for (int y = 0; y < height; y++)
        {
            byte filter = raw[y * (rowBytes + 1)];
            for (int i = 0; i < rowBytes; i++)
            {
                int a = i >= channels ? pixels[y * rowBytes + i - channels] : 0;
                int b = y > 0 ? pixels[(y - 1) * rowBytes + i] : 0;
                int c = y > 0 && i >= channels ? pixels[(y - 1) * rowBytes + i - channels] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new Xunit.Sdk.XunitException($"filter type {filter}"),
                };
                pixels[y * rowBytes + i] = (byte)(raw[y * (rowBytes + 1) + 1 + i] + predictor);
            }
        }
        return new Decoded(width, height, channels, pixels, chunks);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }
}
