namespace Descent.Training;

/// <summary>
/// The fraction of samples whose target is among the <c>k</c> highest-scoring classes, like scikit-learn's
/// <c>top_k_accuracy_score</c> or <c>torchmetrics.Accuracy(task="multiclass", top_k=k)</c>.
/// </summary>
/// <remarks>
/// Classes are ranked by score, equal scores by index (lower first, as <c>torch.argmax</c>), so
/// <c>TopKAccuracy(1)</c> equals <see cref="Accuracy"/>. With k ≥ C every sample counts as correct.
/// </remarks>
public sealed class TopKAccuracy : IMetric
{
    private long _correct, _samples;

    /// <summary>Counts a sample correct when its target is among the <paramref name="k"/> best classes (k ≥ 1).</summary>
    public TopKAccuracy(int k)
    {
        if (k < 1) throw new ArgumentException($"k = {k} must be at least 1", nameof(k));
        K = k;
    }

    /// <summary>How many of the best classes count.</summary>
    public int K { get; }

    /// <summary><c>top{k}_accuracy</c>, e.g. <c>top5_accuracy</c>.</summary>
    public string Name => $"top{K}_accuracy";

    /// <summary>Adds a batch: scores [N, C] (logits or probabilities) and class indices [N] (integral floats in [0, C)).</summary>
    public void Update(Tensor output, Tensor target) => Add(output, ClassificationBatch.Targets(output, target, null));

    /// <summary>Adds a batch: scores [N, C] (logits or probabilities) and N class indices in [0, C).</summary>
    public void Update(Tensor output, int[] target) => Add(output, ClassificationBatch.Targets(output, target, null));

    /// <inheritdoc />
    public void Reset() => (_correct, _samples) = (0, 0);

    /// <summary>Samples whose target ranks among the best <see cref="K"/>, divided by samples since the last <see cref="Reset"/>.</summary>
    public double Compute() => (double)_correct / MetricSamples.Require(_samples, Name);

    private void Add(Tensor output, int[] classes)
    {
        int c = output.Shape[1];
        var data = output.Data;
        for (int i = 0; i < classes.Length; i++)
        {
            var scores = data.Slice(i * c, c);
            int t = classes[i];
            int rank = 0;   // classes ahead of the target
            for (int j = 0; j < c; j++)
                if (scores[j] > scores[t] || (scores[j] == scores[t] && j < t)) rank++;
            if (rank < K) _correct++;
        }
        _samples += classes.Length;
    }
}
