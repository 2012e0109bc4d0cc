namespace Descent.Training;

/// <summary>The check every regression metric makes on a batch: predictions and targets of one shape, [N] or [N, K].</summary>
internal static class RegressionBatch
{
    /// <summary>Checks the shapes and returns K, the number of outputs (1 for [N]).</summary>
    public static int Outputs(Tensor output, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        if (output.Rank is not (1 or 2))
            throw new ArgumentException($"output of shape {ShapeUtil.Format(output.Shape)} is not predictions [N] or [N, K]", nameof(output));
        if (!ShapeUtil.SameShape(output.Shape, target.Shape))
            throw new ArgumentException($"target of shape {ShapeUtil.Format(target.Shape)} does not match output of shape {ShapeUtil.Format(output.Shape)}", nameof(target));
        return output.Rank == 1 ? 1 : output.Shape[1];
    }
}

/// <summary>The check every metric makes before computing.</summary>
internal static class MetricSamples
{
    /// <summary>Returns <paramref name="count"/>, or throws unless the metric has seen at least one sample.</summary>
    public static long Require(long count, string metric) =>
        count > 0 ? count : throw new InvalidOperationException($"{metric}: no samples since the last Reset(); call Update first");
}
