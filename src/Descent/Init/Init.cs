namespace Descent.Init;

/// <summary>
/// In-place weight initializers, like <c>torch.nn.init</c>. The fans follow PyTorch: for a weight of shape
/// [out, in, k...] fan_in = in·∏k and fan_out = out·∏k.
/// </summary>
public static class Initializers
{
    /// <summary>(fan_in, fan_out) of a weight, like <c>_calculate_fan_in_and_fan_out</c>.</summary>
    public static (int FanIn, int FanOut) Fans(Tensor weight)
    {
        if (weight.Rank < 2)
            throw new ArgumentException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
        int receptive = 1;
        for (int i = 2; i < weight.Rank; i++) receptive *= weight.Shape[i];
        return (weight.Shape[1] * receptive, weight.Shape[0] * receptive);
    }

    /// <summary>Fills with U(low, high), like <c>nn.init.uniform_</c>.</summary>
    public static void Uniform(Tensor t, double low, double high, Random? random = null)
    {
        var r = random ?? Rng.Default;
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)(low + (high - low) * r.NextDouble());
    }

    /// <summary>Fills with N(mean, std²), like <c>nn.init.normal_</c>.</summary>
    public static void Normal(Tensor t, double mean = 0, double std = 1, Random? random = null)
    {
        var r = random ?? Rng.Default;
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (float)(mean + std * r.NextGaussian());
    }

    /// <summary>
    /// Kaiming-uniform with leaky-ReLU gain for slope <paramref name="a"/>, like
    /// <c>nn.init.kaiming_uniform_(w, a)</c>: bound = gain·√(3/fan_in), gain = √(2/(1 + a²)).
    /// With a = √5 (the <c>nn.Linear</c>/<c>nn.Conv2d</c> default) the bound is 1/√fan_in.
    /// </summary>
    public static void KaimingUniform(Tensor weight, double a = 0, Random? random = null)
    {
        var (fanIn, _) = Fans(weight);
        double gain = Math.Sqrt(2.0 / (1 + a * a));
        double bound = gain * Math.Sqrt(3.0 / fanIn);
        Uniform(weight, -bound, bound, random);
    }

    /// <summary>
    /// PyTorch's default for <c>nn.Linear</c> and <c>nn.Conv2d</c>: weight kaiming-uniform with a = √5 and
    /// bias U(−1/√fan_in, 1/√fan_in).
    /// </summary>
    public static void TorchDefault(Tensor weight, Tensor? bias, Random? random = null)
    {
        KaimingUniform(weight, Math.Sqrt(5), random);
        if (bias is null) return;
        var (fanIn, _) = Fans(weight);
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        Uniform(bias, -bound, bound, random);
    }
}
