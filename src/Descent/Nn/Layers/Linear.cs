using Descent.Init;

namespace Descent.Nn;

/// <summary>
/// Fully connected layer y = x·Wᵀ + b, like <c>nn.Linear(in_features, out_features, bias=True)</c>.
/// Input [..., in_features] → output [..., out_features]; weight [out, in]; PyTorch's default init.
/// </summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer with PyTorch's default initialization.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        if (inFeatures < 1 || outFeatures < 1)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear: in_features and out_features must be positive, got {inFeatures} and {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", new Parameter(outFeatures, inFeatures));
        Bias = bias ? RegisterParameter("bias", new Parameter(outFeatures)) : null;
        Initializers.TorchDefault(Weight, Bias);
    }

    /// <summary>Input size.</summary>
    public int InFeatures { get; }
    /// <summary>Output size.</summary>
    public int OutFeatures { get; }
    /// <summary>Weight [out, in].</summary>
    public Parameter Weight { get; }
    /// <summary>Bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc />
    public override string Describe() => $"Linear({InFeatures} → {OutFeatures}{(Bias is null ? ", bias=False" : "")})";

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias, Describe());
}
