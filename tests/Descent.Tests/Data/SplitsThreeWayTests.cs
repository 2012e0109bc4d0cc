using Descent.Data;

using static Descent.Tests.Data.IndexedData;

namespace Descent.Tests.Data;

public sealed class SplitsThreeWayTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ThreeParts_AreDisjointAndCoverEverything(bool stratify)
    {
        var data = Indexed(ImbalancedLabels());

        var (train, validation, test) = Splits.TrainValidationTestSplit(data, 0.6, 0.2, 0.2, seed: 3, stratify);

        var all = Origins(train).Concat(Origins(validation)).Concat(Origins(test)).ToArray();
        Assert.Equal(Enumerable.Range(0, data.Count), all.Order());
        // 201 · (0.6, 0.2, 0.2) = (120.6, 40.2, 40.2): floors 120/40/40, the last sample to the largest remainder.
        Assert.Equal((121, 40, 40), (train.Count, validation.Count, test.Count));
        for (int i = 0; i < validation.Count; i++) Assert.Equal(data.Labels[Origins(validation)[i]], validation.Labels[i]);
        Assert.Equal(data.NumClasses, test.NumClasses);
    }

    [Fact]
    public void SixTwoTwo_OfTenSamples_IsSixTwoTwo()
    {
        var data = Indexed([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);

        var (train, validation, test) = Splits.TrainValidationTestIndices(data, 0.6, 0.2, 0.2);

        Assert.Equal((6, 2, 2), (train.Length, validation.Length, test.Length));
        Assert.Equal(train.Order(), train);
        Assert.Equal(validation.Order(), validation);
        Assert.Equal(test.Order(), test);
    }

    [Fact]
    public void Stratified_KeepsEveryClassNearItsShareInEveryPart()
    {
        var digits = Datasets.Digits();
        var counts = digits.ClassCounts();

        var (train, validation, test) = Splits.TrainValidationTestSplit(digits, 0.6, 0.2, 0.2, seed: 1);

        Assert.Equal(1797, train.Count + validation.Count + test.Count);
        foreach (var part in new[] { train, validation, test })
        {
            var partCounts = part.ClassCounts();
            for (int c = 0; c < 10; c++)
            {
                double share = (double)part.Count * counts[c] / 1797;
                Assert.True(Math.Abs(partCounts[c] - share) <= 2, $"class {c}: {partCounts[c]} vs share {share:F2} in a part of {part.Count}");
            }
        }
    }

    [Fact]
    public void SameSeed_SameSplit_OtherSeed_OtherSplit()
    {
        var data = Indexed(ImbalancedLabels());

        var a = Splits.TrainValidationTestIndices(data, 0.5, 0.25, 0.25, seed: 1);
        var b = Splits.TrainValidationTestIndices(data, 0.5, 0.25, 0.25, seed: 1);
        var c = Splits.TrainValidationTestIndices(data, 0.5, 0.25, 0.25, seed: 2);

        Assert.Equal(a.Test, b.Test);
        Assert.Equal(a.Validation, b.Validation);
        Assert.NotEqual(a.Test, c.Test);
    }

    [Theory]
    [InlineData(0.6, 0.2, 0.3, "must add up to 1")]
    [InlineData(0.8, 0.0, 0.2, "validation_fraction must be in (0, 1), got 0")]
    [InlineData(1.0, 0.2, -0.2, "train_fraction must be in (0, 1), got 1")]
    public void BadFractions_AreRejected(double train, double validation, double test, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Splits.TrainValidationTestSplit(Indexed(ImbalancedLabels()), train, validation, test));

        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void APartLeftEmpty_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Splits.TrainValidationTestSplit(Indexed([0, 1, 0, 1]), 0.8, 0.1, 0.1));

        Assert.Contains("every part needs at least one", e.Message);
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(5, true)]
    [InlineData(7, false)]
    public void KFold_ValidationPartsAreDisjoint_CoverEverything_AndTrainIsTheRest(int k, bool stratify)
    {
        var data = Indexed(ImbalancedLabels());

        var folds = Splits.KFold(data, k, seed: 4, stratify);

        Assert.Equal(k, folds.Count);
        Assert.Equal(Enumerable.Range(0, 201), folds.SelectMany(f => f.Validation).Order());
        foreach (var fold in folds)
        {
            Assert.Empty(fold.Train.Intersect(fold.Validation));
            Assert.Equal(Enumerable.Range(0, 201), fold.Train.Concat(fold.Validation).Order());
            Assert.Equal(fold.Validation.Order(), fold.Validation);
            Assert.InRange(fold.Validation.Length, 201 / k, 201 / k + 1);
        }
        Assert.Equal(Enumerable.Range(0, k), folds.Select(f => f.Index));
    }

    [Fact]
    public void KFold_Stratified_PutsFloorOrCeilOfEachClassInEveryFold()
    {
        var data = Indexed(ImbalancedLabels());
        var counts = data.ClassCounts();

        var folds = Splits.KFold(data, 5, seed: 8);

        foreach (var fold in folds)
            for (int c = 0; c < counts.Length; c++)
            {
                int inFold = fold.Validation.Count(i => data.Labels[i] == c);
                Assert.InRange(inFold, counts[c] / 5, (counts[c] + 4) / 5);
            }
    }

    [Fact]
    public void KFold_IsSeeded()
    {
        var data = Indexed(ImbalancedLabels());

        Assert.Equal(Splits.KFold(data, 3, seed: 1)[0].Validation, Splits.KFold(data, 3, seed: 1)[0].Validation);
        Assert.NotEqual(Splits.KFold(data, 3, seed: 1)[0].Validation, Splits.KFold(data, 3, seed: 2)[0].Validation);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-2)]
    public void KFold_FewerThanTwoFolds_IsRejected(int k)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Splits.KFold(Indexed([0, 1, 0, 1]), k));

        Assert.StartsWith($"folds must be at least 2, got {k}", e.Message);
    }

    [Fact]
    public void KFold_MoreFoldsThanSamples_IsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Splits.KFold(Indexed([0, 1, 0]), 4));

        Assert.Contains("folds must be at most the number of samples (3), got 4", e.Message);
    }
}
