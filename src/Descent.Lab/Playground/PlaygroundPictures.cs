using Descent.Lab.Plots;

namespace Descent.Lab.Playground;

/// <summary>The files a playground comparison writes for one function.</summary>
/// <param name="Contour">Contour plot of the surface with every path overlaid (SVG).</param>
/// <param name="Loss">Loss against step for every path (SVG).</param>
/// <param name="Animation">The contour plot with the paths replayed step by step (animated SVG).</param>
/// <param name="Traces">One <c>step,x,y,loss</c> CSV per path.</param>
/// <param name="Summary">The metrics of every path as CSV, one row per path (what the command prints as a table).</param>
public sealed record PlaygroundFiles(string Contour, string Loss, string Animation, IReadOnlyList<string> Traces, string Summary);

/// <summary>Draws playground runs: contour plot, loss chart, animation and traces.</summary>
public static class PlaygroundPictures
{
    /// <summary>The scene of a contour plot of <paramref name="trajectories"/> (all on the same function) over its window.</summary>
    public static ContourScene Scene(string title, IReadOnlyList<Trajectory> trajectories)
    {
        if (trajectories.Count == 0) throw new ArgumentException("nothing to draw: no trajectories");
        var f = trajectories[0].Function;
        return new ContourScene
        {
            Title = title,
            Subtitle = $"f(x, y) = {f.Formula}",
            Surface = f.Value,
            XMin = f.Window.XMin,
            XMax = f.Window.XMax,
            YMin = f.Window.YMin,
            YMax = f.Window.YMax,
            Paths = trajectories.Select(t => new PathSeries(t.Label, t.Points.Select(p => ((double)p.X, (double)p.Y)).ToList())).ToList(),
            Minima = f.Minima.Select(m => (m.X, m.Y)).ToList(),
            Saddles = f.SaddlePoints.Select(s => (s.X, s.Y)).ToList(),
        };
    }

    /// <summary>
    /// The loss-against-step chart. The y axis is logarithmic when the function is bounded below by 0; values far
    /// outside the range the surface takes over its window (a diverged or escaping run) leave the chart rather than
    /// squash everything else into a line.
    /// </summary>
    public static string LossChart(string title, IReadOnlyList<Trajectory> trajectories)
    {
        var f = trajectories[0].Function;
        bool logY = f.MinimumValue is >= 0;
        double highest = Math.Max(trajectories.Max(t => (double)t.Start.Loss), WindowRange(f).Max);
        double lowest = logY ? Math.Max(highest * 1e-14, 1e-30) : WindowRange(f).Min;
        double ceiling = logY ? highest * 1e3 : highest + (highest - lowest);
        double floor = logY ? lowest : lowest - (highest - lowest);
        var series = trajectories.Select(t => new Series(t.Label, t.Points.Select(p =>
        {
            double loss = p.Loss;
            if (!double.IsFinite(loss) || loss > ceiling || (!logY && loss < floor)) return ((double)p.Step, double.NaN);
            return ((double)p.Step, logY ? Math.Max(loss, floor) : loss);
        }).ToList())).ToList();
        return LineChart.Svg(title, "step", "loss f(x, y)", series, logY);
    }

    /// <summary>
    /// Writes <c>PREFIX-contour.svg</c>, <c>PREFIX-loss.svg</c>, <c>PREFIX-animation.svg</c>, one
    /// <c>PREFIX-LABEL.csv</c> trace per path and <c>PREFIX-summary.csv</c> (see <see cref="SummaryCsv"/>) into
    /// <paramref name="directory"/> (created if missing).
    /// </summary>
    public static PlaygroundFiles Write(string directory, string prefix, string title, IReadOnlyList<Trajectory> trajectories, double tolerance = TrajectoryMetrics.DefaultTolerance)
    {
        Directory.CreateDirectory(directory);
        var scene = Scene(title, trajectories);
        var contour = Path.Combine(directory, $"{prefix}-contour.svg");
        var loss = Path.Combine(directory, $"{prefix}-loss.svg");
        var animation = Path.Combine(directory, $"{prefix}-animation.svg");
        File.WriteAllText(contour, ContourPlot.Svg(scene));
        File.WriteAllText(loss, LossChart($"{title}: loss", trajectories));
        File.WriteAllText(animation, ContourPlot.AnimatedSvg(scene));
        var traces = new List<string>();
        var used = new HashSet<string>();
        foreach (var t in trajectories)
        {
            string slug = Slug(t.Label);
            for (int n = 2; !used.Add(slug); n++) slug = $"{Slug(t.Label)}-{n}";
            var path = Path.Combine(directory, $"{prefix}-{slug}.csv");
            using (var writer = new StreamWriter(path)) t.WriteCsv(writer);
            traces.Add(path);
        }
        var summary = Path.Combine(directory, $"{prefix}-summary.csv");
        File.WriteAllText(summary, SummaryCsv(trajectories, tolerance));
        return new PlaygroundFiles(contour, loss, animation, traces, summary);
    }

    /// <summary>
    /// The metrics as CSV with the header
    /// <c>label,optimizer,function,lr,steps,final_loss,distance_to_minimum,steps_to_tolerance,escaped_saddle,diverged,largest_step,zig_zags</c>;
    /// a metric that does not apply is left empty.
    /// </summary>
    public static string SummaryCsv(IReadOnlyList<Trajectory> trajectories, double tolerance = TrajectoryMetrics.DefaultTolerance)
    {
        var csv = new System.Text.StringBuilder("label,optimizer,function,lr,steps,final_loss,distance_to_minimum,steps_to_tolerance,escaped_saddle,diverged,largest_step,zig_zags\n");
        foreach (var t in trajectories)
        {
            var m = t.Metrics(tolerance);
            string label = t.Label.Contains(',') ? $"\"{t.Label}\"" : t.Label;
            csv.Append(FormattableString.Invariant(
                $"{label},{t.Optimizer},{t.Function.Name},{t.Lr:R},{t.Steps},{m.FinalLoss:R},{m.DistanceToNearestMinimum:R},{m.StepsToTolerance},{Bool(m.EscapedSaddle)},{Bool(m.Diverged)},{m.LargestStep:R},{m.ZigZags}\n"));
        }
        return csv.ToString();

        static string Bool(bool? b) => b switch { true => "true", false => "false", null => "" };
    }

    /// <summary>A label as a file-name part: letters, digits, dots and dashes.</summary>
    public static string Slug(string label)
    {
        var chars = label.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c == '.' ? c : '-').ToArray();
        var slug = string.Join("-", new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
        return slug.Length > 0 ? slug : "run";
    }

    /// <summary>Lowest and highest value of the function over a coarse grid of its window.</summary>
    private static (double Min, double Max) WindowRange(TestFunction f)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (int i = 0; i <= 40; i++)
            for (int j = 0; j <= 40; j++)
            {
                double v = f.Value(f.Window.XMin + i / 40.0 * f.Window.Width, f.Window.YMin + j / 40.0 * f.Window.Height);
                if (!double.IsFinite(v)) continue;
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        return (min, max);
    }
}
