using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>a + b with broadcasting, like <c>torch.add</c>.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    /// <summary>a − b with broadcasting, like <c>torch.sub</c>.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Subtract, a, b);
    /// <summary>a · b element-wise with broadcasting, like <c>torch.mul</c>.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Multiply, a, b);
    /// <summary>a / b element-wise with broadcasting, like <c>torch.div</c>.</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Divide, a, b);

    private static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        var outShape = ShapeUtil.Broadcast(a.Shape, b.Shape);
        var aStrides = ShapeUtil.BroadcastStrides(a.Shape, outShape);
        var bStrides = ShapeUtil.BroadcastStrides(b.Shape, outShape);
        var y = Tape.NewOutput(outShape);
        Broadcasting.Binary(op, a.Data, aStrides, b.Data, bStrides, outShape, y.Data);
        if (Tape.ShouldRecord(a, b))
        {
            Tape.Record(op.ToString().ToLowerInvariant(), y, [a, b], gy =>
            {
                if (Tape.GradOf(a) is { } ga) Broadcasting.BinaryBackward(op, true, gy.Data, a.Data, aStrides, b.Data, bStrides, outShape, ga.Data);
                if (Tape.GradOf(b) is { } gb) Broadcasting.BinaryBackward(op, false, gy.Data, a.Data, aStrides, b.Data, bStrides, outShape, gb.Data);
            });
        }
        return y;
    }
}

public partial class Tensor
{
    /// <summary>Broadcasting addition.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Functional.Add(a, b);
    /// <summary>Broadcasting subtraction.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Functional.Sub(a, b);
    /// <summary>Broadcasting element-wise product.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Functional.Mul(a, b);
    /// <summary>Broadcasting element-wise quotient.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Functional.Div(a, b);
    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(Tensor a, float s) => Functional.AddScalar(a, s);
    /// <summary>Subtracts a constant.</summary>
    public static Tensor operator -(Tensor a, float s) => Functional.AddScalar(a, -s);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(Tensor a, float s) => Functional.MulScalar(a, s);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(float s, Tensor a) => Functional.MulScalar(a, s);
    /// <summary>Divides by a constant.</summary>
    public static Tensor operator /(Tensor a, float s) => Functional.MulScalar(a, 1f / s);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => Functional.Neg(a);

    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Functional.Relu(this);
    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => Functional.Sigmoid(this);
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Functional.Tanh(this);
    /// <summary>eˣ.</summary>
    public Tensor Exp() => Functional.Exp(this);
    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Functional.Log(this);
}
