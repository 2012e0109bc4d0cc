namespace Descent.Training;

/// <summary>
/// The mean of (prediction − target)² over every element, like scikit-learn's <c>mean_squared_error</c> (its
/// <c>uniform_average</c> over K outputs is the same number) or <c>torchmetrics.MeanSquaredError</c>.
/// </summary>
public sealed class MeanSquaredError : IMetric
{
    private double _sum;
    private long _count;

    /// <inheritdoc />
    public string Name => "mse";

    /// <summary>Adds a batch: predictions and targets of one shape, [N] or [N, K].</summary>
    public void Update(Tensor output, Tensor target)
    {
        RegressionBatch.Outputs(output, target);
        _sum += ErrorSums.Squared(output.Data, target.Data);
        _count += output.Numel;
    }

    /// <inheritdoc />
    public void Reset() => (_sum, _count) = (0, 0);

    /// <summary>The mean squared error over every element since the last <see cref="Reset"/>.</summary>
    public double Compute() => Mean(Name);

    /// <summary>The mean squared error; <paramref name="metric"/> names the metric asking, should there be no samples.</summary>
    internal double Mean(string metric) => _sum / MetricSamples.Require(_count, metric);
}

/// <summary>
/// The square root of <see cref="MeanSquaredError"/>, like <c>torchmetrics.MeanSquaredError(squared=False)</c>
/// and Keras' <c>RootMeanSquaredError</c>.
/// </summary>
/// <remarks>
/// For targets [N, K] this is the root of the mean over all elements. scikit-learn's
/// <c>mean_squared_error(squared=False)</c> (<c>root_mean_squared_error</c>) instead averages the K per-output
/// roots; the two agree for [N].
/// </remarks>
public sealed class RootMeanSquaredError : IMetric
{
    private readonly MeanSquaredError _mse = new();

    /// <inheritdoc />
    public string Name => "rmse";

    /// <summary>Adds a batch: predictions and targets of one shape, [N] or [N, K].</summary>
    public void Update(Tensor output, Tensor target) => _mse.Update(output, target);

    /// <inheritdoc />
    public void Reset() => _mse.Reset();

    /// <summary>√(mean squared error over every element since the last <see cref="Reset"/>).</summary>
    public double Compute() => Math.Sqrt(_mse.Mean(Name));
}

/// <summary>
/// The mean of |prediction − target| over every element, like scikit-learn's <c>mean_absolute_error</c> (its
/// <c>uniform_average</c> over K outputs is the same number) or <c>torchmetrics.MeanAbsoluteError</c>.
/// </summary>
public sealed class MeanAbsoluteError : IMetric
{
    private double _sum;
    private long _count;

    /// <inheritdoc />
    public string Name => "mae";

    /// <summary>Adds a batch: predictions and targets of one shape, [N] or [N, K].</summary>
    public void Update(Tensor output, Tensor target)
    {
        RegressionBatch.Outputs(output, target);
        _sum += ErrorSums.Absolute(output.Data, target.Data);
        _count += output.Numel;
    }

    /// <inheritdoc />
    public void Reset() => (_sum, _count) = (0, 0);

    /// <summary>The mean absolute error over every element since the last <see cref="Reset"/>.</summary>
    public double Compute() => _sum / MetricSamples.Require(_count, Name);
}

/// <summary>Sums of errors in double precision.</summary>
internal static class ErrorSums
{
    public static double Squared(ReadOnlySpan<float> output, ReadOnlySpan<float> target)
    {
        double sum = 0;
        for (int i = 0; i < output.Length; i++)
        {
            double e = (double)output[i] - target[i];
            sum += e * e;
        }
        return sum;
    }

    public static double Absolute(ReadOnlySpan<float> output, ReadOnlySpan<float> target)
    {
        double sum = 0;
        for (int i = 0; i < output.Length; i++) sum += Math.Abs((double)output[i] - target[i]);
        return sum;
    }
}
