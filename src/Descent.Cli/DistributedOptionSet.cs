using System.CommandLine;
using System.Globalization;
using Descent.Distributed;
using Descent.Nn;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// <c>train</c>'s and <c>compare</c>'s options for data-parallel training under <c>mpiexec</c>: <c>--distributed</c> (require an MPI
/// launcher), <c>--sync-batch-norm</c>, <c>--bucket-cap-mb</c> and <c>--collective-timeout</c> (docs/distributed.md).
/// </summary>
internal sealed class DistributedOptionSet
{
    public readonly Option<bool> Distributed = new("--distributed") { Description = "Require data-parallel training under an MPI launcher (mpiexec -n N descent train|compare ...); without this flag it starts whenever mpiexec started the process" };
    public readonly Option<bool> SyncBatchNorm = new("--sync-batch-norm") { Description = "BatchNorm normalizes with the statistics of the global batch, all-reduced over the ranks (default: each rank's own)" };
    public readonly Option<double?> BucketCapMB = new("--bucket-cap-mb") { Description = "Gradients are all-reduced in buckets of this many MB as backward produces them (default 25, as PyTorch's DDP; 0: one all-reduce of all gradients after backward)" };
    public readonly Option<double?> Timeout = new("--collective-timeout") { Description = "Seconds a rank waits for the others in a collective before the job is ended (default 60)" };

    public readonly Option<bool> DropLast = new("--drop-last") { Description = "Skip the last batch of each epoch when it is incomplete (DataLoader's drop_last; under mpiexec also DistributedSampler's: no padding of the shards)" };

    public IEnumerable<Option> All => [Distributed, SyncBatchNorm, BucketCapMB, Timeout, DropLast];

    /// <summary>The options that say how the job is launched and waits, not what it computes (free to change on --resume).</summary>
    public static readonly string[] LaunchOptions = ["--distributed", "--bucket-cap-mb", "--collective-timeout"];

    /// <summary>
    /// Joins the MPI job when a launcher started this process (or refuses <c>--distributed</c> without one); null
    /// when training runs in this process alone, after refusing the options that need MPI.
    /// </summary>
    public ProcessGroup? Start(ParseResult parse)
    {
        if (parse.GetValue(BucketCapMB) is { } cap && (!(cap >= 0) || !double.IsFinite(cap)))
            throw new UsageException($"--bucket-cap-mb must be a non-negative number, got {cap.ToString(CultureInfo.InvariantCulture)}");
        if (parse.GetValue(Timeout) is { } seconds && (!(seconds > 0) || !double.IsFinite(seconds)))
            throw new UsageException($"--collective-timeout must be a positive number of seconds, got {seconds.ToString(CultureInfo.InvariantCulture)}");
        if (!ProcessGroup.LaunchedByMpi)
        {
            if (parse.GetValue(Distributed))
                throw new UsageException($"--distributed needs an MPI launcher: run it as mpiexec -n N descent {parse.CommandResult.Command.Name} ... (PMI_RANK and PMI_SIZE are not set)");
            parse.Refuse([SyncBatchNorm, BucketCapMB, Timeout], "outside an MPI job (start it with mpiexec -n N)");
            return null;
        }
        ProcessGroup group;
        try
        {
            group = ProcessGroup.Initialize();
        }
        catch (DllNotFoundException e)
        {
            throw new UsageException(e.Message);
        }
        if (parse.GetValue(Timeout) is { } timeout) group.Timeout = TimeSpan.FromSeconds(timeout);
        return group;
    }

    /// <summary>The training loader: this rank's shard of every epoch under MPI, all of it otherwise.</summary>
    public Data.DataLoader Loader(ParseResult parse, PreparedData data, int batchSize, int seed, Data.Transforms.Augmentation? augmentation, ProcessGroup? group, bool shuffle)
    {
        bool dropLast = parse.GetValue(DropLast);
        var shard = group is null ? null : new Data.DataShard(group.Rank, group.WorldSize, dropLast);
        return data.TrainLoader(batchSize, seed, augmentation, shuffle, dropLast, shard);
    }

    /// <summary>Data-parallel training of <paramref name="model"/> with the options given; turns on synchronized BatchNorm when asked.</summary>
    public DistributedDataParallel Wrap(ParseResult parse, ProcessGroup group, Module model, Optim.Optimizer optimizer)
    {
        if (parse.GetValue(SyncBatchNorm)) SyncBatchNormLayers(model, group);
        return new DistributedDataParallel(group, model, optimizer.Arena, parse.GetValue(BucketCapMB) ?? DistributedDataParallel.DefaultBucketCapMB);
    }

    private static void SyncBatchNormLayers(Module model, ProcessGroup group)
    {
        if (SetGroup(model, group) == 0) throw new UsageException("--sync-batch-norm: the model has no BatchNorm layer (add --batch-norm)");
    }

    /// <summary>Gives every BatchNorm layer in <paramref name="module"/> the group; returns how many there are.</summary>
    private static int SetGroup(Module module, ProcessGroup group)
    {
        int count = 0;
        if (module is BatchNorm norm)
        {
            norm.ProcessGroup = group;
            count++;
        }
        foreach (var (_, child) in module.NamedChildren()) count += SetGroup(child, group);
        return count;
    }
}
