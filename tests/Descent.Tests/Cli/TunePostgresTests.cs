using System.Globalization;
using System.Text.Json;
using Descent.TensorBoard;
using Descent.Tests.Tuning;
using Descent.Tuning;

namespace Descent.Tests.Cli;

/// <summary>
/// <c>descent tune</c> processes sharing one study in a real PostgreSQL server: two workers never run the same trial,
/// and a worker killed with SIGKILL has its trial marked failed after the heartbeat while the study finishes.
/// </summary>
[Collection("ProcessTests")]
public sealed class TunePostgresTests(PostgresFixture server) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-tune-pg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public void Two_worker_processes_never_run_the_same_trial()
    {
        SystemPackages.PostgreSql.Require();
        string logs = Path.Combine(_dir, "logs");
        const int total = 10;
        var (code, output, err) = CliRunner.Run("tune", "--space", "lr=log:1e-3..1e-1, hidden=32|64", "--trials", total.ToString(CultureInfo.InvariantCulture),
            // Trials long enough (100 epochs) that the second process, starting meanwhile, claims some on a loaded machine too.
            "--epochs", "100", "--sampler", "random", "--workers", "2", "--storage", server.Url, "--study", "two-workers", "--logdir", logs, "--json");
        Assert.True(code == 0, output + err);
        var trials = TuneProcessTests.Trials(server.Url, "two-workers");
        Assert.Equal(Enumerable.Range(0, total), trials.Select(t => t.Number));
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
        // Both processes ran trials, and each trial ran once: one process id per trial, one event file per trial's run.
        var pids = trials.Select(t => t.UserAttrs["pid"]).Distinct().ToList();
        Assert.True(pids.Count == 2, $"trials were run by {pids.Count} process(es): {string.Join(", ", pids)}");
        Assert.Contains(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), pids);
        for (int t = 0; t < total; t++)
            Assert.Single(Directory.GetFiles(Path.Combine(logs, $"trial-{t:D4}")), EventFileReader.IsEventFile);
        var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;
        Assert.Equal(total, json.GetProperty("new_trials").GetInt32());
        Assert.Equal(total, output.Split('\n').Count(l => l.StartsWith("trial ", StringComparison.Ordinal)));
    }

    [SkippableFact]
    public void A_worker_killed_with_sigkill_has_its_trial_failed_and_the_study_finishes()
    {
        SystemPackages.PostgreSql.Require();
        const int total = 5;
        string[] args = ["tune", "--space", "lr=log:1e-3..1e-1", "--trials", total.ToString(CultureInfo.InvariantCulture), "--epochs", "60",
            "--sampler", "random", "--storage", server.Url, "--study", "killed-worker", "--heartbeat", "1"];
        int? killedTrial = null;
        using (var worker = TuneProcessTests.Start([.. args, "--worker", "1"]))
        {
            string pid = worker.Id.ToString(CultureInfo.InvariantCulture);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Kill it while it runs a trial of its own.
            while (killedTrial is null && !worker.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120))
            {
                Thread.Sleep(100);
                try
                {
                    killedTrial = TuneProcessTests.Trials(server.Url, "killed-worker")
                        .FirstOrDefault(t => t.State == TrialState.Running && t.UserAttrs.GetValueOrDefault("pid") == pid)?.Number;
                }
                catch (ArgumentException)
                {
                    // The worker has not created the study yet.
                }
            }
            worker.Kill();
            worker.WaitForExit();
        }
        Assert.NotNull(killedTrial);

        var (code, output, err) = CliRunner.Run([.. args, "--json"]);
        Assert.True(code == 0, output + err);
        var trials = TuneProcessTests.Trials(server.Url, "killed-worker");
        Assert.Equal(total, trials.Count);
        Assert.DoesNotContain(trials, t => t.State == TrialState.Running);
        var killed = trials[killedTrial.Value];
        Assert.Equal(TrialState.Failed, killed.State);
        Assert.Equal(StudyStorage.StoppedBeating, killed.Error);
        Assert.True(trials.Count(t => t.State == TrialState.Complete) >= total - 2, string.Join("; ", trials.Select(t => $"{t.Number} {t.State} {t.Error}")));
    }
}
