using Descent.Data;
using Descent.Training;

namespace Descent.Lab.Doctor;

/// <summary>
/// <c>labels-not-learnable</c>, the lectures' "is the input connected to the output": two fresh models train for the
/// same <see cref="Steps"/> steps, one on the real labels and one on randomly permuted labels, and are scored on
/// held-out samples with their real labels. When the real labels do no better than permuted ones, what the model sees
/// does not predict what it must output.
/// </summary>
internal static class LearnabilityCheck
{
    public const int Steps = 150;
    public const int MaxTrainSamples = 5_000;
    public const int MaxHeldOut = 2_000;

    public static IEnumerable<Finding> Run(DoctorSetup setup)
    {
        var held = setup.Data.Validation is { Count: > 0 } v ? v : setup.Data.Test;
        if (held.Count == 0 || setup.Data.Train.Count < 10) yield break;
        var train = Doctor.Materialize(setup.Data.Train, MaxTrainSamples, setup.Seed + 4);
        var heldOut = Doctor.Materialize(held, MaxHeldOut, setup.Seed + 5);
        bool classification = train.Task == TaskKind.Classification;
        var order = Enumerable.Range(0, train.Count).ToArray();
        new Random(setup.Seed + 6).Shuffle(order);
        InMemoryDataset permuted = classification
            ? new InMemoryDataset(train.Features, order.Select(i => train.Labels[i]).ToArray(), [.. train.SampleShape], (int?)train.NumClasses)
            : new InMemoryDataset(train.Features, order.SelectMany(i => train.Targets.Skip(i * train.TargetSize).Take(train.TargetSize)).ToArray(), [.. train.SampleShape], train.TargetSize);
        var real = Score(setup, train, heldOut);
        var shuffled = Score(setup, permuted, heldOut);
        // Classification: accuracy must beat the permuted labels' by 5 points; regression: the loss must be 10 % lower.
        bool learnable = classification ? real.Accuracy > shuffled.Accuracy + 0.05 : real.Loss < 0.9 * shuffled.Loss;
        if (learnable) yield break;
        yield return new Finding("labels-not-learnable", Severity.Error,
            classification
                ? $"After {Steps} steps the model scores {Doctor.F(100 * real.Accuracy)} % on held-out samples with the real labels and {Doctor.F(100 * shuffled.Accuracy)} % with permuted labels: the inputs do not predict the labels."
                : $"After {Steps} steps the held-out loss is {Doctor.F(real.Loss)} with the real targets and {Doctor.F(shuffled.Loss)} with permuted targets: the inputs do not predict the targets.",
            new Dictionary<string, object?>
            {
                ["steps"] = Steps, ["held_out_samples"] = heldOut.Count,
                ["real_accuracy"] = classification ? Doctor.Round(real.Accuracy) : null, ["permuted_accuracy"] = classification ? Doctor.Round(shuffled.Accuracy) : null,
                ["real_loss"] = Doctor.Round(real.Loss), ["permuted_loss"] = Doctor.Round(shuffled.Loss),
            },
            "Check that inputs and labels stay paired through loading, sorting and splitting (the right target column, the same row order), and that the labels are not noise.");
    }

    private static Evaluation Score(DoctorSetup setup, InMemoryDataset train, Dataset heldOut)
    {
        var model = setup.Model();
        var trainer = new Trainer(model, setup.Optimizer(model)) { StopOnNonFiniteLoss = false };
        var loader = new DataLoader(train, setup.BatchSize, shuffle: true, seed: setup.Seed + 7);
        int step = 0;
        for (int epoch = 1; step < Steps; epoch++)
            foreach (var batch in loader.Epoch(epoch))
            {
                if (step++ == Steps) break;
                trainer.TrainStep(batch.X, batch.Target);
            }
        return trainer.Evaluate(heldOut);
    }
}
