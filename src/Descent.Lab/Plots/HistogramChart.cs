using System.Globalization;
using System.Text;
using static Descent.Lab.Plots.ChartFormat;

namespace Descent.Lab.Plots;

/// <summary>Counts of values in equal-width bins over [<see cref="Low"/>, <see cref="High"/>].</summary>
/// <param name="Low">Left edge of the first bin.</param>
/// <param name="High">Right edge of the last bin.</param>
/// <param name="Counts">Values per bin.</param>
public sealed record Histogram(double Low, double High, IReadOnlyList<long> Counts)
{
    /// <summary>
    /// Bins <paramref name="values"/> into <paramref name="bins"/> equal bins over [low, high]; values outside
    /// the range go into the edge bins, non-finite values are left out, and so are exact zeros when
    /// <paramref name="skipZeros"/> is set.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than one bin, or a range that is empty or not finite.</exception>
    public static Histogram Of(ReadOnlySpan<float> values, double low, double high, int bins, bool skipZeros = false)
    {
        if (bins < 1) throw new ArgumentException($"a histogram needs at least one bin, got {bins}", nameof(bins));
        if (!(high > low) || !double.IsFinite(low) || !double.IsFinite(high))
            throw new ArgumentException($"a histogram needs a finite range with low < high, got [{low}, {high}]");
        var counts = new long[bins];
        double scale = bins / (high - low);
        foreach (float v in values)
        {
            if (!float.IsFinite(v) || (skipZeros && v == 0)) continue;
            int bin = (int)Math.Floor((v - low) * scale);
            counts[Math.Clamp(bin, 0, bins - 1)]++;
        }
        return new Histogram(low, high, counts);
    }

    /// <summary>The number of values counted.</summary>
    public long Total => Counts.Sum();
}

/// <summary>One panel of a <see cref="HistogramChart"/>: a histogram and a caption under it.</summary>
/// <param name="Histogram">The bars.</param>
/// <param name="Caption">Text under the panel (e.g. its σ and μ).</param>
public sealed record HistogramPanel(Histogram Histogram, string Caption);

/// <summary>
/// A grid of small histograms rendered as a standalone SVG, like the cs231n figure of activations per layer:
/// one row per configuration (e.g. an initialization), one column per layer. Each panel's bars are scaled to
/// its own tallest bar, so the shape is visible whatever the count; the x range of a row (that of its first
/// panel) is printed under its label, and a panel's caption takes up to three lines.
/// </summary>
public static class HistogramChart
{
    /// <summary>Lines of a panel's caption that are drawn (split at '\n').</summary>
    public const int CaptionLines = 3;

    /// <summary>Renders <paramref name="panels"/>[row][column] into an SVG document.</summary>
    /// <param name="title">Title above the grid.</param>
    /// <param name="rowLabels">One label per row, left of it.</param>
    /// <param name="columnLabels">One label per column, above it.</param>
    /// <param name="panels">The panels, row by row; every row has one panel per column.</param>
    /// <exception cref="ArgumentException">The panel grid does not match the labels.</exception>
    public static string Svg(string title, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels, IReadOnlyList<IReadOnlyList<HistogramPanel>> panels)
    {
        if (panels.Count != rowLabels.Count) throw new ArgumentException($"{panels.Count} rows of panels but {rowLabels.Count} row labels");
        for (int r = 0; r < panels.Count; r++)
            if (panels[r].Count != columnLabels.Count)
                throw new ArgumentException($"row {r} has {panels[r].Count} panels but there are {columnLabels.Count} column labels");
        const double left = 150, top = 56, cellW = 96, cellH = 112, barH = 60, gap = 8;
        double width = left + columnLabels.Count * cellW + 10, height = top + rowLabels.Count * cellH + 10;
        var sb = new StringBuilder();
        sb.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"10\">\n"));
        sb.Append(Inv($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n"));
        sb.Append(Inv($"<text x=\"{width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">{Esc(title)}</text>\n"));
        for (int c = 0; c < columnLabels.Count; c++)
            sb.Append(Inv($"<text x=\"{left + c * cellW + (cellW - gap) / 2}\" y=\"{top - 8}\" text-anchor=\"middle\" font-size=\"12\">{Esc(columnLabels[c])}</text>\n"));
        for (int r = 0; r < rowLabels.Count; r++)
        {
            double y0 = top + r * cellH;
            sb.Append(Inv($"<text x=\"{left - 8}\" y=\"{y0 + barH / 2}\" text-anchor=\"end\" font-size=\"12\">{Esc(rowLabels[r])}</text>\n"));
            var range = panels[r].Count > 0 ? panels[r][0].Histogram : null;
            if (range is not null)
                sb.Append(Inv($"<text x=\"{left - 8}\" y=\"{y0 + barH / 2 + 14}\" text-anchor=\"end\" fill=\"#777\">x in [{Tick(range.Low)}, {Tick(range.High)}]</text>\n"));
            for (int c = 0; c < columnLabels.Count; c++)
            {
                var panel = panels[r][c];
                double x0 = left + c * cellW, w = cellW - gap;
                sb.Append(Inv($"<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{barH}\" fill=\"#fafafa\" stroke=\"#bbb\"/>\n"));
                var counts = panel.Histogram.Counts;
                long tallest = counts.Count > 0 ? counts.Max() : 0;
                if (tallest > 0)
                {
                    double binW = w / counts.Count;
                    for (int b = 0; b < counts.Count; b++)
                    {
                        if (counts[b] == 0) continue;
                        double h = barH * counts[b] / tallest;
                        sb.Append(Inv($"<rect x=\"{x0 + b * binW:F2}\" y=\"{y0 + barH - h:F2}\" width=\"{binW:F2}\" height=\"{h:F2}\" fill=\"#1f77b4\"/>\n"));
                    }
                }
                // Where zero lies, when it is inside the range: the eye needs it to see a distribution shrink onto it.
                if (panel.Histogram.Low < 0 && panel.Histogram.High > 0)
                {
                    double zx = x0 + w * (0 - panel.Histogram.Low) / (panel.Histogram.High - panel.Histogram.Low);
                    sb.Append(Inv($"<line x1=\"{zx:F2}\" y1=\"{y0}\" x2=\"{zx:F2}\" y2=\"{y0 + barH}\" stroke=\"#d62728\" stroke-width=\"0.6\" stroke-dasharray=\"2,2\"/>\n"));
                }
                var lines = panel.Caption.Split('\n');
                for (int i = 0; i < lines.Length && i < CaptionLines; i++)
                    sb.Append(Inv($"<text x=\"{x0 + w / 2}\" y=\"{y0 + barH + 12 + 11 * i}\" text-anchor=\"middle\">{Esc(lines[i])}</text>\n"));
            }
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Tick(double v) => Math.Abs(v) >= 1e4 || (Math.Abs(v) < 1e-2 && v != 0)
        ? v.ToString("0.#E+0", CultureInfo.InvariantCulture) : v.ToString("0.##", CultureInfo.InvariantCulture);
}
