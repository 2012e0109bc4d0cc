namespace Descent.Tests;

/// <summary>Seeded random tensors for tests.</summary>
internal static class TestData
{
    public static Tensor Random(int seed, params int[] shape) => Uniform(seed, -1, 1, shape);

    public static Tensor Uniform(int seed, double low, double high, params int[] shape)
    {
        var rng = new System.Random(seed);
        var t = Tensor.Zeros(shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)(low + (high - low) * rng.NextDouble());
        return t;
    }

    /// <summary>Values at least <paramref name="gap"/> away from zero, for ops with a kink at 0.</summary>
    public static Tensor AwayFromZero(int seed, float gap, params int[] shape)
    {
        var t = Random(seed, shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) d[i] = d[i] >= 0 ? d[i] + gap : d[i] - gap;
        return t;
    }

    public static Tensor Grad(this Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }
}
