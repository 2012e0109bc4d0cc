namespace Descent.Data;

/// <summary>
/// A labelled classification dataset, like <c>torch.utils.data.Dataset</c>: <see cref="Count"/> plays
/// <c>__len__</c> and the indexer plays <c>__getitem__</c>. Every sample has the same
/// <see cref="SampleShape"/> and an integer class label in <c>[0, NumClasses)</c>.
/// </summary>
/// <remarks>
/// A subclass implements <see cref="Count"/>, <see cref="CopySample"/> and <see cref="GetLabel"/>;
/// <see cref="DataLoader"/> gathers batches through <see cref="GetBatch"/>, which a subclass may override
/// with a faster bulk copy (the role of <c>__getitems__</c> in PyTorch).
/// </remarks>
public abstract class Dataset
{
    private readonly int[] _sampleShape;

    /// <summary>Sets the shape of one sample (without the batch dimension) and the number of classes.</summary>
    protected Dataset(int[] sampleShape, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Length == 0)
            throw new ArgumentException("sample_shape needs at least one dimension (use [1] for a single feature)", nameof(sampleShape));
        foreach (int d in sampleShape)
            if (d < 1) throw new ArgumentException($"sample_shape dimensions must be positive, got {ShapeUtil.Format(sampleShape)}", nameof(sampleShape));
        if (numClasses < 0) throw new ArgumentOutOfRangeException(nameof(numClasses), $"num_classes must be non-negative, got {numClasses}");
        _sampleShape = (int[])sampleShape.Clone();
        SampleShape = Array.AsReadOnly(_sampleShape);
        SampleSize = ShapeUtil.Numel(_sampleShape);
        NumClasses = numClasses;
    }

    /// <summary>Number of samples, like <c>len(dataset)</c>.</summary>
    public abstract int Count { get; }

    /// <summary>Shape of one sample without the batch dimension, e.g. <c>[64]</c> or <c>[1, 28, 28]</c>.</summary>
    public IReadOnlyList<int> SampleShape { get; }

    /// <summary>Number of floats in one sample (the product of <see cref="SampleShape"/>).</summary>
    public int SampleSize { get; }

    /// <summary>Number of classes; labels lie in <c>[0, NumClasses)</c>.</summary>
    public int NumClasses { get; }

    /// <summary>Writes the features of sample <paramref name="index"/> into <paramref name="destination"/> (length <see cref="SampleSize"/>).</summary>
    public abstract void CopySample(int index, Span<float> destination);

    /// <summary>The class label of sample <paramref name="index"/>.</summary>
    public abstract int GetLabel(int index);

    /// <summary>
    /// Gathers the samples at <paramref name="indices"/> into <paramref name="features"/> (row after row,
    /// <c>indices.Length × SampleSize</c> floats) and their labels into <paramref name="labels"/>.
    /// </summary>
    public virtual void GetBatch(ReadOnlySpan<int> indices, Span<float> features, Span<int> labels)
    {
        int size = SampleSize;
        for (int i = 0; i < indices.Length; i++)
        {
            CopySample(indices[i], features.Slice(i * size, size));
            labels[i] = GetLabel(indices[i]);
        }
    }

    /// <summary>
    /// Sample <paramref name="index"/> as a new tensor of shape <see cref="SampleShape"/> and its label,
    /// like <c>x, y = dataset[i]</c>. Allocates; a training loop should use <see cref="DataLoader"/>.
    /// </summary>
    public (Tensor X, int Y) this[int index]
    {
        get
        {
            var x = new Tensor(new float[SampleSize], _sampleShape);
            CopySample(index, x.Data);
            return (x, GetLabel(index));
        }
    }

    /// <summary>Number of samples of each class (length <see cref="NumClasses"/>).</summary>
    public int[] ClassCounts()
    {
        var counts = new int[NumClasses];
        for (int i = 0; i < Count; i++) counts[GetLabel(i)]++;
        return counts;
    }

    internal int[] SampleShapeArray => _sampleShape;
}

