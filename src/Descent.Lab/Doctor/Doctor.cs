using System.Diagnostics;
using Descent.Data;
using Descent.Nn;

namespace Descent.Lab.Doctor;

/// <summary>
/// Runs the lectures' checklist for a network that does not train, on a bounded budget, and says what to change:
/// the data (normalization, balance, duplicates across splits, batch composition, whether the labels can be learned),
/// the model at initialization (loss, symmetry, gradients across depth), a short probe run of the real training
/// (non-finite values named by op and layer, update sizes, dead and saturated units, parameters that never learn),
/// overfitting a tiny batch, and a learning-rate range test. docs/doctor.md lists each check's thresholds and budget.
/// </summary>
public static class Doctor
{
    /// <summary>Examines <paramref name="setup"/>; the findings come most severe first.</summary>
    public static DoctorReport Examine(DoctorSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        if (setup.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(setup), $"batch size must be a positive integer, got {setup.BatchSize}");
        if (setup.BudgetSeconds is { } b && !(b > 0)) throw new ArgumentOutOfRangeException(nameof(setup), $"budget must be a positive number of seconds, got {b}");
        var clock = Stopwatch.StartNew();
        var findings = new List<Finding>();
        var skipped = new List<string>();
        var summary = ModelSummaries.Of(setup.Model(), setup.Data.Train.SampleShape);
        string? svg = null;
        double? suggestedLr = null;
        ProbeInstruments? instruments = null;

        // Cheapest and most fundamental first, so a short budget still covers them.
        var checks = new (string[] Ids, Action Run)[]
        {
            (["unnormalized-inputs", "constant-features", "class-imbalance", "tiny-dataset", "train-test-overlap", "single-label-batches"], () => findings.AddRange(DataChecks.Run(setup))),
            (["loss-at-init", "symmetry", "activation-drift", "vanishing-gradients", "exploding-gradients", "gradient-check"], () => findings.AddRange(InitChecks.Run(setup))),
            (["non-finite", "update-ratio", "dead-units", "saturation", "frozen-parameters"], () =>
            {
                var (probeFindings, probeInstruments) = ProbeRun.Run(setup, findings);
                findings.AddRange(probeFindings);
                instruments = probeInstruments;
            }),
            (["cannot-overfit"], () => findings.AddRange(OverfitCheck.Run(setup))),
            (["lr-too-high", "lr-too-low"], () =>
            {
                var test = LrRangeTest.Run(setup);
                svg = test.Svg;
                suggestedLr = test.SuggestedLr;
                findings.AddRange(test.Findings);
            }),
            (["labels-not-learnable"], () =>
            {
                // A model that cannot memorize 8 examples says nothing about the labels.
                if (!findings.Any(f => f.Id == "cannot-overfit")) findings.AddRange(LearnabilityCheck.Run(setup, suggestedLr));
            }),
        };
        var timings = new Dictionary<string, double>();
        foreach (var (ids, run) in checks)
        {
            if (setup.BudgetSeconds is { } budget && clock.Elapsed.TotalSeconds > budget)
            {
                skipped.AddRange(ids);
                continue;
            }
            double start = clock.Elapsed.TotalSeconds;
            run();
            timings[string.Join(",", ids)] = Math.Round(clock.Elapsed.TotalSeconds - start, 3);
        }
        // Without learnable labels the range test's curve is noise: its lowest point means nothing.
        if (findings.Any(f => f.Id == "labels-not-learnable")) findings.RemoveAll(f => f.Id is "lr-too-high" or "lr-too-low");
        var ordered = findings.OrderByDescending(f => f.Severity).ToList();
        return new DoctorReport(ordered, summary, svg, skipped, timings, clock.Elapsed.TotalSeconds, instruments);
    }

    /// <summary>A seeded random subset of at most <paramref name="max"/> samples as a batch (inputs, targets), copied out of the loader's buffers.</summary>
    internal static (Tensor X, Tensor Target) SampleBatch(Dataset data, int max, int seed)
    {
        var batch = new DataLoader(data, Math.Min(max, data.Count), shuffle: true, seed: seed).Epoch(0).First();
        return (batch.X.Clone(), batch.Target.Clone());
    }

    /// <summary>
    /// A copy of at most <paramref name="max"/> samples of <paramref name="data"/> (a seeded random subset when larger),
    /// as an in-memory dataset whose labels can be replaced.
    /// </summary>
    internal static InMemoryDataset Materialize(Dataset data, int max, int seed)
    {
        int n = Math.Min(max, data.Count);
        var order = Enumerable.Range(0, data.Count).ToArray();
        if (n < data.Count) new Random(seed).Shuffle(order);
        var features = new float[checked(n * data.SampleSize)];
        for (int i = 0; i < n; i++) data.CopySample(order[i], features.AsSpan(i * data.SampleSize, data.SampleSize));
        int[] shape = [.. data.SampleShape];
        if (data.Task == TaskKind.Classification)
            return new InMemoryDataset(features, order.Take(n).Select(data.GetLabel).ToArray(), shape, (int?)data.NumClasses);
        var targets = new float[n * data.TargetSize];
        for (int i = 0; i < n; i++) data.CopyTarget(order[i], targets.AsSpan(i * data.TargetSize, data.TargetSize));
        return new InMemoryDataset(features, targets, shape, data.TargetSize);
    }

    /// <summary>The learning rate the optimizer trains with (its first group's).</summary>
    internal static double Lr(Optim.Optimizer optimizer) => optimizer.GroupOptions[0].Lr;

    /// <summary>A number for the evidence: four significant digits are all a reader needs.</summary>
    internal static double Round(double value) =>
        double.IsFinite(value) ? double.Parse(value.ToString("G4", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture) : value;

    /// <summary>A number for a message: three significant digits.</summary>
    internal static string Number(double value) => value.ToString("G3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The layers of the model in forward order when it is a <see cref="Sequential"/> (else the model alone).</summary>
    internal static IReadOnlyList<(string Name, Module Layer)> Layers(Module model) =>
        model is Sequential s ? [.. s.Layers.Select((l, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), l))] : [("model", model)];

    /// <summary>The layer a dotted parameter name belongs to (<c>2.weight</c> → <c>2</c>).</summary>
    internal static string LayerOf(string parameterName) => parameterName.Contains('.') ? parameterName[..parameterName.LastIndexOf('.')] : parameterName;
}

/// <summary>A run of floats (a sample's inputs, a unit's weights) compared bit for bit, as a hash key.</summary>
internal readonly struct FloatsKey(float[] data, int offset, int length) : IEquatable<FloatsKey>
{
    private ReadOnlySpan<float> Span => data.AsSpan(offset, length);
    public bool Equals(FloatsKey other) => Span.SequenceEqual(other.Span);
    public override bool Equals(object? obj) => obj is FloatsKey k && Equals(k);
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Span));
        return h.ToHashCode();
    }
}
