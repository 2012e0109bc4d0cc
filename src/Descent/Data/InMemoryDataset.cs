namespace Descent.Data;

/// <summary>What a model learns from a dataset's targets.</summary>
public enum TaskKind
{
    /// <summary>Predict one class out of <see cref="Dataset.NumClasses"/> (cross-entropy, accuracy); a target is a class index.</summary>
    Classification,
    /// <summary>Predict real values (mean squared error, RMSE, R²); a target is a vector of <see cref="Dataset.TargetSize"/> floats.</summary>
    Regression,
}

/// <summary>
/// A dataset of (input, target) samples, like <c>torch.utils.data.Dataset</c>: <see cref="Count"/> plays
/// <c>__len__</c> and the indexer plays <c>__getitem__</c>. Every sample has the same <see cref="SampleShape"/>.
/// A classification dataset's target is a class index in <c>[0, NumClasses)</c>; a regression dataset's target
/// is <see cref="TargetSize"/> real values.
/// </summary>
/// <remarks>
/// A subclass implements <see cref="Count"/>, <see cref="CopySample"/> and <see cref="GetLabel"/> (classification)
/// or <see cref="CopyTarget"/> (regression); <see cref="DataLoader"/> gathers batches through
/// <see cref="GetBatch"/>, which a subclass may override with a faster bulk copy (the role of
/// <c>__getitems__</c> in PyTorch).
/// </remarks>
public abstract class Dataset
{
    private readonly int[] _sampleShape;

    /// <summary>A classification dataset: sets the shape of one sample (without the batch dimension) and the number of classes.</summary>
    protected Dataset(int[] sampleShape, int numClasses) : this(sampleShape)
    {
        if (numClasses < 0) throw new ArgumentOutOfRangeException(nameof(numClasses), $"num_classes must be non-negative, got {numClasses}");
        NumClasses = numClasses;
        Task = TaskKind.Classification;
        TargetSize = 1;
    }

    /// <summary>A regression dataset: sets the shape of one sample and the number of real-valued targets per sample.</summary>
    protected Dataset(int[] sampleShape, TaskKind task, int targetSize) : this(sampleShape)
    {
        if (task != TaskKind.Regression) throw new ArgumentException("this constructor makes a regression dataset; a classification dataset gives its number of classes", nameof(task));
        if (targetSize < 1) throw new ArgumentOutOfRangeException(nameof(targetSize), $"target_size must be a positive integer, got {targetSize}");
        Task = TaskKind.Regression;
        TargetSize = targetSize;
    }

