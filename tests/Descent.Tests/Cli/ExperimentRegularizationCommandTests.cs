namespace Descent.Tests.Cli;

public class ExperimentRegularizationCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(["experiment", "regularization", .. args]);

    private static string TempDir() => Path.Combine(Path.GetTempPath(), "descent-reg-cli-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Polynomial_part_prints_the_sweep_and_writes_pictures()
    {
        var dir = TempDir();
        var (code, output, err) = Run("--part", "polynomial", "--out", dir, "--degrees", "1,4,15", "--lambdas", "0,1e-3,1");
        Assert.True(code == 0, err);
        var rows = output.Split('\n').Where(l => l.TrimStart().StartsWith("15 ")).ToList();
        Assert.Equal(3, rows.Count);
        Assert.Contains("autodiff check, degree 15", output);
        Assert.Single(output.Split('\n'), l => l.EndsWith(" *") && l.TrimStart().StartsWith("4 "));
        foreach (var name in new[] { "poly-fits-lambda0.svg", "poly-fits-best.svg", "poly-mse-degree-15.svg", "poly-gap-vs-lambda.svg" })
            Assert.True(File.Exists(Path.Combine(dir, name)), name);
        Assert.False(File.Exists(Path.Combine(dir, "subset-gap.svg")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Subset_part_prints_one_row_per_regularizer_and_logs_to_tensorboard()
    {
        var dir = TempDir();
        var (code, output, err) = Run("--part", "subset", "--out", dir, "--logdir", Path.Combine(dir, "tb"), "--samples", "100", "--epochs", "2",
            "--hidden", "16", "--regularizers", "none,l2,all");
        Assert.True(code == 0, err);
        Assert.Contains("100 training / 1697 validation", output);
        foreach (var name in new[] { "none", "l2", "all" })
        {
            Assert.Single(output.Split('\n'), l => l.StartsWith(name + " "));
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "tb", "subset", name), "events.out.tfevents.*"));
        }
        Assert.True(File.Exists(Path.Combine(dir, "subset-loss-gap.svg")));
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("--samples: the training subset must be smaller than the 1797 samples of digits, got 5000", "--samples", "5000")]
    [InlineData("--validation-samples: only 97 samples are left for validation, got 500", "--samples", "1700", "--validation-samples", "500")]
    [InlineData("--samples: the training subset needs at least 10 samples (one per class), got 5", "--samples", "5")]
    public void Limits_of_the_library_are_reported_by_the_option_that_set_them(string expected, params string[] args)
    {
        string line = CliRunner.AssertUsageError(["experiment", "regularization", "--part", "subset", "--epochs", "1", .. args, "--out", TempDir()]);
        Assert.Equal("descent: error: " + expected, line);
    }

    [Theory]
    [InlineData("--part", "everything")]
    [InlineData("--degrees", "1,x")]
    [InlineData("--degrees", "99")]
    [InlineData("--lambdas", "0,-1")]
    [InlineData("--points", "10", "--degrees", "15")]
    [InlineData("--regularizers", "none,weight-decay")]
    [InlineData("--samples", "5")]
    [InlineData("--dropout", "1")]
    [InlineData("--augment", "spin:2")]
    [InlineData("--dataset", "cifar")]
    [InlineData("--epochs", "abc")]
    public void Bad_input_is_one_line_and_exit_code_2(params string[] args)
    {
        var (code, output, err) = Run([.. args, "--out", TempDir()]);
        Assert.Equal(2, code);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("", output);
    }
}
