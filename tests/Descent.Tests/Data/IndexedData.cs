using Descent.Data;

namespace Descent.Tests.Data;

/// <summary>Datasets whose features are each sample's own index, so the parts of a split can be traced back to the original rows.</summary>
internal static class IndexedData
{
    public static InMemoryDataset Indexed(int[] labels)
    {
        var features = new float[labels.Length];
        for (int i = 0; i < labels.Length; i++) features[i] = i;
        return new InMemoryDataset(features, labels, [1]);
    }

    /// <summary>201 samples in 5 classes of 50, 23, 7, 120 and 1, interleaved.</summary>
    public static int[] ImbalancedLabels()
    {
        var labels = new List<int>();
        int[] sizes = [50, 23, 7, 120, 1];
        for (int round = 0; labels.Count < sizes.Sum(); round++)
            for (int c = 0; c < sizes.Length; c++)
                if (round < sizes[c]) labels.Add(c);
        return labels.ToArray();
    }

    /// <summary>The original row of every sample of <paramref name="part"/>.</summary>
    public static int[] Origins(InMemoryDataset part) => part.Features.Select(v => (int)v).ToArray();
}
