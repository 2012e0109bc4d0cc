namespace Descent.Training;

/// <summary>
/// Counts of (true class, predicted class) pairs: row i, column j counts the samples of class i predicted as j,
/// like scikit-learn's <c>confusion_matrix</c> and <c>torchmetrics.ConfusionMatrix(task="multiclass")</c>.
/// The prediction is the arg-max of the output, the first index on ties (as <c>torch.argmax</c>).
/// </summary>
/// <remarks>
/// <see cref="Compute"/> returns the matrix. Through <see cref="IMetric"/>, which carries one number, the value is
/// the accuracy the matrix implies: its trace over its sum.
/// </remarks>
public sealed class ConfusionMatrix : IMetric
{
    private readonly long[,] _counts;
    private long _samples;

    /// <summary>A matrix for outputs of <paramref name="numClasses"/> classes (<c>num_classes</c>).</summary>
    public ConfusionMatrix(int numClasses)
    {
        if (numClasses < 1) throw new ArgumentException($"numClasses = {numClasses} must be at least 1", nameof(numClasses));
        NumClasses = numClasses;
        _counts = new long[numClasses, numClasses];
    }

    /// <summary>The number of classes C; outputs must be [N, C].</summary>
    public int NumClasses { get; }

    /// <inheritdoc />
    public string Name => "confusion_matrix";

    /// <summary>Adds a batch: scores [N, C] (logits or probabilities) and class indices [N] (integral floats in [0, C)).</summary>
    public void Update(Tensor output, Tensor target) => Add(output, ClassificationBatch.Targets(output, target, NumClasses));

    /// <summary>Adds a batch: scores [N, C] (logits or probabilities) and N class indices in [0, C).</summary>
    public void Update(Tensor output, int[] target) => Add(output, ClassificationBatch.Targets(output, target, NumClasses));

    /// <inheritdoc />
    public void Reset()
    {
        Array.Clear(_counts);
        _samples = 0;
    }

    /// <summary>A copy of the counts [C, C]: rows are true classes, columns predicted classes.</summary>
    public long[,] Compute() => (long[,])_counts.Clone();

    /// <summary>The accuracy the matrix implies: its trace divided by its sum.</summary>
    double IMetric.Compute()
    {
        long correct = 0;
        for (int i = 0; i < NumClasses; i++) correct += _counts[i, i];
        return (double)correct / MetricSamples.Require(_samples, Name);
    }

    /// <summary>The live counts, for metrics built on the matrix.</summary>
    internal long[,] Counts => _counts;

    /// <summary>Samples counted since the last <see cref="Reset"/>.</summary>
    internal long Samples => _samples;

    private void Add(Tensor output, int[] classes)
    {
        var scores = output.Data;
        for (int i = 0; i < classes.Length; i++)
            _counts[classes[i], ClassificationBatch.ArgMax(scores.Slice(i * NumClasses, NumClasses))]++;
        _samples += classes.Length;
    }
}
