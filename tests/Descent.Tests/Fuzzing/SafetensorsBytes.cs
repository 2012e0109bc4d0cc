using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Descent.Tests.Fuzzing;

/// <summary>
/// Safetensors files built in memory from the format's description, apart from Descent's writer: an 8-byte little-endian
/// header length, a JSON header, the raw little-endian data.
/// </summary>
internal static class SafetensorsBytes
{
    public sealed record Entry(string Name, string Dtype, int[] Shape, byte[] Data);

    public static byte[] Encode(IEnumerable<Entry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var header = new JsonObject();
        if (metadata is not null) header["__metadata__"] = new JsonObject(metadata.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
        var data = new List<byte>();
        foreach (var t in tensors)
        {
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.Dtype,
                ["shape"] = new JsonArray([.. t.Shape.Select(d => (JsonNode?)d)]),
                ["data_offsets"] = new JsonArray(data.Count, data.Count + t.Data.Length),
            };
            data.AddRange(t.Data);
        }
        return Frame(header.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }), [.. data]);
    }

    /// <summary>A file with the given header text (length prefix made to fit, padded to 8 bytes) and data.</summary>
    public static byte[] Frame(string header, byte[] data)
    {
        var json = new List<byte>(Encoding.UTF8.GetBytes(header));
        while (json.Count % 8 != 0) json.Add((byte)' ');
        var bytes = new byte[8 + json.Count + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Count);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Count);
        return bytes;
    }

    /// <summary><paramref name="text"/> as a JSON string literal, quotes included.</summary>
    public static string Quoted(string text) => JsonSerializer.Serialize(text, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>The header text and the data of a well-formed file.</summary>
    public static (string Header, byte[] Data) Split(byte[] file)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (Encoding.UTF8.GetString(file, 8, length), file[(8 + length)..]);
    }

    public static byte[] Floats(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    public static byte[] Longs(long[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), values[i]);
        return bytes;
    }
}

/// <summary>Mutations of JSON text that keep most of its structure: the header of a safetensors file, a model description, a checkpoint record.</summary>
internal static class JsonMutator
{
    private static readonly string[] Numbers = ["0", "-1", "1", "3", "8", "2147483647", "2147483648", "-2147483648", "4294967296", "9223372036854775807", "18446744073709551616", "1e400", "1.5", "-0"];
    private static readonly string[] Values = ["null", "true", "\"\"", "\"x\"", "[]", "{}", "[1,2]", "\"F32\"", "\"I64\"", "\"F16\"", "\"\\ud800\"", "[[[[[[1]]]]]]", "\"relu\"", "\"cnn\""];
    private static readonly string[] Fragments = ["{", "}", "[", "]", ",", ":", "\"", "\\", " ", "\u0000", "é"];

    /// <summary>One to three edits: a number swapped for a boundary value, a value swapped for another type, a character inserted or deleted, a range repeated.</summary>
    public static string Mutate(string json, Random random)
    {
        var text = new StringBuilder(json);
        for (int k = random.Next(1, 4); k > 0; k--)
        {
            int at = text.Length == 0 ? 0 : random.Next(text.Length);
            switch (random.Next(5))
            {
                case 0 or 1:
                {
                    // Replaces the number or the string value nearest after the position.
                    var s = text.ToString();
                    int start = IndexOfValue(s, at);
                    if (start < 0) goto default;
                    int end = EndOfValue(s, start);
                    var replacement = random.Next(3) > 0 && char.IsAsciiDigit(s[start]) || s[start] == '-' ? Numbers[random.Next(Numbers.Length)] : Values[random.Next(Values.Length)];
                    text.Remove(start, end - start).Insert(start, replacement);
                    break;
                }
                case 2:
                    text.Insert(at, Fragments[random.Next(Fragments.Length)]);
                    break;
                case 3 when text.Length > 0:
                    text.Remove(at, Math.Min(random.Next(1, 6), text.Length - at));
                    break;
                default:
                    if (text.Length > 0)
                    {
                        int length = Math.Min(random.Next(1, 40), text.Length - at);
                        text.Insert(random.Next(text.Length), text.ToString(at, length));
                    }
                    break;
            }
        }
        return text.ToString();
    }

    /// <summary>Replaces (or removes) one value anywhere in a JSON document with a boundary value of another type or size.</summary>
    public static string ReplaceNested(string json, Random random)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        var objects = new List<System.Text.Json.Nodes.JsonObject>();
        void Walk(System.Text.Json.Nodes.JsonNode? node)
        {
            if (node is System.Text.Json.Nodes.JsonObject o)
            {
                if (o.Count > 0) objects.Add(o);
                foreach (var (_, v) in o) Walk(v);
            }
            else if (node is System.Text.Json.Nodes.JsonArray a)
            {
                foreach (var v in a) Walk(v);
            }
        }
        Walk(root);
        var target = objects[random.Next(objects.Count)];
        var key = target.Select(p => p.Key).ElementAt(random.Next(target.Count));
        var replaced = System.Text.Json.Nodes.JsonNode.Parse(SafetensorsFuzzTests.Replace(new System.Text.Json.Nodes.JsonObject { [key] = target[key]?.DeepClone() }.ToJsonString(), random))!.AsObject();
        if (replaced.ContainsKey(key)) target[key] = replaced[key]?.DeepClone();
        else target.Remove(key);
        return root.ToJsonString();
    }

    private static int IndexOfValue(string s, int from)
    {
        for (int i = from; i < s.Length; i++)
            if (char.IsAsciiDigit(s[i]) || s[i] == '-' || s[i] == '"' && i > 0 && s[i - 1] == ':') return i;
        return -1;
    }

    private static int EndOfValue(string s, int start)
    {
        if (s[start] == '"')
        {
            for (int i = start + 1; i < s.Length; i++)
                if (s[i] == '\\') i++;
                else if (s[i] == '"') return i + 1;
            return s.Length;
        }
        int end = start + 1;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] is '.' or 'e' or 'E' or '+' or '-')) end++;
        return end;
    }
}
