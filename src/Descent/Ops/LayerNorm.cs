using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>
    /// Layer normalization over the trailing dimensions <paramref name="normalizedShape"/>, like
    /// <c>F.layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05)</c>: each sample's last
    /// dimensions are normalized with their own mean and <b>biased</b> variance,
    /// y = (x − μ)/√(σ² + eps)·γ + β, the same in training and evaluation (no running statistics).
    /// </summary>
    /// <param name="input">[*, normalizedShape...].</param>
    /// <param name="normalizedShape">The trailing shape to normalize over, e.g. [features].</param>
    /// <param name="weight">γ with shape <paramref name="normalizedShape"/>, or null for 1.</param>
    /// <param name="bias">β with shape <paramref name="normalizedShape"/>, or null for 0.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="layer">The layer's name for error messages.</param>
    /// <exception cref="ArgumentException">The input's trailing shape, γ or β does not match <paramref name="normalizedShape"/>.</exception>
    public static Tensor LayerNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5, string layer = "layer_norm")
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || Array.Exists(normalizedShape, d => d < 1))
            throw new ArgumentException($"{layer}: normalized_shape must be a non-empty list of positive sizes, got {ShapeUtil.Format(normalizedShape)}");
        int k = normalizedShape.Length;
        if (input.Rank < k || !input.Shape[(input.Rank - k)..].SequenceEqual(normalizedShape))
            throw new ArgumentException($"{layer}: Given normalized_shape={ShapeUtil.Format(normalizedShape)}, expected input with shape [*, {string.Join(", ", normalizedShape)}], but got input of size{ShapeUtil.Format(input.Shape)}");
        CheckNormalizedParameter(weight, "weight", normalizedShape, layer);
        CheckNormalizedParameter(bias, "bias", normalizedShape, layer);
        int size = ShapeUtil.Numel(normalizedShape);
        int rows = input.Numel / size;

        // Row 0 of the saved tensor holds each row's mean, row 1 its inverse standard deviation.
        var statistics = TensorPool.RentTensor([2, rows], clear: false);
        var y = Tape.NewOutput(input.ShapeArray);
        Normalization.LayerNormForward(input.Data, rows, size, weight is null ? default : weight.Data, bias is null ? default : bias.Data,
            eps, y.Data, statistics.Data[..rows], statistics.Data[rows..]);

        if (Tape.IsGradEnabled && (input.RequiresGrad || weight is { RequiresGrad: true } || bias is { RequiresGrad: true }))
        {
            Tape.Record("layer_norm", y, WithParameters(input, weight, bias), gy =>
            {
                var gx = Tape.GradOf(input);
                var gw = weight is null ? null : Tape.GradOf(weight);
                var gb = bias is null ? null : Tape.GradOf(bias);
                var stats = statistics.Data;
                Normalization.LayerNormBackward(input.Data, gy.Data, rows, size, weight is null ? default : weight.Data,
                    stats[..rows], stats[rows..], gx is null ? default : gx.Data, gw is null ? default : gw.Data, gb is null ? default : gb.Data);
            }, saved: statistics);
        }
        else statistics.Release();
        return y;
    }

    private static void CheckNormalizedParameter(Tensor? t, string name, int[] normalizedShape, string layer)
    {
        if (t is not null && !ShapeUtil.SameShape(t.Shape, normalizedShape))
            throw new ArgumentException($"{layer}: {name} has shape {ShapeUtil.Format(t.Shape)}, expected normalized_shape {ShapeUtil.Format(normalizedShape)}");
    }
}
