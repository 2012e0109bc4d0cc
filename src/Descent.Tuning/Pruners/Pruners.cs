using System.Globalization;

namespace Descent.Tuning;

/// <summary>Decides whether a running trial should stop early, from its intermediate values and the study's other trials (Optuna's <c>BasePruner</c>).</summary>
public interface IPruner
{
    /// <summary>Whether <paramref name="trial"/>, after its latest <see cref="Trial.Report"/>, should be pruned.</summary>
    bool Prune(Study study, Trial trial);
}

/// <summary>Never prunes (Optuna's <c>NopPruner</c>, the default).</summary>
public sealed class NopPruner : IPruner
{
    /// <inheritdoc/>
    public bool Prune(Study study, Trial trial) => false;
}

/// <summary>
/// Median stopping (Optuna's <c>MedianPruner</c>): prunes a trial when its best intermediate value so far is worse than
/// the median of the complete trials' values at the same step. It waits until <paramref name="startupTrials"/> trials
/// are complete, and never prunes before step <paramref name="warmupSteps"/>.
/// </summary>
/// <param name="startupTrials">Complete trials needed before any pruning (Optuna's <c>n_startup_trials</c>).</param>
/// <param name="warmupSteps">Steps of each trial that are never pruned (Optuna's <c>n_warmup_steps</c>).</param>
public sealed class MedianPruner(int startupTrials = 5, int warmupSteps = 0) : IPruner
{
    private readonly int startupTrials = startupTrials >= 0 ? startupTrials
        : throw new ArgumentException($"startupTrials must be at least 0, got {startupTrials}");
    private readonly int warmupSteps = warmupSteps >= 0 ? warmupSteps
        : throw new ArgumentException($"warmupSteps must be at least 0, got {warmupSteps}");

    /// <inheritdoc/>
    public bool Prune(Study study, Trial trial)
    {
        if (trial.IntermediateValues.Count == 0) return false;
        int step = trial.IntermediateValues.Keys.Max();
        if (step < warmupSteps) return false;
        var complete = study.Trials.Where(t => t.State == TrialState.Complete).ToList();
        if (complete.Count == 0 || complete.Count < startupTrials) return false;
        bool maximize = study.Direction == StudyDirection.Maximize;
        var own = trial.IntermediateValues.Values.Where(v => !double.IsNaN(v)).ToList();
        if (own.Count == 0) return true;
        double best = maximize ? own.Max() : own.Min();
        var atStep = complete.Where(t => t.IntermediateValues.ContainsKey(step))
            .Select(t => t.IntermediateValues[step]).Where(v => !double.IsNaN(v)).Order().ToList();
        if (atStep.Count == 0) return false;
        double median = atStep.Count % 2 == 1 ? atStep[atStep.Count / 2] : 0.5 * (atStep[atStep.Count / 2 - 1] + atStep[atStep.Count / 2]);
        return maximize ? best < median : best > median;
    }
}

/// <summary>
/// Asynchronous successive halving (ASHA; Optuna's <c>SuccessiveHalvingPruner</c>). Rung k sits at step
/// minResource·η^(minEarlyStoppingRate + k), η = <paramref name="reductionFactor"/>. When a trial reaches a rung it
/// records its current value there, and goes on only if that value is among the top 1/η of the values recorded at that
/// rung by all trials so far (itself included; at least the best one passes); otherwise it is pruned. No trial waits for
/// others, so workers never idle.
/// </summary>
/// <param name="minResource">Steps before the first rung (Optuna's <c>min_resource</c>).</param>
/// <param name="reductionFactor">η: the fraction 1/η of trials promoted at each rung.</param>
/// <param name="minEarlyStoppingRate">Shifts the first rung to minResource·η^rate.</param>
public sealed class SuccessiveHalvingPruner(int minResource = 1, int reductionFactor = 4, int minEarlyStoppingRate = 0) : IPruner
{
    private readonly int minResource = minResource >= 1 ? minResource
        : throw new ArgumentException($"minResource must be at least 1, got {minResource}");
    private readonly int reductionFactor = reductionFactor >= 2 ? reductionFactor
        : throw new ArgumentException($"reductionFactor must be at least 2, got {reductionFactor}");
    private readonly int minEarlyStoppingRate = minEarlyStoppingRate >= 0 ? minEarlyStoppingRate
        : throw new ArgumentException($"minEarlyStoppingRate must be at least 0, got {minEarlyStoppingRate}");

    private static string RungKey(int rung) => $"completed_rung_{rung}";

    /// <inheritdoc/>
    public bool Prune(Study study, Trial trial)
    {
        if (trial.IntermediateValues.Count == 0) return false;
        int step = trial.IntermediateValues.Keys.Max();
        double value = trial.IntermediateValues[step];
        int rung = 0;
        while (trial.SystemAttrs.ContainsKey(RungKey(rung))) rung++;
        IReadOnlyList<FrozenTrial>? trials = null;
        while (true)
        {
            double promotionStep = minResource * Math.Pow(reductionFactor, minEarlyStoppingRate + rung);
            if (step < promotionStep) return false;
            if (double.IsNaN(value)) return true;
            trials ??= study.Trials;
            string key = RungKey(rung);
            trial.SetSystemAttr(key, value.ToString("R", CultureInfo.InvariantCulture));
            var competing = trials.Where(t => t.Number != trial.Number && t.SystemAttrs.ContainsKey(key))
                .Select(t => double.Parse(t.SystemAttrs[key], CultureInfo.InvariantCulture))
                .Append(value).Order().ToList();
            if (!Promotable(value, competing, study.Direction)) return true;
            rung++;
        }
    }

    /// <summary>Whether <paramref name="value"/> is within the top 1/η of the sorted <paramref name="competing"/> values (at least the best one).</summary>
    private bool Promotable(double value, List<double> competing, StudyDirection direction)
    {
        int index = Math.Max(competing.Count / reductionFactor - 1, 0);
        return direction == StudyDirection.Maximize ? value >= competing[^(index + 1)] : value <= competing[index];
    }
}
