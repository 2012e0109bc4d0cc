using System.Diagnostics;
using System.Text.Json;
using Descent.Nn;

namespace Descent.Tests.Distributed;

/// <summary>
/// Data-parallel training under MPICH's <c>mpiexec</c>: N ranks with batch B per rank must end with the weights of one
/// process with batch N·B over the same samples (docs/distributed.md), buckets must start during backward, and a
/// rank that dies or hangs must end the job. Skipped without Debian's <c>mpich</c>.
/// </summary>
public sealed class DataParallelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-mpi-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Digits: 1,293 training samples; with --drop-last, 40 global batches of 32 an epoch, so 3 epochs are 120 steps.
    private static readonly string[] Common = ["train", "--epochs", "3", "--drop-last", "--seed", "3"];

    /// <summary>
    /// Trains alone with the global batch, then on <paramref name="ranks"/> ranks with its share each (and
    /// <paramref name="mpiOptions"/>); returns the largest relative difference (‖Δw‖/‖w‖) of a weight tensor.
    /// </summary>
    private double Compare(int ranks, int globalBatch, string[] options, params string[] mpiOptions)
    {
        string single = Path.Combine(_dir, "single.safetensors"), parallel = Path.Combine(_dir, $"ranks{ranks}.safetensors");
        var alone = MpiJob.Run(0, [.. Common, .. options, "--batch-size", globalBatch.ToString(), "--save", single]);
        Assert.True(alone.Code == 0, alone.Err);
        var job = MpiJob.Run(ranks, [.. Common, .. options, .. mpiOptions, "--batch-size", (globalBatch / ranks).ToString(), "--save", parallel]);
        Assert.True(job.Code == 0, job.Out + job.Err);
        Assert.Contains($"Data parallel: {ranks} ranks", job.Out);
        return LargestRelativeDifference(Safetensors.Read(single).Tensors, Safetensors.Read(parallel).Tensors);
    }

    private static double LargestRelativeDifference(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        double worst = 0;
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            double diff = 0, norm = 0;
            for (int i = 0; i < e.Numel; i++)
            {
                diff += Math.Pow(a.Data[i] - e.Data[i], 2);
                norm += Math.Pow(e.Data[i], 2);
            }
            if (norm > 0) worst = Math.Max(worst, Math.Sqrt(diff / norm));
        }
        return worst;
    }

    [SkippableFact]
    public void Two_ranks_match_one_process_with_twice_the_batch_mlp_momentum()
    {
        SystemPackages.Mpich.Require();
        Assert.InRange(Compare(2, 32, ["--optimizer", "momentum", "--lr", "0.05"]), 0, 1e-5);
    }

    [SkippableFact]
    public void Two_ranks_match_one_process_with_twice_the_batch_mlp_adam()
    {
        SystemPackages.Mpich.Require();
        Assert.InRange(Compare(2, 32, ["--optimizer", "adam", "--lr", "0.001"]), 0, 1e-5);
    }

    [SkippableFact]
    public void Two_ranks_match_one_process_with_twice_the_batch_cnn_momentum()
    {
        SystemPackages.Mpich.Require();
        // At lr 0.05 the two runs agree to 2e-7 after one epoch but drift to 1e-4 by the third: rounding differences
        // that flip a ReLU or a max-pool choice grow from there. At 0.02 they stay at 3e-7.
        Assert.InRange(Compare(2, 32, ["--model", "cnn", "--optimizer", "momentum", "--lr", "0.02"]), 0, 1e-5);
    }

    [SkippableFact]
    public void Two_ranks_match_one_process_with_twice_the_batch_cnn_adam()
    {
        SystemPackages.Mpich.Require();
        Assert.InRange(Compare(2, 32, ["--model", "cnn", "--optimizer", "adam", "--lr", "0.001"]), 0, 1e-5);
    }

    [SkippableFact]
    public void Four_ranks_match_one_process_with_four_times_the_batch()
    {
        SystemPackages.Mpich.Require();
        Assert.InRange(Compare(4, 32, ["--optimizer", "momentum", "--lr", "0.05"], "--bucket-cap-mb", "0.05"), 0, 1e-5);
    }

    [SkippableFact]
    public void Synchronized_batch_norm_matches_one_process_with_the_global_batch()
    {
        SystemPackages.Mpich.Require();
        // Local statistics differ from the global batch's; synchronized ones must not.
        Assert.InRange(Compare(2, 32, ["--batch-norm", "--optimizer", "momentum", "--lr", "0.05"], "--sync-batch-norm"), 0, 1e-5);
    }

    [SkippableFact]
    public void Local_batch_norm_differs_from_one_process_with_the_global_batch()
    {
        SystemPackages.Mpich.Require();
        // The check above can fail: without synchronization the same run ends elsewhere.
        Assert.True(Compare(2, 32, ["--batch-norm", "--optimizer", "momentum", "--lr", "0.05"]) > 1e-4);
    }

    [SkippableFact]
    public void Gradient_accumulation_matches_one_process_with_the_global_batch()
    {
        SystemPackages.Mpich.Require();
        string single = Path.Combine(_dir, "single.safetensors"), parallel = Path.Combine(_dir, "accumulated.safetensors");
        Assert.Equal(0, MpiJob.Run(0, [.. Common, "--optimizer", "momentum", "--batch-size", "32", "--save", single]).Code);
        // 2 ranks × 2 micro-batches of 8: the all-reduce only on the stepping one (no_sync on the other).
        var job = MpiJob.Run(2, [.. Common, "--optimizer", "momentum", "--batch-size", "8", "--accumulate", "2", "--json", "--save", parallel]);
        Assert.True(job.Code == 0, job.Err);
        var summary = JsonDocument.Parse(job.Out.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(120, summary.GetProperty("bucket_launches").GetInt64());
        Assert.InRange(LargestRelativeDifference(Safetensors.Read(single).Tensors, Safetensors.Read(parallel).Tensors), 0, 1e-5);
    }

    [SkippableFact]
    public void A_checkpoint_of_two_ranks_resumes_in_one_process_at_the_same_global_batch()
    {
        SystemPackages.Mpich.Require();
        string straight = Path.Combine(_dir, "straight.safetensors"), resumed = Path.Combine(_dir, "resumed.safetensors"), checkpoints = Path.Combine(_dir, "ck");
        string[] options = ["train", "--drop-last", "--optimizer", "momentum", "--lr", "0.05"];
        Assert.Equal(0, MpiJob.Run(0, [.. options, "--epochs", "2", "--batch-size", "32", "--save", straight]).Code);
        var first = MpiJob.Run(2, [.. options, "--epochs", "1", "--batch-size", "16", "--checkpoint-dir", checkpoints]);
        Assert.True(first.Code == 0, first.Err);
        var refused = MpiJob.Run(0, [.. options, "--epochs", "2", "--batch-size", "16", "--resume", checkpoints]);
        Assert.Equal(2, refused.Code);
        Assert.Contains("global batch of 32 (--batch-size × ranks), this run has 16", refused.Err);
        var second = MpiJob.Run(0, [.. options, "--epochs", "2", "--batch-size", "32", "--resume", checkpoints, "--save", resumed]);
        Assert.True(second.Code == 0, second.Err);
        Assert.InRange(LargestRelativeDifference(Safetensors.Read(straight).Tensors, Safetensors.Read(resumed).Tensors), 0, 1e-5);
    }

    [SkippableFact]
    public void Buckets_are_all_reduced_while_backward_still_runs()
    {
        SystemPackages.Mpich.Require();
        // MLP 64-256-128-10: buckets of 50 kB put the last two layers in one bucket and the first (16,640 values) in another.
        var job = MpiJob.Run(2, "train", "--epochs", "1", "--drop-last", "--batch-size", "16", "--bucket-cap-mb", "0.05", "--json");
        Assert.True(job.Code == 0, job.Err);
        var summary = JsonDocument.Parse(job.Out.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(2, summary.GetProperty("buckets").GetInt32());
        Assert.Equal(80, summary.GetProperty("bucket_launches").GetInt64());
        // The output layers' bucket starts every step with the first layer's backward still to run.
        Assert.Equal(40, summary.GetProperty("bucket_launches_during_backward").GetInt64());
    }

    [SkippableFact]
    public void A_killed_rank_ends_the_job_within_seconds_and_leaves_no_process()
    {
        SystemPackages.Mpich.Require();
        string marker = Path.Combine(_dir, "killed.safetensors");
        using var job = MpiJob.Start(2, ["train", "--epochs", "100000", "--save", marker]);
        var printed = new System.Text.StringBuilder();
        var stdout = Task.Run(() =>
        {
            while (job.StandardOutput.ReadLine() is { } line) lock (printed) printed.AppendLine(line);
            lock (printed) return printed.ToString();
        });
        var stderr = job.StandardError.ReadToEndAsync();
        var victim = WaitForRank(marker, 1);
        // Mid-epoch, with both ranks past start-up: rank 0 has printed the rows of a few epochs.
        var training = Stopwatch.StartNew();
        while (training.Elapsed < TimeSpan.FromSeconds(60))
        {
            lock (printed) if (System.Text.RegularExpressions.Regex.IsMatch(printed.ToString(), @"(?m)^ +3 +\d")) break;
            Thread.Sleep(50);
        }
        var killed = Stopwatch.StartNew();
        Process.GetProcessById(victim).Kill();
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(30)), "the job still runs 30 s after a rank was killed");
        Assert.InRange(killed.Elapsed.TotalSeconds, 0, 15);
        Assert.NotEqual(0, job.ExitCode);
        // MPICH's launcher sees a rank die and ends the job, naming the process: the killed one (signal 9), or rank 0
        // when its transport noticed the dead peer first, whose error then names the killed process (pid=N).
        string output = stdout.Result + stderr.Result;
        bool launcherNamedVictim = output.Contains($"PID {victim}") && output.Contains("signal 9");
        bool peerNamedVictim = output.Contains("BAD TERMINATION") && output.Contains($"pid={victim}");
        Assert.True(launcherNamedVictim || peerNamedVictim, $"rank 1 was PID {victim}; the job printed:\n{output}");
        AssertNoneLeft(marker);
    }

    [SkippableFact]
    public void A_rank_that_stops_responding_ends_the_job_after_the_collective_timeout()
    {
        SystemPackages.Mpich.Require();
        string marker = Path.Combine(_dir, "stopped.safetensors");
        using var job = MpiJob.Start(2, ["train", "--epochs", "100000", "--collective-timeout", "3", "--save", marker]);
        var stdout = job.StandardOutput.ReadToEndAsync();
        var stderr = job.StandardError.ReadToEndAsync();
        var victim = WaitForRank(marker, 1);
        // SIGSTOP: the process lives on, so the launcher sees nothing; rank 0's next all-reduce must time out.
        Assert.Equal(0, Syscall.Kill(victim, 19));
        var stopped = Stopwatch.StartNew();
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "the job still runs 60 s after a rank stopped");
        Assert.InRange(stopped.Elapsed.TotalSeconds, 2.5, 30);
        Assert.NotEqual(0, job.ExitCode);
        Assert.Matches(@"rank 0: all-reduce .* did not complete within 3 s; another rank stopped responding", stderr.Result);
        AssertNoneLeft(marker);
    }

    [SkippableFact]
    public void A_rank_that_fails_ends_the_job_with_one_line_naming_it()
    {
        SystemPackages.Mpich.Require();
        // A learning rate this large makes the loss infinite within a few steps; the ranks agree on it and stop.
        var job = MpiJob.Run(2, 120, "train", "--epochs", "5", "--lr", "1e30");
        Assert.NotEqual(0, job.Code);
        Assert.Matches(@"(?m)^rank [01]: loss became (NaN|inf|-inf) at epoch 1, step \d+ \(lr 1E\+30\); lower the learning rate or enable gradient clipping$", job.Err);
        Assert.DoesNotContain("   at ", job.Err);
    }

    [SkippableFact]
    public void Ctrl_c_stops_every_rank_at_the_same_step_and_rank_0_saves_a_checkpoint()
    {
        SystemPackages.Mpich.Require();
        string checkpoints = Path.Combine(_dir, "interrupted");
        using var job = MpiJob.Start(2, ["train", "--epochs", "100000", "--checkpoint-dir", checkpoints]);
        var stdout = job.StandardOutput.ReadToEndAsync();
        var stderr = job.StandardError.ReadToEndAsync();
        WaitForRank(checkpoints, 1);
        // mpiexec forwards SIGINT to the ranks; they agree on it at the next step.
        Assert.Equal(0, Syscall.Kill(job.Id, 2));
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "the job did not stop after Ctrl+C");
        // Each rank exits with 130; what mpiexec makes of that varies (130 from a shell, 0 here), so it is not checked.
        var line = Assert.Single(stdout.Result.Split('\n'), l => l.StartsWith("interrupted in epoch"));
        Assert.Matches(@"after step (\d+); checkpoint .*checkpoint-0*\1\.safetensors", line);
        AssertNoneLeft(checkpoints);
    }

    [SkippableFact]
    public void Distributed_without_a_launcher_is_refused()
    {
        SystemPackages.Mpich.Require();
        var run = MpiJob.Run(0, "train", "--distributed", "--epochs", "1");
        Assert.Equal(2, run.Code);
        Assert.Equal("descent: error: --distributed needs an MPI launcher: run it as mpiexec -n N descent train ... (PMI_RANK and PMI_SIZE are not set)", run.Err.Trim());
    }

    [SkippableFact]
    public void Folds_are_refused_under_mpiexec_by_rank_0_alone()
    {
        SystemPackages.Mpich.Require();
        var run = MpiJob.Run(2, "train", "--folds", "3");
        Assert.NotEqual(0, run.Code);
        Assert.Equal("descent: error: --folds does not apply under mpiexec (cross-validation runs in one process)", run.Err.Trim());
    }

    /// <summary>Every rank of the job has ended (the launcher reaps them as it exits; allow it a moment).</summary>
    private static void AssertNoneLeft(string marker)
    {
        var clock = Stopwatch.StartNew();
        while (MpiJob.Ranks(marker).Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(100);
        Assert.Empty(MpiJob.Ranks(marker));
    }

    /// <summary>Waits until rank <paramref name="rank"/> of the job marked <paramref name="marker"/> trains (rank 0 has printed its header); returns its process id.</summary>
    private static int WaitForRank(string marker, int rank)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (MpiJob.Ranks(marker).FirstOrDefault(r => r.Rank == rank) is { Pid: > 0 } found && clock.Elapsed > TimeSpan.FromSeconds(4)) return found.Pid;
            Thread.Sleep(100);
        }
        Assert.Fail($"rank {rank} did not start within 60 s");
        return -1;
    }
}

internal static partial class Syscall
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    public static partial int Kill(int pid, int signal);
}
