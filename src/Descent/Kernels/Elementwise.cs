using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Descent.Kernels;

/// <summary>
/// Element-wise activation kernels over spans, forward and backward. Where <see cref="TensorPrimitives"/>
/// has the primitive it is used (it is vectorized for every width); the rest are written with
/// <see cref="Vector512{T}"/>, <see cref="Vector256{T}"/> and <see cref="Vector128{T}"/> (SSE, NEON) and a
/// scalar tail, each width giving the same bits as the tail. Backward kernels add into the
/// input gradient, because autodiff accumulates.
/// </summary>
public static class Elementwise
{
    /// <summary>y = max(x, 0).</summary>
    public static void Relu(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);

    /// <summary>gx += gy where x &gt; 0; with <paramref name="accumulate"/> false, gx = gy where x &gt; 0 and 0 elsewhere.</summary>
    public static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx, bool accumulate = true)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vx = Vector512.Create(x.Slice(i, Vector512<float>.Count));
                var vg = Vector512.Create(gy.Slice(i, Vector512<float>.Count));
                var acc = accumulate ? Vector512.Create(gx.Slice(i, Vector512<float>.Count)) : Vector512<float>.Zero;
                (acc + Vector512.ConditionalSelect(Vector512.GreaterThan(vx, Vector512<float>.Zero), vg, Vector512<float>.Zero)).CopyTo(gx.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var vx = Vector256.Create(x.Slice(i, Vector256<float>.Count));
                var vg = Vector256.Create(gy.Slice(i, Vector256<float>.Count));
                var acc = accumulate ? Vector256.Create(gx.Slice(i, Vector256<float>.Count)) : Vector256<float>.Zero;
                (acc + Vector256.ConditionalSelect(Vector256.GreaterThan(vx, Vector256<float>.Zero), vg, Vector256<float>.Zero)).CopyTo(gx.Slice(i));
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var vx = Vector128.Create(x.Slice(i, Vector128<float>.Count));
                var vg = Vector128.Create(gy.Slice(i, Vector128<float>.Count));
                var acc = accumulate ? Vector128.Create(gx.Slice(i, Vector128<float>.Count)) : Vector128<float>.Zero;
                (acc + Vector128.ConditionalSelect(Vector128.GreaterThan(vx, Vector128<float>.Zero), vg, Vector128<float>.Zero)).CopyTo(gx.Slice(i));
            }
        }
        for (; i < x.Length; i++) gx[i] = (accumulate ? gx[i] : 0f) + (x[i] > 0f ? gy[i] : 0f);
    }

    /// <summary>y = x for x &gt; 0, slope·x otherwise.</summary>
    public static void LeakyRelu(ReadOnlySpan<float> x, float slope, Span<float> y)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(slope);
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.Create(x.Slice(i, Vector512<float>.Count));
                Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, v * s).CopyTo(y.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(slope);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Create(x.Slice(i, Vector256<float>.Count));
                Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), v, v * s).CopyTo(y.Slice(i));
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var s = Vector128.Create(slope);
            for (; i <= x.Length - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var v = Vector128.Create(x.Slice(i, Vector128<float>.Count));
                Vector128.ConditionalSelect(Vector128.GreaterThan(v, Vector128<float>.Zero), v, v * s).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++) y[i] = x[i] > 0f ? x[i] : x[i] * slope;
    }

    /// <summary>gx += gy · (x &gt; 0 ? 1 : slope).</summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> x, float slope, ReadOnlySpan<float> gy, Span<float> gx)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(slope);
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vx = Vector512.Create(x.Slice(i, Vector512<float>.Count));
                var vg = Vector512.Create(gy.Slice(i, Vector512<float>.Count));
                var acc = Vector512.Create(gx.Slice(i, Vector512<float>.Count));
                (acc + Vector512.ConditionalSelect(Vector512.GreaterThan(vx, Vector512<float>.Zero), vg, vg * s)).CopyTo(gx.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(slope);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var vx = Vector256.Create(x.Slice(i, Vector256<float>.Count));
                var vg = Vector256.Create(gy.Slice(i, Vector256<float>.Count));
                var acc = Vector256.Create(gx.Slice(i, Vector256<float>.Count));
                (acc + Vector256.ConditionalSelect(Vector256.GreaterThan(vx, Vector256<float>.Zero), vg, vg * s)).CopyTo(gx.Slice(i));
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var s = Vector128.Create(slope);
            for (; i <= x.Length - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var vx = Vector128.Create(x.Slice(i, Vector128<float>.Count));
                var vg = Vector128.Create(gy.Slice(i, Vector128<float>.Count));
                var acc = Vector128.Create(gx.Slice(i, Vector128<float>.Count));
                (acc + Vector128.ConditionalSelect(Vector128.GreaterThan(vx, Vector128<float>.Zero), vg, vg * s)).CopyTo(gx.Slice(i));
            }
        }
        for (; i < x.Length; i++) gx[i] += x[i] > 0f ? gy[i] : gy[i] * slope;
    }

    /// <summary>y = x for x &gt; 0, α(eˣ − 1) otherwise (PyTorch's ELU).</summary>
    public static void Elu(ReadOnlySpan<float> x, float alpha, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0f ? x[i] : alpha * (MathF.Exp(x[i]) - 1f);
    }

    /// <summary>gx += gy · (x &gt; 0 ? 1 : y + α), using the forward output y as PyTorch does.</summary>
    public static void EluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, float alpha, ReadOnlySpan<float> gy, Span<float> gx)
    {
        for (int i = 0; i < x.Length; i++) gx[i] += x[i] > 0f ? gy[i] : gy[i] * (y[i] + alpha);
    }

    /// <summary>y = 1 / (1 + e^(−x)).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        // TensorPrimitives.Sigmoid rejects empty spans; an empty tensor is legal.
        if (!x.IsEmpty) TensorPrimitives.Sigmoid(x, y);
    }

    /// <summary>gx += gy · y(1 − y).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> gy, Span<float> gx)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vy = Vector512.Create(y.Slice(i, Vector512<float>.Count));
                var vg = Vector512.Create(gy.Slice(i, Vector512<float>.Count));
                var acc = Vector512.Create(gx.Slice(i, Vector512<float>.Count));
                (acc + vg * vy * (Vector512<float>.One - vy)).CopyTo(gx.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var vy = Vector256.Create(y.Slice(i, Vector256<float>.Count));
                var vg = Vector256.Create(gy.Slice(i, Vector256<float>.Count));
                var acc = Vector256.Create(gx.Slice(i, Vector256<float>.Count));
                (acc + vg * vy * (Vector256<float>.One - vy)).CopyTo(gx.Slice(i));
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var vy = Vector128.Create(y.Slice(i, Vector128<float>.Count));
                var vg = Vector128.Create(gy.Slice(i, Vector128<float>.Count));
                var acc = Vector128.Create(gx.Slice(i, Vector128<float>.Count));
                (acc + vg * vy * (Vector128<float>.One - vy)).CopyTo(gx.Slice(i));
            }
        }
        for (; i < y.Length; i++) gx[i] += gy[i] * y[i] * (1f - y[i]);
    }

    /// <summary>y = tanh(x), within a few float ulps of the exact value everywhere, and exactly 0 at 0.</summary>
    /// <remarks>
    /// Not <see cref="TensorPrimitives.Tanh(ReadOnlySpan{float}, Span{float})"/>: it evaluates near 0 through
    /// e^(2x), so tanh(0) comes out as −6e−8 and small inputs lose all relative precision (a deep tanh net
    /// with zero weights would show activations that are not zero). Below |x| = 0.625 this uses the odd
    /// polynomial x + x³·P(x²) of Cephes' tanhf; above, 1 − 2 / (e^(2|x|) + 1), whose cancellation is mild there.
    /// </remarks>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"tanh: output has {y.Length} elements, input {x.Length}");
        int i = 0;
        // Vector<float>: one body for every vector width the machine has (tanh is not hot enough to want 512 bits).
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(x.Slice(i, Vector<float>.Count));
                var a = Vector.Abs(v);
                var z = v * v;
                var poly = ((((new Vector<float>(TanhC0) * z + new Vector<float>(TanhC1)) * z + new Vector<float>(TanhC2)) * z + new Vector<float>(TanhC3)) * z + new Vector<float>(TanhC4)) * z * v + v;
                var far = Vector.CopySign(Vector<float>.One - new Vector<float>(2f) / (Vector.Exp(a + a) + Vector<float>.One), v);
                Vector.ConditionalSelect(Vector.LessThan(a, new Vector<float>(TanhPolynomialBelow)), poly, far).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i], a = MathF.Abs(v), z = v * v;
            y[i] = a < TanhPolynomialBelow
                ? ((((TanhC0 * z + TanhC1) * z + TanhC2) * z + TanhC3) * z + TanhC4) * z * v + v
                : MathF.CopySign(1f - 2f / (MathF.Exp(a + a) + 1f), v);
        }
    }

    private const float TanhPolynomialBelow = 0.625f;
    private const float TanhC0 = -5.70498872745e-3f, TanhC1 = 2.06390887954e-2f, TanhC2 = -5.37397155531e-2f, TanhC3 = 1.33314422036e-1f, TanhC4 = -3.33332819422e-1f;

    /// <summary>gx += gy · (1 − y²).</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> gy, Span<float> gx)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vy = Vector512.Create(y.Slice(i, Vector512<float>.Count));
                var vg = Vector512.Create(gy.Slice(i, Vector512<float>.Count));
                var acc = Vector512.Create(gx.Slice(i, Vector512<float>.Count));
                (acc + vg * (Vector512<float>.One - vy * vy)).CopyTo(gx.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var vy = Vector256.Create(y.Slice(i, Vector256<float>.Count));
                var vg = Vector256.Create(gy.Slice(i, Vector256<float>.Count));
                var acc = Vector256.Create(gx.Slice(i, Vector256<float>.Count));
                (acc + vg * (Vector256<float>.One - vy * vy)).CopyTo(gx.Slice(i));
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var vy = Vector128.Create(y.Slice(i, Vector128<float>.Count));
                var vg = Vector128.Create(gy.Slice(i, Vector128<float>.Count));
                var acc = Vector128.Create(gx.Slice(i, Vector128<float>.Count));
                (acc + vg * (Vector128<float>.One - vy * vy)).CopyTo(gx.Slice(i));
            }
        }
        for (; i < y.Length; i++) gx[i] += gy[i] * (1f - y[i] * y[i]);
    }

    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>Exact GELU, x·Φ(x) with Φ the standard normal CDF (PyTorch's <c>approximate='none'</c>).</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = 0.5f * x[i] * (1f + Erf(x[i] * InvSqrt2));
    }

    /// <summary>gx += gy · (Φ(x) + x·φ(x)).</summary>
    public static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx)
    {
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            float cdf = 0.5f * (1f + Erf(v * InvSqrt2));
            float pdf = InvSqrt2Pi * MathF.Exp(-0.5f * v * v);
            gx[i] += gy[i] * (cdf + v * pdf);
        }
    }

    /// <summary>
    /// The error function in float32 precision. .NET has no <c>erf</c>; this is evaluated in double with
    /// the W. J. Cody rational approximations' accuracy class via the complementary series below.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Erf(float xf)
    {
        double x = xf;
        double ax = Math.Abs(x);
        double r;
        if (ax < 2.0)
        {
            // Maclaurin series converges fast enough below 2 to reach double-level accuracy in < 40 terms.
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 60; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            r = sum * 1.1283791670955126;
        }
        else if (ax < 6.0)
        {
            // Continued fraction for erfc, accurate for large arguments.
            double f = 0.0;
            for (int n = 60; n >= 1; n--) f = n / 2.0 / (ax + f);
            r = 1.0 - Math.Exp(-ax * ax) / (ax + f) * 0.5641895835477563;
        }
        else r = 1.0;
        return (float)(x < 0 ? -r : r);
    }

    /// <summary>Row-wise softmax over rows of length <paramref name="dim"/>.</summary>
    public static void SoftmaxRows(ReadOnlySpan<float> x, int dim, Span<float> y)
    {
        for (int r = 0; r < x.Length; r += dim) TensorPrimitives.SoftMax(x.Slice(r, dim), y.Slice(r, dim));
    }

    /// <summary>Row-wise log-softmax: x − max − log Σ exp(x − max), stable for large logits.</summary>
    public static void LogSoftmaxRows(ReadOnlySpan<float> x, int dim, Span<float> y)
    {
        for (int r = 0; r < x.Length; r += dim)
        {
            var xr = x.Slice(r, dim);
            var yr = y.Slice(r, dim);
            float max = TensorPrimitives.Max(xr);
            TensorPrimitives.Subtract(xr, max, yr);
            float sum = 0f;
            for (int j = 0; j < dim; j++) sum += MathF.Exp(yr[j]);
            TensorPrimitives.Subtract(yr, MathF.Log(sum), yr);
        }
    }
}
