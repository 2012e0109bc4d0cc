namespace Descent.Data;

/// <summary>
/// Seeded train/test, train/validation and train/validation/test splits, like scikit-learn's
/// <c>train_test_split(..., test_size, random_state, stratify=y)</c>, and k-fold cross-validation folds, like
/// <c>KFold</c> and <c>StratifiedKFold</c>.
/// </summary>
/// <remarks>
/// The held-out part gets <c>ceil(fraction · N)</c> samples and the rest stays for training, as in
/// scikit-learn. With stratification every class is split in the same proportion: class <c>c</c> with
/// <c>N_c</c> samples puts <c>floor</c> or <c>ceil</c> of <c>held · N_c / N</c> in the held-out part.
/// <c>stratify</c> defaults to true for classification and false for regression datasets.
/// Both parts keep the dataset's order (shuffle them with <see cref="DataLoader"/>); the same seed gives the
/// same split in every run.
/// </remarks>
public static class Splits
{
    private const ulong SplitStream = 0x73706C69745F3031; // distinguishes split orders from loader orders of the same seed
    private const ulong ThreeWayIndex = 1, KFoldIndex = 2;

    /// <summary>Splits off a test set holding <paramref name="testFraction"/> of the samples (0 &lt; fraction &lt; 1).</summary>
    public static (InMemoryDataset Train, InMemoryDataset Test) TrainTestSplit(
        InMemoryDataset dataset, double testFraction, int seed = 0, bool? stratify = null)
    {
        var (train, test) = SplitIndices(dataset, testFraction, seed, stratify, nameof(testFraction), "test_fraction");
        return (dataset.Subset(train), dataset.Subset(test));
    }

    /// <summary>
    /// Splits off a validation set holding <paramref name="validationFraction"/> of the samples
    /// (0 &lt; fraction &lt; 1), typically from the training part of a <see cref="TrainTestSplit"/>.
    /// </summary>
    public static (InMemoryDataset Train, InMemoryDataset Validation) TrainValidationSplit(
        InMemoryDataset dataset, double validationFraction, int seed = 0, bool? stratify = null)
    {
        var (train, validation) = SplitIndices(dataset, validationFraction, seed, stratify, nameof(validationFraction), "validation_fraction");
        return (dataset.Subset(train), dataset.Subset(validation));
    }

    /// <summary>
    /// The index sets behind <see cref="TrainTestSplit"/>: ascending, disjoint, and together every index of
    /// <paramref name="dataset"/> once.
    /// </summary>
    public static (int[] Train, int[] HeldOut) SplitIndices(Dataset dataset, double heldOutFraction, int seed = 0, bool? stratify = null) =>
        SplitIndices(dataset, heldOutFraction, seed, stratify, nameof(heldOutFraction), "held_out_fraction");

    /// <summary>
    /// Splits <paramref name="dataset"/> three ways by fractions, e.g. <c>(0.6, 0.2, 0.2)</c> for the classic 6:2:2:
    /// fit on Train, choose hyperparameters on Validation, report Test once at the end. The fractions must be
    /// positive and add up to 1.
    /// </summary>
    /// <remarks>
    /// Part sizes are the fractions of <c>N</c> rounded by largest remainder, so they add up to <c>N</c> (10 samples at
    /// 0.6/0.2/0.2 give 6/2/2). With <paramref name="stratify"/> the test part is drawn first, stratified, and the
    /// validation part stratified from the rest, as two chained <c>train_test_split</c> calls would do; every class
    /// then lands within about one sample of its share in each part.
    /// </remarks>
    public static (InMemoryDataset Train, InMemoryDataset Validation, InMemoryDataset Test) TrainValidationTestSplit(
        InMemoryDataset dataset, double trainFraction, double validationFraction, double testFraction, int seed = 0, bool? stratify = null)
    {
        var (train, validation, test) = TrainValidationTestIndices(dataset, trainFraction, validationFraction, testFraction, seed, stratify);
        return (dataset.Subset(train), dataset.Subset(validation), dataset.Subset(test));
    }

