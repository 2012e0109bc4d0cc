using System.Globalization;
using System.Text;
using static Descent.Lab.Plots.ChartFormat;

namespace Descent.Lab.Plots;

/// <summary>Points drawn as markers: filled dots, or hollow rings for a set that should stay in the background.</summary>
/// <param name="Name">Legend entry.</param>
/// <param name="Points">The (x, y) points.</param>
/// <param name="Filled">Filled dots (true) or hollow rings.</param>
public sealed record ScatterPoints(string Name, IReadOnlyList<(double X, double Y)> Points, bool Filled = true);

/// <summary>A curve drawn as a line; dashed for a reference such as the true function.</summary>
/// <param name="Name">Legend entry.</param>
/// <param name="Points">The curve's points, in drawing order.</param>
/// <param name="Dashed">Dashed (a reference) or solid.</param>
public sealed record FitCurve(string Name, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

/// <summary>
/// Data points with fitted curves over them, as a standalone SVG: the picture of under- and overfitting. The y range
/// can be fixed, and curves are clipped to the plot, so a wildly oscillating fit leaves the frame instead of
/// squashing the data into a line.
/// </summary>
public static class ScatterFitChart
{
    private static readonly string[] PointColors = ["#b0b0b0", "#222222", "#8c564b", "#17becf"];
    private static readonly string[] CurveColors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#e377c2", "#bcbd22"];

    /// <summary>
    /// Renders the chart; <paramref name="yMin"/>/<paramref name="yMax"/> default to the points' range (curves do not
    /// widen it), <paramref name="xMin"/>/<paramref name="xMax"/> to the range of points and curves.
    /// </summary>
    public static string Svg(string title, string xLabel, string yLabel, IReadOnlyList<ScatterPoints> points, IReadOnlyList<FitCurve> curves,
        double? yMin = null, double? yMax = null, int width = 860, int height = 500, double? xMin = null, double? xMax = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(curves);
        const double left = 60, right = 210, top = 40, bottom = 50;
        double plotW = width - left - right, plotH = height - top - bottom;
        var finite = points.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var curveXs = curves.SelectMany(c => c.Points).Where(p => double.IsFinite(p.X)).Select(p => p.X).ToList();
        var xs = finite.Select(p => p.X).Concat(curveXs).ToList();
        double x0 = xMin ?? (xs.Count > 0 ? xs.Min() : 0), x1 = xMax ?? (xs.Count > 0 ? xs.Max() : 1);
        double y0 = yMin ?? (finite.Count > 0 ? finite.Min(p => p.Y) : 0), y1 = yMax ?? (finite.Count > 0 ? finite.Max(p => p.Y) : 1);
        if (x1 <= x0) x1 = x0 + 1;
        if (y1 <= y0) y1 = y0 + 1;
        double Sx(double x) => left + (x - x0) / (x1 - x0) * plotW;
        double Sy(double y) => top + (1 - (y - y0) / (y1 - y0)) * plotH;

        var sb = new StringBuilder();
        AppendSvgStart(sb, width, height);
        sb.Append(Inv($"<defs><clipPath id=\"plot\"><rect x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\"/></clipPath></defs>\n"));
        AppendTitle(sb, left + plotW / 2, title);
        foreach (double xv in NiceTicks(x0, x1)) AppendXGridLine(sb, Sx(xv), top, plotH, Tick(xv));
        foreach (double yv in NiceTicks(y0, y1)) AppendYGridLine(sb, Sy(yv), left, plotW, Tick(yv));
        sb.Append(Inv($"<rect x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#444\"/>\n"));
        AppendAxisTitles(sb, left, top, plotW, plotH, height, xLabel, yLabel);

        double legendX = left + plotW + 14;
        int row = 0;
        double LegendY() => top + 12 + row++ * 18;
        for (int s = 0; s < points.Count; s++)
        {
            string color = PointColors[s % PointColors.Length];
            string style = points[s].Filled ? $"fill=\"{color}\"" : $"fill=\"none\" stroke=\"{color}\"";
            double r = points[s].Filled ? 3.5 : 2.5;
            sb.Append("<g clip-path=\"url(#plot)\">");
            foreach (var (x, y) in points[s].Points)
                if (double.IsFinite(x) && double.IsFinite(y))
                    sb.Append(Inv($"<circle cx=\"{Sx(x):F1}\" cy=\"{Sy(y):F1}\" r=\"{r}\" {style}/>"));
            sb.Append("</g>\n");
            double ly = LegendY();
            sb.Append(Inv($"<circle cx=\"{legendX + 12}\" cy=\"{ly - 4}\" r=\"{r}\" {style}/><text x=\"{legendX + 30}\" y=\"{ly}\">{Esc(points[s].Name)}</text>\n"));
        }
        for (int c = 0; c < curves.Count; c++)
        {
            string color = curves[c].Dashed ? "#555" : CurveColors[c % CurveColors.Length];
            string dash = curves[c].Dashed ? " stroke-dasharray=\"6 4\"" : "";
            var path = new StringBuilder();
            bool pen = false;
            foreach (var (x, y) in curves[c].Points)
            {
                if (!double.IsFinite(x) || !double.IsFinite(y)) { pen = false; continue; }
                // Far-off values are pinned just outside the frame: the clip hides them, and the SVG stays finite.
                double py = Math.Clamp(Sy(y), top - plotH, top + 2 * plotH);
                path.Append(Inv($"{(pen ? 'L' : 'M')}{Sx(x):F1},{py:F1} "));
                pen = true;
            }
            sb.Append(Inv($"<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} clip-path=\"url(#plot)\"/>\n"));
            double ly = LegendY();
            sb.Append(Inv($"<line x1=\"{legendX}\" y1=\"{ly - 4}\" x2=\"{legendX + 24}\" y2=\"{ly - 4}\" stroke=\"{color}\" stroke-width=\"3\"{dash}/><text x=\"{legendX + 30}\" y=\"{ly}\">{Esc(curves[c].Name)}</text>\n"));
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }
}
