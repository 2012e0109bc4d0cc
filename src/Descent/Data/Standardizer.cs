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
}

/// <summary>
/// Standardizes features to zero mean and unit variance, <c>(x - mean) / std</c>, with statistics fitted on the
/// training split only, so nothing of the validation or test data leaks into training.
/// </summary>
/// <remarks>
/// The standard deviation is the population one (divides by N, as <c>StandardScaler</c> and <c>np.std</c>);
/// statistics are accumulated in double precision. A feature that is constant in the training data has
/// std 0, which is replaced by 1 so it maps to <c>x - mean</c> instead of a division by zero.
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

    /// <summary>A standardizer that fits <paramref name="mode"/> statistics.</summary>
    public Standardizer(StandardizationMode mode = StandardizationMode.PerFeature)
    {
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), $"unknown standardization mode {mode}");
        Mode = mode;
    }

    /// <summary>Per-feature or global statistics.</summary>
    public StandardizationMode Mode { get; }

    /// <summary>A standardizer fitted per feature on <paramref name="train"/>, like <c>StandardScaler().fit(train)</c>.</summary>
    public static Standardizer FitPerFeature(InMemoryDataset train) => new Standardizer(StandardizationMode.PerFeature).Fit(train);

    /// <summary>A standardizer fitted with one mean and std over all of <paramref name="train"/>'s features (the MNIST convention).</summary>
    public static Standardizer FitGlobal(InMemoryDataset train) => new Standardizer(StandardizationMode.Global).Fit(train);

    /// <summary>Whether <see cref="Fit"/> has run.</summary>
    public bool IsFitted => _mean is not null;

    /// <summary>The fitted means: one per feature (<see cref="StandardizationMode.PerFeature"/>) or a single value (<see cref="StandardizationMode.Global"/>).</summary>
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
        int width = Mode == StandardizationMode.PerFeature ? d : 1;
        var sum = new double[width];
        var squares = new double[width];

        // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] − E[x]²; a constant
        // feature then gets a variance of exactly 0.
        if (Mode == StandardizationMode.PerFeature)
        {
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
        }
        else
        {
            double mean = SumOf(x, 0) / x.Length;
            sum[0] = mean;
            squares[0] = SumOf(x, mean, squared: true) / x.Length;
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
        return this;
    }

    /// <summary>
    /// A new dataset with standardized features (the labels array is shared, the features are new); the input is
    /// left unchanged.
    /// </summary>
    public InMemoryDataset Transform(InMemoryDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        CheckWidth(dataset.SampleSize);
        var features = (float[])dataset.Features.Clone();
        TransformSamples(features, dataset.SampleSize);
        return new InMemoryDataset(features, dataset.Labels, dataset.SampleShapeArray, dataset.NumClasses);
    }

    /// <summary>Standardizes <paramref name="dataset"/>'s features in place (every dataset sharing the array sees the change).</summary>
    public void TransformInPlace(InMemoryDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        CheckWidth(dataset.SampleSize);
        TransformSamples(dataset.Features, dataset.SampleSize);
    }

    /// <summary>
    /// Standardizes in place a span of whole samples, each <paramref name="sampleSize"/> floats (e.g. one input
    /// about to be fed to a trained model).
    /// </summary>
    public void TransformSamples(Span<float> samples, int sampleSize)
    {
        CheckWidth(sampleSize);
        if (sampleSize < 1 || samples.Length % sampleSize != 0)
            throw new ArgumentException($"{samples.Length} floats are not a whole number of samples of {sampleSize}", nameof(samples));
        var mean = Mean;
        var std = Std;
        if (Mode == StandardizationMode.Global)
        {
            TensorPrimitives.Subtract(samples, mean[0], samples);
            TensorPrimitives.Divide(samples, std[0], samples);
            return;
        }
        for (int offset = 0; offset < samples.Length; offset += sampleSize)
        {
            var row = samples.Slice(offset, sampleSize);
            TensorPrimitives.Subtract(row, mean, row);
            TensorPrimitives.Divide(row, std, row);
        }
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
    }

    private static InvalidOperationException NotFitted() =>
        new("the standardizer is not fitted yet; call Fit(train) first");
}