    /// <summary>
    /// The index sets behind <see cref="TrainValidationTestSplit"/>: each ascending, pairwise disjoint, and together
    /// every index of <paramref name="dataset"/> once.
    /// </summary>
    public static (int[] Train, int[] Validation, int[] Test) TrainValidationTestIndices(
        Dataset dataset, double trainFraction, double validationFraction, double testFraction, int seed = 0, bool? stratify = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        CheckPartFraction(trainFraction, nameof(trainFraction), "train_fraction");
        CheckPartFraction(validationFraction, nameof(validationFraction), "validation_fraction");
        CheckPartFraction(testFraction, nameof(testFraction), "test_fraction");
        double total = trainFraction + validationFraction + testFraction;
        if (Math.Abs(total - 1) > 1e-9)
            throw new ArgumentException(Invariant($"train, validation and test fractions must add up to 1, got {trainFraction} + {validationFraction} + {testFraction} = {total}"));
        int n = dataset.Count;
        var sizes = Apportion(n, [trainFraction, validationFraction, testFraction]);
        if (sizes.Min() < 1)
            throw new ArgumentException(Invariant($"fractions {trainFraction}/{validationFraction}/{testFraction} of {n} samples give {sizes[0]}/{sizes[1]}/{sizes[2]} train/validation/test samples; every part needs at least one"));

        var rng = new SeededRandom(seed, SplitStream, ThreeWayIndex);
        var all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        var testMask = Pick(dataset, all, sizes[2], Stratified(dataset, stratify), ref rng);
        var rest = all.Where((_, i) => !testMask[i]).ToArray();
        var validationMask = Pick(dataset, rest, sizes[1], Stratified(dataset, stratify), ref rng);

        var test = all.Where((_, i) => testMask[i]).ToArray();
        var validation = rest.Where((_, i) => validationMask[i]).ToArray();
        var train = rest.Where((_, i) => !validationMask[i]).ToArray();
        return (train, validation, test);
    }

    /// <summary>
    /// <paramref name="folds"/> cross-validation folds over <paramref name="dataset"/>, like scikit-learn's
    /// <c>StratifiedKFold(n_splits, shuffle=True, random_state)</c> (or <c>KFold</c> without stratification): the
    /// validation parts of the folds are disjoint and together hold every sample once; each fold trains on the
    /// rest.
    /// </summary>
    /// <remarks>
    /// Samples are shuffled with <paramref name="seed"/> (always: datasets are often sorted by class, where unshuffled
    /// folds would each miss whole classes) and dealt to the folds in turn, so fold sizes differ by at most one.
    /// With <paramref name="stratify"/> each class is shuffled and dealt on its own, so every class has <c>floor</c>
    /// or <c>ceil</c> of <c>N_c / folds</c> samples in each validation part.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 2 folds.</exception>
    /// <exception cref="ArgumentException">More folds than samples.</exception>
    public static IReadOnlyList<Fold> KFold(Dataset dataset, int folds, int seed = 0, bool? stratify = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (folds < 2) throw new ArgumentOutOfRangeException(nameof(folds), $"folds must be at least 2, got {folds}");
        int n = dataset.Count;
        if (folds > n) throw new ArgumentException($"folds must be at most the number of samples ({n}), got {folds}", nameof(folds));

        var rng = new SeededRandom(seed, SplitStream, KFoldIndex);
        int[] dealt;
        if (Stratified(dataset, stratify))
        {
            var members = MembersByClass(dataset, Enumerable.Range(0, n).ToArray());
            var order = new List<int>(n);
            foreach (var m in members)
            {
                var indices = m.ToArray();
                rng.Shuffle(indices);
                order.AddRange(indices);
            }
            dealt = [.. order];
        }
        else
        {
            dealt = new int[n];
            for (int i = 0; i < n; i++) dealt[i] = i;
            rng.Shuffle(dealt);
        }

        var foldOf = new int[n];
        for (int position = 0; position < n; position++) foldOf[dealt[position]] = position % folds;
        var result = new Fold[folds];
        for (int f = 0; f < folds; f++)
        {
            var validation = new List<int>(n / folds + 1);
            var train = new List<int>(n - n / folds);
            for (int i = 0; i < n; i++) (foldOf[i] == f ? validation : train).Add(i);
            result[f] = new Fold(f, [.. train], [.. validation]);
        }
        return result;
    }

