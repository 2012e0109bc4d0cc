using System.Globalization;
using System.Text;
using static Descent.Lab.Plots.ChartFormat;

namespace Descent.Lab.Plots;

/// <summary>One named series of (x, y) points.</summary>
public sealed record Series(string Name, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// A line chart rendered as a standalone SVG: axes with ticks, a legend, optional log-scale y (for losses).
/// Non-finite points are skipped, so a diverged run shows where it left the chart.
/// </summary>
public static class LineChart
{
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31"];

    /// <summary>Renders the series into an SVG document.</summary>
    public static string Svg(string title, string xLabel, string yLabel, IReadOnlyList<Series> series, bool logY = false, int width = 800, int height = 480)
    {
        const double left = 70, right = 170, top = 40, bottom = 50;
        double plotW = width - left - right, plotH = height - top - bottom;
        var pts = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!logY || p.Y > 0)).ToList();
        double xMin = pts.Count > 0 ? pts.Min(p => p.X) : 0, xMax = pts.Count > 0 ? pts.Max(p => p.X) : 1;
        double yMin = pts.Count > 0 ? pts.Min(p => F(p.Y)) : 0, yMax = pts.Count > 0 ? pts.Max(p => F(p.Y)) : 1;
        if (xMax <= xMin) xMax = xMin + 1;
        if (yMax <= yMin) yMax = yMin + 1;
        double F(double y) => logY ? Math.Log10(y) : y;
        double Sx(double x) => left + (x - xMin) / (xMax - xMin) * plotW;
        double Sy(double y) => top + (1 - (F(y) - yMin) / (yMax - yMin)) * plotH;

        var sb = new StringBuilder();
        AppendSvgStart(sb, width, height);
        AppendTitle(sb, left + plotW / 2, title);
        sb.Append(Inv($"<rect x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#444\"/>\n"));
        foreach (double xv in NiceTicks(xMin, xMax)) AppendXGridLine(sb, Sx(xv), top, plotH, Tick(xv));
        foreach (double yv in logY ? LogTicks(yMin, yMax) : NiceTicks(yMin, yMax))
            AppendYGridLine(sb, top + (1 - (yv - yMin) / (yMax - yMin)) * plotH, left, plotW, logY ? Tick(Math.Pow(10, yv)) : Tick(yv));
        AppendAxisTitles(sb, left, top, plotW, plotH, height, xLabel, logY ? yLabel + " (log)" : yLabel);
        for (int s = 0; s < series.Count; s++)
        {
            string color = Palette[s % Palette.Length];
            var path = new StringBuilder();
            bool pen = false;
            foreach (var (x, y) in series[s].Points)
            {
                if (!double.IsFinite(x) || !double.IsFinite(y) || (logY && y <= 0)) { pen = false; continue; }
                double py = Math.Clamp(Sy(y), top, top + plotH);
                path.Append(Inv($"{(pen ? 'L' : 'M')}{Sx(x):F1},{py:F1} "));
                pen = true;
            }
            sb.Append(Inv($"<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>\n"));
            double ly = top + 14 + s * 18;
            sb.Append(Inv($"<line x1=\"{left + plotW + 12}\" y1=\"{ly - 4}\" x2=\"{left + plotW + 36}\" y2=\"{ly - 4}\" stroke=\"{color}\" stroke-width=\"3\"/><text x=\"{left + plotW + 42}\" y=\"{ly}\">{Esc(series[s].Name)}</text>\n"));
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>
    /// The trailing mean of the last <paramref name="window"/> values at each point (fewer at the start), for
    /// drawing noisy per-step losses.
    /// </summary>
    public static List<(double X, double Y)> MovingAverage(IReadOnlyList<(long Step, double Value)> points, int window)
    {
        var smoothed = new List<(double, double)>(points.Count);
        double sum = 0;
        for (int i = 0; i < points.Count; i++)
        {
            sum += points[i].Value;
            if (i >= window) sum -= points[i - window].Value;
            smoothed.Add((points[i].Step, sum / Math.Min(i + 1, window)));
        }
        return smoothed;
    }
}
