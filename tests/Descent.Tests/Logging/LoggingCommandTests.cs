using System.Diagnostics;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Descent.Tests.Cli;

namespace Descent.Tests.Logging;

/// <summary>What <c>descent train</c> and <c>descent compare</c> write with <c>--logdir</c>, read back with <see cref="EventFileReader"/>.</summary>
public class LoggingCommandTests
{
    [Fact]
    public void Train_writes_weight_and_gradient_histograms_at_every_epoch_end()
    {
        using var dir = new TempDirectory();
        var (code, _, err) = CliRunner.Run("train", "--dataset", "digits", "--epochs", "3", "--logdir", dir.Path);
        Assert.True(code == 0, err);
        var run = Assert.Single(EventFileReader.ReadLogDir(dir.Path));
        var epochEnds = run.Scalars["epoch/train_loss"].Select(s => s.Step).ToList();
        Assert.Equal(3, epochEnds.Count);
        // The default MLP (256, 128): three Linear layers, each with a weight and a bias.
        string[] parameters = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"];
        foreach (var name in parameters)
        {
            Assert.Equal(epochEnds, run.Histograms["weights/" + name].Select(h => h.Step));
            Assert.Equal(epochEnds, run.Histograms["grads/" + name].Select(h => h.Step));
            Assert.Equal(epochEnds, run.Scalars["update_ratio/" + name].Select(s => s.Step));
        }
        Assert.Equal(64 * 256, run.Histograms["weights/0.weight"][0].Count);
        var hp = run.HParams!;
        Assert.Equal(SessionStatus.StatusSuccess, hp.SessionEnd!.Status);
        Assert.Contains("hparam/test_accuracy", hp.Experiment!.MetricInfos.Select(m => m.Name.Tag));
        Assert.InRange(run.Scalars["hparam/test_accuracy"].Single().Value, 0.5, 1);
    }

    [Fact]
    public async Task Two_trainings_started_together_write_two_runs()
    {
        using var dir = new TempDirectory();
        // Two processes, as two shells would start them; both name their run after the same second, most likely.
        var processes = Enumerable.Range(0, 2).Select(_ => Descent("train", "--dataset", "digits", "--epochs", "1", "--logdir", dir.Path)).ToList();
        foreach (var process in processes)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, await stderr + await stdout);
            process.Dispose();
        }
        var runs = EventFileReader.ReadLogDir(dir.Path);
        Assert.Equal(2, runs.Count);
        Assert.All(runs, run =>
        {
            Assert.Single(run.Files);
            Assert.Single(run.Scalars["epoch/train_loss"]);
            Assert.Equal(SessionStatus.StatusSuccess, run.HParams!.SessionEnd!.Status);
        });
    }

    [Fact]
    public void Every_run_of_a_compare_declares_the_same_hparams_and_metrics_and_has_test_metrics()
    {
        using var dir = new TempDirectory();
        // SGD has a momentum (0 here), Adagrad none: the runs still declare the same columns.
        var (code, _, err) = CliRunner.Run("compare", "--dataset", "digits", "--epochs", "1", "--optimizers", "sgd,adagrad",
            "--logdir", dir.Sub("tb"), "--out", dir.Sub("out"));
        Assert.True(code == 0, err);
        var runs = EventFileReader.ReadLogDir(dir.Sub("tb")).ToDictionary(r => r.Name);
        Assert.Equal(["adagrad", "sgd"], runs.Keys.Order(StringComparer.Ordinal));
        var hparams = runs.Values.Select(r => r.HParams!.Experiment!.HparamInfos.Select(h => h.Name).Order(StringComparer.Ordinal).ToList()).ToList();
        var metrics = runs.Values.Select(r => r.HParams!.Experiment!.MetricInfos.Select(m => m.Name.Tag).Order(StringComparer.Ordinal).ToList()).ToList();
        Assert.Equal(hparams[0], hparams[1]);
        Assert.Equal(metrics[0], metrics[1]);
        Assert.Contains("momentum", hparams[0]);
        Assert.Contains("batch_size", hparams[0]);
        foreach (var tag in new[] { "hparam/val_accuracy", "hparam/val_loss", "hparam/test_accuracy", "hparam/test_loss" })
        {
            Assert.Contains(tag, metrics[0]);
            Assert.All(runs.Values, r => Assert.Single(r.Scalars[tag]));
        }
        Assert.All(runs.Values, r => Assert.Equal(SessionStatus.StatusSuccess, r.HParams!.SessionEnd!.Status));
    }

    /// <summary>Starts the <c>descent</c> executable that the test project carries.</summary>
    private static Process Descent(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll");
        var start = new ProcessStartInfo(Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "dotnet", [dll, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        return Process.Start(start)!;
    }
}
