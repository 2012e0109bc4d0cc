namespace Descent.Training;

/// <summary>
/// The fraction of samples whose predicted class (the arg-max of the output, the first index on ties as
/// <c>torch.argmax</c>) is the target, like scikit-learn's <c>accuracy_score</c> or
/// <c>torchmetrics.Accuracy(task="multiclass")</c> with micro averaging.
/// </summary>
public sealed class Accuracy : IMetric
{
    private long _correct, _samples;

    /// <inheritdoc />
    public string Name => "accuracy";

    /// <summary>Adds a batch: scores [N, C] (logits or probabilities) and class indices [N] (integral floats in [0, C)).</summary>
    public void Update(Tensor output, Tensor target) => Add(output, ClassificationBatch.Targets(output, target, null));

    /// <summary>Adds a batch: scores [N, C] (logits or probabilities) and N class indices in [0, C).</summary>
    public void Update(Tensor output, int[] target) => Add(output, ClassificationBatch.Targets(output, target, null));

    /// <inheritdoc />
    public void Reset() => (_correct, _samples) = (0, 0);

    /// <summary>Correct predictions divided by samples since the last <see cref="Reset"/>.</summary>
    public double Compute() => (double)_correct / MetricSamples.Require(_samples, Name);

    private void Add(Tensor output, int[] classes)
    {
        int c = output.Shape[1];
        var scores = output.Data;
        for (int i = 0; i < classes.Length; i++)
            if (ClassificationBatch.ArgMax(scores.Slice(i * c, c)) == classes[i]) _correct++;
        _samples += classes.Length;
    }
}
