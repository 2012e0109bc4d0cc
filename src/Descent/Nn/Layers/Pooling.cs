namespace Descent.Nn;

/// <summary>Max pooling, like <c>nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0)</c>.</summary>
public sealed class MaxPool2d(int kernelSize, int? stride = null, int padding = 0) : Module
{
    /// <summary>Side of the square window (<c>kernel_size</c>).</summary>
    public int KernelSize => kernelSize;

    /// <summary>Step between windows (<c>stride</c>, default the kernel size).</summary>
    public int Stride => stride ?? kernelSize;

    /// <summary>Implicit padding on every side (<c>padding</c>).</summary>
    public int Padding => padding;

    /// <inheritdoc />
    public override string Describe() => $"MaxPool2d(kernel={kernelSize}, stride={stride ?? kernelSize})";
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        Functional.MaxPool2d(input, (kernelSize, kernelSize), (stride ?? kernelSize, stride ?? kernelSize), (padding, padding), Describe());
}

/// <summary>Average pooling, like <c>nn.AvgPool2d(kernel_size, stride=kernel_size, padding=0)</c>.</summary>
public sealed class AvgPool2d(int kernelSize, int? stride = null, int padding = 0) : Module
{
    /// <summary>Side of the square window (<c>kernel_size</c>).</summary>
    public int KernelSize => kernelSize;

    /// <summary>Step between windows (<c>stride</c>, default the kernel size).</summary>
    public int Stride => stride ?? kernelSize;

    /// <summary>Implicit padding on every side (<c>padding</c>).</summary>
    public int Padding => padding;

    /// <inheritdoc />
    public override string Describe() => $"AvgPool2d(kernel={kernelSize}, stride={stride ?? kernelSize})";
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        Functional.AvgPool2d(input, (kernelSize, kernelSize), (stride ?? kernelSize, stride ?? kernelSize), (padding, padding), Describe());
}

/// <summary>Flattens dimensions from <c>startDim</c> on, like <c>nn.Flatten(start_dim=1)</c>.</summary>
public sealed class Flatten(int startDim = 1) : Module
{
    /// <summary>The first dimension flattened (<c>start_dim</c>); negative counts from the end.</summary>
    public int StartDim => startDim;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Flatten(input, startDim);
}
