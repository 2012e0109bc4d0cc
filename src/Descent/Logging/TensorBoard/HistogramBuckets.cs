using System.Numerics;
using Descent.Logging.TensorBoard.Proto;

namespace Descent.Logging.TensorBoard;

/// <summary>
/// PyTorch's <c>add_histogram(..., bins="tensorflow")</c>: counts over PyTorch's default bucket edges, empty
/// buckets at both ends trimmed, and min, max, count, sum and sum of squares over all values.
/// </summary>
/// <remarks>
/// The edges are PyTorch's <c>default_bins</c>: <c>v = 1e-12</c>, multiplied by 1.1 while below 1e20 (774
/// positive edges up to about 9.92e19), mirrored to the negative side around an edge at 0 — 1549 edges,
/// 1548 buckets, each <c>[e_i, e_i+1)</c> with the last one closed, as <c>numpy.histogram</c> counts.
/// Values beyond ±9.92e19, infinities and NaN fall in no bucket (PyTorch drops them the same way) but
/// still enter min, max, sum and sum of squares, so a NaN shows up there.
/// </remarks>
public static class HistogramBuckets
{
    private static readonly double[] PositiveEdges = BuildPositiveEdges();
    private static readonly double[] Edges = BuildEdges();


    /// <summary>PyTorch's default bucket edges (1549 of them, ascending, with 0 in the middle).</summary>
    public static IReadOnlyList<double> DefaultEdges => Edges;

    /// <summary>Number of default buckets: one fewer than <see cref="DefaultEdges"/>.</summary>
    public static int DefaultBucketCount => DefaultBucketCountConst;

    private const int DefaultBucketCountConst = 1548;

    private static double[] BuildPositiveEdges()
    {
        var edges = new List<double>();
        // Repeated multiplication, not Math.Pow, so that every edge is bit-identical to PyTorch's loop.
        for (double v = 1e-12; v < 1e20; v *= 1.1) edges.Add(v);
        return edges.ToArray();
    }

    private static double[] BuildEdges()
    {
        int n = PositiveEdges.Length;
        var edges = new double[2 * n + 1];
        for (int i = 0; i < n; i++)
        {
            edges[i] = -PositiveEdges[n - 1 - i];
            edges[n + 1 + i] = PositiveEdges[i];
        }
        return edges;
    }

    /// <summary>
    /// An edge is at or below a positive float exactly when the edge's <see cref="EdgeBits"/> are at or below the
    /// float's bits, so the table is a merge of two ascending integer sequences (no float arithmetic: this runs
    /// once per process, before the first histogram, on a clock that counts).
    /// </summary>
    private static ushort[] BuildSliceTable()
    {
        var table = new ushort[1 << 15];
        var edgeBits = EdgeBits;
        int count = 0, positives = edgeBits.Length - 1;
        for (int slice = 0; slice < table.Length; slice++)
        {
            uint low = (uint)slice << 16;
            while (count < positives && edgeBits[count] <= low) count++;
            table[slice] = (ushort)count;
        }
        return table;
    }

    /// <summary>
    /// For each positive edge, the smallest float bit pattern whose value is at or above it, and a final
    /// sentinel; positive floats order like their bits, so comparing with an edge is an integer compare.
    /// </summary>
    private static readonly uint[] EdgeBits = BuildEdgeBits();

    /// <summary>At index k + 1: the bits of positive edge k when a float equals it exactly, else a sentinel.</summary>
    private static readonly uint[] ExactEdgeBitsShifted = BuildExactEdgeBits();

    /// <summary>
    /// For the top 15 bits of a positive float (exponent and 7 mantissa bits): how many positive edges are
    /// at or below the smallest float with those bits. A 7-bit mantissa slice spans a ratio under 1.008 and
    /// neighbouring edges differ by 1.1, so at most one more edge can lie inside the slice.
    /// Initialized after <see cref="EdgeBits"/>, from which it is built.
    /// </summary>
    private static readonly ushort[] EdgesAtOrBelowSlice = BuildSliceTable();

    private static uint[] BuildEdgeBits()
    {
        var bits = new uint[PositiveEdges.Length + 1];
        for (int k = 0; k < PositiveEdges.Length; k++)
        {
            float nearest = (float)PositiveEdges[k];
            if (nearest < PositiveEdges[k]) nearest = MathF.BitIncrement(nearest);
            bits[k] = BitConverter.SingleToUInt32Bits(nearest);
        }
        bits[^1] = uint.MaxValue;
        return bits;
    }