    private Dataset(int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Length == 0)
            throw new ArgumentException("sample_shape needs at least one dimension (use [1] for a single feature)", nameof(sampleShape));
        foreach (int d in sampleShape)
            if (d < 1) throw new ArgumentException($"sample_shape dimensions must be positive, got {ShapeUtil.Format(sampleShape)}", nameof(sampleShape));
        _sampleShape = (int[])sampleShape.Clone();
        SampleShape = Array.AsReadOnly(_sampleShape);
        SampleSize = ShapeUtil.Numel(_sampleShape);
    }

    /// <summary>Number of samples, like <c>len(dataset)</c>.</summary>
    public abstract int Count { get; }

    /// <summary>Shape of one sample without the batch dimension, e.g. <c>[64]</c> or <c>[1, 28, 28]</c>.</summary>
    public IReadOnlyList<int> SampleShape { get; }

    /// <summary>Number of floats in one sample (the product of <see cref="SampleShape"/>).</summary>
    public int SampleSize { get; }

    /// <summary>Classification (class-index targets) or regression (real-valued targets).</summary>
    public TaskKind Task { get; }

    /// <summary>Number of classes of a classification dataset (labels lie in <c>[0, NumClasses)</c>); 0 for regression.</summary>
    public int NumClasses { get; }

    /// <summary>
    /// Floats per target: 1 for classification (the class index) and the number of predicted values for
    /// regression. A batch's <see cref="Batch.Target"/> is <c>[N]</c> class indices or <c>[N, TargetSize]</c> values.
    /// </summary>
    public int TargetSize { get; }

    /// <summary>Writes the features of sample <paramref name="index"/> into <paramref name="destination"/> (length <see cref="SampleSize"/>).</summary>
    public abstract void CopySample(int index, Span<float> destination);

    /// <summary>The class label of sample <paramref name="index"/> (classification datasets).</summary>
    public abstract int GetLabel(int index);

    /// <summary>
    /// Writes the target of sample <paramref name="index"/> into <paramref name="destination"/> (length
    /// <see cref="TargetSize"/>): the class index as a float for classification (the default reads
    /// <see cref="GetLabel"/>), the values for regression (a regression subclass overrides this).
    /// </summary>
    public virtual void CopyTarget(int index, Span<float> destination)
    {
        if (Task == TaskKind.Regression)
            throw new NotSupportedException($"{GetType().Name} is a regression dataset and must override CopyTarget");
        destination[0] = GetLabel(index);
    }

    /// <summary>
    /// Gathers the samples at <paramref name="indices"/> into <paramref name="features"/> (row after row,
    /// <c>indices.Length × SampleSize</c> floats) and their targets into <paramref name="targets"/>
    /// (<c>indices.Length × TargetSize</c> floats: class indices or values).
    /// </summary>
    public virtual void GetBatch(ReadOnlySpan<int> indices, Span<float> features, Span<float> targets)
    {
        int size = SampleSize, targetSize = TargetSize;
        for (int i = 0; i < indices.Length; i++)
        {
            CopySample(indices[i], features.Slice(i * size, size));
            CopyTarget(indices[i], targets.Slice(i * targetSize, targetSize));
        }
    }

    /// <summary>
    /// Sample <paramref name="index"/> as a new tensor of shape <see cref="SampleShape"/> and its label,
    /// like <c>x, y = dataset[i]</c> (classification). Allocates; a training loop should use <see cref="DataLoader"/>.
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
        RequireClassification("class counts");
        var counts = new int[NumClasses];
        for (int i = 0; i < Count; i++) counts[GetLabel(i)]++;
        return counts;
    }

    /// <summary>Throws unless this is a classification dataset; <paramref name="what"/> names what needed class labels.</summary>
    internal void RequireClassification(string what)
    {
        if (Task != TaskKind.Classification)
            throw new InvalidOperationException($"{what} need class labels, but this is a regression dataset (targets of {TargetSize} value{(TargetSize == 1 ? "" : "s")})");
    }

    internal int[] SampleShapeArray => _sampleShape;
}

/// <summary>
/// A dataset held in memory as one flat feature array (<see cref="Count"/> × <see cref="Dataset.SampleSize"/>
/// floats, row-major, like a <c>TensorDataset</c> over an <c>[N, ...]</c> tensor) and one target array: class
/// labels (<see cref="Labels"/>) or real values (<see cref="Targets"/>).
/// </summary>
/// <remarks>
/// The constructors and <see cref="WithSampleShape"/> share the arrays they are given; <see cref="Subset"/>
/// copies. Writing to <see cref="Features"/> changes every dataset that shares it.
/// </remarks>
public sealed class InMemoryDataset : Dataset
{
    private readonly int[]? _labels;
    private readonly float[]? _targets;

