using System.Text;
using static Descent.Lab.Plots.ChartFormat;

namespace Descent.Lab.Plots;

/// <summary>
/// One vertical axis of a parallel-coordinates chart: a name and the tick labels at its bottom and top (each line's
/// position on the axis is given in [0, 1]).
/// </summary>
/// <param name="Name">The axis title.</param>
/// <param name="Bottom">The label at 0.</param>
/// <param name="Top">The label at 1.</param>
/// <param name="Categories">For a categorical axis, its values evenly spaced from bottom to top; null for a numeric one.</param>
public sealed record ParallelAxis(string Name, string Bottom, string Top, IReadOnlyList<string>? Categories = null);

/// <summary>
/// A parallel-coordinates chart as a standalone SVG: one vertical axis per dimension, one polyline per record
/// through its positions on the axes, coloured from light (low <c>Shade</c>) to dark (high) — the picture Optuna's
/// <c>plot_parallel_coordinate</c> draws of a study.
/// </summary>
public static class ParallelCoordinatesChart
{
    /// <summary>Renders the chart; every line has one position in [0, 1] per axis (NaN leaves the line out) and a shade in [0, 1].</summary>
    public static string Svg(string title, IReadOnlyList<ParallelAxis> axes, IReadOnlyList<(IReadOnlyList<double> Positions, double Shade)> lines, int width = 860, int height = 480)
    {
        ArgumentNullException.ThrowIfNull(axes);
        ArgumentNullException.ThrowIfNull(lines);
        const double left = 60, right = 60, top = 60, bottom = 50;
        double plotW = width - left - right, plotH = height - top - bottom;
        double Ax(int a) => axes.Count == 1 ? left + plotW / 2 : left + a * plotW / (axes.Count - 1);
        double Sy(double p) => top + (1 - p) * plotH;

        var sb = new StringBuilder();
        AppendSvgStart(sb, width, height);
        AppendTitle(sb, left + plotW / 2, title);
        // Darker, drawn last, on top: the lines that matter.
        foreach (var (positions, shade) in lines.OrderBy(l => l.Shade))
        {
            if (positions.Count != axes.Count || positions.Any(p => !double.IsFinite(p))) continue;
            double s = Math.Clamp(double.IsFinite(shade) ? shade : 0, 0, 1);
            // From a pale blue to a deep one.
            int r = (int)(198 - 190 * s), g = (int)(219 - 171 * s), b = (int)(239 - 132 * s);
            var path = new StringBuilder();
            for (int a = 0; a < axes.Count; a++) path.Append(Inv($"{(a == 0 ? 'M' : 'L')}{Ax(a):F1},{Sy(Math.Clamp(positions[a], 0, 1)):F1} "));
            sb.Append(Inv($"<path d=\"{path}\" fill=\"none\" stroke=\"rgb({r},{g},{b})\" stroke-width=\"1.5\" stroke-opacity=\"0.8\"/>\n"));
        }
        for (int a = 0; a < axes.Count; a++)
        {
            double x = Ax(a);
            sb.Append(Inv($"<line x1=\"{x:F1}\" y1=\"{top}\" x2=\"{x:F1}\" y2=\"{top + plotH}\" stroke=\"#444\"/>\n"));
            sb.Append(Inv($"<text x=\"{x:F1}\" y=\"{top - 22}\" text-anchor=\"middle\" font-weight=\"bold\">{Esc(axes[a].Name)}</text>\n"));
            if (axes[a].Categories is { Count: > 0 } categories)
            {
                for (int c = 0; c < categories.Count; c++)
                {
                    double p = categories.Count == 1 ? 0.5 : (double)c / (categories.Count - 1);
                    sb.Append(Inv($"<text x=\"{x + 4:F1}\" y=\"{Sy(p) + 4:F1}\" font-size=\"10\">{Esc(categories[c])}</text>\n"));
                }
            }
            else
            {
                sb.Append(Inv($"<text x=\"{x:F1}\" y=\"{top - 6}\" text-anchor=\"middle\" font-size=\"10\">{Esc(axes[a].Top)}</text>\n"));
                sb.Append(Inv($"<text x=\"{x:F1}\" y=\"{top + plotH + 16}\" text-anchor=\"middle\" font-size=\"10\">{Esc(axes[a].Bottom)}</text>\n"));
            }
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }
}