/// <summary>
/// A dataset held in memory as one flat feature array (<see cref="Count"/> × <see cref="Dataset.SampleSize"/>
/// floats, row-major, like a <c>TensorDataset</c> over an <c>[N, ...]</c> tensor) and one label array.
/// </summary>
/// <remarks>
/// The constructor and <see cref="WithSampleShape"/> share the arrays they are given; <see cref="Subset"/>
/// copies. Writing to <see cref="Features"/> changes every dataset that shares it.
/// </remarks>
public sealed class InMemoryDataset : Dataset
{
    /// <summary>
    /// Wraps <paramref name="features"/> (<c>labels.Length × prod(sampleShape)</c> floats) and
    /// <paramref name="labels"/> without copying. <paramref name="numClasses"/> defaults to the largest label + 1.
    /// </summary>
    public InMemoryDataset(float[] features, int[] labels, int[] sampleShape, int? numClasses = null)
        : base(sampleShape, numClasses ?? InferNumClasses(labels))
    {
        ArgumentNullException.ThrowIfNull(features);
        if ((long)labels.Length * SampleSize != features.Length)
            throw new ArgumentException(
                $"features hold {features.Length} floats but {labels.Length} samples of shape {ShapeUtil.Format(sampleShape)} need {(long)labels.Length * SampleSize}",
                nameof(features));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)NumClasses)
                throw new ArgumentException($"label {labels[i]} of sample {i} is outside [0, {NumClasses})", nameof(labels));
        Features = features;
        Labels = labels;
    }

    /// <summary>All features, sample after sample (like <c>dataset.data</c> flattened).</summary>
    public float[] Features { get; }

    /// <summary>All labels (like <c>dataset.targets</c>).</summary>
    public int[] Labels { get; }

    /// <inheritdoc />
    public override int Count => Labels.Length;

    /// <summary>The features of sample <paramref name="index"/>, a view into <see cref="Features"/>.</summary>
    public Span<float> GetFeatures(int index)
    {
        if ((uint)index >= (uint)Count) throw IndexError(index);
        return Features.AsSpan(index * SampleSize, SampleSize);
    }

    /// <inheritdoc />
    public override void CopySample(int index, Span<float> destination) => GetFeatures(index).CopyTo(destination);

    /// <inheritdoc />
    public override int GetLabel(int index)
    {
        if ((uint)index >= (uint)Count) throw IndexError(index);
        return Labels[index];
    }

    /// <inheritdoc />
    public override void GetBatch(ReadOnlySpan<int> indices, Span<float> features, Span<int> labels)
    {
        int size = SampleSize;
        var source = Features;
        for (int i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            if ((uint)index >= (uint)Count) throw IndexError(index);
            source.AsSpan(index * size, size).CopyTo(features.Slice(i * size, size));
            labels[i] = Labels[index];
        }
    }

    /// <summary>
    /// All samples as one tensor of shape <c>[Count, ...SampleShape]</c> sharing <see cref="Features"/>,
    /// e.g. to evaluate a whole test set in one forward pass.
    /// </summary>
    public Tensor AsTensor() => new(Features, [Count, .. SampleShapeArray]);

    /// <summary>
    /// A new dataset holding copies of the samples at <paramref name="indices"/>, in that order
    /// (duplicates allowed). Keeps <see cref="Dataset.NumClasses"/> even when a class is absent from the subset.
    /// </summary>
    public InMemoryDataset Subset(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var features = GC.AllocateUninitializedArray<float>(checked(indices.Length * SampleSize));
        var labels = new int[indices.Length];
        GetBatch(indices, features, labels);
        return new InMemoryDataset(features, labels, SampleShapeArray, NumClasses);
    }

    /// <summary>
    /// The same samples (same arrays, no copy) seen with another sample shape of the same size, like
    /// <c>x.view(-1, *shape)</c>: e.g. the 64 digit pixels as <c>[1, 8, 8]</c> images for a CNN. One
    /// dimension may be -1 and is then inferred.
    /// </summary>
    public InMemoryDataset WithSampleShape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var resolved = (int[])shape.Clone();
        int inferAt = -1;
        long known = 1;
        for (int i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (inferAt >= 0) throw new ArgumentException($"only one dimension can be -1, got {ShapeUtil.Format(shape)}", nameof(shape));
                inferAt = i;
            }
            else if (resolved[i] < 1)
                throw new ArgumentException($"sample shape dimensions must be positive (or one -1), got {ShapeUtil.Format(shape)}", nameof(shape));
            else known *= resolved[i];
        }
        bool fits = inferAt >= 0 ? SampleSize % known == 0 : known == SampleSize;
        if (!fits)
            throw new ArgumentException(
                $"cannot view samples of shape {ShapeUtil.Format(SampleShapeArray)} ({SampleSize} values) as {ShapeUtil.Format(shape)}", nameof(shape));
        if (inferAt >= 0) resolved[inferAt] = (int)(SampleSize / known);
        return new InMemoryDataset(Features, Labels, resolved, NumClasses);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"InMemoryDataset(count={Count}, sample_shape={ShapeUtil.Format(SampleShapeArray)}, num_classes={NumClasses})";

    private static int InferNumClasses(int[] labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        int max = -1;
        foreach (int y in labels)
        {
            if (y < 0) throw new ArgumentException($"labels must be non-negative class indices, got {y}", nameof(labels));
            if (y > max) max = y;
        }
        return max + 1;
    }

    private ArgumentOutOfRangeException IndexError(int index) =>
        new(nameof(index), $"index {index} is out of range for a dataset of {Count} samples");
}
