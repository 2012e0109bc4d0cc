using System.Globalization;
using System.Net;
using System.Text;

namespace Descent.Lab.Plots;

/// <summary>Axis ticks and text formatting shared by every chart, SVG and raster alike, so that they label axes the same way.</summary>
internal static class ChartFormat
{
    /// <summary>Ticks at 1, 2 or 5 × 10ᵏ spacing, about five of them, inside [min, max].</summary>
    public static IEnumerable<double> NiceTicks(double min, double max)
    {
        double raw = (max - min) / 5;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
        for (double v = Math.Ceiling(min / step) * step; v <= max + step * 1e-9; v += step)
            yield return Math.Abs(v) < step * 1e-9 ? 0 : v;
    }

    /// <summary>Log-axis ticks (in log10 units): decades, plus 2 and 5 × 10ᵏ when the axis spans under three decades.</summary>
    public static IEnumerable<double> LogTicks(double min, double max)
    {
        double[] mantissas = max - min >= 3 ? [1] : [1, 2, 5];
        for (double d = Math.Floor(min); d <= Math.Ceiling(max); d++)
            foreach (var m in mantissas)
            {
                double v = d + Math.Log10(m);
                if (v >= min - 1e-9 && v <= max + 1e-9) yield return v;
            }
    }

    /// <summary>A tick label: plain up to three decimals, scientific beyond 10⁴ or below 10⁻².</summary>
    public static string Tick(double v) => Math.Abs(v) >= 1e4 || (Math.Abs(v) < 1e-2 && v != 0)
        ? v.ToString("0.##E+0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Text escaped for SVG/HTML.</summary>
    public static string Esc(string s) => WebUtility.HtmlEncode(s);

    /// <summary>An interpolated string formatted with the invariant culture (SVG numbers need '.' decimals).</summary>
    public static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Opens an SVG document of <paramref name="width"/> × <paramref name="height"/> on a white background.</summary>
    public static void AppendSvgStart(StringBuilder sb, int width, int height)
    {
        sb.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n"));
        sb.Append(Inv($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n"));
    }

    /// <summary>The chart's title, centred on <paramref name="centerX"/> above the plot.</summary>
    public static void AppendTitle(StringBuilder sb, double centerX, string title) =>
        sb.Append(Inv($"<text x=\"{centerX}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Esc(title)}</text>\n"));

    /// <summary>A vertical grid line at <paramref name="px"/> across the plot, labelled under it.</summary>
    public static void AppendXGridLine(StringBuilder sb, double px, double top, double plotH, string label) =>
        sb.Append(Inv($"<line x1=\"{px:F1}\" y1=\"{top}\" x2=\"{px:F1}\" y2=\"{top + plotH}\" stroke=\"#eee\"/><text x=\"{px:F1}\" y=\"{top + plotH + 16}\" text-anchor=\"middle\">{label}</text>\n"));

    /// <summary>A horizontal grid line at <paramref name="py"/> across the plot, labelled on its left.</summary>
    public static void AppendYGridLine(StringBuilder sb, double py, double left, double plotW, string label) =>
        sb.Append(Inv($"<line x1=\"{left}\" y1=\"{py:F1}\" x2=\"{left + plotW}\" y2=\"{py:F1}\" stroke=\"#eee\"/><text x=\"{left - 6}\" y=\"{py + 4:F1}\" text-anchor=\"end\">{label}</text>\n"));

    /// <summary>The axis titles: x centred under the plot, y turned along its left side.</summary>
    public static void AppendAxisTitles(StringBuilder sb, double left, double top, double plotW, double plotH, int height, string xLabel, string yLabel)
    {
        sb.Append(Inv($"<text x=\"{left + plotW / 2}\" y=\"{height - 12}\" text-anchor=\"middle\">{Esc(xLabel)}</text>\n"));
        sb.Append(Inv($"<text x=\"16\" y=\"{top + plotH / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {top + plotH / 2})\">{Esc(yLabel)}</text>\n"));
    }
}
