namespace Descent.Training;

/// <summary>
/// The coefficient of determination R² = 1 − Σ(target − prediction)² / Σ(target − mean target)², like
/// scikit-learn's <c>r2_score</c> (<c>multioutput="uniform_average"</c>, <c>force_finite=True</c>) and
/// <c>torchmetrics.R2Score</c>.
/// </summary>
/// <remarks>
/// <para>
/// For targets [N, K] each of the K outputs gets its own R² and <see cref="Compute"/> is their mean;
/// <see cref="ComputeRawValues"/> gives them one by one (<c>multioutput="raw_values"</c>). An output whose
/// targets are all equal has no variance to explain: its R² is 1 when every prediction is exact, else 0, as in
/// scikit-learn. With fewer than two samples R² is not defined and the value is NaN, as in scikit-learn.
/// </para>
/// <para>
/// Batches are merged exactly (Chan et al.'s update of count, mean and sum of squared deviations per output),
/// so no pass over the data is repeated and no large sums cancel.
/// </para>
/// </remarks>
public sealed class R2Score : IMetric
{
    private long _count;
    private double[] _mean = [], _deviations = [], _residuals = [];

    /// <inheritdoc />
    public string Name => "r2";

    /// <summary>Adds a batch: predictions and targets of one shape, [N] or [N, K]; K stays the same across batches.</summary>
    public void Update(Tensor output, Tensor target)
    {
        int outputs = RegressionBatch.Outputs(output, target);
        if (_count == 0)
            Start(outputs);
        else if (outputs != _mean.Length)
            throw new ArgumentException($"output of shape {ShapeUtil.Format(output.Shape)} has {outputs} outputs, earlier batches {_mean.Length}", nameof(output));
        int n = output.Shape[0];
        if (n == 0) return;
        ReadOnlySpan<float> y = output.Data, t = target.Data;
        for (int k = 0; k < outputs; k++)
        {
            double sum = 0, residuals = 0;
            for (int i = 0; i < n; i++)
            {
                float v = t[i * outputs + k];
                sum += v;
                double e = v - (double)y[i * outputs + k];
                residuals += e * e;
            }
            double batchMean = sum / n, deviations = 0;
            for (int i = 0; i < n; i++)
            {
                double d = t[i * outputs + k] - batchMean;
                deviations += d * d;
            }
            double delta = batchMean - _mean[k], total = _count + n;
            _mean[k] += delta * n / total;
            _deviations[k] += deviations + delta * delta * _count * n / total;
            _residuals[k] += residuals;
        }
        _count += n;
    }

    /// <inheritdoc />
    public void Reset() => _count = 0;

    /// <summary>The mean of the per-output R² over every sample since the last <see cref="Reset"/>.</summary>
    public double Compute() => ComputeRawValues().Average();

    /// <summary>R² of each of the K outputs (<c>multioutput="raw_values"</c>); one value for targets [N].</summary>
    public double[] ComputeRawValues()
    {
        MetricSamples.Require(_count, Name);
        var scores = new double[_mean.Length];
        for (int k = 0; k < scores.Length; k++)
        {
            if (_count < 2) scores[k] = double.NaN;
            // A constant target: its deviations sum to exactly 0 (equal floats add, average and merge exactly in double).
            else if (_deviations[k] == 0) scores[k] = _residuals[k] == 0 ? 1 : 0;
            else scores[k] = 1 - _residuals[k] / _deviations[k];
        }
        return scores;
    }

    private void Start(int outputs)
    {
        _mean = new double[outputs];
        _deviations = new double[outputs];
        _residuals = new double[outputs];
    }
}
