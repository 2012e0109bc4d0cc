using System.Globalization;
using System.Xml.Linq;
using Descent.Cli;
using Descent.Lab.Playground;

namespace Descent.Tests.Playground;

/// <summary><c>descent playground</c>: the trace format, the comparison and preset outputs, and bad input.</summary>
public class PlaygroundCommandTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void Trace_is_step_x_y_loss_from_step_0_to_n_with_round_trip_floats()
    {
        var dir = PlaygroundCli.TempDir("trace");
        var path = Path.Combine(dir, "sub", "rosenbrock.csv");
        var (code, output) = PlaygroundCli.Run("--function", "rosenbrock", "--optimizer", "adam", "--lr", "0.02", "--betas", "0.9,0.99", "--steps", "50", "--start", "-1.5,2.5", "--trace", path);
        Assert.Equal(0, code);
        Assert.Contains($"trace: {path}", output);
        var text = File.ReadAllText(path);
        Assert.DoesNotContain('\r', text);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal("step,x,y,loss", lines[0]);
        Assert.Equal(51, lines.Length - 1);
        for (int k = 0; k < 51; k++)
        {
            var cells = lines[k + 1].Split(',');
            Assert.Equal(4, cells.Length);
            Assert.Equal(k.ToString(CultureInfo.InvariantCulture), cells[0]);
            foreach (var cell in cells.Skip(1))
            {
                float v = float.Parse(cell, CultureInfo.InvariantCulture);
                Assert.Equal(cell, v.ToString("R", CultureInfo.InvariantCulture));
                Assert.True(cell.TrimStart('-').Split('E')[0].Replace(".", "").TrimStart('0').Length <= 9, $"{cell} has more than 9 significant digits");
            }
        }
        var rows = PlaygroundCli.ReadTrace(path);
        Assert.Equal((-1.5f, 2.5f), (rows[0].X, rows[0].Y));
        Assert.Equal((float)TestFunctions.Rosenbrock.Value(-1.5, 2.5), rows[0].Loss);
        Assert.All(rows, r => Assert.Equal((float)TestFunctions.Rosenbrock.Value(r.X, r.Y), r.Loss));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Comparison_prints_the_table_and_writes_contour_loss_animation_and_traces()
    {
        var dir = PlaygroundCli.TempDir("compare");
        string[] names = ["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam"];
        var (code, output) = PlaygroundCli.Run("--function", "himmelblau", "--optimizers", string.Join(",", names), "--steps", "120", "--out", dir);
        Assert.Equal(0, code);
        var header = output.Split('\n').First(l => l.StartsWith("optimizer", StringComparison.Ordinal));
        foreach (var column in new[] { "lr", "final loss", "dist to min", "steps to 0.001", "escaped", "diverged" }) Assert.Contains(column, header);
        foreach (var name in names)
        {
            Assert.Contains(output.Split('\n'), l => l.StartsWith(name + " ", StringComparison.Ordinal));
            Assert.Equal(121, PlaygroundCli.ReadTrace(Path.Combine(dir, $"himmelblau-{name}.csv")).Count);
        }
        var summary = File.ReadAllLines(Path.Combine(dir, "himmelblau-summary.csv"));
        Assert.StartsWith("label,optimizer,function,lr,steps,final_loss,distance_to_minimum,steps_to_tolerance,escaped_saddle,diverged", summary[0]);
        Assert.Equal(names, summary.Skip(1).Select(l => l.Split(',')[0]));
        var contour = AssertSvg(Path.Combine(dir, "himmelblau-contour.svg"), names);
        Assert.Contains("global minima", contour);
        Assert.Contains("start", contour);
        AssertSvg(Path.Combine(dir, "himmelblau-loss.svg"), names);
        var animation = XDocument.Load(Path.Combine(dir, "himmelblau-animation.svg"));
        var animations = animation.Descendants(Svg + "animate").ToList();
        Assert.True(animations.Count >= 3 * names.Length, $"{animations.Count} animate elements");
        foreach (var a in animations.Where(a => a.Attribute("keyTimes") is not null))
        {
            var times = a.Attribute("keyTimes")!.Value.Split(';').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(times.Count, a.Attribute("values")!.Value.Split(';').Length);
            Assert.Equal(0, times[0]);
            Assert.Equal(1, times[^1]);
            Assert.True(times.Zip(times.Skip(1)).All(p => p.First < p.Second), "keyTimes must increase");
        }
        Directory.Delete(dir, true);
    }

    public static TheoryData<string> PresetNames() => new(Presets.Names);

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void Preset_prints_its_claim_and_writes_its_pictures(string preset)
    {
        var dir = PlaygroundCli.TempDir("preset");
        var (code, output) = PlaygroundCli.Run("--preset", preset, "--out", dir);
        Assert.Equal(0, code);
        var p = Presets.Get(preset);
        Assert.Contains(p.Claim, output);
        foreach (var panel in p.Panels)
        {
            string prefix = p.Panels.Count == 1 ? preset : $"{preset}-{panel.Function.Name}";
            var labels = panel.Runs.Select(r => r.Label!).ToArray();
            AssertSvg(Path.Combine(dir, $"{prefix}-contour.svg"), labels);
            AssertSvg(Path.Combine(dir, $"{prefix}-loss.svg"), labels);
            AssertSvg(Path.Combine(dir, $"{prefix}-animation.svg"), labels);
            foreach (var label in labels) Assert.True(File.Exists(Path.Combine(dir, $"{prefix}-{PlaygroundPictures.Slug(label)}.csv")), label);
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Cliff_preset_takes_its_clip_from_clip_norm()
    {
        var dir = PlaygroundCli.TempDir("cliff");
        var (code, output) = PlaygroundCli.Run("--preset", "cliff", "--clip-norm", "0.5", "--steps", "60", "--out", dir);
        Assert.Equal(0, code);
        var clipped = PlaygroundCli.ReadTrace(Path.Combine(dir, "cliff-sgd-clip-norm-0.5.csv"));
        Assert.Equal(61, clipped.Count);
        double largest = clipped.Zip(clipped.Skip(1), (a, b) => Math.Sqrt((double)(b.X - a.X) * (b.X - a.X) + (double)(b.Y - a.Y) * (b.Y - a.Y))).Max();
        Assert.True(largest <= 0.05 + 1e-6, $"largest clipped step {largest}");
        Assert.Contains("sgd, clip-norm 0.5", output);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Single_run_with_out_draws_it_and_the_lr_option_reaches_the_optimizer()
    {
        var dir = PlaygroundCli.TempDir("single");
        var (code, output) = PlaygroundCli.Run("--function", "saddle", "--optimizer", "rmsprop", "--lr", "0.02", "--steps", "40", "--out", dir);
        Assert.Equal(0, code);
        Assert.Matches(@"\nrmsprop\s+0\.02\s", output);
        Assert.Contains(" yes ", output.Split('\n').Single(l => l.StartsWith("rmsprop", StringComparison.Ordinal)));
        AssertSvg(Path.Combine(dir, "saddle-contour.svg"), ["rmsprop"]);
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData(new[] { "--function", "banana", "--optimizer", "sgd" }, new[] { "--function", "'banana'", "rosenbrock", "plateau" })]
    [InlineData(new[] { "--function", "quadratic", "--optimizer", "adamm" }, new[] { "--optimizer", "'adamm'", "gd", "newton", "lbfgs" })]
    [InlineData(new[] { "--function", "quadratic", "--optimizers", "sgd,adamm" }, new[] { "--optimizers", "'adamm'", "newton" })]
    [InlineData(new[] { "--preset", "valley" }, new[] { "--preset", "'valley'", "saddle, ravine, cliff, lr, newton" })]
    [InlineData(new[] { "--optimizer", "sgd" }, new[] { "--function", "quadratic", "--preset" })]
    [InlineData(new[] { "--function", "quadratic", "--start", "1" }, new[] { "--start", "X,Y" })]
    [InlineData(new[] { "--function", "quadratic", "--steps", "0" }, new[] { "--steps", "positive" })]
    [InlineData(new[] { "--function", "quadratic", "--noise", "-1" }, new[] { "--noise", "≥ 0" })]
    [InlineData(new[] { "--function", "quadratic", "--damping", "0" }, new[] { "--damping", "positive" })]
    [InlineData(new[] { "--function", "quadratic", "--clip-norm", "0" }, new[] { "--clip-norm", "positive" })]
    [InlineData(new[] { "--preset", "saddle", "--function", "quadratic" }, new[] { "--preset", "--function" })]
    [InlineData(new[] { "--preset", "ravine", "--momentum", "0.5" }, new[] { "--preset", "--momentum" })]
    [InlineData(new[] { "--preset", "lr", "--clip-norm", "1" }, new[] { "--clip-norm", "cliff" })]
    [InlineData(new[] { "--function", "quadratic", "--optimizers", "sgd,adam", "--trace", "x.csv" }, new[] { "--trace", "--optimizer" })]
    [InlineData(new[] { "--function", "quadratic", "--optimizer", "sgd", "--optimizers", "adam" }, new[] { "--optimizer", "--optimizers" })]
    [InlineData(new[] { "--function", "quadratic", "--optimizer", "adam", "--lr", "-1" }, new[] { "Invalid learning rate: -1" })]
    [InlineData(new[] { "--function", "quadratic", "--optimizer", "newton", "--maximize" }, new[] { "newton", "maximize" })]
    public void Bad_input_is_a_one_line_usage_error_naming_the_option_and_its_values(string[] args, string[] expected)
    {
        var e = Assert.ThrowsAny<Exception>(() => PlaygroundCli.Run(args));
        Assert.True(e is UsageException or ArgumentException, $"{e.GetType().Name}: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
        foreach (var fragment in expected) Assert.Contains(fragment, e.Message);
    }

    /// <summary>Parses the file as XML, checks it is an SVG document that names every series, returns its text.</summary>
    private static string AssertSvg(string path, IReadOnlyList<string> names)
    {
        Assert.True(File.Exists(path), path);
        var text = File.ReadAllText(path);
        var doc = XDocument.Parse(text);
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        Assert.NotNull(doc.Root.Attribute("viewBox"));
        var words = doc.Descendants(Svg + "text").Select(t => t.Value).ToHashSet();
        foreach (var name in names) Assert.Contains(name, words);
        return text;
    }
}
