using Descent.Data;

namespace Descent.Lab.Doctor;

/// <summary>
/// The data checks: statistics of the training inputs, the class counts, exact duplicates across the splits and the
/// labels of the first batches. Reading at most <see cref="MaxSamples"/> samples per split, they cost a pass over the data.
/// </summary>
internal static class DataChecks
{
    /// <summary>Samples read per split for the statistics.</summary>
    public const int MaxSamples = 20_000;

    public static IEnumerable<Finding> Run(DoctorSetup setup)
    {
        var train = setup.Data.Train;
        var sample = Doctor.Materialize(train, MaxSamples, setup.Seed);
        var findings = new List<Finding>();
        var (mean, std) = FeatureStats(sample);
        findings.AddRange(InputScale(mean, std));
        findings.AddRange(ConstantFeatures(std, sample.Count));
        if (train.Task == TaskKind.Classification)
        {
            findings.AddRange(ClassImbalance(train));
            findings.AddRange(SingleLabelBatches(setup));
        }
        findings.AddRange(TinyDataset(train));
        findings.AddRange(TrainTestOverlap(setup.Data.Train, setup.Data.Test, setup.Seed));
        return findings;
    }

    /// <summary>Per-feature means and standard deviations of the training inputs.</summary>
    private static (double[] Mean, double[] Std) FeatureStats(InMemoryDataset data)
    {
        int n = data.Count, d = data.SampleSize;
        var mean = new double[d];
        var sq = new double[d];
        var x = data.Features;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
            {
                double v = x[i * d + j];
                mean[j] += v;
                sq[j] += v * v;
            }
        var std = new double[d];
        for (int j = 0; j < d; j++)
        {
            mean[j] /= Math.Max(n, 1);
            std[j] = Math.Sqrt(Math.Max(0, sq[j] / Math.Max(n, 1) - mean[j] * mean[j]));
        }
        return (mean, std);
    }

    /// <summary>
    /// <c>unnormalized-inputs</c>: the typical (median) feature's standard deviation outside [0.1, 10], or a feature mean
    /// more than 10 of those from zero. Standardized inputs (mean 0, std 1) keep the first layer's pre-activations at
    /// the scale its initialization assumes.
    /// </summary>
    private static IEnumerable<Finding> InputScale(double[] mean, double[] std)
    {
        var varying = Enumerable.Range(0, std.Length).Where(j => std[j] > 1e-8).ToArray();
        if (varying.Length == 0) yield break;
        double medianStd = varying.Select(j => std[j]).Order().ElementAt(varying.Length / 2);
        int worst = varying.MaxBy(j => Math.Abs(mean[j]));
        double offset = Math.Abs(mean[worst]) / Math.Max(medianStd, 1e-12);
        if (medianStd is >= 0.1 and <= 10 && Math.Abs(mean[worst]) <= 10) yield break;
        yield return new Finding("unnormalized-inputs", Severity.Warning,
            $"The inputs are not standardized: the typical feature has standard deviation {Doctor.Number(medianStd)} and feature {worst} has mean {Doctor.Number(mean[worst])}.",
            new Dictionary<string, object?>
            {
                ["median_feature_std"] = Doctor.Round(medianStd),
                ["largest_abs_mean"] = Doctor.Round(mean[worst]),
                ["feature"] = worst,
                ["mean_in_stds"] = Doctor.Round(offset),
            },
            "Standardize every input feature to mean 0 and standard deviation 1 with statistics of the training split (Standardizer.FitPerFeature).");
    }

    /// <summary><c>constant-features</c> (info): features with the same value in every training sample carry no information.</summary>
    private static IEnumerable<Finding> ConstantFeatures(double[] std, int samples)
    {
        var constant = Enumerable.Range(0, std.Length).Where(j => std[j] <= 1e-8).ToArray();
        if (constant.Length == 0 || samples < 2) yield break;
        yield return new Finding("constant-features", constant.Length == std.Length ? Severity.Error : Severity.Info,
            $"{constant.Length} of {std.Length} input features have the same value in every training sample.",
            new Dictionary<string, object?> { ["constant"] = constant.Length, ["features"] = std.Length, ["first_indices"] = constant.Take(10).ToArray() },
            constant.Length == std.Length ? "Check the data loading: no input varies, so nothing can be learned." : "Drop the constant features (they cost parameters and teach nothing), or check why they do not vary.");
    }

