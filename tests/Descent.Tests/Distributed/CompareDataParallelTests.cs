using System.Globalization;

namespace Descent.Tests.Distributed;

/// <summary>
/// <c>descent compare</c> under MPICH's <c>mpiexec</c>: every optimizer's run is data-parallel, so 2 ranks with batch B
/// must rank the optimizers with the figures of one process with batch 2B, and only rank 0 writes. Skipped without
/// Debian's <c>mpich</c>.
/// </summary>
public sealed class CompareDataParallelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-mpi-compare-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Digits with --drop-last: 40 global batches of 32 an epoch, the same samples in both runs (docs/distributed.md).
    private static readonly string[] Common = ["compare", "--optimizers", "momentum,adam", "--epochs", "3", "--drop-last", "--seed", "3", "--target", "0.9"];

    [SkippableFact]
    public void Two_ranks_rank_the_optimizers_as_one_process_with_twice_the_batch_and_only_rank_0_writes()
    {
        SystemPackages.Mpich.Require();
        string single = Path.Combine(_dir, "single"), rank0 = Path.Combine(_dir, "rank0"), rank1 = Path.Combine(_dir, "rank1");
        string logs0 = Path.Combine(_dir, "logs0"), logs1 = Path.Combine(_dir, "logs1");
        var alone = MpiJob.Run(0, [.. Common, "--batch-size", "32", "--out", single]);
        Assert.True(alone.Code == 0, alone.Err);
        // Each rank is told to write elsewhere: whatever appears under rank 1's folders was written by rank 1.
        var job = MpiJob.RunEach(
            [.. Common, "--batch-size", "16", "--out", rank0, "--logdir", logs0],
            [.. Common, "--batch-size", "16", "--out", rank1, "--logdir", logs1]);
        Assert.True(job.Code == 0, job.Out + job.Err);
        Assert.Contains("Data parallel: 2 ranks", job.Out);

        var expected = Table(alone.Out);
        var actual = Table(job.Out);
        Assert.Equal(["adam", "momentum"], expected.Keys.Order());
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            // val acc, test acc, test loss as printed (4 decimals); steps to the target exactly.
            for (int column = 0; column < 3; column++) Assert.InRange(Math.Abs(a[column] - e[column]), 0, 1e-4);
            Assert.Equal(e[3], a[3]);
            // The curves at full precision: the training loss of every step (reduced over the ranks) and every
            // validation check.
            var (expectedLoss, expectedAccuracy) = Curves(Path.Combine(single, name, "curves.csv"));
            var (actualLoss, actualAccuracy) = Curves(Path.Combine(logs0, name, "curves.csv"));
            Assert.Equal(120, expectedLoss.Count);
            Assert.Equal(expectedLoss.Count, actualLoss.Count);
            for (int i = 0; i < expectedLoss.Count; i++)
                Assert.InRange(Math.Abs(actualLoss[i] - expectedLoss[i]) / expectedLoss[i], 0, 1e-5);
            Assert.Equal(expectedAccuracy, actualAccuracy);
        }

        Assert.True(File.Exists(Path.Combine(rank0, "train_loss.svg")));
        Assert.NotEmpty(Directory.GetFiles(logs0, "events.out.tfevents.*", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(rank1), "rank 1 wrote its --out folder");
        Assert.False(Directory.Exists(logs1), "rank 1 wrote its --logdir folder");
    }

    [SkippableFact]
    public void A_closure_optimizer_is_refused_under_mpiexec_with_one_line()
    {
        SystemPackages.Mpich.Require();
        var job = MpiJob.Run(2, "compare", "--optimizers", "sgd,lbfgs", "--epochs", "1", "--out", Path.Combine(_dir, "out"));
        Assert.Equal(2, job.Code);
        Assert.Equal("descent: error: --optimizers lbfgs does not apply under mpiexec (it re-evaluates the loss inside its step; data-parallel training needs optimizers that step once per batch)", job.Err.Trim());
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    /// <summary>The ranked table's rows: optimizer → val acc, test acc, test loss, steps to the target.</summary>
    private static Dictionary<string, double[]> Table(string output)
    {
        var lines = output.Split('\n');
        int header = Array.FindIndex(lines, l => l.TrimStart().StartsWith("rank  optimizer"));
        Assert.True(header >= 0, output);
        var rows = new Dictionary<string, double[]>();
        foreach (var line in lines.Skip(header + 1).TakeWhile(l => l.Trim().Length > 0))
        {
            var cells = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            rows[cells[1]] = [.. cells[3..7].Select(c => double.Parse(c, CultureInfo.InvariantCulture))];
        }
        return rows;
    }

    /// <summary>The training loss of every step and the (step, validation accuracy) checks of a curves.csv.</summary>
    private static (List<double> Loss, List<(long, double)> Accuracy) Curves(string path)
    {
        var loss = new List<double>();
        var accuracy = new List<(long, double)>();
        foreach (var line in File.ReadAllLines(path).Skip(1))
        {
            var cells = line.Split(',');
            loss.Add(double.Parse(cells[1], CultureInfo.InvariantCulture));
            if (cells[2].Length > 0) accuracy.Add((long.Parse(cells[0], CultureInfo.InvariantCulture), double.Parse(cells[2], CultureInfo.InvariantCulture)));
        }
        return (loss, accuracy);
    }
}
