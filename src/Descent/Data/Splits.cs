namespace Descent.Data;

/// <summary>
/// Seeded train/test and train/validation splits, like scikit-learn's
/// <c>train_test_split(..., test_size, random_state, stratify=y)</c>.
/// </summary>
/// <remarks>
/// The held-out part gets <c>ceil(fraction · N)</c> samples and the rest stays for training, as in
/// scikit-learn. With stratification every class is split in the same proportion: class <c>c</c> with
/// <c>N_c</c> samples puts <c>floor</c> or <c>ceil</c> of <c>held · N_c / N</c> in the held-out part.
/// Both parts keep the dataset's order (shuffle them with <see cref="DataLoader"/>); the same seed gives the
/// same split in every run.
/// </remarks>
public static class Splits
{
    private const ulong SplitStream = 0x73706C69745F3031; // distinguishes split orders from loader orders of the same seed

    /// <summary>Splits off a test set holding <paramref name="testFraction"/> of the samples (0 &lt; fraction &lt; 1).</summary>
    public static (InMemoryDataset Train, InMemoryDataset Test) TrainTestSplit(
        InMemoryDataset dataset, double testFraction, int seed = 0, bool stratify = true)
    {
        var (train, test) = SplitIndices(dataset, testFraction, seed, stratify, nameof(testFraction), "test_fraction");
        return (dataset.Subset(train), dataset.Subset(test));
    }

    /// <summary>
    /// Splits off a validation set holding <paramref name="validationFraction"/> of the samples
    /// (0 &lt; fraction &lt; 1), typically from the training part of a <see cref="TrainTestSplit"/>.
    /// </summary>
    public static (InMemoryDataset Train, InMemoryDataset Validation) TrainValidationSplit(
        InMemoryDataset dataset, double validationFraction, int seed = 0, bool stratify = true)
    {
        var (train, validation) = SplitIndices(dataset, validationFraction, seed, stratify, nameof(validationFraction), "validation_fraction");
        return (dataset.Subset(train), dataset.Subset(validation));
    }

    /// <summary>
    /// The index sets behind <see cref="TrainTestSplit"/>: ascending, disjoint, and together every index of
    /// <paramref name="dataset"/> once.
    /// </summary>
    public static (int[] Train, int[] HeldOut) SplitIndices(Dataset dataset, double heldOutFraction, int seed = 0, bool stratify = true) =>
        SplitIndices(dataset, heldOutFraction, seed, stratify, nameof(heldOutFraction), "held_out_fraction");

    private static (int[] Train, int[] HeldOut) SplitIndices(Dataset dataset, double fraction, int seed, bool stratify, string parameter, string fractionName)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(parameter, $"{fractionName} must be in (0, 1), got {fraction}");
        int n = dataset.Count;
        // Rounding first keeps products like 0.7 · 10 = 7.000000000000001 from taking an extra sample.
        int heldCount = (int)Math.Ceiling(Math.Round(fraction * n, 9));
        if (heldCount < 1 || heldCount > n - 1)
            throw new ArgumentException(
                $"{fractionName} = {fraction} of {n} samples gives {heldCount} held-out and {n - heldCount} training samples; both parts need at least one",
                parameter);

        var rng = new SeededRandom(seed, SplitStream, 0);
        var held = new bool[n];
        if (stratify) MarkStratified(dataset, heldCount, held, ref rng);
        else
        {
            var order = new int[n];
            for (int i = 0; i < n; i++) order[i] = i;
            rng.Shuffle(order);
            for (int i = 0; i < heldCount; i++) held[order[i]] = true;
        }

        var train = new int[n - heldCount];
        var heldOut = new int[heldCount];
        int t = 0, h = 0;
        for (int i = 0; i < n; i++)
        {
            if (held[i]) heldOut[h++] = i;
            else train[t++] = i;
        }
        return (train, heldOut);
    }

    private static void MarkStratified(Dataset dataset, int heldCount, bool[] held, ref SeededRandom rng)
    {
        int n = dataset.Count;
        int classes = dataset.NumClasses;
        var members = new List<int>[classes];
        for (int c = 0; c < classes; c++) members[c] = [];
        for (int i = 0; i < n; i++) members[dataset.GetLabel(i)].Add(i);

        // Largest-remainder apportionment: each class gets the floor of its exact share, and the samples
        // still missing go to the classes with the largest fractional parts (ties broken by the seed).
        var quota = new int[classes];
        var remainder = new long[classes];
        var tieBreak = new ulong[classes];
        int assigned = 0;
        for (int c = 0; c < classes; c++)
        {
            long exact = (long)heldCount * members[c].Count;
            quota[c] = (int)(exact / n);
            remainder[c] = exact % n;
            tieBreak[c] = rng.NextUInt64();
            assigned += quota[c];
        }
        var byRemainder = Enumerable.Range(0, classes)
            .OrderByDescending(c => remainder[c]).ThenBy(c => tieBreak[c]).ToArray();
        for (int k = 0; assigned < heldCount; k++, assigned++) quota[byRemainder[k]]++;

        for (int c = 0; c < classes; c++)
        {
            var indices = members[c].ToArray();
            rng.Shuffle(indices);
            for (int i = 0; i < quota[c]; i++) held[indices[i]] = true;
        }
    }
}
