using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using Descent.Distributed;
using Descent.Nn;

namespace Descent.Training;

/// <summary>
/// Data-parallel training over a <see cref="ProcessGroup"/>, as PyTorch's <c>DistributedDataParallel</c>: every
/// process holds the whole model, trains on its own shard of each batch, and before every optimizer step the
/// gradients are averaged over the processes, so all replicas take the same step and stay equal. Give it to
/// <see cref="Trainer.Distributed"/>; the trainer's loader must read a <see cref="Data.DataShard"/> of the data.
/// </summary>
/// <remarks>
/// <para>
/// The gradient arena is cut into buckets of about <see cref="BucketCapMB"/> each, taken from the end of the
/// arena (the last layers, whose gradients backward produces first). As soon as backward has finished every
/// gradient of a bucket (a post-accumulate-grad hook on each parameter), that bucket's all-reduce starts
/// (<c>MPI_Iallreduce</c>) while backward goes on with the earlier layers; the step waits for all of them. Buckets
/// start in the same order on every rank, as MPI requires. When the whole arena fits in one bucket, it is one
/// all-reduce after backward: the latency of several calls does not pay for small models.
/// </para>
/// <para>
/// At construction the parameters and buffers of rank 0 are copied to every rank. Buffers (BatchNorm's running
/// statistics) are copied from rank 0 again before every training forward, as DDP's <c>broadcast_buffers=True</c>
/// does, so that all ranks evaluate with the same statistics.
/// </para>
/// </remarks>
public sealed class DistributedDataParallel : IDisposable
{
    private readonly ParameterArena _arena;
    private readonly Module _model;
    private GCHandle _pin;
    private readonly (int Start, int Count)[] _buckets;
    private readonly int[] _bucketOf;
    private readonly int[] _missing;
    private readonly PendingReduction?[] _pending;

    /// <summary>Each bucket's name in a timeout message, made once rather than every step.</summary>
    private readonly string[] _bucketNames;
    private readonly List<IDisposable> _hooks = [];
    private int _nextToStart;
    private bool _synchronizing;
    private readonly bool _hasBuffers;

    /// <summary>DDP's default bucket size, 25 MB.</summary>
    public const double DefaultBucketCapMB = 25;

