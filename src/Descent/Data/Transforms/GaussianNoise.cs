using System.Numerics.Tensors;

namespace Descent.Data.Transforms;

/// <summary>
/// Adds independent Gaussian noise <c>N(0, Std²)</c> to every value of the image (the common
/// <c>x + std * torch.randn_like(x)</c> augmentation). The noise is in the units of the data the loader serves:
/// after standardization, <c>noise:0.1</c> is a tenth of a standard deviation.
/// </summary>
public sealed class GaussianNoise : ImageTransform
{
    /// <summary>Noise of standard deviation <paramref name="std"/> (positive).</summary>
    public GaussianNoise(double std)
    {
        if (!(std > 0) || double.IsInfinity(std))
            throw new ArgumentOutOfRangeException(nameof(std), Check.Format($"noise std must be a positive finite number, got {std}"));
        Std = std;
    }

    /// <summary>Standard deviation of the noise.</summary>
    public double Std { get; }

    /// <inheritdoc />
    public override string Spec => Check.Format($"noise:{Std}");

    /// <inheritdoc />
    public override void Apply(Span<float> image, ImageShape shape, ref SampleRandom random, Span<float> scratch)
    {
        CheckImage(image, shape, scratch);
        // Box–Muller, vectorized: each pair of uniforms (u₁, u₂) gives two normals √(−2 ln u₁)·(cos 2πu₂, sin 2πu₂).
        int pairs = (image.Length + 1) / 2;
        var radius = scratch[..pairs];
        var turn = scratch.Slice(pairs, pairs);
        var sin = scratch.Slice(2 * pairs, pairs);
        var cos = scratch.Slice(3 * pairs, pairs);
        const float Unit = 1f / (1 << 24);
        const float TwoPi = 2 * MathF.PI;
        for (int i = 0; i < pairs; i++)
        {
            ulong bits = random.NextUInt64();
            radius[i] = ((bits >> 40) + 1) * Unit;                // (0, 1]: the logarithm stays finite
            turn[i] = ((bits >> 16) & 0xFFFFFF) * (TwoPi * Unit);  // [0, 2π)
        }
        // −2 ln u = −2 ln 2 · log₂ u: TensorPrimitives vectorizes Log2 for float but not Log.
        TensorPrimitives.Log2(radius, radius);
        TensorPrimitives.Multiply(radius, -2f * MathF.Log(2f), radius);
        TensorPrimitives.Sqrt(radius, radius);
        TensorPrimitives.Sin(turn, sin);
        TensorPrimitives.Cos(turn, cos);
        TensorPrimitives.Multiply(radius, (float)Std, radius);
        int half = image.Length / 2;
        var first = image[..pairs];
        TensorPrimitives.MultiplyAdd(radius, cos, first, first);
        var second = image[pairs..];
        TensorPrimitives.MultiplyAdd(radius[..half], sin[..half], second, second);
    }
}
