using Descent.Data;
using Xunit;

namespace Descent.Tests.Data;

public sealed class StandardizerTests
{
    // Three samples of three features; the last feature is constant.
    private static InMemoryDataset Train() => new([1, 10, 5, 2, 20, 5, 6, 60, 5], [0, 1, 0], [3]);

    private static InMemoryDataset Test() => new([3, 30, 7], [1], [3], numClasses: 2);

    [Fact]
    public void PerFeature_FitsTheClosedFormStatistics()
    {
        var s = new Standardizer().Fit(Train());

        // Feature 0: mean 3, population variance ((−2)² + (−1)² + 3²) / 3 = 14/3.
        Assert.Equal([3f, 30f, 5f], s.Mean);
        Assert.Equal(MathF.Sqrt(14f / 3), s.Std[0], 6);
        Assert.Equal(MathF.Sqrt(1400f / 3), s.Std[1], 4);
        Assert.Equal(1f, s.Std[2]);
    }

    [Fact]
    public void PerFeature_TrainBecomesZeroMeanUnitStd()
    {
        var train = Datasets.Digits();
        var s = new Standardizer().Fit(train);

        var z = s.Transform(train);

        for (int j = 0; j < z.SampleSize; j++)
        {
            double mean = 0, square = 0;
            for (int i = 0; i < z.Count; i++) mean += z.Features[i * 64 + j];
            mean /= z.Count;
            for (int i = 0; i < z.Count; i++) square += Math.Pow(z.Features[i * 64 + j] - mean, 2);
            double std = Math.Sqrt(square / z.Count);
            Assert.InRange(mean, -1e-5, 1e-5);
            bool constant = train.Features.Where((_, k) => k % 64 == j).Distinct().Count() == 1;
            Assert.InRange(std, constant ? 0 : 1 - 1e-4, constant ? 0 : 1 + 1e-4);
        }
        Assert.Same(train.Labels, z.Labels);
        Assert.Equal(0f, train.Features.Min());
    }

    [Fact]
    public void Transform_UsesOnlyTrainStatistics()
    {
        var s = new Standardizer().Fit(Train());

        var z = s.Transform(Test());

        Assert.Equal(0f, z.Features[0], 6);
        Assert.Equal(0f, z.Features[1], 6);
        Assert.Equal(2f, z.Features[2]);
        Assert.Equal([3f, 30f, 7f], Test().Features);
    }

    [Fact]
    public void Global_FitsOneMeanAndStdOverAllFeatures()
    {
        var train = new InMemoryDataset([0, 2, 4, 6], [0, 1], [2]);
        var s = new Standardizer(StandardizationMode.Global).Fit(train);

        Assert.Equal([3f], s.Mean);
        Assert.Equal([MathF.Sqrt(5)], s.Std);

        s.TransformInPlace(train);

        Assert.Equal(0f, train.Features.Average(), 6);
        Assert.Equal(-3f / MathF.Sqrt(5), train.Features[0], 6);
    }

    [SkippableFact]
    public void Global_OnFashionMnistTrain_MatchesTheUsualConstants()
    {
        SystemPackages.FashionMnist.Require();
        var (train, test) = Datasets.FashionMnist();

        var s = new Standardizer(StandardizationMode.Global).Fit(train);
        var z = s.Transform(test);

        Assert.Equal(0.2860, s.Mean[0], 3);
        Assert.Equal(0.3530, s.Std[0], 3);
        Assert.Equal((test.Features[100] - s.Mean[0]) / s.Std[0], z.Features[100]);
    }

    [Fact]
    public void Misuse_IsReportedClearly()
    {
        var s = new Standardizer();

        Assert.Throws<InvalidOperationException>(() => s.Mean);
        Assert.Throws<InvalidOperationException>(() => s.Transform(Test()));
        s.Fit(Train());
        Assert.Throws<ArgumentException>(() => s.Transform(new InMemoryDataset([1, 2], [0], [2])));
    }
}
