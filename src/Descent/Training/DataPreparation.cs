using Descent.Data;

namespace Descent.Training;

/// <summary>Train/validation/test splits of one dataset, standardized with training statistics only.</summary>
/// <param name="Train">The training split.</param>
/// <param name="Validation">The validation split, or null.</param>
/// <param name="Test">The test split.</param>
/// <param name="NumClasses">Number of classes (classification), 0 for regression.</param>
public sealed record PreparedData(Dataset Train, Dataset? Validation, Dataset Test, int NumClasses)
{
    /// <summary>Classification or regression (the training split's task).</summary>
    public TaskKind Task => Train.Task;

    /// <summary>The input standardization fitted on the training split (what new inputs must go through too), or null when none was applied.</summary>
    public Standardizer? Standardizer { get; init; }

    /// <summary>The model's output width: the number of classes, or the number of regression targets.</summary>
    public int Outputs => Task == TaskKind.Classification ? NumClasses : Train.TargetSize;

    /// <summary>
    /// A loader over the training split, reshuffled every epoch (seeded: same seed, same batch order) unless
    /// <paramref name="shuffle"/> is off; under data parallelism, this rank's <paramref name="shard"/> of each epoch.
    /// </summary>
    public DataLoader TrainLoader(int batchSize, int seed, Data.Transforms.Augmentation? augmentation = null, bool shuffle = true, bool dropLast = false, DataShard? shard = null) =>
        new(Train, batchSize, shuffle: shuffle, seed: seed, dropLast: dropLast, transform: augmentation, shard: shard);
}

/// <summary>Loads the datasets the CLI knows by name and prepares them the conventional way.</summary>
public static class DataPreparation
{
    /// <summary>
    /// The validation fraction used when none is given: digits has no official split, so 10 % of its
    /// training part is held out; Fashion-MNIST trains on its whole official 60,000-image training set, as
    /// PyTorch and Keras examples do, so its numbers compare with theirs.
    /// </summary>
    public static double DefaultValFraction(string dataset) => dataset == "digits" ? 0.1 : 0.0;

    /// <summary>Dataset names accepted by <see cref="Load"/>.</summary>
    public static readonly string[] Names = ["digits", "fashion-mnist"];

    /// <summary>
    /// Loads <paramref name="dataset"/>: digits (embedded; a stratified 20 % test split, per-feature
    /// standardization) or fashion-mnist (the official 60k/10k split, one global mean/std as usual for MNIST).
    /// A stratified <paramref name="valFraction"/> of the training split is held out for validation
    /// (0 = none); standardization statistics come from what remains for training. With <paramref name="asImages"/> samples are [1, H, W] images, else flat vectors.
    /// </summary>
    public static PreparedData Load(string dataset, string? dataDir, bool asImages, double valFraction, int seed)
    {
        InMemoryDataset train, test;
        int side;
        switch (dataset)
        {
            case "digits":
                (train, test) = Splits.TrainTestSplit(Datasets.Digits(), 0.2, seed, stratify: true);
                side = 8;
                break;
            case "fashion-mnist":
                (train, test) = Datasets.FashionMnist(dataDir);
                side = 28;
                break;
            default:
                throw new ArgumentException($"unknown dataset '{dataset}' (expected one of: {string.Join(", ", Names)})");
        }
        InMemoryDataset? validation = null;
        if (valFraction > 0) (train, validation) = Splits.TrainValidationSplit(train, valFraction, seed + 1, stratify: true);
        // Statistics come from the training split alone: validation and test stay unseen.
        var standardizer = dataset == "digits" ? Standardizer.FitPerFeature(train) : Standardizer.FitGlobal(train);
        train = standardizer.Transform(train);
        test = standardizer.Transform(test);
        if (validation is not null) validation = standardizer.Transform(validation);
        if (asImages)
        {
            train = train.WithSampleShape(1, side, side);
            test = test.WithSampleShape(1, side, side);
            validation = validation?.WithSampleShape(1, side, side);
        }
        return new PreparedData(train, validation, test, train.NumClasses) { Standardizer = standardizer };
    }
}
