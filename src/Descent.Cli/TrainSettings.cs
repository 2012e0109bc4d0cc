using Descent.Init;
using Descent.Nn;
using Descent.Training;

namespace Descent.Cli;

/// <summary>The model and data choices shared by <c>train</c> and <c>compare</c>.</summary>
internal sealed record TrainSettings
{
    public string Dataset { get; init; } = "digits";
    public string? DataDir { get; init; }
    public string Model { get; init; } = "mlp";
    public int[] Hidden { get; init; } = [256, 128];
    public string Activation { get; init; } = "relu";
    public InitSpec Init { get; init; } = InitSpec.TorchDefault;
    public bool BatchNorm { get; init; }
    public double Dropout { get; init; }
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 32;
    public int Seed { get; init; }
    public bool Shuffle { get; init; } = true;
    public double ValFraction { get; init; } = 0.1;

    /// <summary>
    /// The standardization cross-validation refits on each fold's training part (the built-in datasets' own:
    /// per feature for digits, one mean and std for Fashion-MNIST), so no statistic comes from the fold's validation part.
    /// </summary>
    public Data.PreprocessingOptions FoldPreprocessing => new() { Mode = Dataset == "digits" ? Data.StandardizationMode.PerFeature : Data.StandardizationMode.Global };

    public void Validate()
    {
        if (Epochs < 1) throw new UsageException($"--epochs must be a positive integer, got {Epochs}");
        if (BatchSize < 1) throw new UsageException($"--batch-size must be a positive integer, got {BatchSize}");
        if (!(ValFraction >= 0 && ValFraction < 1)) throw new UsageException($"--val-fraction must be in [0, 1), got {ValFraction}");
        if (!Activations.Names.Contains(Activation.ToLowerInvariant()))
            throw new UsageException($"--activation '{Activation}' is unknown (expected one of: {string.Join(", ", Activations.Names)})");
        try
        {
            _ = new Dropout(Dropout);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--dropout: {e.Message}");
        }
    }

    /// <summary>
    /// The model with PyTorch's default initialization drawn from the seed, then <see cref="Init"/> applied to
    /// every Linear/Conv2d (nothing more to do for torch-default, so those runs keep their weights).
    /// </summary>
    public Sequential BuildModel(PreparedData data)
    {
        if (BatchNorm) CheckBatchesForBatchNorm(data.Train.Count);
        Rng.ManualSeed(Seed);
        var shape = data.Train.SampleShape;
        var model = Model == "cnn"
            ? Models.Cnn(shape[0], shape[1], shape[2], data.Outputs, Activation, BatchNorm, Dropout)
            : Models.Mlp(data.Train.SampleShape.Aggregate(1, (a, b) => a * b), Hidden, data.Outputs, Activation, flattenInput: shape.Count > 1, batchNorm: BatchNorm, dropout: Dropout);
        if (!Init.IsTorchDefault) Init.Apply(model);
        return model;
    }

    /// <summary>
    /// Batch normalization of a hidden Linear needs two samples per batch in training; the loader keeps a short
    /// last batch, so refuse a batch size that would leave exactly one sample over, before training starts.
    /// </summary>
    private void CheckBatchesForBatchNorm(int trainCount)
    {
        if (BatchSize == 1)
            throw new UsageException("--batch-norm needs at least 2 samples per batch (batch statistics of one sample are undefined); use a --batch-size of 2 or more");
        if (trainCount % BatchSize == 1)
            throw new UsageException($"--batch-norm needs at least 2 samples per batch, but {trainCount} training samples in batches of {BatchSize} leave 1 in the last batch; choose another --batch-size");
    }
}