    private static (int[] Train, int[] HeldOut) SplitIndices(Dataset dataset, double fraction, int seed, bool? stratify, string parameter, string fractionName)
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
        var all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        var held = Pick(dataset, all, heldCount, Stratified(dataset, stratify), ref rng);

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

    /// <summary>
    /// Marks <paramref name="count"/> of the <paramref name="candidates"/> (dataset indices, ascending) as picked;
    /// the mask is indexed by position in <paramref name="candidates"/>.
    /// </summary>
    private static bool[] Pick(Dataset dataset, int[] candidates, int count, bool stratify, ref SeededRandom rng)
    {
        var picked = new bool[candidates.Length];
        if (stratify)
        {
            MarkStratified(dataset, candidates, count, picked, ref rng);
            return picked;
        }
        var order = new int[candidates.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        rng.Shuffle(order);
        for (int i = 0; i < count; i++) picked[order[i]] = true;
        return picked;
    }

    private static void MarkStratified(Dataset dataset, int[] candidates, int heldCount, bool[] held, ref SeededRandom rng)
    {
        int n = candidates.Length;
        int classes = dataset.NumClasses;
        var members = MembersByClass(dataset, candidates);

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
            var positions = members[c].ToArray();
            rng.Shuffle(positions);
            for (int i = 0; i < quota[c]; i++) held[positions[i]] = true;
        }
    }

    /// <summary>For each class, the positions in <paramref name="candidates"/> of its samples, ascending.</summary>
    private static List<int>[] MembersByClass(Dataset dataset, int[] candidates)
    {
        var members = new List<int>[dataset.NumClasses];
        for (int c = 0; c < members.Length; c++) members[c] = [];
        for (int i = 0; i < candidates.Length; i++) members[dataset.GetLabel(candidates[i])].Add(i);
        return members;
    }

    /// <summary>Splits <paramref name="n"/> into parts proportional to <paramref name="fractions"/> by largest remainder (ties to the earlier part).</summary>
    private static int[] Apportion(int n, double[] fractions)
    {
        var sizes = new int[fractions.Length];
        var remainders = new double[fractions.Length];
        int assigned = 0;
        for (int i = 0; i < fractions.Length; i++)
        {
            // Rounding first keeps 0.6 · 10 = 5.999999999999999 from losing a sample.
            double exact = Math.Round(fractions[i] * n, 9);
            sizes[i] = (int)Math.Floor(exact);
            remainders[i] = exact - sizes[i];
            assigned += sizes[i];
        }
        foreach (int i in Enumerable.Range(0, fractions.Length).OrderByDescending(i => remainders[i]).ThenBy(i => i))
        {
            if (assigned >= n) break;
            sizes[i]++;
            assigned++;
        }
        return sizes;
    }

    /// <summary>
    /// Whether a split keeps class proportions: <paramref name="stratify"/> when given, else for classification
    /// datasets only (a regression target has no classes to keep).
    /// </summary>
    private static bool Stratified(Dataset dataset, bool? stratify)
    {
        if (stratify == true) dataset.RequireClassification("stratified splits");
        return stratify ?? dataset.Task == TaskKind.Classification;
    }

    private static void CheckPartFraction(double fraction, string parameter, string name)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(parameter, Invariant($"{name} must be in (0, 1), got {fraction}"));
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}

/// <summary>
/// One fold of k-fold cross-validation from <see cref="Splits.KFold"/>: the dataset indices to train on and the
/// ones to validate on (both ascending, disjoint, together every index once).
/// </summary>
/// <param name="Index">The fold's number, 0-based.</param>
/// <param name="Train">Indices of the training part.</param>
/// <param name="Validation">Indices of the held-out part.</param>
public sealed record Fold(int Index, int[] Train, int[] Validation);
