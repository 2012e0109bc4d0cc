using System.Numerics.Tensors;

namespace Descent.Data;

/// <summary>Which statistics a <see cref="Standardizer"/> fits.</summary>
public enum StandardizationMode
{
    /// <summary>One mean and standard deviation per input feature, like scikit-learn's <c>StandardScaler</c>.</summary>
    PerFeature,

    /// <summary>
    /// One mean and standard deviation over all features of all samples, like
    /// <c>transforms.Normalize((0.2860,), (0.3530,))</c> for Fashion-MNIST pixels.
    /// </summary>
    Global,

    /// <summary>
    /// One mean and standard deviation per image channel, over every pixel of every sample, for samples of shape
    /// <c>[C, H, W]</c> (or any <c>[C, ...]</c>): what <c>transforms.Normalize(mean=[...], std=[...])</c> takes, with
    /// the per-channel statistics of the training set.
    /// </summary>
    PerChannel,
}

/// <summary>
/// Standardizes features to zero mean and unit variance, <c>(x - mean) / std</c>, with statistics fitted on the
/// training split only, so nothing of the validation or test data leaks into training.
/// </summary>
/// <remarks>
/// <para>
/// The standard deviation is the population one (divides by N, as <c>StandardScaler</c> and <c>np.std</c>);
/// statistics are accumulated in double precision. A feature that is constant in the training data has
/// std 0, which is replaced by 1 so it maps to <c>x - mean</c> instead of a division by zero.
/// </para>
/// <para>
/// With <c>withStd: false</c> the transform is mean subtraction alone, <c>x - mean</c>; with <c>withMean: false</c> it
/// is scaling alone, <c>x / std</c> (scikit-learn's <c>with_mean</c> and <c>with_std</c>). <see cref="Mean"/> and
/// <see cref="Std"/> are fitted either way, for clipping and outlier detection (<see cref="Preprocessor"/>).
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var standardizer = Standardizer.FitGlobal(train);
/// train = standardizer.Transform(train);
/// test = standardizer.Transform(test);
/// </code>
/// </example>
public sealed class Standardizer
{
    private float[]? _mean;
    private float[]? _std;
    private ExpandedStatistics? _expanded;

