using Descent.Autodiff;
using Descent.Kernels;

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

    /// <summary>
    /// Runs an element-wise op in chunks spread over the cores (<see cref="RangeParallel"/>; an activation of a
    /// convolutional layer is megabytes). Its backward kernel adds into the input gradient; when that buffer is
    /// new, each chunk is cleared just before the kernel adds into it, while it is in cache, rather than the whole
    /// buffer up front.
    /// </summary>
    internal static Tensor Unary(string name, Tensor x, UnaryForward forward, UnaryBackward backward)
    {
        var y = Tape.NewOutput(x.ShapeArray);
        var forwardBody = new UnaryForwardBody { Kernel = forward, X = x, Y = y };
        RangeParallel.For(x.Numel, ref forwardBody);
        if (Tape.ShouldRecord(x))
        {
            Tape.Record(name, y, [x], gy =>
            {
                if (Tape.GradOf(x, out bool accumulate) is not { } gx) return;
                var backwardBody = new UnaryBackwardBody { Kernel = backward, X = x, Y = y, GY = gy, GX = gx, Accumulate = accumulate };
                RangeParallel.For(x.Numel, ref backwardBody);
            });
        }
        return y;
    }

    private struct UnaryForwardBody : IRangeBody
    {
        public UnaryForward Kernel;
        public Tensor X, Y;

        public readonly void Apply(int start, int end) => Kernel(X.Data[start..end], Y.Data[start..end]);
    }

    private struct UnaryBackwardBody : IRangeBody
    {
        public UnaryBackward Kernel;
        public Tensor X, Y, GY, GX;
        public bool Accumulate;

        public readonly void Apply(int start, int end)
        {
            var gx = GX.Data[start..end];
            if (!Accumulate) gx.Clear();
            Kernel(X.Data[start..end], Y.Data[start..end], GY.Data[start..end], gx);
        }
    }
}
