using Descent.Data;

namespace Descent.Tests.Data;

public sealed class PreprocessingTests
{
    // Two images of 2 channels × 1 × 2 pixels. Channel 0 holds 1, 3 | 5, 7 (mean 4, population std √5);
    // channel 1 holds 10, 10 | 30, 30 (mean 20, std 10).
    private static InMemoryDataset TwoChannelImages() => new([1, 3, 10, 10, 5, 7, 30, 30], [0, 1], [2, 1, 2]);

    [Fact]
    public void PerChannel_FitsOneMeanAndStdPerChannel()
    {
        var s = Standardizer.FitPerChannel(TwoChannelImages());

        Assert.Equal(StandardizationMode.PerChannel, s.Mode);
        Assert.Equal(2, s.Channels);
        Assert.Equal([4f, 20f], s.Mean);
        Assert.Equal(MathF.Sqrt(5), s.Std[0], 6);
        Assert.Equal(10f, s.Std[1], 6);
    }

    [Fact]
    public void PerChannel_Transform_StandardizesEachChannelWithItsOwnStatistics()
    {
        var z = Standardizer.FitPerChannel(TwoChannelImages()).Transform(TwoChannelImages());

        float r = MathF.Sqrt(5);
        float[] expected = [-3 / r, -1 / r, -1, -1, 1 / r, 3 / r, 1, 1];
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], z.Features[i], 6);
        Assert.Equal([2, 1, 2], z.SampleShape);
    }

    [Fact]
    public void PerChannel_OnFashionMnistSizedImages_GivesZeroMeanUnitStdPerChannel()
    {
        var data = new InMemoryDataset(TestData.Uniform(3, 0, 255, 50 * 3 * 6 * 6).Data.ToArray(), new int[50], [3, 6, 6], 1);
        for (int i = 0; i < 50; i++)
            for (int p = 0; p < 36; p++) data.Features[i * 108 + 36 + p] *= 0.01f; // channel 1 on another scale

        var z = Standardizer.FitPerChannel(data).Transform(data);

        for (int c = 0; c < 3; c++)
        {
            var values = Enumerable.Range(0, 50).SelectMany(i => z.Features.Skip(i * 108 + c * 36).Take(36)).Select(v => (double)v).ToArray();
            double mean = values.Average();
            Assert.InRange(mean, -1e-5, 1e-5);
            Assert.InRange(Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length), 1 - 1e-4, 1 + 1e-4);
        }
    }

    [Fact]
    public void PerChannel_NeedsChannelFirstSamples()
    {
        var flat = new InMemoryDataset(new float[8], [0, 0], [4]);

        var e = Assert.Throws<ArgumentException>(() => Standardizer.FitPerChannel(flat));

        Assert.Contains("per-channel statistics need samples of shape [C, H, W]", e.Message);
    }

    [Fact]
    public void PerChannel_RefusesImagesWithAnotherChannelCount()
    {
        var s = Standardizer.FitPerChannel(TwoChannelImages());
        var oneChannel = new InMemoryDataset(new float[8], [0, 0], [1, 2, 2]);

        var e = Assert.Throws<ArgumentException>(() => s.Transform(oneChannel));

        Assert.Contains("fitted on images of 2 channels", e.Message);
    }

    [Fact]
    public void WithStdFalse_IsMeanSubtraction()
    {
        var train = new InMemoryDataset([1, 10, 3, 30], [0, 1], [2]);

        var centered = new Standardizer(withStd: false).Fit(train).Transform(train);

        Assert.Equal([-1f, -10f, 1f, 10f], centered.Features);
    }

    [Fact]
    public void Preprocessor_MeanSubtractionPerChannel_LeavesTheScale()
    {
        var options = new PreprocessingOptions { Mode = StandardizationMode.PerChannel, WithStd = false };

        var (train, preprocessor) = Preprocessor.FitTransform(TwoChannelImages(), options);

        Assert.Equal([-3f, -1f, -10f, -10f, 1f, 3f, 10f, 10f], train.Features);
        Assert.Equal("per-channel mean subtraction", preprocessor.ToString());
    }

    [Fact]
    public void Preprocessor_Clip_ClampsToKStdAroundTheTrainingMean_InEverySplit()
    {
        // Feature 0 of train: 0, 2, 4, 6 (mean 3, std √5 ≈ 2.236); feature 1 is constant 1 (std taken as 1).
        var train = new InMemoryDataset([0, 1, 2, 1, 4, 1, 6, 1], [0, 1, 0, 1], [2]);
        var test = new InMemoryDataset([100, 1, -100, 5], [0, 1], [2]);
        var options = new PreprocessingOptions { ClipStd = 1, WithMean = false, WithStd = false };

        var (clippedTrain, preprocessor) = Preprocessor.FitTransform(train, options);
        var clippedTest = preprocessor.Transform(test);

        float low = 3 - MathF.Sqrt(5), high = 3 + MathF.Sqrt(5);
        Assert.Equal([low, 1f, 2f, 1f, 4f, 1f, high, 1f], clippedTrain.Features);
        Assert.Equal([high, 1f, low, 2f], clippedTest.Features);
        Assert.Equal([100f, 1f, -100f, 5f], test.Features);
    }

    [Fact]
    public void Preprocessor_ClipThenStandardize_BoundsStandardizedValuesByK()
    {
        var train = new InMemoryDataset(TestData.Random(5, 200 * 3).Data.ToArray(), new int[200], [3], 1);
        train.Features[7] = 40;
        var test = new InMemoryDataset([-1000, 0, 1000], new[] { 0 }, [3], 1);
        var options = new PreprocessingOptions { ClipStd = 2.5 };

        var (z, preprocessor) = Preprocessor.FitTransform(train, options);
        var zTest = preprocessor.Transform(test);

        Assert.All(z.Features, v => Assert.InRange(v, -2.5f - 1e-5f, 2.5f + 1e-5f));
        Assert.Equal(-2.5f, zTest.Features[0], 5);
        Assert.Equal(2.5f, zTest.Features[2], 5);
        Assert.Equal(200, z.Count);
    }

    [Fact]
    public void Preprocessor_RemoveOutliers_DropsTrainingSamplesBeyondKStd_AndRefits()
    {
        // 20 samples near 0 and one at 100: with k = 3 only that one lies beyond 3 std of the training mean.
        var values = Enumerable.Range(0, 20).Select(i => (float)(i % 5 - 2)).Append(100f).ToArray();
        var train = new InMemoryDataset(values, Enumerable.Range(0, 21).Select(i => i % 2).ToArray(), [1]);
        var test = new InMemoryDataset([100f, 0f], [0, 1], [1]);
        var options = new PreprocessingOptions { RemoveOutliersStd = 3 };

        var (cleaned, preprocessor) = Preprocessor.FitTransform(train, options);
        var testOut = preprocessor.Transform(test);

        Assert.Equal([20], preprocessor.RemovedIndices);
        Assert.Equal(20, cleaned.Count);
        Assert.Equal(21, preprocessor.FittedCount);
        // Refitted on the 20 kept samples: values −2..2 evenly, mean 0, std √2.
        Assert.Equal(0f, preprocessor.Statistics.Mean[0], 6);
        Assert.Equal(MathF.Sqrt(2), preprocessor.Statistics.Std[0], 6);
        Assert.Equal(2, testOut.Count);
        Assert.Equal(100 / MathF.Sqrt(2), testOut.Features[0], 4);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i % 2), cleaned.Labels);
        Assert.StartsWith("removed 1 of 21 training samples beyond 3 std", preprocessor.ToString());
    }

    [Fact]
    public void Preprocessor_RemoveOutliers_UsesEveryFeature()
    {
        // Sample 3 is ordinary in feature 0 and extreme in feature 1.
        var train = new InMemoryDataset([0, 0, 1, 0, 2, 0, 1, 9, 0, 0, 1, 0, 2, 0, 1, 0, 0, 0, 2, 0], new int[10], [2], 1);

        var (_, preprocessor) = Preprocessor.FitTransform(train, new PreprocessingOptions { RemoveOutliersStd = 2.5 });

        Assert.Equal([3], preprocessor.RemovedIndices);
    }

    [Fact]
    public void Preprocessor_FitsOnTheTrainingSplitOnly()
    {
        var train = new InMemoryDataset([0, 2, 4], [0, 1, 0], [1]);
        var test = new InMemoryDataset([1000, 2000], [0, 1], [1]);

        var (_, preprocessor) = Preprocessor.FitTransform(train, new PreprocessingOptions());
        preprocessor.Transform(test);

        Assert.Equal([2f], preprocessor.Statistics.Mean);
        Assert.Equal(MathF.Sqrt(8f / 3), preprocessor.Statistics.Std[0], 6);
    }

    [Theory]
    [InlineData(0.0, null, "clip_std must be a positive finite number of standard deviations, got 0")]
    [InlineData(null, -3.0, "remove_outliers_std must be a positive finite number of standard deviations, got -3")]
    public void Preprocessor_BadK_IsRejected(double? clip, double? remove, string message)
    {
        var options = new PreprocessingOptions { ClipStd = clip, RemoveOutliersStd = remove };

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Preprocessor.FitTransform(TwoChannelImages(), options));

        Assert.Contains(message, e.Message);
    }
}
