using System.IO.Compression;
using CsCheck;
using Descent.Data;
using Xunit.Abstractions;

namespace Descent.Tests.Fuzzing;

/// <summary>
/// IDX files, raw and gzip: generated well-formed files read back to the values an independent big-endian decoder
/// gives, and mutants of well-formed files load or raise <see cref="InvalidDataException"/>.
/// </summary>
public sealed class IdxFuzzTests(ITestOutputHelper output)
{
    /// <summary>An IDX file, and for a well-formed one the shape and values it must read as.</summary>
    public sealed record Case(byte[] Bytes, int[]? Shape, float[]? Values);

    private static int ElementBytes(IdxElementType type) => type switch
    {
        IdxElementType.UInt8 or IdxElementType.Int8 => 1,
        IdxElementType.Int16 => 2,
        IdxElementType.Int32 or IdxElementType.Float32 => 4,
        _ => 8,
    };

    private static byte[] Encode(IdxElementType type, int[] shape, byte[] payload)
    {
        var bytes = new List<byte> { 0, 0, (byte)type, (byte)shape.Length };
        foreach (int d in shape) bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        bytes.AddRange(payload);
        return bytes.ToArray();
    }

    /// <summary>The values of big-endian elements, decoded by hand from the bytes.</summary>
    private static float[] Decode(IdxElementType type, byte[] payload)
    {
        int size = ElementBytes(type);
        var values = new float[payload.Length / size];
        for (int i = 0; i < values.Length; i++)
        {
            ulong raw = 0;
            for (int b = 0; b < size; b++) raw = raw << 8 | payload[i * size + b];
            values[i] = type switch
            {
                IdxElementType.UInt8 => (byte)raw,
                IdxElementType.Int8 => (sbyte)raw,
                IdxElementType.Int16 => (short)raw,
                IdxElementType.Int32 => (int)raw,
                IdxElementType.Float32 => BitConverter.UInt32BitsToSingle((uint)raw),
                _ => (float)BitConverter.Int64BitsToDouble((long)raw),
            };
        }
        return values;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    private static readonly Gen<(IdxElementType Type, int[] Shape, byte[] Payload)> WellFormed =
        from type in Gen.OneOf(Enum.GetValues<IdxElementType>())
        from shape in Gen.Int[0, 4].Array[1, 3]
        from payload in Gen.Byte.Array[shape.Aggregate(1, (a, b) => a * b) * ElementBytes(type)]
        select (type, shape, payload);

    private static Gen<Case> Cases(bool gzip)
    {
        var valid = WellFormed.Select(f =>
        {
            var bytes = Encode(f.Type, f.Shape, f.Payload);
            return new Case(gzip ? Gzip(bytes) : bytes, f.Shape, Decode(f.Type, f.Payload));
        });
        var seeds = new[]
        {
            Encode(IdxElementType.UInt8, [3, 2, 2], [.. Enumerable.Range(0, 12).Select(i => (byte)(i * 21))]),
            Encode(IdxElementType.UInt8, [5], [0, 1, 2, 3, 9]),
            Encode(IdxElementType.Float32, [2, 2], new byte[16]),
            Encode(IdxElementType.Int16, [3], [0x80, 0, 0x7F, 0xFF, 0, 1]),
            Encode(IdxElementType.Float64, [1, 1], [0x3F, 0xF0, 0, 0, 0, 0, 0, 0]),
        };
        // Mutating the bytes a gzip file holds reaches the IDX checks; mutating the compressed bytes reaches the decompressor.
        var mutants = gzip
            ? Gen.OneOf(Mutator.Of(seeds).Select(Gzip), Mutator.Of([.. seeds.Select(Gzip)]))
            : Mutator.Of(seeds);
        return Gen.OneOf(valid, mutants.Select(b => new Case(b, null, null)), mutants.Select(b => new Case(b, null, null)));
    }

    private static bool Parse(Case c)
    {
        var (values, shape) = Idx.ReadFloats(new MemoryStream(c.Bytes), Fuzz.Source);
        if (c.Values is not null)
        {
            Assert.Equal(c.Shape, shape);
            Assert.Equal(c.Values, values);
        }
        if (c.Bytes.Length > 2 && (c.Bytes[2] == (byte)IdxElementType.UInt8 || c.Bytes[0] == 0x1F))
        {
            try
            {
                var (bytes, byteShape) = Idx.ReadBytes(new MemoryStream(c.Bytes), Fuzz.Source);
                Assert.Equal(shape, byteShape);
                Assert.Equal(values, bytes.Select(b => (float)b));
            }
            catch (InvalidDataException e) when (e.Message.Contains("ReadBytes needs uint8"))
            {
            }
        }
        return true;
    }

    [Fact]
    public void RawFilesLoadOrRaiseInvalidData() =>
        Fuzz.Run(output, "IDX (raw)", Cases(gzip: false), Parse, c => Fuzz.Hex(c.Bytes));

    [Fact]
    public void GzipFilesLoadOrRaiseInvalidData() =>
        Fuzz.Run(output, "IDX (gzip)", Cases(gzip: true), Parse, c => Fuzz.Hex(c.Bytes));

    /// <summary>16 bytes whose header claims 1023×1024×2048 elements: 8.6 GB as floats, just below the largest array.</summary>
    [Fact]
    public void SizeFieldsBeyondTheFileAreRefusedBeforeAllocating()
    {
        var bytes = Encode(IdxElementType.UInt8, [1023, 1024, 2048], []);
        Assert.Equal(16, bytes.Length);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.ReadFloats(new MemoryStream(bytes), Fuzz.Source));
        Assert.Contains("the file holds 0", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the reader allocated for the claimed size");

        // A gzip file of n bytes cannot decompress to more than 1032·n bytes.
        var gz = Gzip(bytes);
        e = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(new MemoryStream(gz), Fuzz.Source));
        Assert.Contains($"decompresses to at most {gz.Length * 1032L - 16}", e.Message);
    }
}
