namespace Descent.Data;

/// <summary>
/// The part of every epoch's sample order that one of <see cref="Replicas"/> data-parallel processes reads, by
/// PyTorch's <c>DistributedSampler(num_replicas, rank, drop_last)</c> rules: every process computes the same
/// permutation (same seed, same epoch); it is padded by repeating its start up to a multiple of
/// <see cref="Replicas"/> (or, with <see cref="DropLast"/>, cut down to one), and process <see cref="Rank"/> takes the
/// positions <c>Rank, Rank + Replicas, Rank + 2·Replicas, …</c>. The shards are disjoint apart from the padding and
/// of equal length, so every process takes the same number of steps.
/// </summary>
/// <remarks>
/// Batch k of every shard together holds positions <c>k·B·Replicas … (k+1)·B·Replicas − 1</c> of the (padded)
/// permutation: the same samples a single process reads as its batch k with batch size <c>B·Replicas</c>. That is
/// why a run on N processes with batch B matches a run on one with batch N·B, and why a checkpoint's position,
/// counted in batches, means the same with any number of processes at the same global batch.
/// </remarks>
/// <param name="Rank">This process's index, 0 to <paramref name="Replicas"/> − 1.</param>
/// <param name="Replicas">Number of processes sharing the data (the world size).</param>
/// <param name="DropLast">Cut the order down to a multiple of <paramref name="Replicas"/> instead of padding it.</param>
public sealed record DataShard(int Rank, int Replicas, bool DropLast = false)
{
    /// <summary>
    /// Whether the order is padded (or cut) to a multiple of <see cref="Replicas"/> (the default). Without, every
    /// process reads just its positions and shards differ in length by at most one: for evaluation, where every
    /// sample must count exactly once.
    /// </summary>
    public bool Pad { get; init; } = true;

    /// <summary>Samples in this shard of a dataset of <paramref name="count"/> samples.</summary>
    public int Length(int count)
    {
        if (Replicas < 1) throw new ArgumentOutOfRangeException(nameof(Replicas), $"num_replicas must be a positive integer, got {Replicas}");
        if (Rank < 0 || Rank >= Replicas) throw new ArgumentOutOfRangeException(nameof(Rank), $"rank must be in [0, {Replicas - 1}], got {Rank}");
        if (!Pad) return count / Replicas + (Rank < count % Replicas ? 1 : 0);
        return DropLast ? count / Replicas : (count + Replicas - 1) / Replicas;
    }

    /// <summary>Fills <paramref name="shard"/> (of <see cref="Length"/>) with this process's part of <paramref name="order"/>.</summary>
    internal void Take(ReadOnlySpan<int> order, Span<int> shard)
    {
        // Position j of the padded order is order[j mod n]: the padding repeats the start.
        for (int i = 0; i < shard.Length; i++) shard[i] = order[(Rank + i * Replicas) % order.Length];
    }
}
