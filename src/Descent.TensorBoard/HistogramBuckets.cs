using System.Numerics;
using Descent.TensorBoard.Proto;

namespace Descent.TensorBoard;

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
    /// One entry per top 16 bits of a float (sign, exponent, 7 mantissa bits), a slice of values spanning a
    /// ratio under 1.008 (<see cref="BuildSliceTable"/>). Neighbouring edges differ by a factor of 1.1, so at
    /// most one edge lies inside a slice, and one compare with it places every value of the slice.
    /// </summary>
    private static readonly ulong[] SliceTable = BuildSliceTable();

    /// <summary>
    /// For each positive edge, the smallest float bit pattern whose value is at or above it (with
    /// <paramref name="strictly"/>, above it), and a final sentinel; positive floats order like their bits,
    /// so comparing with an edge is an integer compare.
    /// </summary>
    private static uint[] BuildEdgeBits(bool strictly)
    {
        var bits = new uint[PositiveEdges.Length + 1];
        for (int k = 0; k < PositiveEdges.Length; k++)
        {
            float nearest = (float)PositiveEdges[k];
            if (nearest < PositiveEdges[k] || (strictly && nearest == PositiveEdges[k])) nearest = MathF.BitIncrement(nearest);
            bits[k] = BitConverter.SingleToUInt32Bits(nearest);
        }
        bits[^1] = uint.MaxValue;
        return bits;
    }

    /// <summary>
    /// Entry of a slice: in the low 32 bits, the magnitude bits from which on the slice's inner edge (if it
    /// has one) is crossed; in the high 32 bits, the counting slot of the slice's smallest magnitude.
    /// Crossing the edge moves one slot up for positive values and one slot down for negative ones. Slots are
    /// buckets shifted by one, slot 0 and the last slot catching values beyond the outer edges, infinities and
    /// NaN. Built by merging ascending integer sequences, with no float arithmetic: this runs once per
    /// process, before the first histogram.
    /// </summary>
    private static ulong[] BuildSliceTable()
    {
        const int slices = 1 << 15;
        int positives = PositiveEdges.Length;
        var table = new ulong[2 * slices];
        uint[] edgeBits = BuildEdgeBits(strictly: false), edgeBitsStrict = BuildEdgeBits(strictly: true);
        int atOrBelow = 0, strictlyBelow = 0;
        for (int slice = 0; slice < slices; slice++)
        {
            uint low = (uint)slice << 16;
            // Edges at or below (strictly below) the slice's smallest magnitude.
            while (atOrBelow < positives && edgeBits[atOrBelow] <= low) atOrBelow++;
            while (strictlyBelow < positives && edgeBitsStrict[strictlyBelow] <= low) strictlyBelow++;
            // A non-negative v lies in [pos[k-1], pos[k]) with k edges at or below it: bucket positives + k.
            // A negative v lies in [-pos[k], -pos[k-1]) with k edges strictly below |v|: bucket positives - 1 - k.
            (uint threshold, int slot) positive = (edgeBits[atOrBelow], positives + 1 + atOrBelow);
            (uint threshold, int slot) negative = (edgeBitsStrict[strictlyBelow], positives - strictlyBelow);
            if (low >= 0x7F800000) positive = negative = (uint.MaxValue, 0);
            // -0 compares equal to 0 and counts as non-negative, as in numpy; the other magnitudes of this
            // slice are tiny negative values, one slot down.
            if (slice == 0) negative = (1, positives + 1);
            table[slice] = positive.threshold | (ulong)(uint)positive.slot << 32;
            table[slices + slice] = negative.threshold | (ulong)(uint)negative.slot << 32;
        }
        return table;
    }

    /// <summary>Counts <paramref name="values"/> into the default buckets; values outside every bucket are left out.</summary>
    public static void Count(ReadOnlySpan<float> values, Span<long> counts)
    {
        if (counts.Length != DefaultBucketCount) throw new ArgumentException($"expected {DefaultBucketCount} buckets, got {counts.Length}", nameof(counts));
        Span<int> slots = stackalloc int[DefaultBucketCountConst + 2];
        var table = SliceTable;
        foreach (float v in values)
        {
            uint bits = BitConverter.SingleToUInt32Bits(v);
            ulong entry = table[bits >> 16];
            // One step up on the positive side, one step down on the negative side, once past the inner edge.
            int step = 1 - (int)(bits >> 30 & 2);
            int cross = (bits & 0x7FFFFFFF) >= (uint)entry ? step : 0;
            slots[(int)(entry >> 32) + cross]++;
        }
        for (int b = 0; b < DefaultBucketCount; b++) counts[b] += slots[b + 1];
        // The last bucket is closed: a value exactly on the outermost positive edge belongs to it.
        double lastEdge = PositiveEdges[^1];
        if ((float)lastEdge == lastEdge)
            foreach (float v in values)
                if (v == lastEdge) counts[^1]++;
    }

    /// <summary>
    /// The histogram PyTorch's <c>make_histogram</c> builds for <paramref name="values"/>: default buckets,
    /// optionally merged down to at most <paramref name="maxBins"/>, trimmed to the occupied range with one
    /// empty bucket in front (TensorBoard stores right edges only, so that bucket supplies the left edge).
    /// </summary>
    /// <exception cref="ArgumentException">No values (PyTorch: "The input has no element.").</exception>
    public static HistogramProto Build(ReadOnlySpan<float> values, int? maxBins = null)
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

    private static HistogramProto Assemble(ReadOnlySpan<float> values, ReadOnlySpan<long> counts, ReadOnlySpan<double> edges)
    {
        var (min, max, sum, sumSquares) = Statistics(values);
        int start = counts.IndexOfAnyExcept(0L);
        if (start < 0)
        {
            // Every value was NaN, infinite or beyond the edges; PyTorch raises here. TensorFlow's own
            // encoding of an empty histogram, one empty bucket up to DBL_MAX, keeps readers happy instead.
            return new HistogramProto { Min = min, Max = max, Num = values.Length, Sum = sum, SumSquares = sumSquares, BucketLimit = { double.MaxValue }, Bucket = { 0 } };
        }
        int end = counts.LastIndexOfAnyExcept(0L) + 1;
        var histogram = new HistogramProto { Min = min, Max = max, Num = values.Length, Sum = sum, SumSquares = sumSquares };
        histogram.BucketLimit.AddRange(edges[start..(end + 1)].ToArray());
        histogram.Bucket.Add(start > 0 ? counts[start - 1] : 0);
        for (int i = start; i < end; i++) histogram.Bucket.Add(counts[i]);
        return histogram;
    }
}