    /// <summary>
    /// A classification dataset: wraps <paramref name="features"/> (<c>labels.Length × prod(sampleShape)</c>
    /// floats) and <paramref name="labels"/> without copying. <paramref name="numClasses"/> defaults to the largest label + 1.
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
        _labels = labels;
        Count = labels.Length;
    }

    /// <summary>
    /// A regression dataset, like <c>TensorDataset(x, y)</c> with a float <c>y</c> of shape <c>[N, targetSize]</c>:
    /// wraps <paramref name="features"/> (<c>N × prod(sampleShape)</c> floats) and <paramref name="targets"/>
    /// (<c>N × targetSize</c> floats) without copying.
    /// </summary>
    public InMemoryDataset(float[] features, float[] targets, int[] sampleShape, int targetSize = 1)
        : base(sampleShape, TaskKind.Regression, targetSize)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Length % targetSize != 0)
            throw new ArgumentException($"targets hold {targets.Length} floats, not a whole number of targets of {targetSize}", nameof(targets));
        int count = targets.Length / targetSize;
        if ((long)count * SampleSize != features.Length)
            throw new ArgumentException(
                $"features hold {features.Length} floats but {count} samples of shape {ShapeUtil.Format(sampleShape)} need {(long)count * SampleSize}",
                nameof(features));
        Features = features;
        _targets = targets;
        Count = count;
    }

    /// <summary>All features, sample after sample (like <c>dataset.data</c> flattened).</summary>
    public float[] Features { get; }

    /// <summary>All class labels (like <c>dataset.targets</c>) of a classification dataset.</summary>
    /// <exception cref="InvalidOperationException">A regression dataset, which has <see cref="Targets"/> instead.</exception>
    public int[] Labels
    {
        get
        {
            RequireClassification("Labels");
            return _labels!;
        }
    }

    /// <summary>All targets of a regression dataset, sample after sample (<see cref="Count"/> × <see cref="Dataset.TargetSize"/> floats).</summary>
    /// <exception cref="InvalidOperationException">A classification dataset, which has <see cref="Labels"/> instead.</exception>
    public float[] Targets => _targets ?? throw new InvalidOperationException("Targets are the values of a regression dataset; this dataset has class Labels");

    /// <inheritdoc />
    public override int Count { get; }

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
        RequireClassification("GetLabel");
        if ((uint)index >= (uint)Count) throw IndexError(index);
        return _labels![index];
    }

    /// <inheritdoc />
    public override void CopyTarget(int index, Span<float> destination)
    {
        if ((uint)index >= (uint)Count) throw IndexError(index);
        if (_labels is not null) destination[0] = _labels[index];
        else _targets.AsSpan(index * TargetSize, TargetSize).CopyTo(destination);
    }

    /// <inheritdoc />
    public override void GetBatch(ReadOnlySpan<int> indices, Span<float> features, Span<float> targets)
    {
        int size = SampleSize, targetSize = TargetSize;
        var source = Features;
        for (int i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            if ((uint)index >= (uint)Count) throw IndexError(index);
            source.AsSpan(index * size, size).CopyTo(features.Slice(i * size, size));
            if (_labels is not null) targets[i] = _labels[index];
            else _targets.AsSpan(index * targetSize, targetSize).CopyTo(targets.Slice(i * targetSize, targetSize));
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
        var targets = new float[checked(indices.Length * TargetSize)];
        GetBatch(indices, features, targets);
        if (_labels is null) return new InMemoryDataset(features, targets, SampleShapeArray, TargetSize);
        var labels = new int[indices.Length];
        for (int i = 0; i < labels.Length; i++) labels[i] = _labels[indices[i]];
        return new InMemoryDataset(features, labels, SampleShapeArray, NumClasses);
    }

    /// <summary>The same targets (shared) with other features of the same shape, e.g. standardized ones.</summary>
    public InMemoryDataset WithFeatures(float[] features) => WithFeatures(features, SampleShapeArray);

    private InMemoryDataset WithFeatures(float[] features, int[] sampleShape) => _labels is not null
        ? new InMemoryDataset(features, _labels, sampleShape, NumClasses)
        : new InMemoryDataset(features, _targets!, sampleShape, TargetSize);

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
            else known = Math.Min(known * resolved[i], 1L << 32); // saturated above any array size, so a huge shape cannot wrap around to a matching one
        }
        bool fits = inferAt >= 0 ? SampleSize % known == 0 : known == SampleSize;
        if (!fits)
            throw new ArgumentException(
                $"cannot view samples of shape {ShapeUtil.Format(SampleShapeArray)} ({SampleSize} values) as {ShapeUtil.Format(shape)}", nameof(shape));
        if (inferAt >= 0) resolved[inferAt] = (int)(SampleSize / known);
        return WithFeatures(Features, resolved);
    }

    /// <inheritdoc />
    public override string ToString() => Task == TaskKind.Classification
        ? $"InMemoryDataset(count={Count}, sample_shape={ShapeUtil.Format(SampleShapeArray)}, num_classes={NumClasses})"
        : $"InMemoryDataset(count={Count}, sample_shape={ShapeUtil.Format(SampleShapeArray)}, target_size={TargetSize})";

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
