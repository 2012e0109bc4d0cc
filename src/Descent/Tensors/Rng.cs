namespace Descent;

/// <summary>
/// The default random generator for initialization and dropout, like <c>torch.manual_seed</c>: seed it once
/// and every model built afterwards gets the same weights. Streams differ from PyTorch's bit for bit; the
/// distributions are the same.
/// </summary>
/// <remarks>
/// Unlike PyTorch's process-wide generator, each thread has its own, seeded with 0 until
/// <see cref="ManualSeed"/> is called on it: two models built or trained at the same time on different
/// threads (parallel experiments, a test runner) would otherwise draw from each other's stream, and neither
/// would be reproducible. <see cref="Random"/> is not thread-safe either, so sharing one could corrupt it.
/// </remarks>
public static class Rng
{
    [ThreadStatic]
    private static StatefulRandom? _perThread;

    /// <summary>Reseeds the calling thread's default generator (the same stream as <c>new Random(seed)</c>).</summary>
    public static void ManualSeed(int seed) => _perThread = new StatefulRandom(seed);

    /// <summary>The calling thread's default generator.</summary>
    public static Random Default => _perThread ??= new StatefulRandom(0);

    /// <summary>A copy of the calling thread's generator state, like <c>torch.get_rng_state()</c>.</summary>
    public static RngState GetState() => ((StatefulRandom)Default).State;

    /// <summary>Makes the calling thread's generator continue from <paramref name="state"/>, like <c>torch.set_rng_state</c>.</summary>
    public static void SetState(RngState state) => _perThread = new StatefulRandom(state);

    /// <summary>A standard normal sample (Box–Muller).</summary>
    public static double NextGaussian(this Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
