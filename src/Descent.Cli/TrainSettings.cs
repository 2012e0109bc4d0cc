using Descent.Nn;
using Descent.Training;

namespace Descent.Cli;

/// <summary>The model and data choices shared by <c>train</c> and <c>compare</c>.</summary>
internal sealed class TrainSettings
{
    public string Dataset { get; init; } = "digits";
    public string? DataDir { get; init; }
    public string Model { get; init; } = "mlp";
    public int[] Hidden { get; init; } = [256, 128];
    public string Activation { get; init; } = "relu";
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 32;
    public int Seed { get; init; }
    public double ValFraction { get; init; } = 0.1;

    public void Validate()
    {
        if (Epochs < 1) throw new UsageException($"--epochs must be a positive integer, got {Epochs}");
        if (BatchSize < 1) throw new UsageException($"--batch-size must be a positive integer, got {BatchSize}");
        if (!(ValFraction >= 0 && ValFraction < 1)) throw new UsageException($"--val-fraction must be in [0, 1), got {ValFraction}");
        if (!Activations.Names.Contains(Activation.ToLowerInvariant()))
            throw new UsageException($"--activation '{Activation}' is unknown (expected one of: {string.Join(", ", Activations.Names)})");
    }

    public Sequential BuildModel(PreparedData data)
    {
        Rng.ManualSeed(Seed);
        var shape = data.Train.SampleShape;
        return Model == "cnn"
            ? Models.Cnn(shape[0], shape[1], shape[2], data.NumClasses, Activation)
            : Models.Mlp(data.Train.SampleShape.Aggregate(1, (a, b) => a * b), Hidden, data.NumClasses, Activation);
    }
}
