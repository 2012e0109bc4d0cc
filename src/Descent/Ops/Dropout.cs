using System.Globalization;
using System.Numerics.Tensors;
using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>
    /// Inverted dropout, like <c>F.dropout(input, p=0.5, training=True)</c>: in training each element is zeroed
    /// with probability <paramref name="p"/> and the survivors are scaled by 1/(1 − p), so the expected output
    /// equals the input and evaluation needs no rescaling. Out of training, or with p = 0, the input itself is
    /// returned (no copy), as PyTorch does. The gradient is the same mask: ∂x = ∂y·mask.
    /// </summary>
    /// <param name="input">Any shape.</param>
    /// <param name="p">Probability of zeroing an element, in [0, 1).</param>
    /// <param name="training">Whether to drop; false makes this the identity.</param>
    /// <param name="random">The stream the mask is drawn from; <see cref="Rng.Default"/> when null. Two calls
    /// with generators in the same state draw the same mask.</param>
    /// <exception cref="ArgumentException"><paramref name="p"/> is outside [0, 1) (PyTorch's wording).</exception>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, Random? random = null)
    {
        CheckDropoutProbability(p);
        if (!training || p == 0 || input.Numel == 0) return input;
        var mask = TensorPool.RentTensor(input.ShapeArray, clear: false);
        Normalization.DropoutMask(random ?? Rng.Default, p, mask.Data);
        var y = Tape.NewOutput(input.ShapeArray);
        TensorPrimitives.Multiply(input.Data, mask.Data, y.Data);
        if (Tape.ShouldRecord(input))
        {
            Tape.Record("dropout", y, [input], gy =>
            {
                if (Tape.GradOf(input) is { } gx) TensorPrimitives.MultiplyAdd(gy.Data, mask.Data, gx.Data, gx.Data);
            }, saved: mask);
        }
        else mask.Release();
        return y;
    }

    /// <summary>
    /// Refuses a dropout probability outside [0, 1) with PyTorch's message. PyTorch itself also accepts p = 1
    /// (an all-zero output); here that is refused too, because it trains nothing behind the layer.
    /// </summary>
    internal static void CheckDropoutProbability(double p)
    {
        if (p >= 0 && p < 1) return;
        var shown = p.ToString(CultureInfo.InvariantCulture);
        throw new ArgumentException(p == 1
            ? "dropout probability has to be between 0 and 1, but got 1: p = 1 would zero every element, so nothing behind the layer could learn"
            : $"dropout probability has to be between 0 and 1, but got {shown}");
    }
}
