using System.Collections;
using Descent.Data.Transforms;
using Descent.Kernels;

namespace Descent.Data;

/// <summary>
/// One mini-batch from a <see cref="DataLoader"/>: inputs <see cref="X"/> of shape <c>[Size, ...SampleShape]</c>
/// and targets <see cref="Target"/> (<c>[Size]</c> class indices or <c>[Size, TargetSize]</c> values). A
/// classification batch also has its labels as integers in <see cref="Y"/> and deconstructs like PyTorch's
/// <c>for x, y in loader</c>: <c>foreach (var (x, y) in loader)</c>.
/// </summary>
/// <remarks>
/// A batch is valid until the next batch is fetched: the loader refills the same buffers for every batch,
/// so <see cref="X"/>, <see cref="Target"/>, <see cref="Y"/> and <see cref="Indices"/> change under you once the
/// enumeration moves on. Copy what you need to keep (<c>X.Clone()</c>, <c>Y.ToArray()</c>).
/// </remarks>
public sealed class Batch
{
    private readonly int[] _order;
    private readonly int _start;
    private readonly int[]? _labels;

    internal Batch(Tensor x, Tensor target, int[]? labels, int[] order, int start, int epoch, int index)
    {
        X = x;
        Target = target;
        _labels = labels;
        _order = order;
        _start = start;
        Epoch = epoch;
        Index = index;
        Size = x.Shape[0];
    }

    /// <summary>The inputs, shape <c>[Size, ...SampleShape]</c>, a view over the loader's reused buffer.</summary>
    public Tensor X { get; }

    /// <summary>
    /// The targets: <c>[Size]</c> class indices (as floats) for classification, <c>[Size, TargetSize]</c> values for
    /// regression, a view over the loader's reused buffer. This is what a loss takes: <c>loss(model(x), target)</c>.
    /// </summary>
    public Tensor Target { get; }

    /// <summary>The class labels, one per sample (length <see cref="Size"/>), in the loader's reused buffer.</summary>
    /// <exception cref="InvalidOperationException">A regression batch, whose targets are in <see cref="Target"/>.</exception>
    public int[] Y => _labels ?? throw new InvalidOperationException("a regression batch has no class labels; its targets are in Target");

    /// <summary>Number of samples in this batch (the last batch of an epoch may be smaller).</summary>
    public int Size { get; }

    /// <summary>The dataset indices of the samples in this batch, in batch order.</summary>
    public ReadOnlySpan<int> Indices => _order.AsSpan(_start, Size);

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>Position of this batch within its epoch (0-based).</summary>
    public int Index { get; }

    /// <summary>Lets <c>var (x, y) = batch</c> and <c>foreach (var (x, y) in loader)</c> work for classification batches.</summary>
    public void Deconstruct(out Tensor x, out int[] y)
    {
        x = X;
        y = Y;
    }
}

/// <summary>
/// Iterates a <see cref="Dataset"/> in mini-batches, like <c>torch.utils.data.DataLoader(dataset,
/// batch_size, shuffle, drop_last)</c> with a seeded generator, optionally augmenting every sample.
/// </summary>
/// <remarks>
/// <para>
/// Each <c>foreach</c> over the loader is one epoch and advances <see cref="NextEpoch"/>, so consecutive
/// passes see different orders, as with PyTorch's reshuffling per <c>iter(loader)</c>. The order of epoch
/// <c>e</c> is a permutation derived from <see cref="Seed"/> and <c>e</c> alone: the same seed gives the same
/// sequence of orders in every run, and <see cref="Epoch"/> replays any epoch directly (as after
/// resuming from a checkpoint). Without shuffling every epoch visits the samples in dataset order.
/// </para>
/// <para>
/// The loader allocates its batch buffers once and refills them for every batch, so a training loop does
/// not allocate large arrays per step. A <see cref="Batch"/> is therefore valid only until the next one is
/// fetched, and one pass over a loader can run at a time: starting another pass invalidates the first,
/// whose next step throws <see cref="InvalidOperationException"/>. The dataset must not change size while a
/// loader uses it.
/// </para>
/// <para>
/// With a <see cref="Transform"/>, every sample is augmented after it is copied into the batch (the role of a
/// torchvision <c>transform</c> on the training dataset), with random numbers drawn from (transform seed, epoch,
/// dataset index), so augmented batches are reproducible.
/// </para>
/// </remarks>
public sealed class DataLoader : IEnumerable<Batch>
{
    private const ulong ShuffleStream = 0x6C6F616465725F31; // distinguishes loader orders from split orders of the same seed

