using static Descent.Tests.Cli.CliRunner;

namespace Descent.Tests.Cli;

public class ExperimentCommandTests
{
    private static string TempDir(string what) => Path.Combine(Path.GetTempPath(), $"descent-{what}-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Init_prints_the_std_and_training_tables_and_writes_pictures_and_tensorboard_runs()
    {
        var dir = TempDir("exp-init");
        var logDir = TempDir("exp-init-tb");
        try
        {
            var (code, output, err) = Run("experiment", "init", "--depth", "4", "--width", "40", "--samples", "60", "--train-width", "20",
                "--inits", "normal-0.01,xavier,he", "--out", dir, "--logdir", logDir);
            Assert.True(code == 0, err);
            Assert.Contains("standard deviation of the activations by layer", output);
            Assert.Contains("N(0, 0.01²)", output);
            Assert.Contains("one epoch on digits", output);
            Assert.Contains("learns", output);
            foreach (var activation in new[] { "tanh", "relu" })
            {
                Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, $"init-{activation}-histograms.svg")));
                Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, $"init-{activation}-std.svg")));
            }
            Assert.Contains($"pictures: {Path.Combine(dir, "init-tanh-histograms.svg")}", output);
            var run = Descent.TensorBoard.EventFileReader.ReadRun(Path.Combine(logDir, "tanh-xavier"));
            Assert.Equal(4, run.Histograms["activations/by_layer"].Count);
            Assert.Single(run.Histograms["activations/layer_4"]);
            Assert.Equal([1L, 2, 3, 4], run.Scalars["layer_stats/std"].Select(s => s.Step));
            Assert.Equal(6, Directory.GetDirectories(logDir).Length);
        }
        finally
        {
            foreach (var d in new[] { dir, logDir })
                if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }

    [Fact]
    public void Batchnorm_prints_the_paper_columns_and_writes_pictures()
    {
        var dir = TempDir("exp-bn");
        try
        {
            var (code, output, err) = Run("experiment", "batchnorm", "--steps", "100", "--eval-every", "20", "--target", "0.9", "--out", dir);
            Assert.True(code == 0, err);
            Assert.Contains("Steps to 90.0%", output);
            Assert.Contains("Max accuracy", output);
            foreach (var row in new[] { "Baseline", "Baseline-x5", "BN-Baseline", "BN-x5", "BN-x30", "BN-x5-Sigmoid" })
                Assert.Contains(row + " ", output);
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, "batchnorm-val-accuracy.svg")));
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, "batchnorm-train-loss.svg")));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("experiment", "nosuch")]
    [InlineData("experiment", "init", "--depth", "0")]
    [InlineData("experiment", "init", "--width", "-3")]
    [InlineData("experiment", "init", "--activations", "swish")]
    [InlineData("experiment", "init", "--inits", "xavier,bogus")]
    [InlineData("experiment", "init", "--lr", "0")]
    [InlineData("experiment", "init", "--momentum", "1")]
    [InlineData("experiment", "batchnorm", "--steps", "0")]
    [InlineData("experiment", "batchnorm", "--target", "1.5")]
    [InlineData("experiment", "batchnorm", "--target", "best")]
    [InlineData("experiment", "batchnorm", "--batch-size", "1")]
    [InlineData("experiment", "batchnorm", "--dataset", "cifar")]
    [InlineData("experiment", "batchnorm", "--hidden", "10,x")]
    [InlineData("experiment", "batchnorm", "--lr", "nan")]
    [InlineData("experiment", "batchnorm", "--val-fraction", "1")]
    public void Bad_input_is_one_line_and_exit_code_2(params string[] args) => AssertUsageError(args);

    [Fact]
    public void A_missing_or_unknown_experiment_names_the_ones_there_are()
    {
        var (code, _, err) = Run("experiment");
        Assert.Equal(2, code);
        Assert.StartsWith("descent: error: experiment needs a name: one of init, batchnorm", err.Trim());
        (code, _, err) = Run("experiment", "dropout");
        Assert.Equal(2, code);
        Assert.StartsWith("descent: error: unknown experiment 'dropout' (expected one of: init, batchnorm", err.Trim());
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
