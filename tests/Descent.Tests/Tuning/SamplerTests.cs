using Descent.Tuning;
using Xunit.Abstractions;

namespace Descent.Tests.Tuning;

public class SamplerTests(ITestOutputHelper output)
{
    /// <summary>The best value a study reaches in <paramref name="trials"/> trials of <paramref name="objective"/>.</summary>
    private static double BestAfter(ISampler sampler, Func<Trial, double> objective, int trials = 60)
    {
        var study = Study.Create("toy", StudyStorage.Open("memory"), StudyDirection.Minimize, sampler);
        study.Optimize(objective, trials);
        return study.BestValue;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }

    private (double Tpe, double Random) Medians(Func<Trial, double> objective)
    {
        var seeds = Enumerable.Range(0, 10).ToList();
        var result = (Median(seeds.Select(s => BestAfter(new TpeSampler(seed: s), objective))),
                      Median(seeds.Select(s => BestAfter(new RandomSampler(seed: s), objective))));
        output.WriteLine($"median best after 60 trials over 10 seeds: TPE {result.Item1:G3}, random {result.Item2:G3}");
        return result;
    }

    [Fact]
    public void Tpe_finds_the_minimum_of_a_quadratic_faster_than_random_search()
    {
        // Minimum 0 at (1.3, −0.7). 60 trials, the median over 10 seeds of the best value found.
        var (tpe, random) = Medians(t =>
        {
            double x = t.SuggestFloat("x", -5, 5), y = t.SuggestFloat("y", -5, 5);
            return (x - 1.3) * (x - 1.3) + (y + 0.7) * (y + 0.7);
        });
        Assert.True(tpe < 0.5 * random, $"TPE median best {tpe:G3}, random {random:G3}");
        Assert.True(tpe < 0.1, $"TPE median best {tpe:G3}");
    }

    [Fact]
    public void Tpe_finds_the_best_category_and_its_optimum_faster_than_random_search()
    {
        // Each optimizer has its own best x; "b" at x = 3 is the global minimum 0.
        var offsets = new Dictionary<string, double> { ["a"] = 1, ["b"] = 0, ["c"] = 2, ["d"] = 3 };
        var centres = new Dictionary<string, double> { ["a"] = -2, ["b"] = 3, ["c"] = 0, ["d"] = 1 };
        var (tpe, random) = Medians(t =>
        {
            string c = t.SuggestCategorical("c", ["a", "b", "c", "d"]);
            double x = t.SuggestFloat("x", -5, 5);
            return offsets[c] + (x - centres[c]) * (x - centres[c]);
        });
        Assert.True(tpe < 0.5 * random, $"TPE median best {tpe:G3}, random {random:G3}");
        Assert.True(tpe < 0.1, $"TPE median best {tpe:G3}");
    }

    [Fact]
    public void Tpe_draws_at_random_until_its_startup_trials_are_done()
    {
        // Before the startup trials TPE is its random sampler: the same seed gives the same draws.
        var tpe = Study.Create("a", StudyStorage.Open("memory"), StudyDirection.Minimize, new TpeSampler(seed: 3, startupTrials: 5));
        var random = new Random(3);
        for (int i = 0; i < 5; i++)
        {
            var trial = tpe.Ask();
            Assert.Equal(random.NextDouble() * 10 - 5, trial.SuggestFloat("x", -5, 5), 12);
            tpe.Tell(trial, 0);
        }
    }

    [Fact]
    public void Tpe_keeps_every_value_in_range_and_fixed_parameters_fixed()
    {
        var space = SearchSpace.Parse("lr=log:1e-4..1e-1, units=int:log:16..512, k=int:1..4, p=0..1:0.25, o=sgd|adam, seed=7, x=2..2, n=int:3..3");
        var study = Study.Create("ranges", StudyStorage.Open("memory"), StudyDirection.Minimize, new TpeSampler(seed: 1, startupTrials: 3));
        study.Optimize(t =>
        {
            var v = space.Suggest(t);
            Assert.All(space.Parameters, p => Assert.True(p.Value.Contains(v[p.Key]), $"{p.Key}={v[p.Key]}"));
            Assert.Equal(("7", 2.0, 3), ((string)v["seed"], (double)v["x"], (int)v["n"]));
            return Math.Abs(Math.Log10((double)v["lr"]) + 2) + (int)v["k"] + (double)v["p"];
        }, 30);
        Assert.All(study.Trials, t => Assert.Equal(TrialState.Complete, t.State));
    }

    [Fact]
    public void Gamma_and_weights_follow_optuna()
    {
        Assert.Equal([1, 1, 1, 2, 3, 10, 25, 25], new[] { 1, 9, 10, 11, 21, 100, 250, 1000 }.Select(TpeSampler.Gamma));
        Assert.Equal([1, 1, 1], ParzenEstimator.ObservationWeights(3));
        var w = ParzenEstimator.ObservationWeights(28);
        Assert.Equal(1.0 / 28, w[0], 12);
        Assert.Equal(1.0 / 28 + (1 - 1.0 / 28) / 2, w[1], 12);
        Assert.Equal(1.0, w[2], 12);
        Assert.All(w[3..], v => Assert.Equal(1.0, v));
    }

    /// <summary>P(a ≤ X ≤ b), X ~ N(μ, σ²), by Simpson's rule on the density: independent of the estimator's erfc.</summary>
    private static double Mass(double mu, double sigma, double a, double b)
    {
        const int n = 20000;
        double h = (b - a) / n, sum = 0;
        for (int i = 0; i <= n; i++)
        {
            double x = a + i * h, z = (x - mu) / sigma;
            sum += (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2) * Math.Exp(-0.5 * z * z) / (sigma * Math.Sqrt(2 * Math.PI));
        }
        return sum * h / 3;
    }

