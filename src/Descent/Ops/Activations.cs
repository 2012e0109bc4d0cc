using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>max(x, 0), like <c>F.relu</c>.</summary>
    public static Tensor Relu(Tensor x) =>
        Unary("relu", x, Elementwise.Relu, static (xs, _, gy, gx) => Elementwise.ReluBackward(xs, gy, gx));

    /// <summary>x if x &gt; 0 else slope·x, like <c>F.leaky_relu(x, negative_slope=0.01)</c>.</summary>
    public static Tensor LeakyRelu(Tensor x, float negativeSlope = 0.01f) =>
        Unary("leaky_relu", x, (xs, y) => Elementwise.LeakyRelu(xs, negativeSlope, y),
            (xs, _, gy, gx) => Elementwise.LeakyReluBackward(xs, negativeSlope, gy, gx));

    /// <summary>x if x &gt; 0 else α(eˣ − 1), like <c>F.elu(x, alpha=1.0)</c>.</summary>
    public static Tensor Elu(Tensor x, float alpha = 1f) =>
        Unary("elu", x, (xs, y) => Elementwise.Elu(xs, alpha, y),
            (xs, y, gy, gx) => Elementwise.EluBackward(xs, y, alpha, gy, gx));

    /// <summary>The logistic function, like <c>torch.sigmoid</c>.</summary>
    public static Tensor Sigmoid(Tensor x) =>
        Unary("sigmoid", x, Elementwise.Sigmoid, static (_, y, gy, gx) => Elementwise.SigmoidBackward(y, gy, gx));

    /// <summary>Hyperbolic tangent, like <c>torch.tanh</c>.</summary>
    public static Tensor Tanh(Tensor x) =>
        Unary("tanh", x, Elementwise.Tanh, static (_, y, gy, gx) => Elementwise.TanhBackward(y, gy, gx));

    /// <summary>Exact (erf) GELU, like <c>F.gelu(x, approximate='none')</c>.</summary>
    public static Tensor Gelu(Tensor x) =>
        Unary("gelu", x, Elementwise.Gelu, static (xs, _, gy, gx) => Elementwise.GeluBackward(xs, gy, gx));
}
