using System.Globalization;
using System.Net;

namespace Descent.Plots;

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
}
