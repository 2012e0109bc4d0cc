using Descent.Init;

namespace Descent.Nn;

/// <summary>
/// 2-D convolution, like <c>nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)</c>.
/// Input [N, C_in, H, W] → [N, C_out, H', W'] with H' = ⌊(H + 2·padding − kernel)/stride⌋ + 1.
/// </summary>
public sealed class Conv2d : Module
{
    /// <summary>Creates a square-kernel convolution with PyTorch's default initialization.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), bias) { }

    /// <summary>Creates a convolution with per-axis kernel, stride and padding.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding, bool bias = true)
    {
        if (inChannels < 1 || outChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), $"Conv2d: channels must be positive, got in={inChannels} out={outChannels}");
        if (kernelSize.H < 1 || kernelSize.W < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), $"Conv2d: kernel_size must be positive, got ({kernelSize.H}, {kernelSize.W})");
        if (stride.H < 1 || stride.W < 1) throw new ArgumentOutOfRangeException(nameof(stride), $"Conv2d: stride must be positive, got ({stride.H}, {stride.W})");
        if (padding.H < 0 || padding.W < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"Conv2d: padding must be non-negative, got ({padding.H}, {padding.W})");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Weight = RegisterParameter("weight", new Parameter(outChannels, inChannels, kernelSize.H, kernelSize.W));
        Bias = bias ? RegisterParameter("bias", new Parameter(outChannels)) : null;
        Initializers.TorchDefault(Weight, Bias);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public (int H, int W) KernelSize { get; }
    public (int H, int W) Stride { get; }
    public (int H, int W) Padding { get; }
    /// <summary>Weight [out, in, kH, kW].</summary>
    public Parameter Weight { get; }
    /// <summary>Bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc />
    public override string Describe() => $"Conv2d({InChannels} → {OutChannels}, kernel={KernelSize.H}×{KernelSize.W}, stride={Stride.H}, padding={Padding.H})";

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Describe());

    /// <summary>This layer followed by a ReLU, as one fused op (used by <see cref="Sequential"/>).</summary>
    internal Tensor ForwardRelu(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Describe(), relu: true);

    /// <summary>This layer followed by a ReLU and a 2×2, stride-2 max pool, as one fused op (used by <see cref="Sequential"/>).</summary>
    internal Tensor ForwardReluMaxPool2x2(Tensor input, MaxPool2d pool) =>
        Functional.Conv2dReluMaxPool2x2(input, Weight, Bias, Stride, Padding, Describe(), pool.Describe());
}
