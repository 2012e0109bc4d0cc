namespace Descent.Nn;

/// <summary>Like <c>nn.ReLU()</c>.</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Relu(input);
}

/// <summary>Like <c>nn.LeakyReLU(negative_slope=0.01)</c>.</summary>
public sealed class LeakyReLU(float negativeSlope = 0.01f) : Module
{
    /// <summary>The slope for negative inputs (<c>negative_slope</c>).</summary>
    public float NegativeSlope => negativeSlope;

    /// <inheritdoc />
    public override string Describe() => $"LeakyReLU({negativeSlope})";
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.LeakyRelu(input, negativeSlope);
}

/// <summary>Like <c>nn.ELU(alpha=1.0)</c>.</summary>
public sealed class ELU(float alpha = 1f) : Module
{
    /// <summary>The saturation value for negative inputs (<c>alpha</c>).</summary>
    public float Alpha => alpha;

    /// <inheritdoc />
    public override string Describe() => $"ELU({alpha})";
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Elu(input, alpha);
}

/// <summary>Like <c>nn.Sigmoid()</c>.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Sigmoid(input);
}

/// <summary>Like <c>nn.Tanh()</c>.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Tanh(input);
}

/// <summary>Like <c>nn.GELU()</c> (exact erf form).</summary>
public sealed class GELU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Gelu(input);
}

/// <summary>Activation modules by the names the CLI and configs use.</summary>
public static class Activations
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static readonly string[] Names = ["relu", "leaky-relu", "elu", "sigmoid", "tanh", "gelu"];

    /// <summary>A new activation module; throws for an unknown name, listing the valid ones.</summary>
    public static Module Create(string name) => name.ToLowerInvariant() switch
    {
        "relu" => new ReLU(),
        "leaky-relu" or "leakyrelu" or "leaky_relu" => new LeakyReLU(),
        "elu" => new ELU(),
        "sigmoid" => new Sigmoid(),
        "tanh" => new Tanh(),
        "gelu" => new GELU(),
        _ => throw new ArgumentException($"unknown activation '{name}' (expected one of: {string.Join(", ", Names)})"),
    };
}
