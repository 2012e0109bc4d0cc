using Descent.Data;
using Xunit;

namespace Descent.Tests.Data;

public sealed class DataLoaderTests
{
    // Sample i holds the features [i, i + 0.5] and the label i % 3, so a batch tells which samples it carries.
    private static InMemoryDataset Tagged(int count)
    {
        var features = new float[count * 2];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            features[2 * i] = i;
            features[2 * i + 1] = i + 0.5f;
            labels[i] = i % 3;
        }
        return new InMemoryDataset(features, labels, [2], 3);
    }

    private static List<int> Visit(IEnumerable<Batch> batches, List<int>? sizes = null)
    {
        var seen = new List<int>();
        foreach (var batch in batches)
        {
            sizes?.Add(batch.Size);
            var x = batch.X.Data;
            for (int r = 0; r < batch.Size; r++)
            {
                int index = (int)x[2 * r];
                Assert.Equal(index + 0.5f, x[2 * r + 1]);
                Assert.Equal(index % 3, batch.Y[r]);
                Assert.Equal(index, batch.Indices[r]);
                seen.Add(index);
            }
        }
        return seen;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EachEpoch_VisitsEveryIndexExactlyOnce(bool shuffle)
    {
        var loader = new DataLoader(Tagged(103), batchSize: 10, shuffle: shuffle, seed: 7);
        var sizes = new List<int>();

        for (int epoch = 0; epoch < 3; epoch++)
        {
            sizes.Clear();
            var seen = Visit(loader, sizes);
            Assert.Equal(Enumerable.Range(0, 103), seen.Order());
            Assert.Equal([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3], sizes);
        }
        Assert.Equal(11, loader.Count);
        Assert.Equal(3, loader.NextEpoch);
    }

    [Fact]
    public void BatchTensor_HasBatchDimensionThenSampleShape()
    {
        var images = Tagged(10).WithSampleShape(1, 1, 2);
        var loader = new DataLoader(images, batchSize: 4);

        var shapes = loader.Select(b => b.X.Shape.ToArray()).ToList();

        Assert.Equal([[4, 1, 1, 2], [4, 1, 1, 2], [2, 1, 1, 2]], shapes);
    }

    [Fact]
    public void Unshuffled_KeepsDatasetOrder()
    {
        var loader = new DataLoader(Tagged(7), batchSize: 3);

        Assert.Equal(Enumerable.Range(0, 7), Visit(loader));
        Assert.Equal(Enumerable.Range(0, 7), Visit(loader));
    }

    [Fact]
    public void DropLast_SkipsTheIncompleteBatch()
    {
        var loader = new DataLoader(Tagged(103), batchSize: 10, shuffle: true, seed: 1, dropLast: true);
        var sizes = new List<int>();

        var seen = Visit(loader.Epoch(0), sizes);

        Assert.Equal(10, loader.Count);
        Assert.All(sizes, s => Assert.Equal(10, s));
        Assert.Equal(100, seen.Distinct().Count());
        Assert.Equal(loader.EpochOrder(0)[..100], seen);
    }

    [Fact]
    public void DropLast_WithFewerSamplesThanABatch_YieldsNothing()
    {
        var loader = new DataLoader(Tagged(5), batchSize: 8, dropLast: true);

        Assert.Equal(0, loader.Count);
        Assert.Empty(Visit(loader));
        Assert.Equal([5], new DataLoader(Tagged(5), batchSize: 8).Select(b => b.Size));
    }

    [Fact]
    public void SameSeed_GivesTheSameOrdersInEveryRun()
    {
        var first = new DataLoader(Tagged(50), batchSize: 8, shuffle: true, seed: 42);
        var second = new DataLoader(Tagged(50), batchSize: 8, shuffle: true, seed: 42);

        for (int epoch = 0; epoch < 3; epoch++)
            Assert.Equal(Visit(first), Visit(second));
        Assert.Equal(first.EpochOrder(5), second.EpochOrder(5));
    }

    [Fact]
    public void DifferentEpochsAndSeeds_GiveDifferentOrders()
    {
        var loader = new DataLoader(Tagged(50), batchSize: 8, shuffle: true, seed: 42);
        var other = new DataLoader(Tagged(50), batchSize: 8, shuffle: true, seed: 43);

        var epoch0 = Visit(loader);
        var epoch1 = Visit(loader);

        Assert.NotEqual(epoch0, epoch1);
        Assert.NotEqual(Enumerable.Range(0, 50), epoch0);
        Assert.NotEqual(loader.EpochOrder(0), other.EpochOrder(0));
        Assert.Equal(epoch1, Visit(loader.Epoch(1)));
    }

    [Fact]
    public void NextEpoch_ResumesAtAGivenEpoch()
    {
        var loader = new DataLoader(Tagged(30), batchSize: 4, shuffle: true, seed: 3);
        var reference = new DataLoader(Tagged(30), batchSize: 4, shuffle: true, seed: 3);
        Visit(reference);
        Visit(reference);

        loader.NextEpoch = 2;

        Assert.Equal(Visit(reference), Visit(loader));
    }

    [Fact]
    public void Batches_ReuseTheirBuffers()
    {
        var loader = new DataLoader(Tagged(64), batchSize: 16, shuffle: true);
        float[]? firstBuffer = null;
        int[]? firstLabels = null;

        foreach (var (x, y) in loader)
        {
            firstBuffer ??= x.Buffer;
            firstLabels ??= y;
            Assert.Same(firstBuffer, x.Buffer);
            Assert.Same(firstLabels, y);
        }
    }

    [Fact]
    public void SteadyStateEpoch_AllocatesNoLargeArrays()
    {
        var loader = new DataLoader(Tagged(10_000), batchSize: 100, shuffle: true);
        Visit(loader);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int batches = 0;
        foreach (var batch in loader) batches++;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(100, batches);
        Assert.True(allocated < 300 * batches, $"{allocated} bytes allocated over {batches} batches");
    }

    [Fact]
    public void SecondPass_InvalidatesTheFirst()
    {
        var loader = new DataLoader(Tagged(20), batchSize: 5);
        using var outer = loader.GetEnumerator();
        Assert.True(outer.MoveNext());

        Assert.Equal(4, loader.Count());

        var e = Assert.Throws<InvalidOperationException>(() => outer.MoveNext());
        Assert.Contains("one pass", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void NonPositiveBatchSize_IsRejected(int batchSize)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Tagged(4), batchSize));

        Assert.Contains($"batch_size must be a positive integer, got {batchSize}", e.Message);
    }
}
