using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Lab.Doctor;

/// <summary>
/// What <see cref="Doctor.Examine"/> examines: the data, and how training would build its model and optimizer. The
/// builders are called once per check, so each check starts from the same freshly initialized model.
/// </summary>
public sealed class DoctorSetup
{
    /// <summary>The splits as training would see them (after standardization).</summary>
    public required PreparedData Data { get; init; }

    /// <summary>Builds the model, initialized as training would; must give the same weights on every call (seed it).</summary>
    public required Func<Module> Model { get; init; }

    /// <summary>Builds the optimizer over a model, with the learning rate and hyperparameters training would use.</summary>
    public required Func<Module, Optimizer> Optimizer { get; init; }

    /// <summary>Mini-batch size of training.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Whether training shuffles the samples every epoch (the loader's <c>shuffle</c>).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the loader's shuffling and of the examination's own sampling.</summary>
    public int Seed { get; init; }

    /// <summary>Wall-clock budget in seconds: checks that would start after it are skipped (reported in <see cref="DoctorReport.Skipped"/>). Null: no limit.</summary>
    public double? BudgetSeconds { get; init; }
}
