using System.Numerics.Tensors;
using Descent.Kernels;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Gradient clipping over a flat gradient arena, like <c>torch.nn.utils.clip_grad_norm_</c> and
/// <c>clip_grad_value_</c>: the norm is one pass over one array, the rescale another.
/// </summary>
public static class GradientClipping
{
    /// <summary>
    /// Rescales all gradients so that their joint p-norm is at most <paramref name="maxNorm"/>:
    /// total = ‖g‖_p over every element, coef = min(1, maxNorm/(total + 1e-6)), g ← g·coef. Returns the norm
    /// before clipping. <paramref name="normType"/> may be <see cref="double.PositiveInfinity"/> (max |g|).
    /// With a non-finite total and <paramref name="errorIfNonfinite"/>, throws instead of writing NaNs.
    /// </summary>
    public static double ClipGradNorm(ParameterArena arena, double maxNorm, double normType = 2.0, bool errorIfNonfinite = false)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"max_norm must be positive, got {maxNorm}");
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), $"norm_type must be positive, got {normType}");
        var g = arena.Grad.AsSpan();
        double total = Norm(g, normType);
        if (errorIfNonfinite && !double.IsFinite(total))
            throw new InvalidOperationException($"The total norm of order {normType} for gradients is non-finite, so it cannot be clipped");
        double coef = maxNorm / (total + 1e-6);
        if (coef < 1) TensorPrimitives.Multiply(g, (float)coef, g);
        return total;
    }

    /// <summary>The joint p-norm of all gradients (no clipping), e.g. for logging.</summary>
    public static double GradNorm(ParameterArena arena, double normType = 2.0) => Norm(arena.Grad, normType);

    /// <summary>Clamps every gradient element to [−<paramref name="clipValue"/>, <paramref name="clipValue"/>].</summary>
    public static void ClipGradValue(ParameterArena arena, double clipValue)
    {
        if (!(clipValue > 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), $"clip_value must be positive, got {clipValue}");
        var g = arena.Grad.AsSpan();
        float c = (float)clipValue;
        TensorPrimitives.Min(g, c, g);
        TensorPrimitives.Max(g, -c, g);
    }

    private static double Norm(ReadOnlySpan<float> g, double p)
    {
        if (double.IsPositiveInfinity(p)) return g.IsEmpty ? 0 : TensorPrimitives.MaxMagnitude(g) is var m ? Math.Abs(m) : 0;
        if (p == 2) return Math.Sqrt(Reductions.SumOfSquares(g));
        if (p == 1)
        {
            double s = 0;
            for (int i = 0; i < g.Length; i += 4096) s += TensorPrimitives.SumOfMagnitudes(g.Slice(i, Math.Min(4096, g.Length - i)));
            return s;
        }
        double acc = 0;
        foreach (var v in g) acc += Math.Pow(Math.Abs(v), p);
        return Math.Pow(acc, 1 / p);
    }
}
