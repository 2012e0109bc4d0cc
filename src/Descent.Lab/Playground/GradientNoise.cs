namespace Descent.Lab.Playground;

/// <summary>
/// Seeded Gaussian noise added to the exact gradient, g̃ = ∇f + σξ with ξ ~ N(0, I): what a mini-batch gradient
/// looks like next to the full-batch one. The same seed gives the same noise sequence on every run.
/// </summary>
public sealed class GradientNoise
{
    private readonly Random _random;

    /// <summary>Noise of standard deviation <paramref name="sigma"/> per coordinate, from a generator seeded with <paramref name="seed"/>.</summary>
    public GradientNoise(double sigma, int seed)
    {
        if (!(sigma >= 0) || !double.IsFinite(sigma)) throw new ArgumentOutOfRangeException(nameof(sigma), $"the noise's standard deviation must be a finite number ≥ 0, got {sigma}");
        Sigma = sigma;
        _random = new Random(seed);
    }

    /// <summary>The standard deviation σ per coordinate.</summary>
    public double Sigma { get; }

    /// <summary><paramref name="gradient"/> plus a fresh draw of σξ.</summary>
    public Vec2 Perturb(Vec2 gradient) =>
        Sigma == 0 ? gradient : new(gradient.X + Sigma * _random.NextGaussian(), gradient.Y + Sigma * _random.NextGaussian());
}
