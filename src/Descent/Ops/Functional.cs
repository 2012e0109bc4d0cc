using Descent.Autodiff;

namespace Descent;

/// <summary>
/// Differentiable operations, the counterpart of <c>torch</c> and <c>torch.nn.functional</c>. Each op lives
/// in its own file under <c>Ops/</c> with its forward and its backward side by side; the kernels they call
/// live under <c>Kernels/</c>.
/// </summary>
public static partial class Functional
{
    /// <summary>Shared shape of every unary element-wise op: allocate, run, record.</summary>
    internal delegate void UnaryForward(ReadOnlySpan<float> x, Span<float> y);
    internal delegate void UnaryBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> gy, Span<float> gx);

    internal static Tensor Unary(string name, Tensor x, UnaryForward forward, UnaryBackward backward)
    {
        var y = Tape.NewOutput(x.ShapeArray);
        forward(x.Data, y.Data);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record(name, y, [x], gy =>
            {
                var gx = Tape.GradOf(x);
                if (gx is not null) backward(x.Data, y.Data, gy.Data, gx.Data);
            });
        }
        return y;
    }
}
