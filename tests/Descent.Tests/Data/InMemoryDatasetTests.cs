using Descent.Data;
using Xunit;

namespace Descent.Tests.Data;

public sealed class InMemoryDatasetTests
{
    private static InMemoryDataset Numbered(int count, int sampleSize, int classes)
    {
        var features = new float[count * sampleSize];
        for (int i = 0; i < features.Length; i++) features[i] = i;
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = i % classes;
        return new InMemoryDataset(features, labels, [sampleSize], classes);
    }

    [Fact]
    public void Indexer_ReturnsSampleTensorAndLabel()
    {
        var set = Numbered(5, 4, 3).WithSampleShape(2, 2);

        var (x, y) = set[3];

        Assert.Equal([2, 2], x.Shape.ToArray());
        Assert.Equal([12f, 13f, 14f, 15f], x.ToArray());
        Assert.Equal(0, y);
    }

    [Fact]
    public void Subset_CopiesTheChosenSamplesAndKeepsNumClasses()
    {
        var set = Numbered(6, 2, 4);

        var subset = set.Subset([5, 1, 1]);
        subset.Features[0] = -1;

        Assert.Equal(3, subset.Count);
        Assert.Equal(4, subset.NumClasses);
        Assert.Equal([-1f, 11f, 2f, 3f, 2f, 3f], subset.Features);
        Assert.Equal([1, 1, 1], subset.Labels);
        Assert.Equal(10f, set.Features[10]);
    }

    [Fact]
    public void WithSampleShape_SharesDataAndInfersMinusOne()
    {
        var set = Numbered(3, 64, 2);

        var images = set.WithSampleShape(1, -1, 8);

        Assert.Equal([1, 8, 8], images.SampleShape.ToArray());
        Assert.Same(set.Features, images.Features);
        Assert.Same(set.Labels, images.Labels);
        var e = Assert.Throws<ArgumentException>(() => set.WithSampleShape(1, 8, 9));
        Assert.Contains("[64]", e.Message);
        Assert.Contains("[1, 8, 9]", e.Message);
    }

    [Fact]
    public void Constructor_RejectsMismatchedSizesAndBadLabels()
    {
        Assert.Throws<ArgumentException>(() => new InMemoryDataset(new float[7], [0, 1], [4]));
        Assert.Throws<ArgumentException>(() => new InMemoryDataset(new float[8], [0, 3], [4], numClasses: 3));
        Assert.Throws<ArgumentException>(() => new InMemoryDataset(new float[8], [0, -1], [4]));
        Assert.Equal(6, new InMemoryDataset(new float[8], [0, 5], [4]).NumClasses);
    }

    [Fact]
    public void OutOfRangeIndex_IsReported()
    {
        var set = Numbered(3, 2, 2);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => set.GetLabel(3));

        Assert.Contains("index 3", e.Message);
    }
}
