namespace Descent.Training;

/// <summary>Precision, recall and F1 averaged over classes.</summary>
public readonly record struct AveragedScores(double Precision, double Recall, double F1);

/// <summary>
/// What <see cref="PrecisionRecallF1"/> computes: one entry per class in each list (index = class), and the
/// macro (unweighted mean over all classes) and weighted (mean weighted by support) averages.
/// </summary>
/// <param name="Precision">Per class: true positives / predicted positives; 0 for a class never predicted.</param>
/// <param name="Recall">Per class: true positives / support; 0 for a class never present.</param>
/// <param name="F1">Per class: the harmonic mean of precision and recall; 0 when both are 0.</param>
/// <param name="Support">Per class: how many samples have it as their target.</param>
/// <param name="Macro">The unweighted means of the per-class values (every class counts, present or not).</param>
/// <param name="Weighted">The means of the per-class values weighted by <paramref name="Support"/>.</param>
public sealed record ClassificationReport(
    IReadOnlyList<double> Precision,
    IReadOnlyList<double> Recall,
    IReadOnlyList<double> F1,
    IReadOnlyList<long> Support,
    AveragedScores Macro,
    AveragedScores Weighted);

/// <summary>
/// Per-class precision, recall, F1 and support with macro and weighted averages, as scikit-learn's
/// <c>precision_recall_fscore_support(y_true, y_pred, labels=range(C), zero_division=0)</c>; the prediction is
/// the arg-max of the output, the first index on ties (as <c>torch.argmax</c>).
/// </summary>
/// <remarks>
/// A ratio whose denominator is zero (precision of a class never predicted, recall of a class never present,
/// F1 when precision and recall are both zero) is 0, scikit-learn's <c>zero_division=0</c>. Through
/// <see cref="IMetric"/>, which carries one number, the value is the macro-averaged F1
/// (<c>torchmetrics.F1Score(task="multiclass", average="macro")</c>).
/// </remarks>
public sealed class PrecisionRecallF1 : IMetric
{
    private readonly ConfusionMatrix _matrix;

    /// <summary>Scores for outputs of <paramref name="numClasses"/> classes (<c>num_classes</c>).</summary>
    public PrecisionRecallF1(int numClasses) => _matrix = new ConfusionMatrix(numClasses);

    /// <summary>The number of classes C; outputs must be [N, C].</summary>
    public int NumClasses => _matrix.NumClasses;

    /// <summary><c>f1_macro</c>, the value given through <see cref="IMetric"/>.</summary>
    public string Name => "f1_macro";

    /// <summary>Adds a batch: scores [N, C] (logits or probabilities) and class indices [N] (integral floats in [0, C)).</summary>
    public void Update(Tensor output, Tensor target) => _matrix.Update(output, target);

    /// <summary>Adds a batch: scores [N, C] (logits or probabilities) and N class indices in [0, C).</summary>
    public void Update(Tensor output, int[] target) => _matrix.Update(output, target);

    /// <inheritdoc />
    public void Reset() => _matrix.Reset();

    /// <summary>Per-class precision, recall, F1 and support, and their macro and weighted averages.</summary>
    public ClassificationReport Compute()
    {
        long samples = MetricSamples.Require(_matrix.Samples, Name);
        int c = NumClasses;
        var counts = _matrix.Counts;
        var precision = new double[c];
        var recall = new double[c];
        var f1 = new double[c];
        var support = new long[c];
        for (int k = 0; k < c; k++)
        {
            long predicted = 0;
            for (int i = 0; i < c; i++)
            {
                predicted += counts[i, k];
                support[k] += counts[k, i];
            }
            long truePositives = counts[k, k];
            precision[k] = Ratio(truePositives, predicted);
            recall[k] = Ratio(truePositives, support[k]);
            f1[k] = precision[k] + recall[k] == 0 ? 0 : 2 * precision[k] * recall[k] / (precision[k] + recall[k]);
        }
        return new ClassificationReport(precision, recall, f1, support,
            new AveragedScores(precision.Average(), recall.Average(), f1.Average()),
            new AveragedScores(Weighted(precision, support, samples), Weighted(recall, support, samples), Weighted(f1, support, samples)));
    }

    /// <summary>The macro-averaged F1.</summary>
    double IMetric.Compute() => Compute().Macro.F1;

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    private static double Weighted(double[] values, long[] support, long samples)
    {
        double sum = 0;
        for (int k = 0; k < values.Length; k++) sum += values[k] * support[k];
        return sum / samples;
    }
}
