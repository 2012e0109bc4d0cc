using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Descent.Nn;

/// <summary>The tensors and the <c>__metadata__</c> string map of a safetensors file.</summary>
/// <param name="Tensors">Every tensor by name, as float32 (integer tensors are converted).</param>
/// <param name="Metadata">The free-form string map of the header; empty when the file has none.</param>
public sealed record SafetensorsFile(IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Reads and writes the safetensors format of Hugging Face, the format <c>safetensors.torch.save_file</c> and
/// <c>load_file</c> use: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
/// byte range (plus an optional <c>__metadata__</c> map of strings), then the raw little-endian data.
/// </summary>
/// <remarks>
/// Float32 tensors are written as <c>F32</c>; names given as integer (BatchNorm's <c>num_batches_tracked</c>) as
/// <c>I64</c>, as PyTorch stores them. Reading accepts <c>F32</c> and <c>I64</c>. Before anything is allocated the
/// header is checked against the file: its length, every shape against its byte range, and the ranges against
/// each other (they must tile the data exactly, as the reference implementation demands). A file that fails a
/// check raises one <see cref="InvalidDataException"/> naming the file and the problem.
/// </remarks>
public static class Safetensors
{
    /// <summary>The largest header accepted, as in the reference implementation (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically
    /// (a temporary file in the same directory, flushed and renamed over the target).
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">Tensors by name; names must be unique and not <c>__metadata__</c>.</param>
    /// <param name="metadata">Strings stored under <c>__metadata__</c>; null for none.</param>
    /// <param name="int64Names">Names written as <c>I64</c>; their values must be whole numbers.</param>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        IReadOnlySet<string>? int64Names = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = new List<(string Name, Tensor Tensor, bool Int64)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name == MetadataKey) throw new ArgumentException($"a tensor cannot be named '{MetadataKey}'", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice", nameof(tensors));
            bool int64 = int64Names?.Contains(name) == true;
            if (int64)
                foreach (float v in tensor.Data)
                    if (v != MathF.Round(v)) throw new ArgumentException($"tensor '{name}' is written as I64 but holds {v}", nameof(tensors));
            entries.Add((name, tensor, int64));
        }
        // Eight-byte values first, then the rest, each by name: the order of the reference implementation, which keeps
        // every tensor aligned to its element size.
        entries.Sort((a, b) => a.Int64 != b.Int64 ? (a.Int64 ? -1 : 1) : string.CompareOrdinal(a.Name, b.Name));

        var header = new MemoryStream();
        // Relaxed escaping keeps the header readable (quotes in metadata become \" rather than \u0022); it is still plain JSON.
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor, int64) in entries)
            {
                long bytes = (long)tensor.Numel * (int64 ? 8 : 4);
                json.WriteStartObject(name);
                json.WriteString("dtype", int64 ? "I64" : "F32");
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // The header is padded with spaces so the data starts on an 8-byte boundary.
        while (header.Length % 8 != 0) header.WriteByte((byte)' ');

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            header.Position = 0;
            header.CopyTo(stream);
            foreach (var (_, tensor, int64) in entries)
            {
                if (int64)
                {
                    var bytes = new byte[tensor.Numel * 8];
                    for (int i = 0; i < tensor.Numel; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), (long)tensor.Data[i]);
                    stream.Write(bytes);
                }
                else if (BitConverter.IsLittleEndian)
                {
                    stream.Write(MemoryMarshal.AsBytes(tensor.Data));
                }
                else
                {
                    var bytes = new byte[tensor.Numel * 4];
                    for (int i = 0; i < tensor.Numel; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), tensor.Data[i]);
                    stream.Write(bytes);
                }
            }
        });
    }

    /// <summary>Reads a safetensors file; throws <see cref="InvalidDataException"/> naming the file when it is not a valid one.</summary>
    public static SafetensorsFile Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path);
    }

    /// <summary>
    /// Reads safetensors data from a seekable <paramref name="stream"/> (from its start to its end); <paramref name="path"/>
    /// names it in errors. Throws <see cref="InvalidDataException"/> when it is not a valid file.
    /// </summary>
    public static SafetensorsFile Read(Stream stream, string path)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException($"{path}: safetensors data must come from a seekable stream", nameof(stream));
        stream.Position = 0;
        long fileLength = stream.Length;
        if (fileLength < 8) throw Invalid(path, $"the file is {fileLength} bytes, too short for the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw Invalid(path, $"the header length {headerLength} exceeds the {fileLength - 8} bytes after it");
        if (headerLength > MaxHeaderBytes) throw Invalid(path, $"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataLength = fileLength - 8 - (long)headerLength;

        if (!System.Text.Unicode.Utf8.IsValid(header)) throw Invalid(path, "the header is not valid UTF-8");
        List<Entry> entries;
        Dictionary<string, string> metadata;
        try
        {
            (entries, metadata) = ParseHeader(path, header, dataLength);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // Valid UTF-8 can still escape a lone surrogate (\ud800) that no .NET string can hold.
            throw Invalid(path, $"the header cannot be read ({e.Message})");
        }
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        long dataStart = 8 + (long)headerLength;
        foreach (var e in entries.OrderBy(e => e.Begin))
        {
            stream.Position = dataStart + e.Begin;
            var values = new float[e.Numel];
            if (e.Int64)
            {
                var bytes = new byte[e.End - e.Begin];
                stream.ReadExactly(bytes);
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8));
            }
            else
            {
                stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                {
                    var raw = MemoryMarshal.Cast<float, int>(values.AsSpan());
                    for (int i = 0; i < raw.Length; i++) raw[i] = BinaryPrimitives.ReverseEndianness(raw[i]);
                }
            }
            tensors[e.Name] = new Tensor(values, 0, e.Shape);
        }
        return new SafetensorsFile(tensors, metadata);
    }

    private sealed record Entry(string Name, bool Int64, int[] Shape, int Numel, long Begin, long End);

    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"the header is not valid JSON ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Invalid(path, "the header is not a JSON object");
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw Invalid(path, $"the header names '{property.Name}' twice");
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object) throw Invalid(path, "__metadata__ is not a JSON object");
                    foreach (var item in property.Value.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String) throw Invalid(path, $"__metadata__ entry '{item.Name}' is not a string");
                        metadata[item.Name] = item.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(path, property.Name, property.Value, dataLength));
            }
            // The byte ranges must tile the data exactly: no gap, no overlap, nothing after the last one.
            long expected = 0;
            foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                if (e.Begin != expected)
                    throw Invalid(path, $"tensor '{e.Name}' starts at byte {e.Begin} of the data, expected {expected} (ranges must not overlap or leave gaps)");
                expected = e.End;
            }
            if (expected != dataLength) throw Invalid(path, $"the tensors cover {expected} bytes but the file holds {dataLength} bytes of data");
            return (entries, metadata);
        }
    }

    private static Entry ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Invalid(path, $"tensor '{name}' is not a JSON object");
        if (!value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw Invalid(path, $"tensor '{name}' has no dtype");
        bool int64 = dtype.GetString() switch
        {
            "F32" => false,
            "I64" => true,
            var other => throw Invalid(path, $"tensor '{name}' has dtype {other}; Descent reads F32 and I64"),
        };
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Invalid(path, $"tensor '{name}' has no shape");
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw Invalid(path, $"tensor '{name}' has no data_offsets pair");
        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin || end > dataLength)
            throw Invalid(path, $"tensor '{name}' has data_offsets {offsets.GetRawText()} outside the {dataLength} bytes of data");
        int elementSize = int64 ? 8 : 4;
        var shape = new int[shapeElement.GetArrayLength()];
        for (int i = 0; i < shape.Length; i++)
            if (!shapeElement[i].TryGetInt32(out shape[i]) || shape[i] < 0)
                throw Invalid(path, $"tensor '{name}' has a bad shape {shapeElement.GetRawText()}");
        // Multiplied against the byte range's capacity, so a hostile shape cannot overflow the product.
        long capacity = (end - begin) / elementSize;
        long numel = Array.IndexOf(shape, 0) >= 0 ? 0 : 1;
        foreach (int d in shape)
        {
            if (numel == 0) break;
            if (numel > capacity / d)
                throw Invalid(path, $"tensor '{name}' of shape {shapeElement.GetRawText()} does not fit its {end - begin} bytes");
            numel *= d;
        }
        if (numel * elementSize != end - begin)
            throw Invalid(path, $"tensor '{name}' of shape {shapeElement.GetRawText()} and dtype {dtype.GetString()} needs {numel * elementSize} bytes but data_offsets give {end - begin}");
        if (numel > Array.MaxLength) throw Invalid(path, $"tensor '{name}' holds {numel} values, more than one array can");
        return new Entry(name, int64, shape, (int)numel, begin, end);
    }

    private static InvalidDataException Invalid(string path, string problem) => new(Printable.Escape($"{path}: not a valid safetensors file: {problem}"));
}
