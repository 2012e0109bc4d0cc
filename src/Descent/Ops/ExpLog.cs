using System.Numerics.Tensors;

namespace Descent;

public static partial class Functional
{
    /// <summary>eˣ element-wise; its gradient is its output.</summary>
    public static Tensor Exp(Tensor x) =>
        Unary("exp", x, TensorPrimitives.Exp, static (_, y, gy, gx) => TensorPrimitives.MultiplyAdd(gy, y, gx, gx));

    /// <summary>Natural logarithm element-wise; gradient 1/x.</summary>
    public static Tensor Log(Tensor x) =>
        Unary("log", x, TensorPrimitives.Log, static (xs, _, gy, gx) =>
        {
            for (int i = 0; i < xs.Length; i++) gx[i] += gy[i] / xs[i];
        });

    /// <summary>−x element-wise.</summary>
    public static Tensor Neg(Tensor x) =>
        Unary("neg", x, TensorPrimitives.Negate, static (_, _, gy, gx) => TensorPrimitives.Subtract(gx, gy, gx));

    /// <summary>x·s element-wise for a constant s.</summary>
    public static Tensor MulScalar(Tensor x, float s) =>
        Unary("mul_scalar", x, (xs, y) => TensorPrimitives.Multiply(xs, s, y), (_, _, gy, gx) => TensorPrimitives.MultiplyAdd(gy, s, gx, gx));

    /// <summary>x + s element-wise for a constant s.</summary>
    public static Tensor AddScalar(Tensor x, float s) =>
        Unary("add_scalar", x, (xs, y) => TensorPrimitives.Add(xs, s, y), static (_, _, gy, gx) => TensorPrimitives.Add(gx, gy, gx));
}