    private readonly int[] _order;
    private readonly int[]? _fullOrder;
    private readonly float[] _features;
    private readonly float[] _targets;
    private readonly int[]? _labels;
    private readonly int[] _batchShape;
    private readonly int[] _targetShape;
    private int[]? _tailLabels;
    private readonly ImageShape _imageShape;
    private float[][]? _scratch;
    private int _pass;

    /// <summary>Creates a loader over <paramref name="dataset"/>.</summary>
    /// <param name="dataset">The samples to iterate.</param>
    /// <param name="batchSize">Samples per batch (at least 1).</param>
    /// <param name="shuffle">Visit the samples in a new seeded random order every epoch.</param>
    /// <param name="seed">Seed of the shuffling; the same seed gives the same orders in every run.</param>
    /// <param name="dropLast">Skip the last batch of an epoch when it has fewer than <paramref name="batchSize"/> samples.</param>
    /// <param name="transform">
    /// Augmentation applied to every sample as batches are assembled (training loaders only); needs image samples of
    /// shape <c>[C, H, W]</c> (or <c>[H, W]</c>).
    /// </param>
    /// <param name="shard">
    /// In data-parallel training, the part of every epoch's order this process reads (PyTorch's
    /// <c>DistributedSampler</c>); null reads all of it.
    /// </param>
    public DataLoader(Dataset dataset, int batchSize, bool shuffle = false, int seed = 0, bool dropLast = false, Augmentation? transform = null, DataShard? shard = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch_size must be a positive integer, got {batchSize}");
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Transform = transform;
        if (transform is not null) _imageShape = ImageShape.Of(dataset.SampleShape);

        Shard = shard;
        int n = shard?.Length(dataset.Count) ?? dataset.Count;
        _order = new int[n];
        if (shard is not null) _fullOrder = new int[dataset.Count];
        int capacity = Math.Min(batchSize, n);
        _features = new float[checked(capacity * dataset.SampleSize)];
        _targets = new float[checked(capacity * dataset.TargetSize)];
        if (dataset.Task == TaskKind.Classification) _labels = new int[capacity];
        _batchShape = [batchSize, .. dataset.SampleShapeArray];
        _targetShape = dataset.Task == TaskKind.Classification ? [batchSize] : [batchSize, dataset.TargetSize];
        Count = dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /// <summary>The dataset being iterated.</summary>
    public Dataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the samples in a new seeded random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Seed of the shuffling.</summary>
    public int Seed { get; }

    /// <summary>Whether an incomplete last batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>The augmentation applied to every sample, or null.</summary>
    public Augmentation? Transform { get; }

    /// <summary>The part of each epoch this loader reads in data-parallel training, or null for all of it.</summary>
    public DataShard? Shard { get; }

    /// <summary>Number of batches per epoch, like <c>len(loader)</c>.</summary>
    public int Count { get; }

    /// <summary>
    /// The epoch number the next <c>foreach</c> over the loader uses; starts at 0 and goes up by one with each
    /// pass. Set it to resume a run at a given epoch (like <c>DistributedSampler.set_epoch</c>).
    /// </summary>
    public int NextEpoch
    {
        get;
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(NextEpoch), $"epoch must be non-negative, got {value}");
            field = value;
        }
    }

    /// <summary>One epoch with the order of epoch <see cref="NextEpoch"/>, which it then advances.</summary>
    public IEnumerator<Batch> GetEnumerator()
    {
        int epoch = NextEpoch;
        NextEpoch = epoch == int.MaxValue ? 0 : epoch + 1;
        return Enumerate(epoch).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The batches of epoch <paramref name="epoch"/>; does not touch <see cref="NextEpoch"/>.</summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), $"epoch must be non-negative, got {epoch}");
        return Enumerate(epoch);
    }

    /// <summary>
    /// The order in which epoch <paramref name="epoch"/> visits the dataset (a new array of all indices, or of this
    /// loader's <see cref="Shard"/>, before any <see cref="DropLast"/> cut).
    /// </summary>
    public int[] EpochOrder(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), $"epoch must be non-negative, got {epoch}");
        var order = new int[_order.Length];
        FillOrder(order, epoch);
        return order;
    }

    private IEnumerable<Batch> Enumerate(int epoch)
    {
        int pass = ++_pass;
        FillOrder(_order, epoch);
        int n = _order.Length;
        for (int b = 0; b < Count; b++)
        {
            CheckPass(pass);
            int start = b * BatchSize;
            int size = Math.Min(BatchSize, n - start);
            Assemble(epoch, start, size);
            _batchShape[0] = size;
            _targetShape[0] = size;
            int[]? labels = null;
            if (_labels is not null)
            {
                // A batch's Y is a whole array; the short last batch of an epoch gets its own.
                labels = size == _labels.Length ? _labels : (_tailLabels ??= new int[size]);
                for (int i = 0; i < size; i++) labels[i] = (int)_targets[i];
            }
            yield return new Batch(new Tensor(_features, 0, _batchShape), new Tensor(_targets, 0, _targetShape), labels, _order, start, epoch, b);
        }
    }

    private void CheckPass(int pass)
    {
        if (pass != _pass)
            throw new InvalidOperationException(
                "another pass over this DataLoader started while this one was running; a loader refills one set of batch buffers, so only one pass can run at a time (use a second DataLoader)");
    }

    /// <summary>Copies the samples at order positions [start, start + size) into the batch buffers and augments them.</summary>
    private void Assemble(int epoch, int start, int size)
    {
        Dataset.GetBatch(_order.AsSpan(start, size), _features.AsSpan(0, size * Dataset.SampleSize), _targets.AsSpan(0, size * Dataset.TargetSize));
        if (Transform is null) return;
        var scratch = _scratch ??= CreateScratch();
        var body = new AugmentBody
        {
            Transform = Transform,
            Shape = _imageShape,
            Features = _features,
            Order = _order,
            Start = start,
            Epoch = epoch,
            Scratch = scratch,
        };
        // The samples of the batch are split over the worker pool. A background thread that prepared the next batch
        // during the training step measured slower (an epoch of Fashion-MNIST with flip,translate:2,rotate:10 took
        // 1.37× the plain epoch against 1.14× on two cores): the step's kernels already keep every core busy, and
        // a thread competing with them delays the whole step rather than filling idle time.
        WorkerPool.For(size, ref body);
    }

    private float[][] CreateScratch()
    {
        var scratch = new float[WorkerPool.Workers][];
        int length = ImageTransform.ScratchLength(_imageShape);
        for (int i = 0; i < scratch.Length; i++) scratch[i] = new float[length];
        return scratch;
    }

    private void FillOrder(int[] order, int epoch)
    {
        var full = _fullOrder ?? order;
        for (int i = 0; i < full.Length; i++) full[i] = i;
        if (Shuffle) new SeededRandom(Seed, ShuffleStream, (ulong)epoch).Shuffle(full);
        Shard?.Take(full, order);
    }

    /// <summary>Augments the samples of one batch, one sample per index, with the scratch buffer of the running thread.</summary>
    private struct AugmentBody : IParallelBody
    {
        public Augmentation Transform;
        public ImageShape Shape;
        public float[] Features;
        public int[] Order;
        public int Start, Epoch;
        public float[][] Scratch;

        public readonly void Run(int index)
        {
            int size = Shape.Size;
            Transform.Apply(Features.AsSpan(index * size, size), Shape, Epoch, Order[Start + index], Scratch[WorkerPool.CurrentSlot]);
        }
    }
}

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose output depends only on its seed, so data
/// orders are identical across runs, platforms and .NET versions (which <see cref="System.Random"/> does not
/// promise).
/// </summary>
internal struct SeededRandom
{
    private ulong _state;

    /// <summary>A generator for one (seed, stream, index) triple, e.g. (user seed, "loader", epoch).</summary>
    public SeededRandom(int seed, ulong stream, ulong index)
    {
        _state = Mix(Mix((ulong)(uint)seed ^ stream) + index);
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15;
        return Mix(_state);
    }

    /// <summary>A uniform integer in <c>[0, n)</c> without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextBelow(int n)
    {
        uint bound = (uint)n;
        ulong product = (NextUInt64() >> 32) * bound;
        uint low = (uint)product;
        if (low < bound)
        {
            uint threshold = (0u - bound) % bound;
            while (low < threshold)
            {
                product = (NextUInt64() >> 32) * bound;
                low = (uint)product;
            }
        }
        return (int)(product >> 32);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle(Span<int> values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = NextBelow(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
