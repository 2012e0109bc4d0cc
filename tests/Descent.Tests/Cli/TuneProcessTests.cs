using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Descent.Tuning;

namespace Descent.Tests.Cli;

/// <summary>
/// <c>descent tune</c> as real processes: a search killed with SIGKILL and run again does not redo its finished trials
/// and reaches its total; the trial the dead process was running is failed after the heartbeat.
/// </summary>
[Collection("ProcessTests")]
public sealed class TuneProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-tune-kill-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Starts <c>dotnet Descent.Cli.dll ARGS</c>, as the executable runs.</summary>
    internal static Process Start(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_TieredPGO"] = "0";
        var process = Process.Start(info)!;
        // Drained in the background, so a full pipe never stalls the child.
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return process;
    }

    internal static IReadOnlyList<FrozenTrial> Trials(string url, string study)
    {
        using var storage = StudyStorage.Open(url);
        return Study.Load(study, storage).Trials;
    }

    [Fact]
    public void A_search_killed_mid_way_resumes_without_redoing_finished_trials()
    {
        string db = Path.Combine(_dir, "study.db");
        const int total = 10;
        string[] args = ["tune", "--space", "lr=log:1e-3..1e-1, hidden=32|64", "--trials", total.ToString(CultureInfo.InvariantCulture), "--epochs", "40",
            "--sampler", "random", "--storage", db, "--study", "killed", "--heartbeat", "1"];
        int killedPid;
        using (var run = Start(args))
        {
            killedPid = run.Id;
            // Three trials are in the file once their progress lines are out; then SIGKILL, most likely mid-trial.
            int finished = 0;
            for (string? line = run.StandardOutput.ReadLine(); line is not null && finished < 3; line = run.StandardOutput.ReadLine())
                if (line.StartsWith("trial ", StringComparison.Ordinal)) finished++;
            Assert.Equal(3, finished);
            run.Kill();
            run.WaitForExit();
        }
        var before = Trials(db, "killed");
        var finishedBefore = before.Where(t => t.State != TrialState.Running).ToList();
        Assert.True(finishedBefore.Count is >= 3 and < total, $"{finishedBefore.Count} finished before the rerun");
        // A trial left running by the dead process is failed once its heartbeat (1 s) has been silent for 2 s.
        Thread.Sleep(2500);

        var (code, output, err) = CliRunner.Run([.. args, "--json"]);
        Assert.True(code == 0, output + err);
        var after = Trials(db, "killed");
        Assert.Equal(Enumerable.Range(0, total), after.Select(t => t.Number));
        Assert.DoesNotContain(after, t => t.State == TrialState.Running);
        // The finished trials are the killed process's, unchanged; the rerun ran only the rest.
        foreach (var t in finishedBefore)
        {
            var same = after[t.Number];
            Assert.Equal(t.State, same.State);
            Assert.Equal(t.Value, same.Value);
            Assert.Equal(t.Params, same.Params);
            Assert.Equal(killedPid.ToString(CultureInfo.InvariantCulture), same.UserAttrs["pid"]);
        }
        foreach (var t in before.Where(t => t.State == TrialState.Running))
            Assert.Equal(TrialState.Failed, after[t.Number].State);
        var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;
        Assert.Equal(total - before.Count, json.GetProperty("new_trials").GetInt32());
        Assert.Equal(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), after[^1].UserAttrs["pid"]);
    }
}
