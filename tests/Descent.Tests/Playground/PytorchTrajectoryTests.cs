using System.Globalization;
using System.Text.Json;
using Descent.Optim;
using Descent.Lab.Playground;
using Descent.Tests.Fixtures;

namespace Descent.Tests.Playground;

/// <summary>
/// <c>descent playground --trace</c> against PyTorch: each case of tests/fixtures/playground/playground.json (made by
/// generate_playground.py with torch.optim in float64) is run through the command line, and every row of the trace
/// (x, y and the loss, steps 0 … 200) must be within 1e-4 of PyTorch's relative to max(|value|, 1).
/// </summary>
public class PytorchTrajectoryTests
{
    private const double Tolerance = 1e-4;

    private static readonly string[] Columns = ["x", "y", "loss"];

    private static readonly JsonElement Root = Fixture.Load("playground/playground.json");

    public static TheoryData<string> Cases() => new(Root.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    private static JsonElement Case(string name) => Root.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Trace_equals_pytorch_trajectory(string name)
    {
        var c = Case(name);
        var start = c.GetProperty("start").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        int steps = Root.GetProperty("steps").GetInt32();
        var dir = PlaygroundCli.TempDir("fixture");
        var trace = Path.Combine(dir, "trace.csv");
        string[] args =
        [
            "--function", c.GetProperty("function").GetString()!, "--optimizer", c.GetProperty("optimizer").GetString()!,
            .. c.GetProperty("args").EnumerateArray().Select(a => a.GetString()!),
            "--steps", steps.ToString(CultureInfo.InvariantCulture),
            "--start", FormattableString.Invariant($"{start[0]:R},{start[1]:R}"), "--trace", trace,
        ];
        var (code, _) = PlaygroundCli.Run(args);
        Assert.Equal(0, code);
        var rows = PlaygroundCli.ReadTrace(trace);
        var expected = c.GetProperty("trajectory").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
        Assert.Equal(expected.Count, rows.Count);
        for (int k = 0; k < rows.Count; k++)
        {
            Assert.Equal(k, rows[k].Step);
            double[] actual = [rows[k].X, rows[k].Y, rows[k].Loss];
            for (int i = 0; i < 3; i++)
            {
                double error = Math.Abs(actual[i] - expected[k][i]) / Math.Max(Math.Abs(expected[k][i]), 1);
                Assert.True(error <= Tolerance,
                    $"{name}, step {k}, {Columns[i]}: PyTorch {expected[k][i]:R}, Descent {actual[i]:R} (relative error {error:G3})");
            }
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Every_optimizer_of_the_playground_has_a_pytorch_trajectory()
    {
        var covered = Root.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("optimizer").GetString()).ToHashSet();
        foreach (var name in PlaygroundOptimizers.Names) Assert.Contains(name, covered);
        Assert.Superset(Optimizers.Names.ToHashSet(), PlaygroundOptimizers.Names.Where(n => n is not ("gd" or "newton")).ToHashSet());
    }
}
