namespace Descent.Init;

/// <summary>Which fan Kaiming initialization scales by, like <c>mode='fan_in'</c> / <c>mode='fan_out'</c>.</summary>
public enum FanMode
{
    /// <summary>fan_in (the default): keeps the variance of activations constant in the forward pass.</summary>
    FanIn,
    /// <summary>fan_out: keeps the variance of gradients constant in the backward pass.</summary>
    FanOut,
}

/// <summary>
/// In-place weight initializers, like <c>torch.nn.init</c>: each fills a tensor and bypasses autodiff (as
/// PyTorch's functions run under <c>no_grad</c>). The fans follow PyTorch: for a weight of shape
/// [out, in, k...] fan_in = in·∏k and fan_out = out·∏k.
/// </summary>
/// <remarks>
/// Every random initializer draws from its <c>random</c> argument when given, otherwise from
/// <see cref="Rng.Default"/> (seed it with <see cref="Rng.ManualSeed"/>, like <c>torch.manual_seed</c>). The
/// distributions, bounds and standard deviations are PyTorch's exactly; the random streams are not.
/// </remarks>
public static partial class Initializers
{
    /// <summary>(fan_in, fan_out) of a weight, like <c>_calculate_fan_in_and_fan_out</c>.</summary>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions (PyTorch's wording).</exception>
    public static (int FanIn, int FanOut) Fans(Tensor weight)
    {
        if (weight.Rank < 2)
            throw new ArgumentException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
        int receptive = 1;
        for (int i = 2; i < weight.Rank; i++) receptive *= weight.Shape[i];
        return (weight.Shape[1] * receptive, weight.Shape[0] * receptive);
    }

    /// <summary>
    /// The recommended gain for a nonlinearity, like <c>nn.init.calculate_gain(nonlinearity, param=None)</c>:
    /// 1 for linear, conv1d/2d/3d, conv_transpose1d/2d/3d and sigmoid; 5/3 for tanh; √2 for relu;
    /// √(2/(1 + slope²)) for leaky_relu with <paramref name="param"/> as the negative slope (0.01 when null);
    /// 3/4 for selu. <paramref name="param"/> is ignored for everything but leaky_relu.
    /// </summary>
    /// <param name="nonlinearity">The <c>torch.nn.functional</c> name, e.g. <c>"relu"</c> or <c>"leaky_relu"</c>.</param>
    /// <param name="param">The negative slope of leaky_relu.</param>
    /// <exception cref="ArgumentException">An unknown name: "Unsupported nonlinearity NAME", as PyTorch says.</exception>
    public static double CalculateGain(string nonlinearity, double? param = null) => nonlinearity switch
    {
        "linear" or "conv1d" or "conv2d" or "conv3d" or "conv_transpose1d" or "conv_transpose2d" or "conv_transpose3d" or "sigmoid" => 1.0,
        "tanh" => 5.0 / 3,
        "relu" => Math.Sqrt(2.0),
        "leaky_relu" => Math.Sqrt(2.0 / (1 + Math.Pow(param ?? 0.01, 2))),
        "selu" => 3.0 / 4,
        _ => throw new ArgumentException($"Unsupported nonlinearity {nonlinearity}"),
    };

    /// <summary>Fills with 0, like <c>nn.init.zeros_</c>.</summary>
    public static void Zeros(Tensor t) => t.Data.Clear();

    /// <summary>Fills with 1, like <c>nn.init.ones_</c>.</summary>
    public static void Ones(Tensor t) => t.Data.Fill(1f);

    /// <summary>Fills with <paramref name="value"/>, like <c>nn.init.constant_</c>.</summary>
    public static void Constant(Tensor t, double value) => t.Data.Fill((float)value);

