using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Descent.TensorBoard.Proto;

namespace Descent.TensorBoard;

/// <summary>
/// Records written without building messages: scalars and histograms are nearly everything a training run
/// logs (several scalars per step, a histogram per tensor every few hundred steps), and writing their
/// fixed fields directly costs a fraction of building and serializing an <see cref="Event"/> — and keeps
/// Google.Protobuf's first-use compilation out of short runs. The bytes are exactly what Google.Protobuf
/// writes for the equivalent message (the tests compare them), so no reader can tell.
/// </summary>
internal static class DirectRecords
{
    // Field keys: (field number << 3) | wire type (0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit).
    private const byte EventWallTime = 0x09, EventStep = 0x10, EventSummary = 0x2A;
    private const byte SummaryValue = 0x0A, ValueTag = 0x0A, ValueSimpleValue = 0x15, ValueHisto = 0x2A, ValueTensor = 0x42;
    private const byte TensorDtype = 0x08, TensorFloatVal = 0x2A;
    private const byte HistoMin = 0x09, HistoMax = 0x11, HistoNum = 0x19, HistoSum = 0x21, HistoSumSquares = 0x29, HistoLimits = 0x32, HistoCounts = 0x3A;

    /// <summary>The scalars plugin's metadata as a whole field: <c>metadata { plugin_data { plugin_name: "scalars" } }</c>.</summary>
    private static ReadOnlySpan<byte> ScalarsMetadata => [0x4A, 0x0B, 0x0A, 0x09, 0x0A, 0x07, (byte)'s', (byte)'c', (byte)'a', (byte)'l', (byte)'a', (byte)'r', (byte)'s'];

    /// <summary>Appends the record of a scalar: <c>simple_value</c>, or PyTorch's <c>new_style</c> rank-0 float tensor with scalars metadata.</summary>
    // Per-step logging code is compiled optimized at its first call (by TensorBoardLogger.WarmUp's rehearsal)
    // instead of being recompiled once a run has called it 30 times, on a background thread that competes
    // with training.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void WriteScalar(IBufferWriter<byte> output, in ScalarRecord scalar)
    {
        int valueBody = scalar.NewStyle ? 2 + 8 + ScalarsMetadata.Length : 5;
        var payload = Begin(output, scalar.Tag, scalar.Step, scalar.WallTime, valueBody, out int at, out var record);
        if (scalar.NewStyle)
        {
            payload[at++] = ValueTensor;
            payload[at++] = 8;
            payload[at++] = TensorDtype;
            payload[at++] = (byte)DataType.DtFloat;
            payload[at++] = TensorFloatVal;
            payload[at++] = 4;
            BinaryPrimitives.WriteSingleLittleEndian(payload[at..], (float)scalar.Value);
            at += 4;
            ScalarsMetadata.CopyTo(payload[at..]);
        }
        else
        {
            payload[at++] = ValueSimpleValue;
            BinaryPrimitives.WriteSingleLittleEndian(payload[at..], (float)scalar.Value);
        }
        Finish(output, record, payload);
    }

