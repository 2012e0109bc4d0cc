namespace Descent;

/// <summary>
/// The default random generator for initialization and dropout, like <c>torch.manual_seed</c>: seed it once
/// and every model built afterwards gets the same weights. Streams differ from PyTorch's bit for bit; the
/// distributions are the same.
/// </summary>
public static class Rng
{
    private static Random _shared = new(0);

    /// <summary>Reseeds the default generator.</summary>
    public static void ManualSeed(int seed) => _shared = new Random(seed);

    /// <summary>The default generator.</summary>
    public static Random Default => _shared;

    /// <summary>A standard normal sample (Box–Muller).</summary>
    public static double NextGaussian(this Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
