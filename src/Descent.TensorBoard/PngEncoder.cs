using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Descent.TensorBoard;

/// <summary>
/// A small PNG writer (8 bits per channel, no interlacing) for the images TensorBoard shows: grey, grey +
/// alpha, RGB or RGBA pixels in row-major HWC order. What PIL's <c>Image.save(format="PNG")</c> does for
/// <c>add_image</c> in PyTorch, except that images of up to 16 KiB are stored uncompressed (see
/// <see cref="StoredBytes"/>).
/// </summary>
public static class PngEncoder
{
    /// <summary>The 8 bytes every PNG file starts with.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// Encodes <paramref name="pixels"/> (<paramref name="height"/> rows of <paramref name="width"/> pixels of
    /// <paramref name="channels"/> bytes each: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) as a PNG file.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"a PNG needs at least one pixel, got {width}×{height}");
        byte colorType = channels switch
        {
            1 => 0,
            2 => 4,
            3 => 2,
            4 => 6,
            _ => throw new ArgumentException($"a PNG pixel has 1, 2, 3 or 4 channels, got {channels}", nameof(channels)),
        };
        long rowBytes = (long)width * channels;
        if (rowBytes * height != pixels.Length)
            throw new ArgumentException($"{width}×{height} pixels of {channels} channels need {rowBytes * height} bytes, got {pixels.Length}", nameof(pixels));

        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;
        header[9] = colorType;
        WriteChunk(png, "IHDR", header);
        WriteChunk(png, "IDAT", Deflate(pixels, (int)rowBytes, height, channels));
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>
    /// Filtered images up to this many bytes are stored in the zlib stream uncompressed: setting up deflate
    /// (a quarter of a megabyte of tables, zeroed, and fresh memory the first few times) takes 0.1 to 0.2 ms,
    /// more than the whole encoding of a small image such as a grid of 32 digits, and saves a kilobyte or two.
    /// </summary>
    private const int StoredBytes = 16 << 10;

    // One buffer of filtered rows and one write to the compressor: a write per row cost a call into zlib per
    // row, most of the encoding time of a small image.
    private static byte[] Deflate(ReadOnlySpan<byte> pixels, int rowBytes, int height, int bytesPerPixel)
    {
        var filtered = new byte[(long)(rowBytes + 1) * height];
        if (filtered.Length <= StoredBytes)
        {
            // Stored bytes are as long whatever the filter: each row goes as it is (filter type 0, "None").
            for (int y = 0; y < height; y++) pixels.Slice(y * rowBytes, rowBytes).CopyTo(filtered.AsSpan(y * (rowBytes + 1) + 1));
            return Stored(filtered);
        }
        FilterRows(pixels, rowBytes, height, bytesPerPixel, filtered);
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(filtered);
        return compressed.ToArray();
    }

    /// <summary>A zlib stream (RFC 1950) of <paramref name="data"/> in stored deflate blocks (RFC 1951, block type 0).</summary>
    internal static byte[] Stored(ReadOnlySpan<byte> data)
    {
        const int maxBlock = ushort.MaxValue;
        int blocks = Math.Max(1, (data.Length + maxBlock - 1) / maxBlock);
        var output = new byte[2 + 5 * blocks + data.Length + 4];
        // CMF: deflate with a 32 KiB window; FLG: no dictionary, "fastest" level, check bits making CMF·256 + FLG a multiple of 31.
        output[0] = 0x78;
        output[1] = 0x01;
        int at = 2;
        for (int b = 0; b < blocks; b++)
        {
            var block = data.Slice(b * maxBlock, Math.Min(maxBlock, data.Length - b * maxBlock));
            output[at++] = (byte)(b == blocks - 1 ? 1 : 0);
            BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(at), (ushort)block.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(at + 2), (ushort)~block.Length);
            at += 4;
            block.CopyTo(output.AsSpan(at));
            at += block.Length;
        }
        BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(at), Adler32(data));
        return output;
    }

    /// <summary>zlib's Adler-32 checksum; "Wikipedia" gives 0x11E60398.</summary>
    internal static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint modulus = 65521;
        uint a = 1, b = 0;
        // 5552 bytes is the most that can be summed before b could overflow 32 bits.
        for (int start = 0; start < data.Length; start += 5552)
        {
            foreach (byte value in data.Slice(start, Math.Min(5552, data.Length - start)))
            {
                a += value;
                b += a;
            }
            a %= modulus;
            b %= modulus;
        }
        return (b << 16) | a;
    }

    /// <summary>
    /// Filters each scanline with each of the five PNG filters and keeps the one with the smallest sum of
    /// absolute (signed) bytes, the heuristic the PNG specification recommends; it usually compresses best.
    /// </summary>
    // Compiled optimized at its first call (an image is usually encoded a few times a run, too few calls for
    // the runtime to recompile it, and a loop over every byte runs several times slower unoptimized).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void FilterRows(ReadOnlySpan<byte> pixels, int rowBytes, int height, int bpp, Span<byte> filtered)
    {
        var candidates = new byte[5 * rowBytes];
        Span<byte> none = candidates.AsSpan(0, rowBytes), sub = candidates.AsSpan(rowBytes, rowBytes), up = candidates.AsSpan(2 * rowBytes, rowBytes),
            average = candidates.AsSpan(3 * rowBytes, rowBytes), paeth = candidates.AsSpan(4 * rowBytes, rowBytes);
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * rowBytes, rowBytes);
            for (int i = 0; i < rowBytes; i++)
            {
                int left = i >= bpp ? row[i - bpp] : 0;
                int upper = y > 0 ? pixels[(y - 1) * rowBytes + i] : 0;
                int upperLeft = i >= bpp && y > 0 ? pixels[(y - 1) * rowBytes + i - bpp] : 0;
                int x = row[i];
                none[i] = (byte)x;
                sub[i] = (byte)(x - left);
                up[i] = (byte)(x - upper);
                average[i] = (byte)(x - ((left + upper) >> 1));
                paeth[i] = (byte)(x - Paeth(left, upper, upperLeft));
            }
            int best = 0;
            long bestScore = long.MaxValue;
            for (int filter = 0; filter < 5; filter++)
            {
                long score = 0;
                foreach (byte value in candidates.AsSpan(filter * rowBytes, rowBytes))
                {
                    int signed = (sbyte)value;
                    score += signed < 0 ? -signed : signed;
                }
                if (score < bestScore)
                {
                    bestScore = score;
                    best = filter;
                }
            }
            var output = filtered.Slice(y * (rowBytes + 1), rowBytes + 1);
            output[0] = (byte)best;
            candidates.AsSpan(best * rowBytes, rowBytes).CopyTo(output[1..]);
        }
    }

    internal static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        Encoding.ASCII.GetBytes(type, typeBytes);
        output.Write(typeBytes);
        output.Write(data);
        uint crc = Crc32.Update(Crc32.Update(0xFFFFFFFF, typeBytes), data) ^ 0xFFFFFFFF;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        output.Write(word);
    }
}

/// <summary>
/// The zlib/PNG CRC-32 (polynomial 0xEDB88320, reflected), which PNG chunks carry; "123456789" gives
/// 0xCBF43926. Event files use CRC-32C instead (<see cref="TfRecord.Crc32C"/>).
/// </summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>Feeds <paramref name="data"/> into a running CRC (start from 0xFFFFFFFF, XOR the end result with 0xFFFFFFFF).</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0xFFFFFFFF, data) ^ 0xFFFFFFFF;
}
