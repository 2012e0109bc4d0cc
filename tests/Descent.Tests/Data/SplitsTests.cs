using Descent.Data;
using Xunit;

using static Descent.Tests.Data.IndexedData;

namespace Descent.Tests.Data;

public sealed class SplitsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Parts_AreDisjointAndCoverEverything(bool stratify)
    {
        var data = Indexed(ImbalancedLabels());

        var (train, test) = Splits.TrainTestSplit(data, 0.25, seed: 5, stratify);

        var trainRows = Origins(train);
        var testRows = Origins(test);
        Assert.Empty(trainRows.Intersect(testRows));
        Assert.Equal(Enumerable.Range(0, data.Count), trainRows.Concat(testRows).Order());
        Assert.Equal(51, test.Count); // ceil(0.25 · 201)
        for (int i = 0; i < train.Count; i++) Assert.Equal(data.Labels[trainRows[i]], train.Labels[i]);
        Assert.Equal(data.NumClasses, test.NumClasses);
    }

    [Fact]
    public void Stratified_KeepsEveryClassWithinOneOfItsShare()
    {
        var data = Indexed(ImbalancedLabels());
        var counts = data.ClassCounts();

        foreach (double fraction in new[] { 0.1, 0.25, 0.5, 0.9 })
        {
            var (_, held) = Splits.TrainValidationSplit(data, fraction, seed: 11);
            var heldCounts = held.ClassCounts();
            for (int c = 0; c < counts.Length; c++)
            {
                double share = (double)held.Count * counts[c] / data.Count;
                Assert.True(Math.Abs(heldCounts[c] - share) <= 1, $"fraction {fraction}, class {c}: {heldCounts[c]} held vs share {share:F2}");
            }
        }
    }

    [Fact]
    public void Stratified_OnDigits_KeepsClassProportions()
    {
        var digits = Datasets.Digits();

        var (train, test) = Splits.TrainTestSplit(digits, 0.2, seed: 0);

        Assert.Equal(360, test.Count);
        Assert.Equal(1437, train.Count);
        var all = digits.ClassCounts();
        var held = test.ClassCounts();
        for (int c = 0; c < 10; c++) Assert.InRange(held[c], 360.0 * all[c] / 1797 - 1, 360.0 * all[c] / 1797 + 1);
    }

    [Fact]
    public void SameSeed_SameSplit_OtherSeed_OtherSplit()
    {
        var data = Indexed(ImbalancedLabels());

        var a = Splits.SplitIndices(data, 0.3, seed: 1);
        var b = Splits.SplitIndices(data, 0.3, seed: 1);
        var c = Splits.SplitIndices(data, 0.3, seed: 2);

        Assert.Equal(a.HeldOut, b.HeldOut);
        Assert.Equal(a.Train, b.Train);
        Assert.NotEqual(a.HeldOut, c.HeldOut);
        Assert.Equal(a.HeldOut.Order(), a.HeldOut);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.2)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void FractionOutsideTheOpenUnitInterval_IsRejected(double fraction)
    {
        var data = Indexed(ImbalancedLabels());

        var test = Assert.Throws<ArgumentOutOfRangeException>(() => Splits.TrainTestSplit(data, fraction, 0));
        var validation = Assert.Throws<ArgumentOutOfRangeException>(() => Splits.TrainValidationSplit(data, fraction, 0));

        Assert.Contains("test_fraction must be in (0, 1)", test.Message);
        Assert.Contains("validation_fraction must be in (0, 1)", validation.Message);
    }

    [Fact]
    public void FractionLeavingAPartEmpty_IsRejected()
    {
        var data = Indexed([0, 1, 0, 1]);

        var e = Assert.Throws<ArgumentException>(() => Splits.TrainTestSplit(data, 0.9, 0));

        Assert.Contains("both parts need at least one", e.Message);
    }

    [Fact]
    public void HeldOutSize_IgnoresFloatingPointNoise()
    {
        var data = Indexed([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);

        var (train, test) = Splits.TrainTestSplit(data, 0.7, 0, stratify: false);

        Assert.Equal(7, test.Count);
        Assert.Equal(3, train.Count);
    }
}
