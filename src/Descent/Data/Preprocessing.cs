using System.Globalization;

namespace Descent.Data;

/// <summary>
/// What a <see cref="Preprocessor"/> does to the inputs, every statistic fitted on the training split only:
/// outlier removal, clipping, then standardization or mean subtraction.
/// </summary>
/// <example>
/// Per-channel standardization of images, values clipped at 3 standard deviations:
/// <code>
/// var options = new PreprocessingOptions { Mode = StandardizationMode.PerChannel, ClipStd = 3 };
/// var (train, preprocessor) = Preprocessor.FitTransform(rawTrain, options);
/// var test = preprocessor.Transform(rawTest);
/// </code>
/// </example>
public sealed record PreprocessingOptions
{
    /// <summary>
    /// Which statistics are fitted: per feature (the default, like <c>StandardScaler</c>), per channel of
    /// <c>[C, H, W]</c> images, or one global mean and std. Clipping and outlier detection use the same statistics.
    /// </summary>
    public StandardizationMode Mode { get; init; } = StandardizationMode.PerFeature;

    /// <summary>Subtract the training mean (scikit-learn's <c>with_mean</c>; default true).</summary>
    public bool WithMean { get; init; } = true;

    /// <summary>Divide by the training standard deviation (<c>with_std</c>; default true). False with <see cref="WithMean"/> is mean subtraction.</summary>
    public bool WithStd { get; init; } = true;

    /// <summary>
    /// When set to k, every value (of every split) is clamped to <c>[mean − k·std, mean + k·std]</c> of the training
    /// statistics before it is standardized, so a standardized value lies in <c>[−k, k]</c>.
    /// </summary>
    public double? ClipStd { get; init; }

    /// <summary>
    /// When set to k, training samples with any value farther than k standard deviations from the training mean are
    /// dropped (validation and test samples are never dropped: a model must answer for every test input). The
    /// statistics used to standardize are then refitted on the samples that remain.
    /// </summary>
    /// <remarks>
    /// The test is per value, so with <see cref="StandardizationMode.PerFeature"/> statistics of image pixels a border
    /// pixel that is nearly always 0 flags any image that touches it; images usually want
    /// <see cref="StandardizationMode.PerChannel"/> or <see cref="StandardizationMode.Global"/> statistics here.
    /// </remarks>
    public double? RemoveOutliersStd { get; init; }

    /// <summary>Throws when a value is out of range.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Mode)) throw new ArgumentOutOfRangeException(nameof(Mode), $"unknown standardization mode {Mode}");
        CheckK(ClipStd, "clip_std");
        CheckK(RemoveOutliersStd, "remove_outliers_std");
    }

    private static void CheckK(double? k, string name)
    {
        if (k is { } v && (!(v > 0) || double.IsInfinity(v)))
            throw new ArgumentOutOfRangeException(name, string.Create(CultureInfo.InvariantCulture, $"{name} must be a positive finite number of standard deviations, got {v}"));
    }
}

/// <summary>
/// Input preprocessing fitted on the training split and applied unchanged to validation and test data, like a
/// scikit-learn transformer: outlier removal (training data only), clipping beyond k standard deviations, and
/// standardization per feature, per channel or global (or mean subtraction alone).
/// </summary>
/// <remarks>
/// Fitting on the training split alone is the point: statistics that saw the test set leak it into training and make
/// the test score optimistic. In a k-fold cross-validation the preprocessor is fitted again on each fold's training
/// part (<see cref="Training.CrossValidation"/> does it).
/// </remarks>
public sealed class Preprocessor
{
    private Preprocessor(PreprocessingOptions options, Standardizer statistics, int[] removed, int fittedCount)
    {
        Options = options;
        Statistics = statistics;
        RemovedIndices = removed;
        FittedCount = fittedCount;
    }

    /// <summary>The options this preprocessor was fitted with.</summary>
    public PreprocessingOptions Options { get; }

    /// <summary>The fitted statistics (on the training samples kept after outlier removal) and the standardization they define.</summary>
    public Standardizer Statistics { get; }

    /// <summary>Indices into the fitted training set of the samples dropped as outliers, ascending (empty without outlier removal).</summary>
    public IReadOnlyList<int> RemovedIndices { get; }

    /// <summary>Number of training samples the preprocessor was fitted on, before outlier removal.</summary>
    public int FittedCount { get; }

    /// <summary>
    /// Fits the preprocessing on <paramref name="train"/> and returns the preprocessed training set (outliers removed,
    /// clipped, standardized: new arrays; <paramref name="train"/> is left unchanged) with the fitted preprocessor,
    /// to apply to validation and test data with <see cref="Transform"/>.
    /// </summary>
    public static (InMemoryDataset Train, Preprocessor Preprocessor) FitTransform(InMemoryDataset train, PreprocessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var statistics = new Standardizer(options.Mode, options.WithMean, options.WithStd).Fit(train);
        int[] removed = [];
        var kept = train;
        if (options.RemoveOutliersStd is { } k)
        {
            removed = Enumerable.Range(0, train.Count).Where(i => statistics.IsOutlier(train.GetFeatures(i), k)).ToArray();
            if (removed.Length == train.Count)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"every one of the {train.Count} training samples has a value beyond {k} standard deviations; nothing would be left to train on"));
            if (removed.Length > 0)
            {
                var isRemoved = new bool[train.Count];
                foreach (int i in removed) isRemoved[i] = true;
                kept = train.Subset(Enumerable.Range(0, train.Count).Where(i => !isRemoved[i]).ToArray());
                statistics = new Standardizer(options.Mode, options.WithMean, options.WithStd).Fit(kept);
            }
        }
        var preprocessor = new Preprocessor(options, statistics, removed, train.Count);
        return (preprocessor.Transform(kept), preprocessor);
    }

    /// <summary>
    /// Clips and standardizes <paramref name="data"/> with the training statistics into a new dataset (labels shared,
    /// features new); every sample is kept.
    /// </summary>
    public InMemoryDataset Transform(InMemoryDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var features = (float[])data.Features.Clone();
        var result = data.WithFeatures(features);
        if (Options.ClipStd is { } k) Statistics.ClipSamples(features, data.SampleSize, k);
        Statistics.TransformInPlace(result);
        return result;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var parts = new List<string>();
        string stats = Options.Mode switch
        {
            StandardizationMode.PerChannel => "per-channel",
            StandardizationMode.Global => "global",
            _ => "per-feature",
        };
        if (Options.RemoveOutliersStd is { } r)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"removed {RemovedIndices.Count} of {FittedCount} training samples beyond {r} std"));
        if (Options.ClipStd is { } c) parts.Add(string.Create(CultureInfo.InvariantCulture, $"clipped at {c} std"));
        parts.Add((Options.WithMean, Options.WithStd) switch
        {
            (true, true) => $"{stats} standardization",
            (true, false) => $"{stats} mean subtraction",
            (false, true) => $"{stats} scaling by std",
            _ => $"{stats} statistics, values unscaled",
        });
        return string.Join("; ", parts);
    }
}
