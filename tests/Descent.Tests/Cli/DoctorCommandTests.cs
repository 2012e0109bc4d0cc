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
