using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Descent.Tests.Cli;

/// <summary>
/// <c>descent doctor</c> end to end: exit code 0 for a healthy setup and 1 with a finding, the JSON report on the last
/// line, the range test's SVG, a user's CSV whose rows repeat across the splits, and bad input refused with exit code 2.
/// </summary>
public sealed class DoctorCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-doctor-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonElement Json(string output) => JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    private static string[] Ids(JsonElement report) => [.. report.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("id").GetString()!)];

    [Fact]
    public void A_healthy_setup_exits_0_with_the_report_and_summary_as_json()
    {
        string plot = Path.Combine(_dir, "lr.svg");
        var (code, output, err) = CliRunner.Run("doctor", "--json", "--lr-plot", plot);
        Assert.True(code == 0, output + err);
        var report = Json(output);
        Assert.True(report.GetProperty("healthy").GetBoolean());
        Assert.Equal(50_826, report.GetProperty("summary").GetProperty("parameters").GetInt64());
        Assert.Equal(5, report.GetProperty("summary").GetProperty("layers").GetArrayLength());
        var constant = report.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("id").GetString() == "constant-features");
        Assert.Equal("info", constant.GetProperty("severity").GetString());
        foreach (var key in new[] { "message", "evidence", "fix" }) Assert.True(constant.TryGetProperty(key, out _), key);
        Assert.Contains("Linear(64 → 256)", output);
        string svg = File.ReadAllText(plot);
        Assert.Contains("<svg", svg);
        Assert.Contains("Learning-rate range test", svg);
    }

    [Fact]
    public void Zeros_init_exits_1_with_symmetry_as_an_error()
    {
        var (code, output, _) = CliRunner.Run("doctor", "--init", "zeros", "--json");
        Assert.Equal(1, code);
        var report = Json(output);
        Assert.False(report.GetProperty("healthy").GetBoolean());
        var symmetry = report.GetProperty("findings").EnumerateArray().First(f => f.GetProperty("id").GetString() == "symmetry");
        Assert.Equal("error", symmetry.GetProperty("severity").GetString());
        Assert.Contains("error  symmetry:", output);
    }

    [Fact]
    public void A_csv_with_repeated_rows_is_train_test_overlap()
    {
        // 150 distinct rows, each written twice: a random test split of 20 % holds copies of training rows.
        var rng = new Random(3);
        var csv = new StringBuilder("x1,x2,y\n");
        for (int i = 0; i < 150; i++)
        {
            double a = Math.Round(rng.NextDouble(), 4), b = Math.Round(rng.NextDouble(), 4);
            string row = string.Create(CultureInfo.InvariantCulture, $"{a},{b},{(a > b ? "up" : "down")}\n");
            csv.Append(row).Append(row);
        }
        string path = Path.Combine(_dir, "rows.csv");
        File.WriteAllText(path, csv.ToString());
        var (code, output, err) = CliRunner.Run("doctor", "--data", path, "--target", "y", "--json");
        Assert.True(code == 1, output + err);
        Assert.Contains("train-test-overlap", Ids(Json(output)));
    }

    [Fact]
    public void Logdir_writes_a_text_per_finding_the_summary_and_the_probe_instruments()
    {
        string logdir = Path.Combine(_dir, "runs");
        var (code, output, err) = CliRunner.Run("doctor", "--init", "normal:1", "--json", "--logdir", logdir);
        Assert.True(code == 1, output + err);
        var report = Json(output);
        var run = Assert.Single(Descent.TensorBoard.EventFileReader.ReadLogDir(logdir));
        Assert.Contains($"TensorBoard run: {run.Directory}", output);
        Assert.Equal(Ids(report).Select(id => $"findings/{id}/text_summary").Append("summary/text_summary").Order(), run.Texts.Keys.Order());
        foreach (var f in report.GetProperty("findings").EnumerateArray())
        {
            string text = run.Texts[$"findings/{f.GetProperty("id").GetString()}/text_summary"].Single().Text;
            Assert.Contains(f.GetProperty("message").GetString()!, text);
            Assert.Contains(f.GetProperty("fix").GetString()!, text);
        }
        Assert.Contains("Linear(64 → 256)", run.Texts["summary/text_summary"].Single().Text);
        Assert.Equal(50, run.Scalars["grad_norm/0.weight"].Count);
        Assert.Equal(50, run.Scalars["update_ratio/2.weight"].Count);
        Assert.Single(run.Scalars["activation_active/3"]);
        Assert.Single(run.Histograms["activations/1"]);
        Assert.Single(run.Histograms["grads/4.bias"]);
    }

    [Fact]
    public void Logdir_naming_a_file_is_refused_before_the_examination()
    {
        string file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "");
        Assert.Contains("--logdir", CliRunner.AssertUsageError("doctor", "--logdir", file));
    }

    /// <summary>A CSV of three classes in blocks, as a file sorted by label is.</summary>
    internal static string SortedCsv(string dir)
    {
        var rng = new Random(1);
        var csv = new StringBuilder("a,b,c,d,label\n");
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 200; i++)
            {
                csv.Append(string.Join(",", Enumerable.Range(0, 4).Select(_ => (c * 1.5 + rng.NextDouble() * 2 - 1).ToString("F4", CultureInfo.InvariantCulture))));
                csv.Append(CultureInfo.InvariantCulture, $",k{c}\n");
            }
        string path = Path.Combine(dir, "sorted.csv");
        File.WriteAllText(path, csv.ToString());
        return path;
    }

    [Fact]
    public void A_csv_sorted_by_label_without_shuffling_is_single_label_batches_and_shuffling_removes_it()
    {
        string path = SortedCsv(_dir);
        var (code, output, err) = CliRunner.Run("doctor", "--data", path, "--target", "label", "--no-shuffle", "--json");
        Assert.True(code == 1, output + err);
        Assert.Contains("single-label-batches", Ids(Json(output)));
        (code, output, err) = CliRunner.Run("doctor", "--data", path, "--target", "label", "--json");
        Assert.True(code == 0, output + err);
        Assert.DoesNotContain("single-label-batches", Ids(Json(output)));
    }

    [Fact]
    public void Applying_the_fix_for_the_lr_and_the_init_removes_the_finding()
    {
        var (_, output, _) = CliRunner.Run("doctor", "--lr", "3", "--json");
        var tooHigh = Json(output).GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("id").GetString() == "lr-too-high");
        double suggested = tooHigh.GetProperty("evidence").GetProperty("suggested_lr").GetDouble();
        var (code, fixedOutput, err) = CliRunner.Run("doctor", "--lr", suggested.ToString("R", CultureInfo.InvariantCulture), "--json");
        Assert.True(code == 0, fixedOutput + err);
        Assert.DoesNotContain("lr-too-high", Ids(Json(fixedOutput)));

        (code, output, _) = CliRunner.Run("doctor", "--init", "zeros", "--json");
        Assert.Contains("symmetry", Ids(Json(output)));
        // The fix names kaiming-normal.
        (code, output, err) = CliRunner.Run("doctor", "--init", "kaiming-normal", "--json");
        Assert.True(code == 0, output + err);
        Assert.DoesNotContain("symmetry", Ids(Json(output)));
    }

    [Theory]
    [InlineData("--budget", "0")]
    [InlineData("--batch-size", "0")]
    [InlineData("--activation", "swish")]
    [InlineData("--predict", "x.csv")]
    public void Bad_input_exits_2_with_one_line(string option, string value)
    {
        string line = CliRunner.AssertUsageError("doctor", option, value);
        Assert.Contains(option.TrimStart('-').Split('-')[0], line);
    }
}