    private static uint[] BuildExactEdgeBits()
    {
        var bits = new uint[PositiveEdges.Length + 1];
        bits[0] = uint.MaxValue;
        for (int k = 0; k < PositiveEdges.Length; k++)
            bits[k + 1] = (float)PositiveEdges[k] == PositiveEdges[k] ? BitConverter.SingleToUInt32Bits((float)PositiveEdges[k]) : uint.MaxValue;
        return bits;
    }

    /// <summary>Counts <paramref name="values"/> into the default buckets; values outside every bucket are left out.</summary>
    public static void Count(ReadOnlySpan<float> values, Span<long> counts)
    {
        if (counts.Length != DefaultBucketCount) throw new ArgumentException($"expected {DefaultBucketCount} buckets, got {counts.Length}", nameof(counts));
        int positives = PositiveEdges.Length;
        // Bucket b is counted at slot b + 1; slot 0 and the last slot catch values beyond the outer edges,
        // so that the loop needs no range branch.
        Span<int> slots = stackalloc int[DefaultBucketCountConst + 2];
        var sliceTable = EdgesAtOrBelowSlice;
        var edgeBits = EdgeBits;
        var exact = ExactEdgeBitsShifted;
        foreach (float v in values)
        {
            uint bits = BitConverter.SingleToUInt32Bits(v);
            uint magnitude = bits & 0x7FFFFFFF;
            if (magnitude >= 0x7F800000) continue;
            // Edges at or below |v|: the slice table gives all but at most one.
            int atOrBelow = sliceTable[magnitude >> 16];
            atOrBelow += magnitude >= edgeBits[atOrBelow] ? 1 : 0;
            // A non-negative v lies in [pos[k-1], pos[k]) with k = atOrBelow: bucket positives + k. A negative
            // v lies in [-pos[k], -pos[k-1]) with k = edges strictly below |v|: bucket positives - 1 - k.
            int strictlyBelow = atOrBelow - (exact[atOrBelow] == magnitude ? 1 : 0);
            // -0 compares equal to 0, so it counts as non-negative, as in numpy.
            // Branch-free: weights are positive or negative at random, and a branch on the sign would be
            // mispredicted half the time.
            int nonNegative = (int)(~bits >> 31) | (magnitude == 0 ? 1 : 0);
            slots[positives + nonNegative * (atOrBelow + 1) - (1 - nonNegative) * strictlyBelow]++;
        }
        for (int b = 0; b < DefaultBucketCount; b++) counts[b] += slots[b + 1];
        // The last bucket is closed: a value exactly on the outermost positive edge belongs to it.
        uint lastEdge = ExactEdgeBitsShifted[positives];
        if (lastEdge != uint.MaxValue)
            foreach (float v in values)
                if (BitConverter.SingleToUInt32Bits(v) == lastEdge) counts[^1]++;
    }

    /// <summary>
    /// The histogram PyTorch's <c>make_histogram</c> builds for <paramref name="values"/>: default buckets,
    /// optionally merged down to at most <paramref name="maxBins"/>, trimmed to the occupied range with one
    /// empty bucket in front (TensorBoard stores right edges only, so that bucket supplies the left edge).
    /// </summary>
    /// <exception cref="ArgumentException">No values (PyTorch: "The input has no element.").</exception>
    public static HistogramProto Build(ReadOnlySpan<float> values, int? maxBins = null) => Compute(values, maxBins).ToProto();

    /// <summary><see cref="Build"/> as plain arrays, for writing the record directly.</summary>
    internal static HistogramData Compute(ReadOnlySpan<float> values, int? maxBins = null)
    {
        if (values.IsEmpty) throw new ArgumentException("a histogram needs at least one value, got an empty tensor", nameof(values));
        if (maxBins is < 1) throw new ArgumentOutOfRangeException(nameof(maxBins), $"max_bins must be a positive integer, got {maxBins}");
        var counts = new long[DefaultBucketCount];
        Count(values, counts);
        ReadOnlySpan<long> mergedCounts = counts;
        ReadOnlySpan<double> limits = Edges;
        if (maxBins is { } most && counts.Length > most) (mergedCounts, limits) = Merge(counts, Edges, most);
        return Assemble(values, mergedCounts, limits);
    }