    /// <summary>
    /// Appends the records of <paramref name="rows"/> rows of <c>simple_value</c> scalars, row by row and column by
    /// column: the same bytes as <see cref="WriteScalar"/> for each, with everything after a record's step
    /// (the summary and value headers and the tag) prepared once per column instead of once per scalar.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void WriteSimpleScalarRows(IBufferWriter<byte> output, string[] tags, ReadOnlySpan<long> steps, ReadOnlySpan<double> wallTimes, ReadOnlySpan<double> values, int rows)
    {
        int columns = tags.Length;
        // Per column: summary key and length, value key and length, tag key, length and bytes, simple_value key.
        var summaries = new byte[columns][];
        for (int c = 0; c < columns; c++)
        {
            var head = new SummaryHead(tags[c], valueBody: 5);
            var summary = summaries[c] = new byte[head.Length + 1];
            head.Write(summary);
            summary[^1] = ValueSimpleValue;
        }
        for (int r = 0; r < rows; r++)
        {
            long step = steps[r];
            double wallTime = wallTimes[r];
            int stepLength = step != 0 ? 1 + VarintLength((ulong)step) : 0;
            int prefixLength = (wallTime != 0 ? 9 : 0) + stepLength;
            for (int c = 0; c < columns; c++)
            {
                var summary = summaries[c];
                int payloadLength = prefixLength + summary.Length + 4;
                int recordLength = TfRecord.HeaderLength + payloadLength + TfRecord.FooterLength;
                var record = output.GetSpan(recordLength)[..recordLength];
                BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)payloadLength);
                BinaryPrimitives.WriteUInt32LittleEndian(record[8..], TfRecord.MaskedCrc32C(record[..8]));
                var payload = record.Slice(TfRecord.HeaderLength, payloadLength);
                int at = WriteDoubleField(payload, EventWallTime, wallTime);
                if (step != 0)
                {
                    payload[at++] = EventStep;
                    at += WriteVarint(payload[at..], (ulong)step);
                }
                summary.CopyTo(payload[at..]);
                at += summary.Length;
                BinaryPrimitives.WriteSingleLittleEndian(payload[at..], (float)values[r * columns + c]);
                Finish(output, record, payload);
            }
        }
    }

    /// <summary>Appends the record of a legacy histogram value (<c>histo</c>, no metadata), as PyTorch writes it.</summary>
    public static void WriteHistogram(IBufferWriter<byte> output, string tag, long step, double wallTime, HistogramData histogram)
    {
        int limitsBytes = 8 * histogram.BucketLimits.Length, countsBytes = 8 * histogram.BucketCounts.Length;
        int histoLength = DoubleFieldLength(histogram.Min) + DoubleFieldLength(histogram.Max) + DoubleFieldLength(histogram.Num)
            + DoubleFieldLength(histogram.Sum) + DoubleFieldLength(histogram.SumSquares)
            + PackedLength(limitsBytes) + PackedLength(countsBytes);
        var payload = Begin(output, tag, step, wallTime, 1 + VarintLength((ulong)histoLength) + histoLength, out int at, out var record);
        payload[at++] = ValueHisto;
        at += WriteVarint(payload[at..], (ulong)histoLength);
        at += WriteDoubleField(payload[at..], HistoMin, histogram.Min);
        at += WriteDoubleField(payload[at..], HistoMax, histogram.Max);
        at += WriteDoubleField(payload[at..], HistoNum, histogram.Num);
        at += WriteDoubleField(payload[at..], HistoSum, histogram.Sum);
        at += WriteDoubleField(payload[at..], HistoSumSquares, histogram.SumSquares);
        at += WritePacked(payload[at..], HistoLimits, histogram.BucketLimits);
        WritePacked(payload[at..], HistoCounts, histogram.BucketCounts);
        Finish(output, record, payload);
    }

    /// <summary>
    /// Reserves one record for <c>Event{wall_time, step, summary{value{tag, ...}}}</c> whose value has
    /// <paramref name="valueBody"/> bytes after its tag, writes the header and everything up to that point,
    /// and returns the payload with <paramref name="at"/> where the value's body goes.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static Span<byte> Begin(IBufferWriter<byte> output, string tag, long step, double wallTime, int valueBody, out int at, out Span<byte> record)
    {
        var head = new SummaryHead(tag, valueBody);
        // Proto3 leaves out fields equal to their default, as Google.Protobuf does (-0.0 == 0.0 included).
        int payloadLength = (wallTime != 0 ? 9 : 0) + (step != 0 ? 1 + VarintLength((ulong)step) : 0) + head.Length + valueBody;
        int recordLength = TfRecord.HeaderLength + payloadLength + TfRecord.FooterLength;
        record = output.GetSpan(recordLength)[..recordLength];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], TfRecord.MaskedCrc32C(record[..8]));
        var payload = record.Slice(TfRecord.HeaderLength, payloadLength);
        at = 0;
        at += WriteDoubleField(payload, EventWallTime, wallTime);
        if (step != 0)
        {
            payload[at++] = EventStep;
            at += WriteVarint(payload[at..], (ulong)step);
        }
        at += head.Write(payload[at..]);
        return payload;
    }

    /// <summary>
    /// The event's <c>summary { value { tag: ...</c> up to the value's body of a given number of
    /// bytes: summary key and length, value key and length, tag key, length and bytes.
    /// </summary>
    private readonly struct SummaryHead
    {
        private readonly string _tag;
        private readonly int _tagBytes, _valueLength, _summaryLength;

        public SummaryHead(string tag, int valueBody)
        {
            _tag = tag;
            _tagBytes = Encoding.UTF8.GetByteCount(tag);
            _valueLength = 1 + VarintLength((ulong)_tagBytes) + _tagBytes + valueBody;
            _summaryLength = 1 + VarintLength((ulong)_valueLength) + _valueLength;
            Length = 1 + VarintLength((ulong)_summaryLength) + _summaryLength - valueBody;
        }

        /// <summary>Bytes of the head (everything of the summary but the value's body).</summary>
        public int Length { get; }

        /// <summary>Writes the head at the start of <paramref name="destination"/>; returns its length.</summary>
        public int Write(Span<byte> destination)
        {
            int at = 0;
            destination[at++] = EventSummary;
            at += WriteVarint(destination[at..], (ulong)_summaryLength);
            destination[at++] = SummaryValue;
            at += WriteVarint(destination[at..], (ulong)_valueLength);
            destination[at++] = ValueTag;
            at += WriteVarint(destination[at..], (ulong)_tagBytes);
            at += Encoding.UTF8.GetBytes(_tag, destination[at..]);
            return at;
        }
    }

    private static void Finish(IBufferWriter<byte> output, Span<byte> record, Span<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(record[(TfRecord.HeaderLength + payload.Length)..], TfRecord.MaskedCrc32C(payload));
        output.Advance(record.Length);
    }

    private static int DoubleFieldLength(double value) => value != 0 ? 9 : 0;

    private static int WriteDoubleField(Span<byte> destination, byte key, double value)
    {
        if (value == 0) return 0;
        destination[0] = key;
        BinaryPrimitives.WriteDoubleLittleEndian(destination[1..], value);
        return 9;
    }

    private static int PackedLength(int bytes) => bytes == 0 ? 0 : 1 + VarintLength((ulong)bytes) + bytes;

    private static int WritePacked(Span<byte> destination, byte key, double[] values)
    {
        if (values.Length == 0) return 0;
        destination[0] = key;
        int at = 1 + WriteVarint(destination[1..], (ulong)(8 * values.Length));
        foreach (double v in values)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(destination[at..], v);
            at += 8;
        }
        return at;
    }

    private static int VarintLength(ulong value)
    {
        int length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }
        return length;
    }

    private static int WriteVarint(Span<byte> destination, ulong value)
    {
        int at = 0;
        while (value >= 0x80)
        {
            destination[at++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[at++] = (byte)value;
        return at;
    }
}

/// <summary>A scalar waiting in the writer's queue: plain values, so that logging one allocates nothing.</summary>
internal readonly record struct ScalarRecord(string Tag, double Value, long Step, double WallTime, bool NewStyle)
{
    /// <summary>The same scalar as an <see cref="Event"/> message.</summary>
    public Event ToEvent() => SummaryWriter.SummaryEvent(SummaryWriter.ScalarValue(Tag, Value, NewStyle), Step, WallTime);

    /// <summary>Appends the framed record to <paramref name="output"/>.</summary>
    public void WriteRecord(IBufferWriter<byte> output) => DirectRecords.WriteScalar(output, this);
}
