namespace Descent.Training;

/// <summary>
/// A metric measured in the target's own units for a model trained on a standardized target: it feeds
/// <paramref name="inner"/> with <c>output·std + mean</c> and <c>target·std + mean</c>. A regression on house
/// prices trained on <c>(price − mean)/std</c> then reports its RMSE in currency, as scikit-learn's
/// <c>TransformedTargetRegressor</c> reports errors after the inverse transform.
/// </summary>
/// <param name="inner">The metric to feed, e.g. <see cref="RootMeanSquaredError"/>.</param>
/// <param name="mean">The mean the target was standardized with.</param>
/// <param name="std">The standard deviation the target was standardized with (positive).</param>
public sealed class RescaledMetric(IMetric inner, float mean, float std) : IMetric
{
    private readonly IMetric _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly float _std = std > 0 && float.IsFinite(std) ? std : throw new ArgumentOutOfRangeException(nameof(std), $"std must be positive and finite, got {std}");

    /// <inheritdoc />
    public string Name => _inner.Name;

    /// <inheritdoc />
    public void Update(Tensor output, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        _inner.Update(Rescale(output), Rescale(target));
    }

    /// <inheritdoc />
    public void Reset() => _inner.Reset();

    /// <inheritdoc />
    public double Compute() => _inner.Compute();

    private Tensor Rescale(Tensor t)
    {
        var source = t.Data;
        var values = new float[source.Length];
        for (int i = 0; i < values.Length; i++) values[i] = source[i] * _std + mean;
        return Tensor.FromArray(values, t.ShapeArray);
    }
}
