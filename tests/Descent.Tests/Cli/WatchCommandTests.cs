using System.Text.Json;

namespace Descent.Tests.Cli;

/// <summary>
/// <c>descent train --watch</c> and <c>--no-shuffle</c> end to end: a diverging run warns with the doctor's id and fix,
/// a healthy one prints no warning; batches in file order make a label-sorted CSV train badly.
/// </summary>
public sealed class WatchCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-watch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string[] FindingLines(string output) =>
        [.. output.Split('\n').Where(l => l.StartsWith("warning  ", StringComparison.Ordinal) || l.StartsWith("error  ", StringComparison.Ordinal))];

    [Fact]
    public void Lr_50_warns_non_finite_with_its_fix_and_exits_1()
    {
        var (code, output, err) = CliRunner.Run("train", "--watch", "--lr", "50", "--epochs", "1");
        Assert.Equal(1, code);
        var line = Assert.Single(FindingLines(output));
        Assert.StartsWith("error  non-finite: The training loss became NaN at step", line);
        Assert.Contains("    fix: Lower the learning rate", output);
        Assert.Contains("loss became NaN", err);
    }

    [Fact]
    public void A_healthy_default_run_prints_no_warning()
    {
        var (code, output, err) = CliRunner.Run("train", "--watch", "--json");
        Assert.True(code == 0, output + err);
        Assert.Empty(FindingLines(output));
        Assert.True(JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("test_accuracy").GetDouble() > 0.9);
    }

    [Fact]
    public void Tiny_steps_warn_update_ratio_once()
    {
        var (code, output, err) = CliRunner.Run("train", "--watch", "--lr", "1e-6", "--epochs", "3");
        Assert.True(code == 0, output + err);
        var line = Assert.Single(FindingLines(output));
        Assert.StartsWith("warning  update-ratio:", line);
    }

    [Fact]
    public void No_shuffle_trains_a_label_sorted_csv_in_file_order_and_badly()
    {
        // One epoch over blocks of one class each: every step pulls the model toward the class of the block, and the
        // last block's class wins a good part of the test split.
        string path = DoctorCommandTests.SortedCsv(_dir);
        double Accuracy(params string[] extra)
        {
            var (code, output, err) = CliRunner.Run(["train", "--data", path, "--target", "label", "--epochs", "1", "--json", .. extra]);
            Assert.True(code == 0, output + err);
            return JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("test_accuracy").GetDouble();
        }
        double inOrder = Accuracy("--no-shuffle"), shuffled = Accuracy();
        Assert.True(shuffled > 0.9 && inOrder < shuffled - 0.2, $"file order {inOrder}, shuffled {shuffled}");
    }

    [Theory]
    [InlineData("--watch")]
    [InlineData("--no-shuffle")]
    public void Folds_refuse_watch_and_no_shuffle(string option)
    {
        Assert.Contains(option, CliRunner.AssertUsageError("train", "--folds", "3", option));
    }
}
