using Descent.Tuning;

namespace Descent.Tests.Tuning;

public class PrunerTests
{
    /// <summary>A complete trial of <paramref name="study"/> with the given intermediate values at steps 0, 1, ….</summary>
    private static void Complete(Study study, params double[] curve)
    {
        var trial = study.Ask();
        for (int step = 0; step < curve.Length; step++) trial.Report(curve[step], step);
        study.Tell(trial, curve[^1]);
    }

    /// <summary>Whether a new trial reporting <paramref name="curve"/> is pruned after its last report.</summary>
    private static bool PrunedAfter(Study study, params double[] curve)
    {
        var trial = study.Ask();
        for (int step = 0; step < curve.Length; step++) trial.Report(curve[step], step);
        bool prune = trial.ShouldPrune();
        study.Tell(trial, TrialState.Pruned);
        return prune;
    }

    private static Study NewStudy(IPruner pruner, StudyDirection direction = StudyDirection.Minimize) =>
        Study.Create("s", StudyStorage.Open("memory"), direction, new RandomSampler(0), pruner);

    [Fact]
    public void Median_prunes_a_trial_worse_than_the_median_at_its_step_and_keeps_a_better_one()
    {
        var study = NewStudy(new MedianPruner(startupTrials: 3));
        // At step 1 the complete trials stand at 1, 2 and 4: the median is 2.
        Complete(study, 5, 1);
        Complete(study, 5, 2);
        Complete(study, 5, 4);
        Assert.True(PrunedAfter(study, 5, 3));
        Assert.False(PrunedAfter(study, 5, 1.5));
        // The trial's best so far counts: 1 at step 0 beats the median at step 1 even though step 1 is worse.
        Assert.False(PrunedAfter(study, 1, 3));
        // A fourth complete trial at 8: the median of 1, 2, 4, 8 is 3.
        Complete(study, 5, 8);
        Assert.False(PrunedAfter(study, 5, 2.9));
        Assert.True(PrunedAfter(study, 5, 3.1));
    }

    [Fact]
    public void Median_waits_for_its_startup_trials_and_warmup_steps()
    {
        var few = NewStudy(new MedianPruner(startupTrials: 4));
        Complete(few, 5, 1);
        Complete(few, 5, 2);
        Complete(few, 5, 4);
        Assert.False(PrunedAfter(few, 5, 100));

        var warm = NewStudy(new MedianPruner(startupTrials: 1, warmupSteps: 2));
        Complete(warm, 1, 1, 1);
        Assert.False(PrunedAfter(warm, 100, 100));
        Assert.True(PrunedAfter(warm, 100, 100, 100));
    }

    [Fact]
    public void Median_for_a_maximized_metric_prunes_below_the_median()
    {
        var study = NewStudy(new MedianPruner(startupTrials: 1), StudyDirection.Maximize);
        Complete(study, 0.6);
        Complete(study, 0.8);
        Complete(study, 0.9);
        Assert.True(PrunedAfter(study, 0.7));
        Assert.False(PrunedAfter(study, 0.85));
    }

    [Fact]
    public void Successive_halving_promotes_the_top_fraction_of_each_rung_by_hand()
    {
        // η = 2, min resource 1: rungs at steps 1, 2, 4, …. A trial reaching a rung records its value there and is
        // promoted if it is within the best ⌊n/2⌋ (at least 1) of the n values recorded at that rung so far.
        var study = NewStudy(new SuccessiveHalvingPruner(minResource: 1, reductionFactor: 2));
        Assert.False(PrunedAfter(study, 9, 0.5));   // rung 0: [0.5] → best 1 → 0.5 ≤ 0.5, promoted
        Assert.True(PrunedAfter(study, 9, 0.8));    // [0.5 0.8] → best 1 → 0.8 > 0.5, pruned
        Assert.False(PrunedAfter(study, 9, 0.3));   // [0.3 0.5 0.8] → best 1 → promoted
        Assert.False(PrunedAfter(study, 9, 0.4));   // [0.3 0.4 0.5 0.8] → best 2 → 0.4 ≤ 0.4, promoted
        Assert.True(PrunedAfter(study, 9, 0.45));   // [0.3 0.4 0.45 0.5 0.8] → best 2 → 0.45 > 0.4, pruned
        // Step 0 is before the first rung: never pruned there.
        Assert.False(PrunedAfter(study, 100));
    }

    [Fact]
    public void Successive_halving_passes_every_rung_a_trial_has_reached_and_remembers_them()
    {
        var study = NewStudy(new SuccessiveHalvingPruner(minResource: 1, reductionFactor: 2));
        var first = study.Ask();
        first.Report(0.5, 4);
        Assert.False(first.ShouldPrune());
        study.Tell(first, 0.5);
        // Rungs at steps 1, 2 and 4 were all reached at step 4, and each holds the value reported there.
        Assert.Equal(["completed_rung_0", "completed_rung_1", "completed_rung_2"], study.Trials[0].SystemAttrs.Keys.Order());
        var second = study.Ask();
        second.Report(0.4, 1);
        Assert.False(second.ShouldPrune());          // rung 0: [0.4 0.5] → 0.4 best, promoted
        second.Report(0.6, 2);
        Assert.True(second.ShouldPrune());           // rung 1: [0.5 0.6] → 0.6 not best, pruned
        Assert.Equal(["completed_rung_0", "completed_rung_1"], second.SystemAttrs.Keys.Order());
    }

    [Fact]
    public void Pruned_trials_end_as_pruned_through_optimize()
    {
        var study = NewStudy(new MedianPruner(startupTrials: 2));
        study.Optimize(t =>
        {
            double x = t.Number < 2 ? 1 : t.Number;   // the first two set the median at 1; later ones are worse
            for (int step = 0; step < 3; step++)
            {
                t.Report(x, step);
                if (t.ShouldPrune()) throw new TrialPrunedException();
            }
            return x;
        }, 4);
        Assert.Equal([TrialState.Complete, TrialState.Complete, TrialState.Pruned, TrialState.Pruned], study.Trials.Select(t => t.State));
        Assert.Equal([0], study.Trials[2].IntermediateValues.Keys);
    }
}