    /// <summary>Fills with U(low, high), like <c>nn.init.uniform_(t, a=0, b=1)</c>.</summary>
    public static void Uniform(Tensor t, double low = 0, double high = 1, Random? random = null)
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
    /// Glorot/Xavier uniform, like <c>nn.init.xavier_uniform_(t, gain=1)</c>: U(−bound, bound) with
    /// bound = gain·√(6/(fan_in + fan_out)), which gives the variance gain²·2/(fan_in + fan_out).
    /// </summary>
    /// <remarks>
    /// One of the lectures prints the bound as gain·6/(fan_in + fan_out), without the square root; that is a
    /// typo (its variance would not be 2/(fan_in + fan_out)). Glorot &amp; Bengio (2010) and PyTorch use the root.
    /// </remarks>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions.</exception>
    public static void XavierUniform(Tensor t, double gain = 1, Random? random = null)
    {
        double bound = XavierUniformBound(t, gain);
        Uniform(t, -bound, bound, random);
    }

    /// <summary>
    /// Glorot/Xavier normal, like <c>nn.init.xavier_normal_(t, gain=1)</c>: N(0, std²) with
    /// std = gain·√(2/(fan_in + fan_out)).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions.</exception>
    public static void XavierNormal(Tensor t, double gain = 1, Random? random = null) =>
        Normal(t, 0, XavierNormalStd(t, gain), random);

    /// <summary>
    /// He/Kaiming uniform, like <c>nn.init.kaiming_uniform_(t, a=0, mode='fan_in', nonlinearity='leaky_relu')</c>:
    /// U(−bound, bound) with bound = √3·gain/√fan, gain = <see cref="CalculateGain"/>(nonlinearity, a).
    /// The defaults give gain √2 and bound √(6/fan_in). With a = √5 (the <c>nn.Linear</c>/<c>nn.Conv2d</c>
    /// default) the bound is 1/√fan_in. A tensor with no elements is left alone, as in PyTorch.
    /// </summary>
    /// <param name="t">The weight.</param>
    /// <param name="a">The negative slope of the rectifier that follows (used with leaky_relu only).</param>
    /// <param name="mode">Which fan to scale by.</param>
    /// <param name="nonlinearity">The <c>torch.nn.functional</c> name of the nonlinearity that follows.</param>
    /// <param name="random">The generator; <see cref="Rng.Default"/> when null.</param>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions, or the nonlinearity is unknown.</exception>
    public static void KaimingUniform(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Random? random = null)
    {
        if (t.Numel == 0) return;
        double bound = Math.Sqrt(3.0) * KaimingStd(t, a, mode, nonlinearity);
        Uniform(t, -bound, bound, random);
    }

