using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using Google.Protobuf;

namespace Descent.TensorBoard;

/// <summary>
/// The TFRecord framing of event files, as TensorFlow's <c>tf.io.TFRecordWriter</c> and TensorBoard's
/// <c>RecordWriter</c> write it: each record is the payload length (u64 little-endian), the masked CRC32C of
/// those 8 length bytes (u32 LE), the payload, and the masked CRC32C of the payload (u32 LE).
/// </summary>
/// <remarks>
/// The checksum is CRC-32C (Castagnoli), not the zlib CRC-32 of <c>System.IO.Hashing.Crc32</c>;
/// it is computed with <see cref="BitOperations.Crc32C(uint, ulong)"/>, which uses the CPU's CRC instruction
/// where there is one.
/// </remarks>
public static class TfRecord
{
    /// <summary>Bytes before the payload: the length and its masked CRC.</summary>
    public const int HeaderLength = 12;

    /// <summary>Bytes after the payload: its masked CRC.</summary>
    public const int FooterLength = 4;

    private const uint MaskDelta = 0xA282EAD8;

    /// <summary>CRC-32C of <paramref name="data"/> (initial value and final XOR 0xFFFFFFFF); "123456789" gives 0xE3069283.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }

    /// <summary>The masking TFRecord applies to every stored CRC: rotate right by 15 bits, add 0xA282EAD8.</summary>
    public static uint Mask(uint crc) => BitOperations.RotateRight(crc, 15) + MaskDelta;

    /// <summary>Undoes <see cref="Mask"/>.</summary>
    public static uint Unmask(uint maskedCrc) => BitOperations.RotateLeft(maskedCrc - MaskDelta, 15);

    /// <summary><see cref="Mask"/> of <see cref="Crc32C"/>, the value stored on disk.</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data) => Mask(Crc32C(data));

    /// <summary>The complete record (header, payload, footer) for <paramref name="payload"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var record = new byte[HeaderLength + payload.Length + FooterLength];
        WriteHeader(record, payload.Length);
        payload.CopyTo(record.AsSpan(HeaderLength));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(HeaderLength + payload.Length), MaskedCrc32C(payload));
        return record;
    }

    /// <summary>Serializes <paramref name="message"/> straight into <paramref name="output"/> as one record.</summary>
    public static void Write(IBufferWriter<byte> output, IMessage message)
    {
        int length = message.CalculateSize();
        var record = output.GetSpan(HeaderLength + length + FooterLength)[..(HeaderLength + length + FooterLength)];
        WriteHeader(record, length);
        var payload = record.Slice(HeaderLength, length);
        message.WriteTo(payload);
        BinaryPrimitives.WriteUInt32LittleEndian(record[(HeaderLength + length)..], MaskedCrc32C(payload));
        output.Advance(record.Length);
    }

    private static void WriteHeader(Span<byte> record, int payloadLength)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], MaskedCrc32C(record[..8]));
    }
}
