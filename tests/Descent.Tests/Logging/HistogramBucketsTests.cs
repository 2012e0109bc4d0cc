using Descent.TensorBoard;

namespace Descent.Tests.Logging;

public class HistogramBucketsTests
{
    /// <summary>numpy.histogram with explicit edges: bucket i holds e[i] ≤ v &lt; e[i+1], the last one closed, in double precision.</summary>
    private static long[] NumpyCounts(IEnumerable<float> values, IReadOnlyList<double> edges)
    {
        var counts = new long[edges.Count - 1];
        foreach (float f in values)
        {
            double v = f;
            if (!(v >= edges[0] && v <= edges[^1])) continue;
            int lo = 0, hi = edges.Count - 1;
            while (hi - lo > 1)
            {
                int mid = (lo + hi) / 2;
                if (edges[mid] <= v) lo = mid;
                else hi = mid;
            }
            counts[lo]++;
        }
        return counts;
    }

    /// <summary>PyTorch's make_histogram after numpy.histogram, transcribed step by step.</summary>
    private static (double[] Limits, double[] Counts) PyTorchTrim(long[] counts, IReadOnlyList<double> limits, int? maxBins)
    {
        var c = counts.ToList();
        var l = limits.ToList();
        if (maxBins is { } most && c.Count > most)
        {
            int sub = c.Count / most;
            if (c.Count % sub != 0) c.AddRange(new long[sub - c.Count % sub]);
            c = Enumerable.Range(0, c.Count / sub).Select(i => c.Skip(i * sub).Take(sub).Sum()).ToList();
            var newLimits = new List<double>();
            for (int i = 0; i < l.Count - 1; i += sub) newLimits.Add(l[i]);
            newLimits.Add(l[^1]);
            l = newLimits;
        }
        var cum = new List<long>();
        long running = 0;
        foreach (var x in c) cum.Add(running += x > 0 ? 1 : 0);
        int start = cum.Count(x => x <= 0);
        int end = cum.Count(x => x <= cum[^1] - 1) + 1;
        var outCounts = start > 0 ? c.GetRange(start - 1, end - start + 1) : new[] { 0L }.Concat(c.Take(end)).ToList();
        var outLimits = l.GetRange(start, end + 1 - start);
        return (outLimits.ToArray(), outCounts.Select(x => (double)x).ToArray());
    }

    [Fact]
    public void Default_edges_are_pytorch_default_bins()
    {
        var edges = HistogramBuckets.DefaultEdges;
        Assert.Equal(1549, edges.Count);
        Assert.Equal(1548, HistogramBuckets.DefaultBucketCount);
        Assert.Equal(0.0, edges[774]);
        Assert.Equal(1e-12, edges[775]);
        Assert.Equal(-1e-12, edges[773]);
        Assert.InRange(edges[^1], 9.9e19, 1e20);
        for (int i = 0; i < 774; i++) Assert.Equal(-edges[^(i + 1)], edges[i]);
        for (int i = 1; i < edges.Count; i++) Assert.True(edges[i] > edges[i - 1]);
        double v = 1e-12;
        for (int i = 0; i < 774; i++, v *= 1.1) Assert.Equal(v, edges[775 + i]);
    }

