using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.Intrinsics;

namespace Descent.Data;

/// <summary>The element type code stored in the third byte of an IDX header.</summary>
public enum IdxElementType : byte
{
    /// <summary>Unsigned byte (0x08), as in the MNIST and Fashion-MNIST files.</summary>
    UInt8 = 0x08,
    /// <summary>Signed byte (0x09).</summary>
    Int8 = 0x09,
    /// <summary>Big-endian 16-bit integer (0x0B).</summary>
    Int16 = 0x0B,
    /// <summary>Big-endian 32-bit integer (0x0C).</summary>
    Int32 = 0x0C,
    /// <summary>Big-endian IEEE float32 (0x0D).</summary>
    Float32 = 0x0D,
    /// <summary>Big-endian IEEE float64 (0x0E).</summary>
    Float64 = 0x0E,
}

/// <summary>
/// Reads and writes IDX files, the format of MNIST and Fashion-MNIST (what <c>torchvision.datasets.MNIST</c>
/// parses internally). A file is <c>00 00 type ndims</c>, then <c>ndims</c> big-endian int32 sizes, then the
/// elements in row-major order. Files are gzip-compressed when they start with <c>1F 8B</c> and read as raw
/// bytes otherwise, whatever their name.
/// </summary>
/// <remarks>
/// Every format problem raises <see cref="InvalidDataException"/> with a one-line message that starts with
/// the file's path; a missing file raises <see cref="FileNotFoundException"/>.
/// </remarks>
public static class Idx
{
    private const int ChunkBytes = 1 << 16;

    /// <summary>
    /// Reads a uint8 IDX file into a byte array plus its shape (e.g. <c>[60000, 28, 28]</c> for MNIST
    /// training images, <c>[60000]</c> for its labels).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed uint8 IDX file.</exception>
    public static (byte[] Data, int[] Shape) ReadBytes(string path)
    {
        using var file = OpenFile(path);
        return ReadBytes(file, path);
    }

    /// <summary>Reads uint8 IDX data (raw or gzip) from a seekable <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">The data is not a well-formed uint8 IDX file.</exception>
    public static (byte[] Data, int[] Shape) ReadBytes(Stream stream, string source)
    {
        var decoded = Decoded(stream, source, out long maxBytes, out bool gzip);
        try
        {
            var (type, shape, count) = ReadHeader(decoded, source);
            if (type != IdxElementType.UInt8)
                throw Error(source, $"holds {Describe(type)} elements; ReadBytes needs uint8 (0x08), use ReadFloats for other types");
            CheckFits(source, shape, count, 1, maxBytes, gzip);
            var data = GC.AllocateUninitializedArray<byte>((int)count);
            int got = ReadFully(decoded, data, source);
            if (got < data.Length) throw Truncated(source, shape, count, 1, got);
            EnsureAtEnd(decoded, source, shape, count, 1);
            return (data, shape);
        }
        finally
        {
            if (gzip) decoded.Dispose();
        }
    }

    /// <summary>
    /// Reads an IDX file of any supported element type straight into a float array, dividing every value by
    /// <paramref name="divisor"/>. With <c>divisor: 255</c> uint8 pixels become <c>x / 255f</c>, bit for bit what
    /// <c>images.astype(np.float32) / 255.0</c> gives in NumPy.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed IDX file.</exception>
    public static (float[] Data, int[] Shape) ReadFloats(string path, float divisor = 1f)
    {
        CheckDivisor(divisor);
        using var file = OpenFile(path);
        return ReadFloats(file, path, divisor);
    }

    /// <summary>
    /// Reads IDX data of any supported element type (raw or gzip) from a seekable <paramref name="stream"/> as
    /// floats divided by <paramref name="divisor"/>; <paramref name="source"/> names it in errors.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is not a well-formed IDX file.</exception>
    public static (float[] Data, int[] Shape) ReadFloats(Stream stream, string source, float divisor = 1f)
    {
        CheckDivisor(divisor);
        var decoded = Decoded(stream, source, out long maxBytes, out bool gzip);
        try
        {
            return ReadFloats(decoded, source, divisor, maxBytes, gzip);
        }
        finally
        {
            if (gzip) decoded.Dispose();
        }
    }

