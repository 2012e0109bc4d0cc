using Descent.Data;
using Xunit;

namespace Descent.Tests.Data;

public sealed class DatasetsTests
{
    // Class sizes of the UCI optical digits set as distributed with scikit-learn.
    private static readonly int[] DigitsClassCounts = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];

    [Fact]
    public void Digits_Has1797SamplesWithTheKnownClassCounts()
    {
        var digits = Datasets.Digits();

        Assert.Equal(1797, digits.Count);
        Assert.Equal([64], digits.SampleShape.ToArray());
        Assert.Equal(10, digits.NumClasses);
        Assert.Equal(DigitsClassCounts, digits.ClassCounts());
    }

    [Fact]
    public void Digits_PixelsAreRawIntegerCounts()
    {
        var digits = Datasets.Digits();

        Assert.All(digits.Features, v => Assert.True(v >= 0 && v <= 16 && v == MathF.Floor(v), $"pixel {v}"));
        Assert.Equal(16f, digits.Features.Max());
        // The first row of the file: "0,0,5,13,9,1,0,0,..." labelled 0.
        Assert.Equal([0f, 0f, 5f, 13f, 9f, 1f, 0f, 0f], digits.GetFeatures(0)[..8].ToArray());
        Assert.Equal(0, digits.Labels[0]);
    }

    [SkippableFact]
    public void FashionMnist_LoadsTheOfficialFiles()
    {
        SystemPackages.FashionMnist.Require();

        var (train, test) = Datasets.FashionMnist();

        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        Assert.Equal([784], train.SampleShape.ToArray());
        Assert.Equal([784], test.SampleShape.ToArray());
        Assert.Equal(60_000 * 784, train.Features.Length);
        Assert.Equal(10, train.NumClasses);
        Assert.Equal(9, train.Labels[0]);
        Assert.Equal(9, test.Labels[0]);
        Assert.All(train.ClassCounts(), c => Assert.Equal(6000, c));
        Assert.All(test.ClassCounts(), c => Assert.Equal(1000, c));
        foreach (var set in new[] { train, test })
        {
            float min = float.MaxValue, max = float.MinValue;
            foreach (float v in set.Features)
            {
                if (v < min) min = v;
                if (v > max) max = v;
            }
            Assert.Equal(0f, min);
            Assert.Equal(1f, max);
        }
    }

    [SkippableFact]
    public void FashionMnist_AsImagesSharesThePixels()
    {
        SystemPackages.FashionMnist.Require();
        var (_, test) = Datasets.FashionMnist();

        var images = test.WithSampleShape(1, 28, 28);

        Assert.Equal([1, 28, 28], images.SampleShape.ToArray());
        Assert.Same(test.Features, images.Features);
        Assert.Equal([10_000, 1, 28, 28], images.AsTensor().Shape.ToArray());
    }

    [Fact]
    public void FashionMnist_MissingFileNamesItAndSaysHowToGetIt()
    {
        string dir = Directory.CreateTempSubdirectory("descent-fm-").FullName;
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => Datasets.FashionMnist(dir));

            Assert.Contains(Path.Combine(dir, "train-images-idx3-ubyte.gz"), e.Message);
            Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
            Assert.DoesNotContain("--", e.Message); // the command line's options are the command line's to name
            Assert.DoesNotContain('\n', e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FromIdx_BuildsFlatSamplesAndChecksCounts()
    {
        string dir = Directory.CreateTempSubdirectory("descent-fromidx-").FullName;
        try
        {
            string images = Path.Combine(dir, "images.gz"), labels = Path.Combine(dir, "labels"), shortLabels = Path.Combine(dir, "short");
            Idx.WriteBytes(images, [0, 51, 102, 153, 204, 255, 0, 255, 0, 255, 0, 255], [2, 2, 3], gzip: true);
            Idx.WriteBytes(labels, [1, 0], [2]);
            Idx.WriteBytes(shortLabels, [1], [1]);

            var set = Datasets.FromIdx(images, labels);

            Assert.Equal([6], set.SampleShape.ToArray());
            Assert.Equal([0f, 0.2f, 0.4f, 0.6f, 0.8f, 1f], set.GetFeatures(0).ToArray());
            Assert.Equal([1, 0], set.Labels);
            Assert.Equal(2, set.NumClasses);
            var e = Assert.Throws<InvalidDataException>(() => Datasets.FromIdx(images, shortLabels));
            Assert.Contains("2 samples", e.Message);
            Assert.Contains("1 labels", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
