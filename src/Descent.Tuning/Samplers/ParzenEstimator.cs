namespace Descent.Tuning;

/// <summary>
/// One parameter's Parzen estimator in TPE, following Optuna's rules (prior weight 1, magic clip, no endpoint
/// widening): for a numeric range a mixture of Gaussians truncated to the range, one per observation plus a prior
/// centred in the range with the range's width as σ; each observation's σ is the larger gap to its neighbours
/// (observations, prior and the range ends, sorted), clipped to [range/min(100, 1 + kernels), range]. Log ranges work
/// on log values; integers and stepped floats are discrete: the range widens by half a step each side, and a value's
/// probability is the kernel mass of its step. A categorical's kernels are smoothed one-hot counts, prior weight spread
/// over the choices, plus a uniform prior. Kernel weights are Optuna's: 1 each up to 25 observations, older ones ramped
/// down beyond that, and the prior 1.
/// </summary>
internal sealed class ParzenEstimator
{
    private const double PriorWeight = 1.0;
    private readonly double[] weights;
    // Numeric: kernel means, widths and the kernel-space bounds; Categorical: one probability row per kernel.
    private readonly double[] mus = [], sigmas = [];
    private readonly double low, high;
    private readonly double[][] rows = [];
    private readonly Distribution distribution;

    public ParzenEstimator(double[] observations, Distribution distribution)
    {
        this.distribution = distribution;
        weights = [.. ObservationWeights(observations.Length), PriorWeight];
        double total = weights.Sum();
        for (int i = 0; i < weights.Length; i++) weights[i] /= total;

        if (distribution is CategoricalDistribution categorical)
        {
            int choices = categorical.Choices.Count, kernels = observations.Length + 1;
            rows = new double[kernels][];
            for (int k = 0; k < kernels; k++)
            {
                var row = Enumerable.Repeat(PriorWeight / kernels, choices).ToArray();
                if (k < observations.Length) row[(int)observations[k]] += 1;
                double sum = row.Sum();
                rows[k] = row.Select(p => p / sum).ToArray();
            }
            return;
        }

        (low, high) = KernelBounds(distribution);
        var points = observations.Select(ToKernelSpace).ToArray();
        double prior = 0.5 * (low + high);
        mus = [.. points, prior];
        sigmas = [.. Bandwidths(points, prior), high - low];
    }

    /// <summary>A draw from the mixture, as the distribution's internal value (a category's index for categoricals).</summary>
    public double Sample(Random random)
    {
        int k = Pick(weights, random);
        if (distribution is CategoricalDistribution) return Pick(rows[k], random);
        double u = TruncatedNormal(random, mus[k], sigmas[k], low, high);
        return distribution switch
        {
            FloatDistribution { Log: true } f => Math.Clamp(Math.Exp(u), f.Low, f.High),
            FloatDistribution { Step: double step } f => Math.Clamp(f.Low + Math.Round((u - f.Low) / step) * step, f.Low, f.High),
            FloatDistribution f => Math.Clamp(u, f.Low, f.High),
            IntDistribution i => Math.Clamp(Math.Round(i.Log ? Math.Exp(u) : u), i.Low, i.High),
            _ => throw new InvalidOperationException(),
        };
    }

    /// <summary>The log density (log probability for discrete ranges) of the mixture at internal value <paramref name="x"/>.</summary>
    public double LogPdf(double x)
    {
        var terms = new double[weights.Length];
        for (int k = 0; k < weights.Length; k++)
        {
            double log;
            if (distribution is CategoricalDistribution) log = Math.Log(rows[k][(int)x]);
            else if (HalfStep(distribution) is double half)
                log = LogMass(mus[k], sigmas[k], ToKernelSpace(x - half), ToKernelSpace(x + half)) - LogMass(mus[k], sigmas[k], low, high);
            else
            {
                double z = (ToKernelSpace(x) - mus[k]) / sigmas[k];
                log = -0.5 * z * z - Math.Log(sigmas[k] * Math.Sqrt(2 * Math.PI)) - LogMass(mus[k], sigmas[k], low, high);
            }
            terms[k] = Math.Log(weights[k]) + log;
        }
        double max = terms.Max();
        return double.IsNegativeInfinity(max) ? max : max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
    }