    [Fact]
    public void A_float_parzen_estimator_is_the_hand_computed_truncated_mixture()
    {
        // Observations 2 and 3 in [0, 10] with the prior at 5: sorted with the ends, 0 | 2 3 5 | 10. The larger gaps give
        // σ = 2 and 2, the outer kernels take their inner gap (1 for x = 2), and the clip to [10/4, 10] lifts both to 2.5.
        // The prior has σ = 10. Weights 1/3 each; every kernel is truncated to [0, 10].
        var estimator = new ParzenEstimator([2, 3], new FloatDistribution(0, 10));
        (double Mu, double Sigma)[] kernels = [(2, 2.5), (3, 2.5), (5, 10)];
        foreach (double x in new[] { 0.5, 4.0, 9.0 })
        {
            double pdf = kernels.Sum(k => Math.Exp(-0.5 * Math.Pow((x - k.Mu) / k.Sigma, 2)) / (k.Sigma * Math.Sqrt(2 * Math.PI))
                / Mass(k.Mu, k.Sigma, 0, 10)) / 3;
            Assert.Equal(Math.Log(pdf), estimator.LogPdf(x), 5);
        }
    }

    [Fact]
    public void An_int_parzen_estimator_gives_each_integer_the_mass_of_its_unit_interval()
    {
        // Observation 2 in 1..5: kernel space [0.5, 5.5], prior at 3. Sorted 0.5 | 2 3 | 5.5: the outer kernels take their
        // inner gap 1, clipped up to 5/3; the prior has σ = 5. Weights 1/2 each.
        var estimator = new ParzenEstimator([2], new IntDistribution(1, 5));
        (double Mu, double Sigma)[] kernels = [(2, 5.0 / 3), (3, 5)];
        double total = 0;
        for (int x = 1; x <= 5; x++)
        {
            double p = kernels.Sum(k => Mass(k.Mu, k.Sigma, x - 0.5, x + 0.5) / Mass(k.Mu, k.Sigma, 0.5, 5.5)) / 2;
            Assert.Equal(Math.Log(p), estimator.LogPdf(x), 5);
            total += Math.Exp(estimator.LogPdf(x));
        }
        Assert.Equal(1, total, 5);
    }

    [Fact]
    public void A_categorical_parzen_estimator_is_smoothed_counts_plus_a_uniform_prior()
    {
        // Observations 0, 0, 2 of three choices: four kernels; an observation's row is 1/4 everywhere plus 1 at its choice
        // (normalized by 1.75), the prior's row is uniform; each kernel weighs 1/4.
        var estimator = new ParzenEstimator([0, 0, 2], new CategoricalDistribution(["a", "b", "c"]));
        double[] expected =
        [
            (2 * 1.25 / 1.75 + 0.25 / 1.75 + 1.0 / 3) / 4,
            (3 * 0.25 / 1.75 + 1.0 / 3) / 4,
            (2 * 0.25 / 1.75 + 1.25 / 1.75 + 1.0 / 3) / 4,
        ];
        for (int c = 0; c < 3; c++) Assert.Equal(Math.Log(expected[c]), estimator.LogPdf(c), 12);
        var random = new Random(1);
        var counts = new int[3];
        for (int i = 0; i < 20000; i++) counts[(int)estimator.Sample(random)]++;
        for (int c = 0; c < 3; c++) Assert.Equal(expected[c], counts[c] / 20000.0, 1);
    }

    [Fact]
    public void A_log_range_is_sampled_evenly_over_its_decades()
    {
        var sampler = new RandomSampler(7);
        var study = Study.Create("log", StudyStorage.Open("memory"), StudyDirection.Minimize, sampler);
        var below = 0;
        for (int i = 0; i < 4000; i++)
        {
            var trial = study.Ask();
            if (trial.SuggestFloat("lr", 1e-4, 1, log: true) < 1e-2) below++;
            study.Tell(trial, 0);
        }
        Assert.InRange(below / 4000.0, 0.45, 0.55);
    }

    [Fact]
    public void A_grid_refuses_a_float_without_a_step()
    {
        var e = Assert.Throws<ArgumentException>(() => new GridSampler(SearchSpace.Parse("lr=log:1e-4..1e-1")));
        Assert.Contains("parameter 'lr': a grid needs every float range to have a step", e.Message);
        Assert.Equal(4 * 3, new GridSampler(SearchSpace.Parse("p=0..0.3:0.1, o=a|b|c")).GridCellCount);
    }

    [Fact]
    public void A_grid_search_stops_when_every_cell_is_taken_and_ask_then_refuses()
    {
        var space = SearchSpace.Parse("o=sgd|adam, k=int:1..3");
        var study = Study.Create("grid", StudyStorage.Open("memory"), StudyDirection.Minimize, new GridSampler(space));
        Assert.Equal(6, study.Optimize(t => { space.Suggest(t); return 0; }, 10));
        Assert.Equal(6, study.Trials.Select(t => $"{t.Params["o"]}{t.Params["k"]}").Distinct().Count());
        Assert.Throws<InvalidOperationException>(() => study.Ask());
        Assert.Throws<ArgumentException>(() =>
            Study.Create("grid2", StudyStorage.Open("memory"), StudyDirection.Minimize, new GridSampler(space)).Ask().SuggestFloat("lr", 0, 1));
    }
}
