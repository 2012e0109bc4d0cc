namespace Descent.Lab.Doctor;

/// <summary>
/// The fix of each finding that both <see cref="Doctor"/> and <see cref="TrainingWatch"/> make, in one place, so that
/// the examination and the watched training run say the same thing.
/// </summary>
internal static class Fixes
{
    public const string NonFinite =
        "Lower the learning rate (descent doctor's range test suggests one) or clip gradients (--clip-norm 1); if it happens at step 1, guard the op it names (e.g. log of zero: add a small epsilon).";

    /// <summary>How much to lower the learning rate for a median update ratio of <paramref name="ratio"/>: the power of ten that brings it to about 1e-3.</summary>
    public static string UpdateRatioHigh(double ratio) =>
        $"Lower the learning rate about {Doctor.Number(Math.Pow(10, Math.Round(Math.Log10(ratio / 1e-3))))} times, or use an adaptive optimizer (--optimizer adam).";

    public const string UpdateRatioLow = "Raise the learning rate (descent doctor's range test suggests one), or check that this layer's gradient is not vanishing.";

    public const string DeadUnits =
        "Lower the learning rate (large steps push units dead), use --activation leaky-relu or gelu, or --init kaiming-normal; check for large negative biases.";

    public const string ExplodingGradients = "Initialize with a smaller scale (--init kaiming-normal or xavier-normal), add --batch-norm, or clip gradients (--clip-norm 1).";
}