    /// <summary>Optuna's <c>default_weights</c>: 1 each up to 25 observations; beyond, the oldest ramp up linearly from 1/n.</summary>
    internal static double[] ObservationWeights(int n)
    {
        if (n < 25) return Enumerable.Repeat(1.0, n).ToArray();
        int ramp = n - 25;
        var w = new double[n];
        for (int i = 0; i < ramp; i++) w[i] = ramp == 1 ? 1.0 / n : 1.0 / n + (1 - 1.0 / n) * i / (ramp - 1);
        for (int i = ramp; i < n; i++) w[i] = 1;
        return w;
    }

    private double[] Bandwidths(double[] points, double prior)
    {
        // Sort observations with the prior, bracket them by the range ends, and take the larger neighbour gap.
        double[] withPrior = [.. points, prior];
        int[] order = Enumerable.Range(0, withPrior.Length).OrderBy(i => withPrior[i]).ToArray();
        double[] bracketed = [low, .. order.Select(i => withPrior[i]), high];
        var sorted = new double[withPrior.Length];
        for (int j = 0; j < sorted.Length; j++)
            sorted[j] = Math.Max(bracketed[j + 1] - bracketed[j], bracketed[j + 2] - bracketed[j + 1]);
        if (bracketed.Length >= 4)
        {
            // Without endpoint widening the outermost kernels take their inner gap only.
            sorted[0] = bracketed[2] - bracketed[1];
            sorted[^1] = bracketed[^2] - bracketed[^3];
        }
        var sigma = new double[withPrior.Length];
        for (int j = 0; j < order.Length; j++) sigma[order[j]] = sorted[j];
        double max = high - low, min = (high - low) / Math.Min(100.0, 1.0 + points.Length + 1);
        return sigma.Take(points.Length).Select(s => Math.Clamp(s, min, max)).ToArray();
    }

    private static (double Low, double High) KernelBounds(Distribution distribution) => distribution switch
    {
        FloatDistribution { Log: true } f => (Math.Log(f.Low), Math.Log(f.High)),
        FloatDistribution { Step: double step } f => (f.Low - step / 2, f.High + step / 2),
        FloatDistribution f => (f.Low, f.High),
        IntDistribution { Log: true } i => (Math.Log(i.Low - 0.5), Math.Log(i.High + 0.5)),
        IntDistribution i => (i.Low - 0.5, i.High + 0.5),
        _ => throw new InvalidOperationException(),
    };

    private static double? HalfStep(Distribution distribution) => distribution switch
    {
        FloatDistribution { Step: double step } => step / 2,
        IntDistribution => 0.5,
        _ => null,
    };

    private double ToKernelSpace(double x) => distribution is FloatDistribution { Log: true } or IntDistribution { Log: true } ? Math.Log(x) : x;

    private static int Pick(double[] probabilities, Random random)
    {
        double u = random.NextDouble(), cumulative = 0;
        for (int i = 0; i < probabilities.Length; i++)
            if ((cumulative += probabilities[i]) > u) return i;
        return probabilities.Length - 1;
    }

    /// <summary>A normal draw restricted to [a, b] by rejection: μ lies in [a, b] and σ ≤ b − a, so at least a third of draws land.</summary>
    private static double TruncatedNormal(Random random, double mu, double sigma, double a, double b)
    {
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            double x = mu + sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            if (x >= a && x <= b) return x;
        }
        return Math.Clamp(mu, a, b);
    }

    /// <summary>log P(a ≤ X ≤ b) for X ~ N(μ, σ²), computed on the side of the mean where it does not cancel.</summary>
    internal static double LogMass(double mu, double sigma, double a, double b)
    {
        double za = (a - mu) / sigma, zb = (b - mu) / sigma;
        double mass = za >= 0 ? UpperTail(za) - UpperTail(zb)
            : zb <= 0 ? UpperTail(-zb) - UpperTail(-za)
            : 1 - UpperTail(-za) - UpperTail(zb);
        return Math.Log(Math.Max(mass, 1e-300));
    }

    /// <summary>P(Z &gt; z) for a standard normal, via erfc.</summary>
    private static double UpperTail(double z) => 0.5 * Erfc(z / Math.Sqrt(2));

    /// <summary>The complementary error function, to a relative error below 1.2e-7 (Numerical Recipes' Chebyshev fit).</summary>
    internal static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
