namespace Descent.Training;

/// <summary>The checks every classification metric makes on a batch: scores [N, C] and class indices [N] in [0, C).</summary>
internal static class ClassificationBatch
{
    /// <summary>Checks <paramref name="output"/> and <paramref name="target"/> and returns the class indices; C must equal <paramref name="numClasses"/> when it is given.</summary>
    public static int[] Targets(Tensor output, Tensor target, int? numClasses)
    {
        ArgumentNullException.ThrowIfNull(target);
        int n = CheckOutput(output, numClasses);
        if (target.Rank != 1 || target.Shape[0] != n)
            throw new ArgumentException($"target of shape {ShapeUtil.Format(target.Shape)} does not match output of shape {ShapeUtil.Format(output.Shape)}: expected class indices [{n}]", nameof(target));
        var t = target.Data;
        var classes = new int[n];
        for (int i = 0; i < n; i++)
        {
            float v = t[i];
            if (v != MathF.Floor(v) || v < 0 || v >= output.Shape[1]) throw OutOfRange(i, v, output);
            classes[i] = (int)v;
        }
        return classes;
    }

    /// <summary>Checks <paramref name="output"/> and the class indices <paramref name="target"/>.</summary>
    public static int[] Targets(Tensor output, int[] target, int? numClasses)
    {
        ArgumentNullException.ThrowIfNull(target);
        int n = CheckOutput(output, numClasses);
        if (target.Length != n)
            throw new ArgumentException($"{target.Length} targets do not match output of shape {ShapeUtil.Format(output.Shape)}: expected {n}", nameof(target));
        for (int i = 0; i < n; i++)
            if (target[i] < 0 || target[i] >= output.Shape[1]) throw OutOfRange(i, target[i], output);
        return target;
    }

    /// <summary>The predicted class of one row of scores: the arg-max, the first index on ties (as <c>torch.argmax</c>).</summary>
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int j = 1; j < scores.Length; j++) if (scores[j] > scores[best]) best = j;
        return best;
    }

    private static int CheckOutput(Tensor output, int? numClasses)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (output.Rank != 2 || output.Shape[1] < 1)
            throw new ArgumentException($"output of shape {ShapeUtil.Format(output.Shape)} is not scores [N, C] (logits or probabilities)", nameof(output));
        if (numClasses is { } c && output.Shape[1] != c)
            throw new ArgumentException($"output of shape {ShapeUtil.Format(output.Shape)} has {output.Shape[1]} classes, the metric {c}", nameof(output));
        return output.Shape[0];
    }

    private static ArgumentException OutOfRange(int i, double value, Tensor output) =>
        new($"target[{i}] = {value} is not a class index in [0, {output.Shape[1]}) for output of shape {ShapeUtil.Format(output.Shape)}", "target");
}
