using System.Text.Json;
using static Descent.Tests.Cli.CliRunner;

namespace Descent.Tests.Cli;

public class CliTests
{
    [Theory]
    [InlineData("train", "--bogus")]
    [InlineData("train", "--lr", "-1")]
    [InlineData("train", "--batch-size", "0")]
    [InlineData("train", "--epochs", "0")]
    [InlineData("train", "--dataset", "cifar")]
    [InlineData("train", "--lr", "abc")]
    [InlineData("train", "--hidden", "12,x")]
    [InlineData("train", "--activation", "swishy")]
    [InlineData("train", "--val-fraction", "1.5")]
    [InlineData("train", "--nesterov", "--momentum", "0")]
    public void Bad_input_is_one_line_and_exit_code_2(params string[] args) => AssertUsageError(args);

    [Fact]
    public void Missing_fashion_mnist_says_how_to_get_it()
    {
        var (code, _, err) = Run("train", "--dataset", "fashion-mnist", "--data", "/nonexistent/dir");
        Assert.Equal(2, code);
        Assert.Contains("apt-get install dataset-fashion-mnist", err);
        Assert.Contains("(--data DIR)", err);
    }

    [Fact]
    public void Train_json_summary_is_the_last_line_and_runs_are_reproducible()
    {
        string[] args = ["train", "--epochs", "2", "--hidden", "32", "--json", "--seed", "3"];
        var (code, output, _) = Run(args);
        Assert.Equal(0, code);
        var last = output.TrimEnd().Split('\n')[^1];
        using var doc = JsonDocument.Parse(last);
        double acc = doc.RootElement.GetProperty("test_accuracy").GetDouble();
        double loss = doc.RootElement.GetProperty("test_loss").GetDouble();
        Assert.Equal(2, doc.RootElement.GetProperty("epochs").GetInt32());
        Assert.True(doc.RootElement.GetProperty("seconds").GetDouble() > 0);
        Assert.InRange(acc, 0.8, 1.0);
        var again = JsonDocument.Parse(Run(args).Out.TrimEnd().Split('\n')[^1]);
        Assert.Equal(acc, again.RootElement.GetProperty("test_accuracy").GetDouble());
        Assert.Equal(loss, again.RootElement.GetProperty("test_loss").GetDouble());
    }
}