    /// <summary>
    /// He/Kaiming normal, like <c>nn.init.kaiming_normal_(t, a=0, mode='fan_in', nonlinearity='leaky_relu')</c>:
    /// N(0, std²) with std = gain/√fan. A tensor with no elements is left alone, as in PyTorch.
    /// </summary>
    /// <param name="t">The weight.</param>
    /// <param name="a">The negative slope of the rectifier that follows (used with leaky_relu only).</param>
    /// <param name="mode">Which fan to scale by.</param>
    /// <param name="nonlinearity">The <c>torch.nn.functional</c> name of the nonlinearity that follows.</param>
    /// <param name="random">The generator; <see cref="Rng.Default"/> when null.</param>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions, or the nonlinearity is unknown.</exception>
    public static void KaimingNormal(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", Random? random = null)
    {
        if (t.Numel == 0) return;
        Normal(t, 0, KaimingStd(t, a, mode, nonlinearity), random);
    }

    /// <summary>
    /// LeCun uniform: U(−√(3/fan_in), √(3/fan_in)), variance 1/fan_in. PyTorch has no function of this name;
    /// it is <c>nn.init.kaiming_uniform_(t, nonlinearity='linear')</c>, and Keras's <c>lecun_uniform</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions.</exception>
    public static void LecunUniform(Tensor t, Random? random = null) => KaimingUniform(t, 0, FanMode.FanIn, "linear", random);

    /// <summary>
    /// LeCun normal: N(0, 1/fan_in), the init that SELU networks assume. In PyTorch this is
    /// <c>nn.init.kaiming_normal_(t, nonlinearity='linear')</c>. (Keras's <c>lecun_normal</c> draws from a
    /// normal truncated at two standard deviations, rescaled to the same variance.)
    /// </summary>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions.</exception>
    public static void LecunNormal(Tensor t, Random? random = null) => KaimingNormal(t, 0, FanMode.FanIn, "linear", random);

    /// <summary>
    /// Truncated normal, like <c>nn.init.trunc_normal_(t, mean=0, std=1, a=-2, b=2)</c>: N(mean, std²)
    /// conditioned on [a, b]. <paramref name="a"/> and <paramref name="b"/> are absolute bounds, not multiples
    /// of std. Sampled as PyTorch does, by the inverse CDF: u ~ U(2Φ(α) − 1, 2Φ(β) − 1) with
    /// α = (a − mean)/std, β = (b − mean)/std, then x = mean + std·√2·erfinv(u), clamped to [a, b].
    /// </summary>
    /// <remarks>Like PyTorch's, the method loses accuracy when the mean is more than 2 std outside [a, b].</remarks>
    /// <exception cref="ArgumentException"><paramref name="std"/> is not positive or <paramref name="a"/> ≥ <paramref name="b"/>.</exception>
    public static void TruncNormal(Tensor t, double mean = 0, double std = 1, double a = -2, double b = 2, Random? random = null)
    {
        if (!(std > 0)) throw new ArgumentException($"trunc_normal_: std must be positive, got {std}");
        if (!(a < b)) throw new ArgumentException($"trunc_normal_: the lower cutoff a = {a} must be below the upper cutoff b = {b}");
        double low = 2 * SpecialFunctions.NormalCdf((a - mean) / std) - 1;
        double high = 2 * SpecialFunctions.NormalCdf((b - mean) / std) - 1;
        var r = random ?? Rng.Default;
        var d = t.Data;
        for (int i = 0; i < d.Length; i++)
        {
            double u = low + (high - low) * r.NextDouble();
            double x = mean + std * Math.Sqrt(2.0) * SpecialFunctions.Erfinv(u);
            d[i] = (float)Math.Clamp(x, a, b);
        }
    }

    /// <summary>
    /// PyTorch's default for <c>nn.Linear</c> and <c>nn.Conv2d</c>: weight kaiming-uniform with a = √5, which is
    /// U(−1/√fan_in, 1/√fan_in), then bias U(−1/√fan_in, 1/√fan_in) (bound 0 when fan_in is 0).
    /// </summary>
    public static void TorchDefault(Tensor weight, Tensor? bias, Random? random = null)
    {
        KaimingUniform(weight, Math.Sqrt(5), FanMode.FanIn, "leaky_relu", random);
        if (bias is null) return;
        var (fanIn, _) = Fans(weight);
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        Uniform(bias, -bound, bound, random);
    }

    /// <summary>The bound <see cref="XavierUniform"/> uses: gain·√(6/(fan_in + fan_out)).</summary>
    public static double XavierUniformBound(Tensor t, double gain = 1)
    {
        var (fanIn, fanOut) = Fans(t);
        return gain * Math.Sqrt(6.0 / (fanIn + fanOut));
    }

    /// <summary>The standard deviation <see cref="XavierNormal"/> uses: gain·√(2/(fan_in + fan_out)).</summary>
    public static double XavierNormalStd(Tensor t, double gain = 1)
    {
        var (fanIn, fanOut) = Fans(t);
        return gain * Math.Sqrt(2.0 / (fanIn + fanOut));
    }

    /// <summary>
    /// The standard deviation <see cref="KaimingNormal"/> uses, gain/√fan; <see cref="KaimingUniform"/> draws
    /// from U(−√3·std, √3·std), which has this standard deviation.
    /// </summary>
    public static double KaimingStd(Tensor t, double a = 0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu")
    {
        var (fanIn, fanOut) = Fans(t);
        double gain = CalculateGain(nonlinearity, a);
        return gain / Math.Sqrt(mode == FanMode.FanIn ? fanIn : fanOut);
    }
}