    /// <summary><c>class-imbalance</c>: the largest class more than 10 times the smallest (or a class with no sample).</summary>
    private static IEnumerable<Finding> ClassImbalance(Dataset train)
    {
        var counts = train.ClassCounts();
        if (counts.Length < 2) yield break;
        int max = counts.Max(), min = counts.Min();
        if (min > 0 && max <= 10 * min) yield break;
        int rare = Array.IndexOf(counts, min), common = Array.IndexOf(counts, max);
        yield return new Finding("class-imbalance", Severity.Warning,
            $"The classes are imbalanced: class {common} has {max} training samples, class {rare} only {min}.",
            new Dictionary<string, object?> { ["class_counts"] = counts, ["ratio"] = min == 0 ? null : Doctor.Round((double)max / min) },
            "Balance the classes (collect more of the rare ones, oversample them or weight the loss by inverse class frequency) and judge the model by per-class recall, not accuracy.");
    }

    /// <summary>
    /// <c>single-label-batches</c>: without shuffling, a label-sorted dataset gives batches of one class, and every
    /// step pulls the model toward that class. Looks at the first 20 batches in training order.
    /// </summary>
    private static IEnumerable<Finding> SingleLabelBatches(DoctorSetup setup)
    {
        var train = setup.Data.Train;
        if (setup.BatchSize < 2 || train.NumClasses < 2 || train.Count < 2 * setup.BatchSize) yield break;
        var loader = new DataLoader(train, setup.BatchSize, setup.Shuffle, setup.Seed);
        int batches = 0, single = 0;
        foreach (var batch in loader.Epoch(0).Take(20))
        {
            batches++;
            var y = batch.Y.AsSpan(0, batch.Size);
            if (y.IndexOfAnyExcept(y[0]) < 0) single++;
        }
        if (single * 2 <= batches) yield break;
        yield return new Finding("single-label-batches", Severity.Error,
            $"{single} of the first {batches} training batches hold a single class: the data is sorted by label and not shuffled.",
            new Dictionary<string, object?> { ["single_label_batches"] = single, ["batches"] = batches, ["batch_size"] = setup.BatchSize, ["shuffle"] = setup.Shuffle },
            "Shuffle the training data every epoch (DataLoader shuffle: true).");
    }

    /// <summary><c>tiny-dataset</c>: fewer than 20 training samples per class (classification) or 50 in all (regression).</summary>
    private static IEnumerable<Finding> TinyDataset(Dataset train)
    {
        bool classification = train.Task == TaskKind.Classification;
        int needed = classification ? 20 * Math.Max(train.NumClasses, 1) : 50;
        if (train.Count >= needed) yield break;
        yield return new Finding("tiny-dataset", Severity.Warning,
            $"The training split has only {train.Count} samples{(classification ? $" for {train.NumClasses} classes" : "")}: any model large enough to learn will memorize it.",
            new Dictionary<string, object?> { ["train_samples"] = train.Count, ["classes"] = classification ? train.NumClasses : null, ["threshold"] = needed },
            "Collect more data or augment it, and use a small model with strong regularization; judge it by cross-validation.");
    }

    /// <summary>
    /// <c>train-test-overlap</c>: test samples whose inputs are exactly those of a training sample (more than 1 % of the
    /// test split). Such a test measures memory, not generalization.
    /// </summary>
    private static IEnumerable<Finding> TrainTestOverlap(Dataset train, Dataset test, int seed)
    {
        var trainSample = Doctor.Materialize(train, MaxSamples * 3, seed);
        var testSample = Doctor.Materialize(test, MaxSamples, seed);
        int d = train.SampleSize;
        if (test.SampleSize != d || testSample.Count == 0) yield break;
        var seen = new HashSet<FloatsKey>();
        for (int i = 0; i < trainSample.Count; i++) seen.Add(new FloatsKey(trainSample.Features, i * d, d));
        int duplicates = 0, first = -1;
        for (int i = 0; i < testSample.Count; i++)
        {
            if (!seen.Contains(new FloatsKey(testSample.Features, i * d, d))) continue;
            duplicates++;
            if (first < 0) first = i;
        }
        if (duplicates * 100 <= testSample.Count) yield break;
        yield return new Finding("train-test-overlap", Severity.Warning,
            $"{duplicates} of {testSample.Count} test samples also appear in the training split, so the test accuracy overstates generalization.",
            new Dictionary<string, object?> { ["duplicates"] = duplicates, ["test_samples_checked"] = testSample.Count, ["fraction"] = Doctor.Round((double)duplicates / testSample.Count) },
            "Remove duplicates before splitting (deduplicate the rows), so that no test sample is also a training sample.");
    }
}