public class CompareCommandTests
{
    [Fact]
    public void Compare_prints_a_ranked_table_and_writes_pictures()
    {
        var dir = Path.Combine(Path.GetTempPath(), "descent-compare-" + Guid.NewGuid().ToString("N"));
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Descent.Cli.Cli.Run(["compare", "--optimizers", "sgd,momentum,nesterov", "--epochs", "2", "--hidden", "32", "--out", dir], o, e);
        Assert.True(code == 0, e.ToString());
        var text = o.ToString();
        Assert.Contains("rank", text);
        foreach (var name in new[] { "sgd", "momentum", "nesterov" })
        {
            Assert.Contains(name, text);
            Assert.True(File.Exists(Path.Combine(dir, name, "curves.csv")));
        }
        var svg = File.ReadAllText(Path.Combine(dir, "train_loss.svg"));
        Assert.StartsWith("<svg", svg);
        Assert.Contains("nesterov", svg);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Unknown_optimizer_is_a_usage_error()
    {
        var e = new StringWriter();
        Assert.Equal(2, Descent.Cli.Cli.Run(["compare", "--optimizers", "sgd,adamm"], new StringWriter(), e));
        Assert.Contains("unknown optimizer 'adamm'", e.ToString());
    }
}

public class CliDataErrorTests
{
    [SkippableFact]
    public void Truncated_idx_file_is_a_one_line_error_naming_the_file()
    {
        SystemPackages.FashionMnist.Require();
        var dir = Path.Combine(Path.GetTempPath(), "descent-idx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Descent.Data.Datasets.DefaultFashionMnistDir))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        // Keep only the gzip header and a little of the stream: a truncated download.
        var images = Path.Combine(dir, "train-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(images);
        File.WriteAllBytes(images, bytes[..5000]);
        var e = new StringWriter();
        int code = Descent.Cli.Cli.Run(["train", "--dataset", "fashion-mnist", "--data", dir, "--epochs", "1"], new StringWriter(), e);
        Assert.Equal(2, code);
        Assert.Single(e.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("train-images-idx3-ubyte.gz", e.ToString());
        Directory.Delete(dir, true);
    }
}

public class TrainOptionTests
{
    [Theory]
    [InlineData("adam", "--schedule", "cosine", "--schedule-every", "step", "--warmup-steps", "10")]
    [InlineData("rmsprop", "--schedule", "step", "--step-size", "1", "--gamma", "0.5")]
    [InlineData("adamw", "--schedule", "onecycle", "--schedule-every", "step", "--max-lr", "0.01")]
    [InlineData("lbfgs", "--schedule", "exponential", "--gamma", "0.9")]
    [InlineData("nesterov", "--clip-norm", "1", "--accumulate", "2")]
    [InlineData("lion", "--lr", "0.001", "--schedule", "plateau", "--patience", "0")]
    public void Every_optimizer_and_schedule_trains(string optimizer, params string[] extra)
    {
        var (code, output, err) = Run(["train", "--optimizer", optimizer, "--epochs", "2", "--hidden", "32", "--json", .. extra]);
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
        Assert.InRange(doc.RootElement.GetProperty("test_accuracy").GetDouble(), 0.5, 1.0);
    }

    [Theory]
    [InlineData("--optimizer", "adam", "--betas", "1.0,0.999", "Invalid beta parameter at index 0")]
    [InlineData("--optimizer", "adam", "--eps", "-1", "Invalid epsilon value")]
    // The optimizers name the parameter (WeightDecay); the command names its option.
    [InlineData("--optimizer", "sgd", "--lr", "-1", "descent: error: --lr: Invalid learning rate: -1\n")]
    [InlineData("--optimizer", "adamw", "--weight-decay", "-1", "descent: error: --weight-decay: Invalid weight_decay value: -1\n")]
    [InlineData("--optimizer", "sgd", "--schedule", "step", "step_size")]
    [InlineData("--optimizer", "sgd", "--schedule", "warp", "unknown schedule 'warp'")]
    [InlineData("--optimizer", "nadam", "--maximize", "", "maximize")]
    [InlineData("--optimizer", "lbfgs", "--accumulate", "2", "accumulate")]
    public void Bad_hyperparameters_are_usage_errors(string a, string b, string c, string d, string expected)
    {
        string[] args = d.Length > 0 ? ["train", a, b, c, d] : ["train", a, b, c];
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}

public class OptionsThatDoNotApplyTests
{
    [Theory]
    [InlineData("--augment", "flip")]
    [InlineData("--l1", "0.001")]
    [InlineData("--l2", "0.001")]
    [InlineData("--accumulate", "2")]
    [InlineData("--val-fraction", "0.2")]
    [InlineData("--schedule", "cosine")]
    [InlineData("--warmup-steps", "10")]
    [InlineData("--logdir", "never-written")]
    [InlineData("--json", null)]
    public void Folds_refuse_options_they_would_ignore(string option, string? value)
    {
        string[] args = value is null ? ["train", "--folds", "3", option] : ["train", "--folds", "3", option, value];
        var (code, output, err) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal($"descent: error: {option} does not apply with --folds (k-fold cross-validation trains plain models and prints a table)\n", err);
        Assert.Equal("", output);
        Assert.False(Directory.Exists("never-written"));
    }

    [Theory]
    [InlineData("--log-every", "10")]
    [InlineData("--flush-secs", "1")]
    public void Logging_options_need_a_logdir(string option, string value)
    {
        var (code, output, err) = Run("train", "--epochs", "1", option, value);
        Assert.Equal(2, code);
        Assert.Equal($"descent: error: {option} applies only with --logdir\n", err);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("descent: error: --port does not apply with --export (it writes a file and serves nothing)\n", "board", "--logdir", ".", "--export", "never-written.html", "--port", "7000")]
    [InlineData("descent: error: --lr does not apply with --no-train (they set the one-epoch training)\n", "experiment", "init", "--no-train", "--lr", "0.5")]
    [InlineData("descent: error: --samples does not apply with --part polynomial (it sets the subset part)\n", "experiment", "regularization", "--part", "polynomial", "--samples", "100")]
    [InlineData("descent: error: --noise does not apply with --part subset (it sets the polynomial part)\n", "experiment", "regularization", "--part", "subset", "--noise", "0.1")]
    [InlineData("descent: error: --data does not apply to --dataset digits (the digits are embedded); use it with --dataset fashion-mnist\n", "experiment", "batchnorm", "--data", "/tmp")]
    public void Experiment_and_board_options_that_would_be_ignored_are_refused(string expected, params string[] args)
    {
        var (code, output, err) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal(expected, err);
        Assert.Equal("", output);
        Assert.False(File.Exists("never-written.html"));
    }

    [Fact]
    public void Data_directory_is_refused_for_the_embedded_digits()
    {
        var (code, output, err) = Run("train", "--dataset", "digits", "--data", "/tmp", "--epochs", "1");
        Assert.Equal(2, code);
        Assert.Equal("descent: error: --data does not apply to --dataset digits (the digits are embedded); use it with --dataset fashion-mnist\n", err);
        Assert.Equal("", output);
    }
}

public class TrainAugmentOptionTests
{
    [Fact]
    public void Augment_trains_the_mlp_on_images_and_bad_specs_are_usage_errors()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Descent.Cli.Cli.Run(["train", "--augment", "translate:1,noise:0.05", "--epochs", "3", "--hidden", "64", "--json"], o, e);
        Assert.True(code == 0, e.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(o.ToString().TrimEnd().Split('\n')[^1]);
        // Shifted and noisy 8×8 digits learn slower; far above the 0.1 of chance is what this checks.
        Assert.InRange(doc.RootElement.GetProperty("test_accuracy").GetDouble(), 0.5, 1.0);
        var err = new StringWriter();
        Assert.Equal(2, Descent.Cli.Cli.Run(["train", "--augment", "spin:3"], new StringWriter(), err));
        Assert.Contains("spin:3", err.ToString());
    }
}

public class TrainFoldsOptionTests
{
    [Fact]
    public void Folds_reports_every_fold_and_the_mean()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.True(Descent.Cli.Cli.Run(["train", "--folds", "3", "--epochs", "2", "--hidden", "32"], o, e) == 0, e.ToString());
        var text = o.ToString();
        Assert.Contains("fold 1:", text);
        Assert.Contains("fold 3:", text);
        Assert.Contains("3-fold cross-validation: accuracy", text);
        var err = new StringWriter();
        Assert.Equal(2, Descent.Cli.Cli.Run(["train", "--folds", "1"], new StringWriter(), err));
        Assert.Contains("--folds must be at least 2", err.ToString());
    }
}
