using Descent.Data;
using Descent.Training;

namespace Descent.Lab.Doctor;

/// <summary>
/// <c>labels-not-learnable</c>, the lectures' "is the input connected to the output": two fresh models train for the
/// same <see cref="Steps"/> steps at the range test's suggested learning rate (the given one when the test is inconclusive), one on the real labels and one on randomly permuted labels, and are scored on
/// held-out samples (validation and test) with their real labels. When the real labels do no better than permuted ones, what the model sees
/// does not predict what it must output.
/// </summary>
internal static class LearnabilityCheck
{
    public const int Steps = 150;
    public const int MaxTrainSamples = 5_000;
    public const int MaxHeldOut = 2_000;

    /// <summary>Runs the check; with <paramref name="lr"/> (the range test's suggestion) both models train at that rate, so that a badly chosen learning rate does not pass for unlearnable labels.</summary>
    public static IEnumerable<Finding> Run(DoctorSetup setup, double? lr)
    {
        if (setup.Data.Train.Count < 10) yield break;
        var train = Doctor.Materialize(setup.Data.Train, MaxTrainSamples, setup.Seed + 4);
        // Validation and test together: the more held-out samples, the smaller the gap that chance can open.
        var heldOut = Doctor.Materialize(setup.Data.Test, MaxHeldOut, setup.Seed + 5);
        if (setup.Data.Validation is { Count: > 0 } validation) heldOut = Concat(Doctor.Materialize(validation, MaxHeldOut, setup.Seed + 5), heldOut);
        if (heldOut.Count == 0) yield break;
        bool classification = train.Task == TaskKind.Classification;
        var order = Enumerable.Range(0, train.Count).ToArray();
        new Random(setup.Seed + 6).Shuffle(order);
        InMemoryDataset permuted = classification
            ? new InMemoryDataset(train.Features, order.Select(i => train.Labels[i]).ToArray(), [.. train.SampleShape], (int?)train.NumClasses)
            : new InMemoryDataset(train.Features, order.SelectMany(i => train.Targets.Skip(i * train.TargetSize).Take(train.TargetSize)).ToArray(), [.. train.SampleShape], train.TargetSize);
        var real = Score(setup, lr, train, heldOut);
        var shuffled = Score(setup, lr, permuted, heldOut);
        // Classification: accuracy must beat the permuted labels' (or chance, 1/C, if higher) by a tenth of the errors they leave (at least 5
        // points) and by three standard errors of an accuracy near chance on this many samples; regression: the loss
        // must be 10 % lower. A model that memorizes noise can land a few points above chance by luck.
        double chance = Math.Max(shuffled.Accuracy, 1.0 / Math.Max(train.NumClasses, 2));
        double margin = Math.Max(Math.Max(0.05, 0.1 * (1 - chance)), 3 * Math.Sqrt(chance * (1 - chance) / heldOut.Count));
        bool learnable = classification ? real.Accuracy > chance + margin : real.Loss < 0.9 * shuffled.Loss;
        if (learnable) yield break;
        yield return new Finding("labels-not-learnable", Severity.Error,
            classification
                ? $"After {Steps} steps the model scores {Doctor.Number(100 * real.Accuracy)} % on held-out samples with the real labels and {Doctor.Number(100 * shuffled.Accuracy)} % with permuted labels: the inputs do not predict the labels."
                : $"After {Steps} steps the held-out loss is {Doctor.Number(real.Loss)} with the real targets and {Doctor.Number(shuffled.Loss)} with permuted targets: the inputs do not predict the targets.",
            new Dictionary<string, object?>
            {
                ["steps"] = Steps, ["held_out_samples"] = heldOut.Count,
                ["real_accuracy"] = classification ? Doctor.Round(real.Accuracy) : null, ["permuted_accuracy"] = classification ? Doctor.Round(shuffled.Accuracy) : null,
                ["real_loss"] = Doctor.Round(real.Loss), ["permuted_loss"] = Doctor.Round(shuffled.Loss),
            },
            "Check that inputs and labels stay paired through loading, sorting and splitting (the right target column, the same row order), and that the labels are not noise.");
    }

    private static InMemoryDataset Concat(InMemoryDataset a, InMemoryDataset b) => a.Task == TaskKind.Classification
        ? new InMemoryDataset([.. a.Features, .. b.Features], a.Labels.Concat(b.Labels).ToArray(), [.. a.SampleShape], (int?)a.NumClasses)
        : new InMemoryDataset([.. a.Features, .. b.Features], a.Targets.Concat(b.Targets).ToArray(), [.. a.SampleShape], a.TargetSize);

    private static Evaluation Score(DoctorSetup setup, double? lr, InMemoryDataset train, Dataset heldOut)
    {
        var model = setup.Model();
        var optimizer = setup.Optimizer(model);
        if (lr is { } rate) foreach (var options in optimizer.GroupOptions) options.Lr = rate;
        var trainer = new Trainer(model, optimizer) { StopOnNonFiniteLoss = false };
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
