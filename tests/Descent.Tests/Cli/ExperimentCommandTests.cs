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

public class ExperimentTransferCommandTests
{
    private static string TempDir(string what) => Path.Combine(Path.GetTempPath(), $"descent-{what}-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public void Transfer_prints_the_table_writes_the_picture_and_ends_with_json()
    {
        SystemPackages.FashionMnist.Require();
        var dir = TempDir("exp-transfer");
        try
        {
            var (code, output, err) = Run("experiment", "transfer", "--shots", "10", "--seeds", "2", "--pretrain-samples", "2000", "--pretrain-epochs", "1",
                "--steps", "20", "--test-samples", "200", "--out", dir, "--json");
            Assert.True(code == 0, err);
            Assert.Contains("from scratch", output);
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, "transfer-accuracy.svg")));
            var json = System.Text.Json.JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;
            Assert.Equal([10], json.GetProperty("n").EnumerateArray().Select(e => e.GetInt32()));
            foreach (var method in new[] { "scratch", "finetune", "frozen" })
                Assert.InRange(json.GetProperty(method)[0].GetDouble(), 0.2, 1);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Batch_size_and_step_size_print_their_tables_and_pictures()
    {
        var dir = TempDir("exp-bs");
        try
        {
            var (code, output, err) = Run("experiment", "batch-size", "--batch-sizes", "8,64,full", "--epochs", "3", "--target", "0.5", "--out", dir);
            Assert.True(code == 0, err);
            Assert.Contains("full (1437)", output);
            Assert.Contains("gradient-noise scale", output);
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, "batch-size-loss-time.svg")));
            (code, output, err) = Run("experiment", "step-size", "--steps", "1000", "--runs", "5", "--out", dir);
            Assert.True(code == 0, err);
            Assert.Contains("ε/t²", output);
            Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(dir, "step-size-loss.svg")));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Bad_values_are_one_line_and_exit_code_2()
    {
        foreach (var args in new[]
        {
            new[] { "experiment", "step-size", "--epsilon", "2" },
            ["experiment", "batch-size", "--batch-sizes", "8,x"],
            ["experiment", "transfer", "--pretrain-samples", "40000"],
        })
        {
            var (code, _, err) = Run(args);
            Assert.Equal(2, code);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }
}
