using System.Diagnostics;
using Descent.Nn;
using Descent.TensorBoard;
using Descent.Training;

namespace Descent.Tests.Cli;

/// <summary>
/// Checkpoints from the command line: N epochs straight and k epochs + <c>--resume</c> give the same bytes (weights,
/// optimizer state, schedule) and the same epoch rows; Ctrl+C mid-epoch checkpoints and resumes exactly; a run killed
/// with SIGKILL at any instant leaves a checkpoint that loads and resumes and event files that read; a diverging run
/// stops with one line and exit code 1.
/// </summary>
[Collection("ProcessTests")]
public sealed class ResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-resume-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => Descent.Tests.Cli.CliRunner.Run(args);

    private string Path_(string name) => Path.Combine(_dir, name);

    /// <summary>The epoch rows of the table without the seconds column, by epoch.</summary>
    private static Dictionary<int, string> Rows(string output) => output.Split('\n')
        .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Where(f => f.Length == 7 && int.TryParse(f[0], out _))
        .ToDictionary(f => int.Parse(f[0]), f => string.Join(' ', f.Take(6)));

    public static TheoryData<string, string[]> Runs() => new()
    {
        { "mlp", ["--optimizer", "adam", "--schedule", "cosine", "--dropout", "0.2", "--epochs", "6"] },
        { "cnn", ["--model", "cnn", "--batch-norm", "--optimizer", "adam", "--schedule", "step", "--step-size", "2", "--gamma", "0.5", "--epochs", "4"] },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void Resuming_from_an_epoch_checkpoint_gives_the_bytes_and_rows_of_the_straight_run(string name, string[] options)
    {
        string straight = Path_(name + "-straight"), resumed = Path_(name + "-resumed");
        var (code, straightOut, err) = Run(["train", .. options, "--checkpoint-dir", straight, "--save", straight + ".safetensors"]);
        Assert.True(code == 0, err);
        Assert.Equal(0, Run(["train", .. options, "--checkpoint-dir", resumed]).Code);
        var files = Checkpoint.List(resumed);
        // Back to the end of epoch 2, as if the run had stopped there.
        foreach (var later in files.Skip(2)) File.Delete(later);
        var (resumeCode, resumedOut, resumeErr) = Run(["train", .. options, "--resume", resumed, "--save", resumed + ".safetensors"]);
        Assert.True(resumeCode == 0, resumeErr);
        Assert.Contains("Resuming from", resumedOut);

        Assert.Equal(File.ReadAllBytes(straight + ".safetensors"), File.ReadAllBytes(resumed + ".safetensors"));
        Assert.Equal(File.ReadAllBytes(Checkpoint.Latest(straight)!), File.ReadAllBytes(Checkpoint.Latest(resumed)!));
        var after = Rows(resumedOut);
        Assert.Equal(Rows(straightOut).Where(r => r.Key > 2), after);
        Assert.NotEmpty(after);
    }

    [Fact]
    public void Resume_refuses_other_options_before_anything_runs()
    {
        string dir = Path_("ck");
        Assert.Equal(0, Run("train", "--epochs", "1", "--checkpoint-dir", dir).Code);
        var (code, output, err) = Run("train", "--epochs", "2", "--optimizer", "adam", "--resume", dir);
        Assert.Equal(2, code);
        Assert.Contains("other options (the defaults)", err);
        Assert.Equal("", output);
        Assert.Equal(2, Run("train", "--keep", "2").Code);
        Assert.Equal(2, Run("train", "--resume", Path_("empty")).Code);
    }

    [Fact]
    public void A_diverging_run_stops_with_one_line_and_exit_code_1_and_keeps_its_checkpoints_finite()
    {
        string dir = Path_("nan");
        var (code, _, err) = Run("train", "--lr", "1e6", "--epochs", "3", "--checkpoint-dir", dir, "--json");
        Assert.Equal(1, code);
        Assert.Matches(@"^descent: error: loss became (NaN|inf) at epoch 1, step \d+ \(lr 1000000\); lower the learning rate or enable gradient clipping\n$", err);
        Assert.Empty(Directory.Exists(dir) ? Checkpoint.List(dir) : []);
    }

    [Theory]
    [InlineData("--lr", "Infinity")]
    [InlineData("--weight-decay", "NaN")]
    [InlineData("--clip-norm", "-Infinity")]
    [InlineData("--momentum", "NaN")]
    public void Non_finite_option_values_are_refused_at_parsing(string option, string value)
    {
        var (code, output, err) = Run("train", option, value);
        Assert.Equal(2, code);
        Assert.Equal($"descent: error: {option} must be a finite number, got {value}\n", err);
        Assert.Equal("", output);
    }

    private static Process Start(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_TieredPGO"] = "0";
        return Process.Start(info)!;
    }

    [Fact]
    public void Ctrl_c_mid_epoch_checkpoints_exits_130_and_the_resumed_run_ends_with_the_straight_runs_bytes()
    {
        string[] options = ["train", "--optimizer", "adam", "--dropout", "0.2", "--epochs", "100", "--batch-size", "16"];
        string straight = Path_("straight.safetensors"), resumed = Path_("resumed.safetensors"), dir = Path_("ctrl-c");
        using (var first = Start([.. options, "--checkpoint-dir", dir, "--checkpoint-every", "1000"]))
        {
            // Wait for the epoch table to start, then interrupt mid-run.
            var header = first.StandardOutput.ReadLine();
            while (header is not null && !header.TrimStart().StartsWith("epoch", StringComparison.Ordinal)) header = first.StandardOutput.ReadLine();
            first.StandardOutput.ReadLine();
            Thread.Sleep(200);
            using (var kill = Process.Start("kill", ["-INT", first.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
            string rest = first.StandardOutput.ReadToEnd();
            first.WaitForExit();
            Assert.True(first.ExitCode == 130, $"exit {first.ExitCode}: {rest} {first.StandardError.ReadToEnd()}");
            Assert.Matches(@"interrupted in epoch \d+ after step \d+; checkpoint .*checkpoint-\d+\.safetensors \(continue with --resume ", rest);
        }
        var (code, resumedOut, err) = Run([.. options, "--resume", dir, "--save", resumed]);
        Assert.True(code == 0, err);
        Assert.Equal(0, Run([.. options, "--save", straight]).Code);
        Assert.Equal(File.ReadAllBytes(straight), File.ReadAllBytes(resumed));
    }

    /// <summary>
    /// Kills real training processes with SIGKILL at 50 instants spread over their run (mid-step, mid-checkpoint-write,
    /// mid-logging: a checkpoint every epoch of ~40 steps and events every step): every time, the newest checkpoint
    /// loads in full, every complete event record reads, and every tenth time the run resumes to its next epoch.
    /// </summary>
    [Fact]
    public void A_run_killed_at_any_instant_leaves_a_checkpoint_that_loads_and_resumes()
    {
        string[] options = ["train", "--epochs", "300", "--keep", "2"];
        var random = new Random(11);
        int loaded = 0, resumedRuns = 0;
        for (int kill = 0; kill < 50; kill++)
        {
            string dir = Path_($"kill-{kill}"), logs = Path_($"logs-{kill}");
            using (var run = Start([.. options, "--checkpoint-dir", dir, "--logdir", logs]))
            {
                // Once the first checkpoint is on disk, every moment is a step, a checkpoint write or a log record.
                var clock = Stopwatch.StartNew();
                while (!run.HasExited && (!Directory.Exists(dir) || Checkpoint.List(dir).Count == 0) && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(5);
                Thread.Sleep(random.Next(1200));
                run.Kill();
                run.WaitForExit();
            }
            foreach (var file in Directory.Exists(logs) ? Directory.EnumerateFiles(logs, "*", SearchOption.AllDirectories).Where(EventFileReader.IsEventFile) : [])
                EventFileReader.ReadFile(file);   // throws on a damaged record; a half-written last one is tolerated
            var latest = Checkpoint.Latest(dir);
            Assert.True(latest is not null, $"kill {kill}: no checkpoint left, though one was on disk before the kill");
            Rng.ManualSeed(99);
            var model = Models.Mlp(64, [256, 128], 10);
            var info = Checkpoint.Load(latest!, model, new Descent.Optim.SGD(model.Parameters(), lr: 0.1), null);
            Assert.True(info.Epoch >= 1);
            loaded++;
            if (kill % 10 == 0)
            {
                var (code, output, err) = Run([.. options.Select(o => o == "300" ? (info.Epoch + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : o), "--resume", dir]);
                Assert.True(code == 0, err);
                Assert.Contains($"Resuming from {latest}", output);
                resumedRuns++;
            }
        }
        Assert.Equal(50, loaded);
        Assert.True(resumedRuns >= 4);
    }
}
