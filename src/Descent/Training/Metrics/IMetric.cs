namespace Descent.Training;

/// <summary>
/// A metric that a training loop feeds batch by batch and reads once per epoch, like a
/// <c>torchmetrics.Metric</c> or a Keras metric: <see cref="Update(Tensor, Tensor)"/> adds a batch to running
/// sums, <see cref="Compute"/> gives the value over everything seen since the last <see cref="Reset"/>.
/// </summary>
/// <remarks>
/// <para>
/// The built-in metrics keep counts and double-precision sums, so feeding a dataset in batches of any sizes gives
/// the value one pass over the whole set gives (to rounding). Classification metrics (<see cref="Accuracy"/>,
/// <see cref="TopKAccuracy"/>, <see cref="ConfusionMatrix"/>, <see cref="PrecisionRecallF1"/>) take logits or
/// probabilities [N, C] and class indices [N]; regression metrics (<see cref="MeanSquaredError"/>,
/// <see cref="RootMeanSquaredError"/>, <see cref="MeanAbsoluteError"/>, <see cref="R2Score"/>) take predictions
/// and targets of one shape, [N] or [N, K].
/// </para>
/// <para>
/// A custom metric is a class implementing this interface. For example the mean absolute percentage error
/// (scikit-learn's <c>mean_absolute_percentage_error</c>):
/// <code>
/// sealed class MeanAbsolutePercentageError : IMetric
/// {
///     private const double Eps = 2.220446049250313e-16;   // numpy's finfo(float64).eps, as scikit-learn
///     private double _sum;
///     private long _count;
///
///     public string Name => "mape";
///
///     public void Update(Tensor output, Tensor target)
///     {
///         ReadOnlySpan&lt;float&gt; y = output.Data, t = target.Data;
///         for (int i = 0; i &lt; y.Length; i++)
///             _sum += Math.Abs((double)t[i] - y[i]) / Math.Max(Math.Abs((double)t[i]), Eps);
///         _count += y.Length;
///     }
///
///     public void Reset() => (_sum, _count) = (0, 0);
///
///     public double Compute() => _sum / _count;
/// }
/// </code>
/// </para>
/// </remarks>
public interface IMetric
{
    /// <summary>The name to log the value under, e.g. <c>accuracy</c> or <c>mse</c>.</summary>
    string Name { get; }

    /// <summary>Adds a batch: the model's <paramref name="output"/> and the batch's <paramref name="target"/>.</summary>
    void Update(Tensor output, Tensor target);

    /// <summary>
    /// Adds a batch whose targets are class indices (as batches carry them today); by default they become a
    /// tensor [N] of integral floats for <see cref="Update(Tensor, Tensor)"/>.
    /// </summary>
    void Update(Tensor output, int[] target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var values = new float[target.Length];
        for (int i = 0; i < target.Length; i++) values[i] = target[i];
        Update(output, Tensor.FromArray(values, target.Length));
    }

    /// <summary>Forgets every batch seen so far (call it at the start of each epoch).</summary>
    void Reset();

    /// <summary>The metric over every batch since the last <see cref="Reset"/>.</summary>
    double Compute();
}
