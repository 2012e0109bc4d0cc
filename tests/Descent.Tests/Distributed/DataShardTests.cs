using Descent.Data;
using Descent.Tests.Fixtures;

namespace Descent.Tests.Distributed;

/// <summary>DataShard against PyTorch's DistributedSampler (tests/fixtures/distributed_sampler.json), and what a shard of a shuffled loader holds.</summary>
public sealed class DataShardTests
{
    [Fact]
    public void Shards_are_those_of_pytorchs_distributed_sampler()
    {
        foreach (var c in Fixture.Load("distributed_sampler.json").EnumerateArray())
        {
            int n = c.GetProperty("n").GetInt32(), replicas = c.GetProperty("replicas").GetInt32();
            bool dropLast = c.GetProperty("drop_last").GetBoolean();
            var data = new InMemoryDataset(new float[n], new int[n], [1], numClasses: 2);
            var shards = c.GetProperty("shards").EnumerateArray().ToList();
            for (int rank = 0; rank < replicas; rank++)
            {
                var loader = new DataLoader(data, 4, shard: new DataShard(rank, replicas, dropLast));
                Assert.True(Fixture.Ints(shards[rank]).SequenceEqual(loader.EpochOrder(0)), $"n {n}, {replicas} replicas, rank {rank}, drop_last {dropLast}");
            }
        }
    }

    [Fact]
    public void Batch_k_of_every_rank_together_is_batch_k_of_one_loader_with_the_global_batch()
    {
        var data = new InMemoryDataset(new float[103], new int[103], [1], numClasses: 2);
        var single = new DataLoader(data, 12, shuffle: true, seed: 5, dropLast: true);
        var ranks = Enumerable.Range(0, 3).Select(r => new DataLoader(data, 4, shuffle: true, seed: 5, dropLast: true, shard: new DataShard(r, 3, DropLast: true))).ToList();
        Assert.All(ranks, r => Assert.Equal(single.Count, r.Count));
        var expected = single.Epoch(2).Select(b => b.Indices.ToArray().Order().ToArray()).ToList();
        var perRank = ranks.Select(r => r.Epoch(2).Select(b => b.Indices.ToArray()).ToList()).ToList();
        for (int k = 0; k < expected.Count; k++)
            Assert.Equal(expected[k], perRank.SelectMany(batches => batches[k]).Order().ToArray());
    }

    [Fact]
    public void An_unpadded_shard_counts_every_sample_once()
    {
        var data = new InMemoryDataset(new float[10], new int[10], [1], numClasses: 2);
        var all = Enumerable.Range(0, 3).SelectMany(r => new DataLoader(data, 4, shard: new DataShard(r, 3) { Pad = false }).EpochOrder(0)).Order();
        Assert.Equal(Enumerable.Range(0, 10), all);
    }

    [Fact]
    public void A_rank_outside_the_replicas_is_refused()
    {
        var data = new InMemoryDataset(new float[10], new int[10], [1], numClasses: 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, 4, shard: new DataShard(2, 2)));
        Assert.StartsWith("rank must be in [0, 1], got 2", e.Message);
    }
}

/// <summary>What loading the MPI library does to this process.</summary>
public sealed class MpiLibraryTests
{
    [SkippableFact]
    public void Null_references_stay_exceptions_once_mpi_is_loaded()
    {
        SystemPackages.Mpich.Require();
        // MPI_Get_library_version may be called before MPI_Init; it loads the library, and with it UCX's signal handlers.
        Assert.StartsWith("MPICH", Descent.Distributed.ProcessGroup.LibraryVersion());
        string? nothing = Environment.GetEnvironmentVariable("DESCENT_TEST_SURELY_UNSET");
        Assert.Throws<NullReferenceException>(() => nothing!.Length);
    }
}
