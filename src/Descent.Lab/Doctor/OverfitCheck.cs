using Descent.Autodiff;
using Descent.Data;
using Descent.Training;

namespace Descent.Lab.Doctor;

/// <summary>
/// <c>cannot-overfit</c>: a working model and optimizer drive the loss on a handful of examples to nearly zero. Trains a
/// fresh model on <see cref="Examples"/> training samples (one full batch) for up to <see cref="MaxSteps"/> steps.
/// </summary>
internal static class OverfitCheck
{
    /// <summary>Examples in the batch to memorize.</summary>
    public const int Examples = 8;

    /// <summary>Steps allowed to memorize them.</summary>
    public const int MaxSteps = 300;

    public static IEnumerable<Finding> Run(DoctorSetup setup)
    {
        var train = setup.Data.Train;
        if (train.Count < 2) yield break;
        var model = setup.Model();
        var optimizer = setup.Optimizer(model);
        var trainer = new Trainer(model, optimizer);
        var lossFunction = trainer.LossFor(train);
        var (x, target) = Doctor.SampleBatch(train, Examples, setup.Seed + 2);
        bool classification = train.Task == TaskKind.Classification;
        // "Near zero": a twentieth of chance (ln C), or of what predicting zero scores for regression.
        double chance = classification ? Math.Log(Math.Max(train.NumClasses, 2)) : target.Data.ToArray().Average(v => (double)v * v);
        double goal = 0.05 * chance;
        double best = double.PositiveInfinity, first = double.NaN;
        int steps = 0;
        while (steps < MaxSteps && best > goal)
        {
            float loss = trainer.TrainStep(x, target);
            if (steps++ == 0) first = loss;
            if (!float.IsFinite(loss)) break;
            best = Math.Min(best, loss);
        }
        if (best > goal)
        {
            // Dropout keeps the training loss up; the model in evaluation mode may have memorized the batch all the same.
            model.Eval();
            using (Tape.NoGrad()) best = Math.Min(best, lossFunction(model.Forward(x), target).Item());
            model.Train();
        }
        if (best <= goal) yield break;
        yield return new Finding("cannot-overfit", Severity.Error,
            $"The model cannot memorize {target.Shape[0]} training examples: after {steps} steps the loss is still {Doctor.Number(best)} (started at {Doctor.Number(first)}; goal {Doctor.Number(goal)}).",
            new Dictionary<string, object?> { ["examples"] = target.Shape[0], ["steps"] = steps, ["initial_loss"] = Doctor.Round(first), ["best_loss"] = Doctor.Round(best), ["goal"] = Doctor.Round(goal), ["lr"] = Doctor.Lr(optimizer) },
            "Fix this before anything else: check the initialization (no constant --init), the learning rate (see the range test) and that the labels belong to the inputs; a model that cannot fit 8 examples cannot fit thousands.");
    }
}
