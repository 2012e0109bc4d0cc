namespace Descent.Tuning;

/// <summary>
/// The Tree-structured Parzen Estimator (Bergstra et al. 2011), Optuna's default <c>TPESampler</c> in its univariate form.
/// The first <paramref name="startupTrials"/> trials are drawn at random. After that, for each parameter, the study's
/// complete and pruned trials are ranked (complete ones by value, pruned ones after them by how far they got) and split
/// into the best γ(n) = min(⌈0.1·n⌉, 25) and the rest; a Parzen estimator (a mixture of truncated Gaussians, one per
/// trial plus a broad prior, in log space for log ranges; smoothed counts for categoricals) is fitted to each group,
/// <paramref name="eiCandidates"/> candidates are drawn from the good group's l(x), and the one maximizing
/// log l(x) − log g(x) — the expected improvement — is taken.
/// </summary>
/// <param name="seed">Seeds this sampler's draws; null draws a fresh seed.</param>
/// <param name="startupTrials">Complete or pruned trials drawn at random before TPE takes over (Optuna's <c>n_startup_trials</c>).</param>
/// <param name="eiCandidates">Candidates drawn from l(x) per parameter (Optuna's <c>n_ei_candidates</c>).</param>
public sealed class TpeSampler(int? seed = null, int startupTrials = 10, int eiCandidates = 24) : ISampler
{
    private readonly Random random = seed is int s ? new Random(s) : new Random();
    private readonly int startupTrials = startupTrials >= 0 ? startupTrials
        : throw new ArgumentException($"startupTrials must be at least 0, got {startupTrials}");
    private readonly int eiCandidates = eiCandidates >= 1 ? eiCandidates
        : throw new ArgumentException($"eiCandidates must be at least 1, got {eiCandidates}");

    /// <summary>Optuna's default γ: how many of <paramref name="n"/> ranked trials form the good group.</summary>
    public static int Gamma(int n) => Math.Min((int)Math.Ceiling(0.1 * n), 25);

    /// <inheritdoc/>
    public object Sample(Trial trial, string name, Distribution distribution)
    {
        var history = trial.History;
        lock (random)
        {
            // A range of one value has nothing to learn (and a kernel of zero width).
            bool single = distribution is FloatDistribution { Low: var fl, High: var fh } && fl == fh
                || distribution is IntDistribution { Low: var il, High: var ih } && il == ih
                || distribution is CategoricalDistribution { Choices.Count: 1 };
            if (single || history.Count < startupTrials) return RandomSampler.Uniform(random, distribution);

            // Rank as Optuna does: complete trials first by value (in the minimizing sign), then pruned ones by the
            // last step they reached (further is better) and the value there; NaN is worst.
            double sign = trial.Study.Direction == StudyDirection.Minimize ? 1 : -1;
            var ranked = history
                .Select((t, index) => (Index: index, Key: RankKey(t, sign)))
                .OrderBy(r => r.Key.Step).ThenBy(r => r.Key.Value).ThenBy(r => r.Index)
                .ToList();
            int good = Gamma(history.Count);
            var goodIndices = ranked.Take(good).Select(r => r.Index).Order().ToList();
            var badIndices = ranked.Skip(good).Select(r => r.Index).Order().ToList();

            double[] Observations(List<int> indices) => indices
                .Select(i => history[i])
                .Where(t => t.Params.TryGetValue(name, out var v) && distribution.Contains(v))
                .Select(t => distribution.ToInternal(t.Params[name]))
                .ToArray();

            var below = new ParzenEstimator(Observations(goodIndices), distribution);
            var above = new ParzenEstimator(Observations(badIndices), distribution);
            double bestScore = double.NegativeInfinity, best = double.NaN;
            for (int c = 0; c < eiCandidates; c++)
            {
                double candidate = below.Sample(random);
                double score = below.LogPdf(candidate) - above.LogPdf(candidate);
                if (double.IsNaN(best) || score > bestScore) (best, bestScore) = (candidate, score);
            }
            return distribution.FromInternal(best);
        }
    }

    private static (double Step, double Value) RankKey(FrozenTrial trial, double sign)
    {
        if (trial.State == TrialState.Complete) return (double.NegativeInfinity, sign * trial.Value!.Value);
        if (trial.LastStep is not int step) return (double.PositiveInfinity, 0);
        double value = trial.IntermediateValues[step];
        return (-step, double.IsNaN(value) ? double.PositiveInfinity : sign * value);
    }
}