    /// <summary>PyTorch's <c>max_bins</c> step: sums runs of <c>nbins / max_bins</c> buckets, keeping every such edge and the last.</summary>
    private static (long[] Counts, double[] Limits) Merge(long[] counts, double[] edges, int maxBins)
    {
        int run = counts.Length / maxBins;
        int merged = (counts.Length + run - 1) / run;
        var mergedCounts = new long[merged];
        for (int i = 0; i < counts.Length; i++) mergedCounts[i / run] += counts[i];
        var mergedLimits = new double[merged + 1];
        for (int i = 0; i < merged; i++) mergedLimits[i] = edges[i * run];
        mergedLimits[merged] = edges[^1];
        return (mergedCounts, mergedLimits);
    }

    /// <summary>
    /// Min, max, sum and sum of squares in double precision, vectorized: this pass and the bucket count
    /// are the whole cost of a histogram. NaN anywhere makes all four NaN, as numpy's do.
    /// </summary>
    // Vector<T> code is never precompiled; compiled straight to optimized code, the first histogram of a
    // process does not run its largest pass unoptimized.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static (double Min, double Max, double Sum, double SumSquares) Statistics(ReadOnlySpan<float> values)
    {
        var minimum = new Vector<float>(float.PositiveInfinity);
        var maximum = new Vector<float>(float.NegativeInfinity);
        var sums = Vector<double>.Zero;
        var squares = Vector<double>.Zero;
        var notNaN = Vector<int>.AllBitsSet;
        int i = 0;
        for (; i + Vector<float>.Count <= values.Length; i += Vector<float>.Count)
        {
            var v = new Vector<float>(values[i..]);
            minimum = Vector.Min(minimum, v);
            maximum = Vector.Max(maximum, v);
            notNaN &= Vector.Equals(v, v);
            Vector.Widen(v, out var low, out var high);
            sums += low + high;
            squares += low * low + high * high;
        }
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = Vector.Sum(sums), sumSquares = Vector.Sum(squares);
        bool sawNaN = !Vector.EqualsAll(notNaN, Vector<int>.AllBitsSet);
        for (int lane = 0; lane < Vector<float>.Count; lane++)
        {
            min = Math.Min(min, minimum[lane]);
            max = Math.Max(max, maximum[lane]);
        }
        for (; i < values.Length; i++)
        {
            double d = values[i];
            sawNaN |= double.IsNaN(d);
            if (d < min) min = d;
            if (d > max) max = d;
            sum += d;
            sumSquares += d * d;
        }
        return sawNaN ? (double.NaN, double.NaN, double.NaN, double.NaN) : (min, max, sum, sumSquares);
    }

    private static HistogramData Assemble(ReadOnlySpan<float> values, ReadOnlySpan<long> counts, ReadOnlySpan<double> edges)
    {
        var (min, max, sum, sumSquares) = Statistics(values);
        int start = counts.IndexOfAnyExcept(0L);
        if (start < 0)
        {
            // Every value was NaN, infinite or beyond the edges; PyTorch raises here. TensorFlow's own
            // encoding of an empty histogram, one empty bucket up to DBL_MAX, keeps readers happy instead.
            return new HistogramData(min, max, values.Length, sum, sumSquares, [double.MaxValue], [0]);
        }
        int end = counts.LastIndexOfAnyExcept(0L) + 1;
        var bucketCounts = new double[end - start + 1];
        bucketCounts[0] = start > 0 ? counts[start - 1] : 0;
        for (int i = start; i < end; i++) bucketCounts[i - start + 1] = counts[i];
        return new HistogramData(min, max, values.Length, sum, sumSquares, edges[start..(end + 1)].ToArray(), bucketCounts);
    }
}

/// <summary>A histogram's statistics and buckets (right edges and counts, same length), as <see cref="HistogramProto"/> holds them.</summary>
internal sealed record HistogramData(double Min, double Max, double Num, double Sum, double SumSquares, double[] BucketLimits, double[] BucketCounts)
{
    public HistogramProto ToProto()
    {
        var histogram = new HistogramProto { Min = Min, Max = Max, Num = Num, Sum = Sum, SumSquares = SumSquares };
        histogram.BucketLimit.AddRange(BucketLimits);
        histogram.Bucket.AddRange(BucketCounts);
        return histogram;
    }
}