    /// <summary>A standardizer that fits <paramref name="mode"/> statistics.</summary>
    /// <param name="mode">Per feature, global, or per channel of <c>[C, H, W]</c> samples.</param>
    /// <param name="withMean">Subtract the mean (scikit-learn's <c>with_mean</c>).</param>
    /// <param name="withStd">Divide by the standard deviation (<c>with_std</c>); false gives mean subtraction alone.</param>
    public Standardizer(StandardizationMode mode = StandardizationMode.PerFeature, bool withMean = true, bool withStd = true)
    {
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), $"unknown standardization mode {mode}");
        Mode = mode;
        WithMean = withMean;
        WithStd = withStd;
    }

    /// <summary>Per-feature, global or per-channel statistics.</summary>
    public StandardizationMode Mode { get; }

    /// <summary>Whether <see cref="Transform"/> subtracts the mean.</summary>
    public bool WithMean { get; }

    /// <summary>Whether <see cref="Transform"/> divides by the standard deviation.</summary>
    public bool WithStd { get; }

    /// <summary>
    /// Number of channels the statistics were fitted on (<see cref="StandardizationMode.PerChannel"/> only; 0 otherwise).
    /// </summary>
    public int Channels => Mode == StandardizationMode.PerChannel ? Mean.Length : 0;

    /// <summary>A standardizer fitted per feature on <paramref name="train"/>, like <c>StandardScaler().fit(train)</c>.</summary>
    public static Standardizer FitPerFeature(InMemoryDataset train) => new Standardizer(StandardizationMode.PerFeature).Fit(train);

    /// <summary>A standardizer fitted with one mean and std over all of <paramref name="train"/>'s features (the MNIST convention).</summary>
    public static Standardizer FitGlobal(InMemoryDataset train) => new Standardizer(StandardizationMode.Global).Fit(train);

    /// <summary>
    /// A standardizer fitted with one mean and std per channel of <paramref name="train"/>'s <c>[C, H, W]</c> images,
    /// like computing the per-channel means and stds for <c>transforms.Normalize</c>.
    /// </summary>
    public static Standardizer FitPerChannel(InMemoryDataset train) => new Standardizer(StandardizationMode.PerChannel).Fit(train);

    /// <summary>
    /// A standardizer with given statistics, as fitted before (e.g. read back from a saved model's metadata), like
    /// setting a <c>StandardScaler</c>'s <c>mean_</c> and <c>scale_</c>.
    /// </summary>
    public static Standardizer FromStatistics(StandardizationMode mode, float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"mean and std must be non-empty and of one length, got {mean.Length} and {std.Length}", nameof(std));
        if (mode == StandardizationMode.Global && mean.Length != 1)
            throw new ArgumentException($"global statistics are one mean and one std, got {mean.Length}", nameof(mean));
        foreach (float s in std)
            if (!(s > 0 && float.IsFinite(s))) throw new ArgumentException($"standard deviations must be positive and finite, got {s}", nameof(std));
        return new Standardizer(mode) { _mean = (float[])mean.Clone(), _std = (float[])std.Clone() };
    }

    /// <summary>Whether <see cref="Fit"/> has run.</summary>
    public bool IsFitted => _mean is not null;

    /// <summary>
    /// The fitted means: one per feature (<see cref="StandardizationMode.PerFeature"/>), one per channel
    /// (<see cref="StandardizationMode.PerChannel"/>) or a single value (<see cref="StandardizationMode.Global"/>).
    /// </summary>
    public float[] Mean => _mean ?? throw NotFitted();

    /// <summary>The fitted standard deviations, zeros replaced by 1; same length as <see cref="Mean"/>.</summary>
    public float[] Std => _std ?? throw NotFitted();

    /// <summary>Fits the statistics on <paramref name="train"/> (call it with the training split only). Returns this standardizer.</summary>
    public Standardizer Fit(InMemoryDataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException("cannot fit a standardizer on an empty dataset", nameof(train));
        int n = train.Count, d = train.SampleSize;
        var x = train.Features;
        int width;
        double[] sum, squares;

        // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] − E[x]²; a constant
        // feature then gets a variance of exactly 0.
        switch (Mode)
        {
            case StandardizationMode.PerFeature:
                width = d;
                sum = new double[width];
                squares = new double[width];
                for (int i = 0; i < n; i++)
                {
                    var row = x.AsSpan(i * d, d);
                    for (int j = 0; j < d; j++) sum[j] += row[j];
                }
                for (int j = 0; j < d; j++) sum[j] /= n;
                for (int i = 0; i < n; i++)
                {
                    var row = x.AsSpan(i * d, d);
                    for (int j = 0; j < d; j++)
                    {
                        double dev = row[j] - sum[j];
                        squares[j] += dev * dev;
                    }
                }
                for (int j = 0; j < d; j++) squares[j] /= n;
                break;
            case StandardizationMode.PerChannel:
                width = ChannelsOf(train.SampleShape);
                int plane = d / width;
                sum = new double[width];
                squares = new double[width];
                for (int i = 0; i < n; i++)
                    for (int c = 0; c < width; c++)
                        sum[c] += SumOf(x.AsSpan(i * d + c * plane, plane), 0);
                for (int c = 0; c < width; c++) sum[c] /= (double)n * plane;
                for (int i = 0; i < n; i++)
                    for (int c = 0; c < width; c++)
                        squares[c] += SumOf(x.AsSpan(i * d + c * plane, plane), sum[c], squared: true);
                for (int c = 0; c < width; c++) squares[c] /= (double)n * plane;
                break;
            default:
                width = 1;
                double mean = SumOf(x, 0) / x.Length;
                sum = [mean];
                squares = [SumOf(x, mean, squared: true) / x.Length];
                break;
        }

        var meanOut = new float[width];
        var stdOut = new float[width];
        for (int j = 0; j < width; j++)
        {
            meanOut[j] = (float)sum[j];
            float std = (float)Math.Sqrt(squares[j]);
            stdOut[j] = std == 0f ? 1f : std;
        }
        _mean = meanOut;
        _std = stdOut;
        _expanded = null;
        return this;
    }

    /// <summary>
    /// A new dataset with standardized features (the labels array is shared, the features are new); the input is
    /// left unchanged.
    /// </summary>
    public InMemoryDataset Transform(InMemoryDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        CheckDataset(dataset);
        var features = (float[])dataset.Features.Clone();
        TransformSamples(features, dataset.SampleSize);
        return dataset.WithFeatures(features);
    }

    /// <summary>Standardizes <paramref name="dataset"/>'s features in place (every dataset sharing the array sees the change).</summary>
    public void TransformInPlace(InMemoryDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        CheckDataset(dataset);
        TransformSamples(dataset.Features, dataset.SampleSize);
    }

    /// <summary>
    /// Standardizes in place a span of whole samples, each <paramref name="sampleSize"/> floats (e.g. one input
    /// about to be fed to a trained model).
    /// </summary>
    public void TransformSamples(Span<float> samples, int sampleSize)
    {
        CheckWidth(sampleSize);
        CheckWhole(samples.Length, sampleSize);
        if (!WithMean && !WithStd) return;
        var (mean, std) = Expanded(sampleSize);
        for (int offset = 0; offset < samples.Length; offset += sampleSize)
        {
            var row = samples.Slice(offset, sampleSize);
            if (WithMean) TensorPrimitives.Subtract(row, mean, row);
            if (WithStd) TensorPrimitives.Divide(row, std, row);
        }
    }

    /// <summary>
    /// Clamps in place every value of a span of whole samples to <c>[mean − k·std, mean + k·std]</c> of its feature,
    /// channel or of the whole set (before any standardization: call it on raw values).
    /// </summary>
    public void ClipSamples(Span<float> samples, int sampleSize, double k)
    {
        CheckWidth(sampleSize);
        CheckWhole(samples.Length, sampleSize);
        CheckK(k);
        var (low, high) = Bounds(sampleSize, k);
        for (int offset = 0; offset < samples.Length; offset += sampleSize)
        {
            var row = samples.Slice(offset, sampleSize);
            TensorPrimitives.Max(row, low, row);
            TensorPrimitives.Min(row, high, row);
        }
    }

    /// <summary>
    /// Whether a raw sample has any value farther than <paramref name="k"/> standard deviations from its mean
    /// (<c>|x − mean| &gt; k·std</c>): the usual "drop rows with any |z| &gt; 3" outlier rule.
    /// </summary>
    public bool IsOutlier(ReadOnlySpan<float> sample, double k)
    {
        CheckWidth(sample.Length);
        CheckK(k);
        var (mean, std) = Expanded(sample.Length);
        float limit = (float)k;
        for (int j = 0; j < sample.Length; j++)
            if (MathF.Abs(sample[j] - mean[j]) > limit * std[j]) return true;
        return false;
    }

    /// <summary>The fitted statistics repeated to one value per feature of a sample of <paramref name="sampleSize"/> floats.</summary>
    private (float[] Mean, float[] Std) Expanded(int sampleSize)
    {
        // One immutable object, so a thread reading the cache never sees the arrays of one size with another's.
        if (_expanded is { } cached && cached.SampleSize == sampleSize) return (cached.Mean, cached.Std);
        var mean = Mean;
        var std = Std;
        var expandedMean = new float[sampleSize];
        var expandedStd = new float[sampleSize];
        int plane = sampleSize / mean.Length;
        for (int j = 0; j < sampleSize; j++)
        {
            int stat = Mode switch
            {
                StandardizationMode.PerFeature => j,
                StandardizationMode.PerChannel => j / plane,
                _ => 0,
            };
            expandedMean[j] = mean[stat];
            expandedStd[j] = std[stat];
        }
        _expanded = new ExpandedStatistics(sampleSize, expandedMean, expandedStd);
        return (expandedMean, expandedStd);
    }

    private (float[] Low, float[] High) Bounds(int sampleSize, double k)
    {
        var (mean, std) = Expanded(sampleSize);
        var low = new float[sampleSize];
        var high = new float[sampleSize];
        for (int j = 0; j < sampleSize; j++)
        {
            low[j] = (float)(mean[j] - k * std[j]);
            high[j] = (float)(mean[j] + k * std[j]);
        }
        return (low, high);
    }

    internal static int ChannelsOf(IReadOnlyList<int> sampleShape)
    {
        if (sampleShape.Count < 2)
            throw new ArgumentException(
                $"per-channel statistics need samples of shape [C, H, W] (or [C, ...]), got {ShapeUtil.Format(sampleShape.ToArray())}; view flat images as such with WithSampleShape(1, H, W)");
        return sampleShape[0];
    }

    private void CheckDataset(Dataset dataset)
    {
        CheckWidth(dataset.SampleSize);
        if (Mode == StandardizationMode.PerChannel && ChannelsOf(dataset.SampleShape) != Mean.Length)
            throw new ArgumentException(
                $"this standardizer was fitted on images of {Mean.Length} channels, got samples of shape {ShapeUtil.Format(dataset.SampleShape.ToArray())}");
    }

    private static void CheckWhole(int length, int sampleSize)
    {
        if (sampleSize < 1 || length % sampleSize != 0)
            throw new ArgumentException($"{length} floats are not a whole number of samples of {sampleSize}", "samples");
    }

    private static void CheckK(double k)
    {
        if (!(k > 0) || double.IsInfinity(k))
            throw new ArgumentOutOfRangeException(nameof(k), $"the number of standard deviations must be a positive finite number, got {k}");
    }

    /// <summary>Σ (x − center) or Σ (x − center)² in double, with four accumulators so the adds overlap.</summary>
    private static double SumOf(ReadOnlySpan<float> x, double center, bool squared = false)
    {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 4 <= x.Length; i += 4)
        {
            double a = x[i] - center, b = x[i + 1] - center, c = x[i + 2] - center, d = x[i + 3] - center;
            if (squared) { a *= a; b *= b; c *= c; d *= d; }
            s0 += a; s1 += b; s2 += c; s3 += d;
        }
        for (; i < x.Length; i++)
        {
            double a = x[i] - center;
            s0 += squared ? a * a : a;
        }
        return (s0 + s1) + (s2 + s3);
    }

    private void CheckWidth(int sampleSize)
    {
        var mean = Mean;
        if (Mode == StandardizationMode.PerFeature && sampleSize != mean.Length)
            throw new ArgumentException($"this standardizer was fitted on samples of {mean.Length} features, got {sampleSize}");
        if (Mode == StandardizationMode.PerChannel && sampleSize % mean.Length != 0)
            throw new ArgumentException($"this standardizer was fitted on images of {mean.Length} channels; samples of {sampleSize} values do not split into {mean.Length} equal channels");
    }

    private static InvalidOperationException NotFitted() =>
        new("the standardizer is not fitted yet; call Fit(train) first");

    private sealed record ExpandedStatistics(int SampleSize, float[] Mean, float[] Std);
}