    /// <summary>Wraps training of <paramref name="model"/>, whose trainable parameters <paramref name="arena"/> holds, over <paramref name="group"/>.</summary>
    /// <param name="group">The processes that train together.</param>
    /// <param name="model">The model (its buffers are kept equal across ranks).</param>
    /// <param name="arena">The optimizer's arena (<c>optimizer.Arena</c>): the gradients to average.</param>
    /// <param name="bucketCapMB">Bucket size in megabytes (10⁶ bytes), like DDP's <c>bucket_cap_mb</c>; 0 makes one bucket of the whole arena.</param>
    public DistributedDataParallel(ProcessGroup group, Module model, ParameterArena arena, double bucketCapMB = DefaultBucketCapMB)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(arena);
        if (!(bucketCapMB >= 0) || !double.IsFinite(bucketCapMB))
            throw new ArgumentOutOfRangeException(nameof(bucketCapMB), $"bucket_cap_mb must be a non-negative number, got {bucketCapMB}");
        Group = group;
        BucketCapMB = bucketCapMB;
        _model = model;
        _arena = arena;
        _hasBuffers = model.NamedBuffers().Any();
        _buckets = MakeBuckets(arena, bucketCapMB);
        _bucketOf = new int[arena.Parameters.Count];
        for (int b = 0; b < _buckets.Length; b++)
            for (int p = 0; p < arena.Parameters.Count; p++)
                if (arena.OffsetOf(p) >= _buckets[b].Start && arena.OffsetOf(p) < _buckets[b].Start + _buckets[b].Count) _bucketOf[p] = b;
        _missing = new int[_buckets.Length];
        _pending = new PendingReduction?[_buckets.Length];
        _bucketNames = [.. _buckets.Select((bucket, b) => $"all-reduce of gradient bucket {b + 1} of {_buckets.Length} ({bucket.Count} values)")];
        // The arena's gradients are reduced in place while backward runs: they must not move.
        _pin = GCHandle.Alloc(arena.Grad, GCHandleType.Pinned);
        if (_buckets.Length > 1)
        {
            for (int p = 0; p < arena.Parameters.Count; p++)
            {
                int bucket = _bucketOf[p];
                _hooks.Add(arena.Parameters[p].RegisterPostAccumulateGradHook(_ => GradientReady(bucket)));
            }
        }
        BroadcastParameters();
    }

    /// <summary>The processes training together.</summary>
    public ProcessGroup Group { get; }

    /// <summary>The bucket size in megabytes; 0 when the arena is reduced in one call.</summary>
    public double BucketCapMB { get; }

    /// <summary>Number of gradient buckets (1: one all-reduce of the whole arena after backward).</summary>
    public int BucketCount => _buckets.Length;

    /// <summary>Bucket all-reduces started so far.</summary>
    public long BucketsStarted { get; private set; }

    /// <summary>
    /// Bucket all-reduces started while backward still had ops to run: the overlap of communication with
    /// computation (0 with a single bucket).
    /// </summary>
    public long BucketsStartedDuringBackward { get; private set; }

    /// <summary>Copies rank 0's parameters (all of them, trained or frozen) and buffers to every rank.</summary>
    public void BroadcastParameters()
    {
        Group.Broadcast(_arena.Data, 0, "broadcast of the parameters");
        foreach (var p in _model.Parameters())
            if (!ReferenceEquals(p.Arena, _arena)) Group.Broadcast(p.Data, 0, "broadcast of the parameters");
        BroadcastBuffers();
    }

    /// <summary>Copies rank 0's buffers (BatchNorm's running statistics) to every rank.</summary>
    public void BroadcastBuffers()
    {
        foreach (var (_, buffer) in _model.NamedBuffers()) Group.Broadcast(buffer.Data, 0, "broadcast of the buffers");
    }

    /// <summary>Before a training forward: rank 0's buffers to every rank, when the model has any.</summary>
    internal void BroadcastBuffersIfAny()
    {
        if (_hasBuffers) BroadcastBuffers();
    }

    /// <summary>
    /// Called before a backward pass: with <paramref name="synchronize"/> the gradients it produces are averaged
    /// (buckets start as they fill); without, they only accumulate locally, as inside DDP's <c>no_sync()</c> on the
    /// micro-batches of gradient accumulation that do not step.
    /// </summary>
    public void BeginBackward(bool synchronize)
    {
        _synchronizing = synchronize;
        if (!synchronize) return;
        _nextToStart = 0;
        for (int b = 0; b < _buckets.Length; b++) _missing[b] = 0;
        foreach (int b in _bucketOf) _missing[b]++;
    }

    /// <summary>
    /// After the synchronizing backward: starts the buckets not started yet (all of them with one bucket, or those
    /// whose parameters the graph did not reach), waits for every all-reduce and divides by the world size, so that
    /// each gradient is the mean over the ranks.
    /// </summary>
    public void AverageGradients()
    {
        if (!_synchronizing) throw new InvalidOperationException("AverageGradients without BeginBackward(synchronize: true) before the backward pass");
        _synchronizing = false;
        while (_nextToStart < _buckets.Length) StartBucket(_nextToStart++, duringBackward: false);
        for (int b = 0; b < _buckets.Length; b++)
        {
            Group.Wait(_pending[b]!);
            _pending[b] = null;
        }
        if (Group.WorldSize > 1) TensorPrimitives.Multiply(_arena.Grad, 1f / Group.WorldSize, _arena.Grad);
    }

    private void GradientReady(int bucket)
    {
        if (!_synchronizing) return;
        _missing[bucket]--;
        while (_nextToStart < _buckets.Length && _missing[_nextToStart] == 0) StartBucket(_nextToStart++, duringBackward: true);
        // MPI moves a started collective along only inside MPI calls: give it one now and then.
        for (int b = 0; b < _nextToStart; b++)
            if (_pending[b] is { } pending) Group.Progress(pending);
    }

    private void StartBucket(int b, bool duringBackward)
    {
        var (start, count) = _buckets[b];
        _pending[b] = Group.StartAllReduceSum(_arena.Grad, start, count, _bucketNames[b]);
        BucketsStarted++;
        if (duringBackward && Autodiff.Tape.BackwardRemaining > 0) BucketsStartedDuringBackward++;
    }

    /// <summary>Contiguous ranges of the arena, from its end, each closed once it holds at least the cap; parameters are never split.</summary>
    private static (int Start, int Count)[] MakeBuckets(ParameterArena arena, double capMB)
    {
        long capValues = (long)(capMB * 1e6 / sizeof(float));
        if (capValues == 0 || (long)arena.Length <= capValues) return [(0, arena.Length)];
        var buckets = new List<(int, int)>();
        int end = arena.Length;
        for (int p = arena.Parameters.Count - 1; p >= 0; p--)
        {
            int start = arena.OffsetOf(p);
            if (end - start >= capValues || p == 0)
            {
                buckets.Add((start, end - start));
                end = start;
            }
        }
        return [.. buckets];
    }

    /// <summary>Removes the gradient hooks and unpins the arena.</summary>
    public void Dispose()
    {
        foreach (var h in _hooks) h.Dispose();
        _hooks.Clear();
        if (_pin.IsAllocated) _pin.Free();
    }
}
