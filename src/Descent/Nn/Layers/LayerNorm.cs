using System.Globalization;

namespace Descent.Nn;

/// <summary>
/// Layer normalization over the trailing dimensions, like
/// <c>nn.LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True)</c>: every sample is normalized by the
/// mean and <b>biased</b> variance of its own last dimensions, then scaled by γ (<c>weight</c>, initialized to 1)
/// and shifted by β (<c>bias</c>, initialized to 0), both of shape <see cref="NormalizedShape"/>. Unlike batch
/// normalization it behaves the same in training and evaluation and keeps no running statistics.
/// </summary>
public sealed class LayerNorm : Module
{
    private readonly int[] _normalizedShape;
    private readonly string _description;

    /// <summary>Normalizes over the last dimension of size <paramref name="normalizedShape"/>, like <c>nn.LayerNorm(features)</c>.</summary>
    public LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true) : this([normalizedShape], eps, elementwiseAffine) { }

    /// <summary>Normalizes over the trailing dimensions <paramref name="normalizedShape"/>, like <c>nn.LayerNorm([d1, d2])</c>.</summary>
    /// <param name="normalizedShape">The trailing shape of the input to normalize over.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="elementwiseAffine">Whether to learn γ and β.</param>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || Array.Exists(normalizedShape, d => d < 1))
            throw new ArgumentOutOfRangeException(nameof(normalizedShape), $"LayerNorm: normalized_shape must be a non-empty list of positive sizes, got {ShapeUtil.Format(normalizedShape)}");
        if (!(eps >= 0) || double.IsInfinity(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), $"LayerNorm: eps must be a non-negative number, got {eps}");
        _normalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        ElementwiseAffine = elementwiseAffine;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", new Parameter(Tensor.Full(1f, _normalizedShape)));
            Bias = RegisterParameter("bias", new Parameter(_normalizedShape));
        }
        var shape = _normalizedShape.Length == 1 ? _normalizedShape[0].ToString(CultureInfo.InvariantCulture) : ShapeUtil.Format(_normalizedShape);
        _description = $"LayerNorm({shape}{(eps != 1e-5 ? $", eps={eps.ToString(CultureInfo.InvariantCulture)}" : "")}{(elementwiseAffine ? "" : ", elementwise_affine=False")})";
    }

    /// <summary>The trailing shape normalized over.</summary>
    public ReadOnlySpan<int> NormalizedShape => _normalizedShape;

    /// <summary>Added to the variance before the square root (default 1e-5).</summary>
    public double Eps { get; }

    /// <summary>Whether γ and β are learned.</summary>
    public bool ElementwiseAffine { get; }

    /// <summary>γ with shape <see cref="NormalizedShape"/>, initialized to 1; null without <see cref="ElementwiseAffine"/>.</summary>
    public Parameter? Weight { get; }

    /// <summary>β with shape <see cref="NormalizedShape"/>, initialized to 0; null without <see cref="ElementwiseAffine"/>.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc />
    public override string Describe() => _description;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.LayerNorm(input, _normalizedShape, Weight, Bias, Eps, _description);
}