    [Fact]
    public void Counts_match_numpy_including_edges_zero_and_out_of_range()
    {
        var rng = new Random(7);
        var edges = HistogramBuckets.DefaultEdges;
        var values = new List<float>();
        for (int i = 0; i < 20000; i++) values.Add((float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-14, 22))));
        // Floats nearest to edges fall just below or above them; both sides must agree with numpy.
        foreach (double e in edges)
        {
            int nearest = BitConverter.SingleToInt32Bits((float)e);
            values.AddRange([(float)e, BitConverter.Int32BitsToSingle(nearest + 1), BitConverter.Int32BitsToSingle(nearest - 1)]);
        }
        // Every slice of the lookup (top 16 bits of a float), at its first, second and last bit pattern.
        for (int slice = 0; slice < 1 << 16; slice++)
            values.AddRange([BitConverter.Int32BitsToSingle(slice << 16), BitConverter.Int32BitsToSingle(slice << 16 | 1), BitConverter.Int32BitsToSingle(slice << 16 | 0xFFFF)]);
        values.AddRange([0f, -0f, float.Epsilon, -float.Epsilon, 1e30f, -1e30f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue]);
        var counts = new long[HistogramBuckets.DefaultBucketCount];
        HistogramBuckets.Count(values.ToArray(), counts);
        Assert.Equal(NumpyCounts(values, edges), counts);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(30)]
    [InlineData(7)]
    [InlineData(1)]
    public void Built_histograms_match_pytorch_make_histogram(int? maxBins)
    {
        var rng = new Random(3);
        var values = Enumerable.Range(0, 5000).Select(_ => (float)(rng.NextDouble() * 4 - 1)).Append(0f).ToArray();
        var histogram = HistogramBuckets.Build(values, maxBins);
        var (limits, counts) = PyTorchTrim(NumpyCounts(values, HistogramBuckets.DefaultEdges), HistogramBuckets.DefaultEdges, maxBins);
        Assert.Equal(limits, histogram.BucketLimit);
        Assert.Equal(counts, histogram.Bucket);
        Assert.Equal(values.Min(), histogram.Min);
        Assert.Equal(values.Max(), histogram.Max);
        Assert.Equal(5001, histogram.Num);
        Assert.Equal(values.Sum(v => (double)v), histogram.Sum, 9);
        Assert.Equal(values.Sum(v => (double)v * v), histogram.SumSquares, 8);
        Assert.Equal(0, histogram.Bucket[0]);
    }

    [Fact]
    public void A_single_value_gives_an_empty_bucket_then_its_own()
    {
        var histogram = HistogramBuckets.Build([0.5f]);
        Assert.Equal([0.0, 1.0], histogram.Bucket);
        Assert.Equal(2, histogram.BucketLimit.Count);
        Assert.True(histogram.BucketLimit[0] <= 0.5 && 0.5 < histogram.BucketLimit[1]);
        Assert.Equal(1.1, histogram.BucketLimit[1] / histogram.BucketLimit[0], 12);
    }

    [Fact]
    public void Nan_and_infinity_stay_out_of_buckets_but_reach_the_statistics()
    {
        var histogram = HistogramBuckets.Build([1f, float.NaN, 2f]);
        Assert.Equal(2, histogram.Bucket.Sum());
        Assert.Equal(3, histogram.Num);
        Assert.True(double.IsNaN(histogram.Min) && double.IsNaN(histogram.Max) && double.IsNaN(histogram.Sum));

        var infinite = HistogramBuckets.Build([float.PositiveInfinity, 1f]);
        Assert.Equal(double.PositiveInfinity, infinite.Max);
        Assert.Equal(1, infinite.Bucket.Sum());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(37)]
    [InlineData(1000)]
    public void Statistics_match_a_plain_loop_at_every_length_and_position(int length)
    {
        var rng = new Random(length);
        var values = Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 10 - 3)).ToArray();
        var (min, max, sum, squares) = HistogramBuckets.Statistics(values);
        Assert.Equal(values.Min(), min);
        Assert.Equal(values.Max(), max);
        Assert.Equal(values.Sum(v => (double)v), sum, 9);
        Assert.Equal(values.Sum(v => (double)v * v), squares, 7);
        foreach (int at in new[] { 0, length / 2, length - 1 })
        {
            var withNaN = (float[])values.Clone();
            withNaN[at] = float.NaN;
            var stats = HistogramBuckets.Statistics(withNaN);
            Assert.True(double.IsNaN(stats.Min) && double.IsNaN(stats.Max) && double.IsNaN(stats.Sum) && double.IsNaN(stats.SumSquares));
            var withInfinity = (float[])values.Clone();
            withInfinity[at] = float.NegativeInfinity;
            Assert.Equal(double.NegativeInfinity, HistogramBuckets.Statistics(withInfinity).Min);
        }
    }

    [Fact]
    public void Values_outside_every_bucket_give_tensorflows_empty_histogram()
    {
        var histogram = HistogramBuckets.Build([float.NaN, float.NaN]);
        Assert.Equal([double.MaxValue], histogram.BucketLimit);
        Assert.Equal([0.0], histogram.Bucket);
        Assert.Equal(2, histogram.Num);
    }

    [Fact]
    public void An_empty_tensor_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => HistogramBuckets.Build([]));
        Assert.Contains("empty", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => HistogramBuckets.Build([1f], maxBins: 0));
    }
}