    private static (float[] Data, int[] Shape) ReadFloats(Stream decoded, string source, float divisor, long maxBytes, bool gzip)
    {
        var (type, shape, count) = ReadHeader(decoded, source);
        int elementBytes = ElementBytes(type);
        long byteCount = count * elementBytes;
        CheckFits(source, shape, count, elementBytes, maxBytes, gzip);
        var data = GC.AllocateUninitializedArray<float>((int)count);

        // Decoding chunk by chunk keeps the peak memory at the float array alone; a full byte copy of
        // a 47 MB image file would double it for nothing.
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            Span<float> table = stackalloc float[256];
            if (type == IdxElementType.UInt8)
                for (int v = 0; v < 256; v++) table[v] = v / divisor;
            long done = 0;
            while (done < byteCount)
            {
                int want = (int)Math.Min(ChunkBytes, byteCount - done);
                int got = ReadFully(decoded, chunk.AsSpan(0, want), source);
                if (got < want) throw Truncated(source, shape, count, elementBytes, done + got);
                Decode(type, chunk.AsSpan(0, want), data.AsSpan((int)(done / elementBytes), want / elementBytes), table, divisor);
                done += want;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        EnsureAtEnd(decoded, source, shape, count, elementBytes);
        return (data, shape);
    }

    /// <summary>
    /// Writes <paramref name="data"/> as a uint8 IDX file with the given shape, gzip-compressed when
    /// <paramref name="gzip"/> is true (the <c>.gz</c> files MNIST ships as).
    /// </summary>
    public static void WriteBytes(string path, ReadOnlySpan<byte> data, ReadOnlySpan<int> shape, bool gzip = false)
    {
        if (shape.Length is < 1 or > 255)
            throw new ArgumentException($"an IDX file holds 1 to 255 dimensions, got shape {ShapeUtil.Format(shape)}", nameof(shape));
        int count = ShapeUtil.Numel(shape);
        if (count != data.Length)
            throw new ArgumentException($"shape {ShapeUtil.Format(shape)} holds {count} elements but data has {data.Length}", nameof(data));

        var header = new byte[4 + 4 * shape.Length];
        header[2] = (byte)IdxElementType.UInt8;
        header[3] = (byte)shape.Length;
        for (int i = 0; i < shape.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), shape[i]);

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, ChunkBytes);
        using Stream output = gzip ? new GZipStream(file, CompressionLevel.Optimal) : file;
        output.Write(header);
        output.Write(data);
    }

    private static void CheckDivisor(float divisor)
    {
        if (!(divisor != 0f && float.IsFinite(divisor)))
            throw new ArgumentOutOfRangeException(nameof(divisor), $"divisor must be a finite non-zero number, got {divisor}");
    }

    private static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, ChunkBytes, FileOptions.SequentialScan);

    /// <summary>Deflate never expands more than 1032 to 1, so a gzip file of n bytes decompresses to at most 1032·n.</summary>
    private const long MaxGzipRatio = 1032;

    /// <summary>
    /// The stream to parse from the current position: a decompressing view when the data starts with the gzip signature,
    /// else the stream itself (left open). <paramref name="maxBytes"/> is the most the data can hold, so that no size
    /// field can make the reader allocate more than the file could fill.
    /// </summary>
    private static Stream Decoded(Stream stream, string source, out long maxBytes, out bool gzip)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException($"{source}: IDX data must come from a seekable stream", nameof(stream));
        long start = stream.Position;
        long length = stream.Length - start;
        Span<byte> signature = stackalloc byte[2];
        int n = stream.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        stream.Position = start;
        if (n == 2 && signature[0] == 0x1F && signature[1] == 0x8B)
        {
            gzip = true;
            maxBytes = length > long.MaxValue / MaxGzipRatio ? long.MaxValue : length * MaxGzipRatio;
            return new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
        }
        gzip = false;
        maxBytes = length;
        return stream;
    }

    /// <summary>Refuses a header whose data could not be in the file before anything is allocated for it.</summary>
    private static void CheckFits(string source, int[] shape, long count, int elementBytes, long maxBytes, bool gzip)
    {
        long room = Math.Max(0, maxBytes - (4 + 4L * shape.Length));
        if (count * elementBytes > room)
            throw Error(source, gzip
                ? $"truncated: header says {FormatShape(shape)} = {count * elementBytes} bytes of data but a gzip file of this size decompresses to at most {room}"
                : $"truncated: header says {FormatShape(shape)} = {count * elementBytes} bytes of data but the file holds {room}");
    }

    private static (IdxElementType Type, int[] Shape, long Count) ReadHeader(Stream stream, string path)
    {
        Span<byte> magic = stackalloc byte[4];
        int got = ReadFully(stream, magic, path);
        if (got < 4)
            throw Error(path, $"truncated: an IDX file starts with a 4-byte header but the file holds {got} bytes");
        if (magic[0] != 0 || magic[1] != 0)
            throw Error(path, $"bad magic 0x{BinaryPrimitives.ReadUInt32BigEndian(magic):X8}: an IDX file starts with 00 00, a type code and a dimension count (is it an IDX file?)");
        var type = (IdxElementType)magic[2];
        if (!Enum.IsDefined(type))
            throw Error(path, $"unsupported IDX element type 0x{magic[2]:X2} (known: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)");
        int rank = magic[3];
        if (rank == 0) throw Error(path, "bad header: the file declares 0 dimensions");

        Span<byte> dims = stackalloc byte[4 * rank];
        got = ReadFully(stream, dims, path);
        if (got < dims.Length)
            throw Error(path, $"truncated: the header declares {rank} dimensions ({dims.Length} bytes of sizes) but only {got} bytes follow");
        var shape = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            int size = BinaryPrimitives.ReadInt32BigEndian(dims[(4 * i)..]);
            if (size < 0) throw Error(path, $"bad header: dimension {i} has size {(uint)size}, more than an array can hold");
            shape[i] = size;
            count *= size;
            if (count > Array.MaxLength) throw Error(path, $"bad header: shape {FormatShape(shape.AsSpan(0, i + 1))}... holds more elements than an array can hold");
        }
        return (type, shape, count);
    }

    private static void Decode(IdxElementType type, ReadOnlySpan<byte> source, Span<float> destination, ReadOnlySpan<float> byteTable, float divisor)
    {
        switch (type)
        {
            case IdxElementType.UInt8:
                DecodeBytes(source, destination, byteTable, divisor);
                break;
            case IdxElementType.Int8:
                for (int i = 0; i < source.Length; i++) destination[i] = (sbyte)source[i] / divisor;
                break;
            case IdxElementType.Int16:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt16BigEndian(source[(2 * i)..]) / divisor;
                break;
            case IdxElementType.Int32:
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)(BinaryPrimitives.ReadInt32BigEndian(source[(4 * i)..]) / (double)divisor);
                break;
            case IdxElementType.Float32:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadSingleBigEndian(source[(4 * i)..]) / divisor;
                break;
            case IdxElementType.Float64:
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)(BinaryPrimitives.ReadDoubleBigEndian(source[(8 * i)..]) / divisor);
                break;
        }
    }

    /// <summary>
    /// uint8 → float divided by <paramref name="divisor"/>. The vector path widens 32 bytes at a time (about ten
    /// times faster than a table lookup); both paths divide once in float, so they agree bit for bit.
    /// </summary>
    private static void DecodeBytes(ReadOnlySpan<byte> source, Span<float> destination, ReadOnlySpan<float> byteTable, float divisor)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var div = Vector256.Create(divisor);
            for (; i + Vector256<byte>.Count <= source.Length; i += Vector256<byte>.Count)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(source.Slice(i, Vector256<byte>.Count)));
                var (a, b) = Vector256.Widen(low);
                var (c, d) = Vector256.Widen(high);
                (Vector256.ConvertToSingle(a.AsInt32()) / div).CopyTo(destination.Slice(i));
                (Vector256.ConvertToSingle(b.AsInt32()) / div).CopyTo(destination.Slice(i + 8));
                (Vector256.ConvertToSingle(c.AsInt32()) / div).CopyTo(destination.Slice(i + 16));
                (Vector256.ConvertToSingle(d.AsInt32()) / div).CopyTo(destination.Slice(i + 24));
            }
        }
        for (; i < source.Length; i++) destination[i] = byteTable[source[i]];
    }

    private static int ElementBytes(IdxElementType type) => type switch
    {
        IdxElementType.UInt8 or IdxElementType.Int8 => 1,
        IdxElementType.Int16 => 2,
        IdxElementType.Int32 or IdxElementType.Float32 => 4,
        IdxElementType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static string Describe(IdxElementType type) => $"{type.ToString().ToLowerInvariant()} (0x{(byte)type:X2})";

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    private static int ReadFully(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw Error(path, $"not gzip/corrupt gzip: the file starts with the gzip signature 1F 8B but does not decompress ({e.Message})");
        }
    }

    private static void EnsureAtEnd(Stream stream, string path, int[] shape, long count, int elementBytes)
    {
        Span<byte> probe = stackalloc byte[1];
        if (ReadFully(stream, probe, path) != 0)
            throw Error(path, $"trailing data: header says {FormatShape(shape)} = {count * elementBytes} bytes of data but the file holds more");
    }

    private static InvalidDataException Truncated(string path, int[] shape, long count, int elementBytes, long got) =>
        Error(path, $"truncated: header says {FormatShape(shape)} = {count * elementBytes} bytes of data but the file holds {got}");

    private static string FormatShape(ReadOnlySpan<int> shape) => string.Join("×", shape.ToArray());

    private static InvalidDataException Error(string path, string problem) => new(Printable.Escape($"{path}: {problem}"));
}
