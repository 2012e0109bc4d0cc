using System.Globalization;
using Descent.TensorBoard;
using static Descent.Lab.Plots.ChartFormat;

namespace Descent.Lab.Plots;

/// <summary>
/// The raster form of <see cref="LineChart"/> for <see cref="SummaryWriter.AddFigure(string, IRasterFigure, long, double?)"/>:
/// the same series, palette, nice ticks and optional log-scale y, drawn into pixels with a small built-in
/// font (TensorBoard shows images, not SVG). Non-finite points are skipped, as in the SVG chart.
/// </summary>
public sealed class LineChartFigure(string title, IReadOnlyList<Series> series, bool logY = false, int width = 640, int height = 400) : IRasterFigure
{
    private static readonly byte[][] Palette = new[] { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31" }
        .Select(h => Convert.FromHexString(h[1..])).ToArray();

    private const int Left = 64, Right = 170, Top = 30, Bottom = 36;

    /// <inheritdoc />
    public RasterImage Render()
    {
        if (width < Left + Right + 40 || height < Top + Bottom + 40)
            throw new ArgumentException($"a line chart needs at least {Left + Right + 40}×{Top + Bottom + 40} pixels, got {width}×{height}");
        var canvas = new Canvas(width, height);
        int plotW = width - Left - Right, plotH = height - Top - Bottom;
        double F(double y) => logY ? Math.Log10(y) : y;
        bool Usable((double X, double Y) p) => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!logY || p.Y > 0);
        var points = series.SelectMany(s => s.Points).Where(Usable).ToList();
        double xMin = points.Count > 0 ? points.Min(p => p.X) : 0, xMax = points.Count > 0 ? points.Max(p => p.X) : 1;
        double yMin = points.Count > 0 ? points.Min(p => F(p.Y)) : 0, yMax = points.Count > 0 ? points.Max(p => F(p.Y)) : 1;
        if (xMax <= xMin) xMax = xMin + 1;
        if (yMax <= yMin) yMax = yMin + 1;
        int Px(double x) => Left + (int)Math.Round((x - xMin) / (xMax - xMin) * (plotW - 1));
        int Py(double fy) => Top + (int)Math.Round((1 - (fy - yMin) / (yMax - yMin)) * (plotH - 1));

        ReadOnlySpan<byte> grid = [0xEE, 0xEE, 0xEE], frame = [0x44, 0x44, 0x44], ink = [0, 0, 0];
        foreach (double xv in NiceTicks(xMin, xMax))
        {
            int px = Px(xv);
            canvas.Line(px, Top, px, Top + plotH - 1, grid, 1);
            string label = Tick(xv);
            canvas.Text(label, px - Font.Width(label) / 2, Top + plotH + 8, ink);
        }
        foreach (double yv in logY ? LogTicks(yMin, yMax) : NiceTicks(yMin, yMax))
        {
            int py = Py(yv);
            canvas.Line(Left, py, Left + plotW - 1, py, grid, 1);
            string label = Tick(logY ? Math.Pow(10, yv) : yv);
            canvas.Text(label, Left - 6 - Font.Width(label), py - Font.Height / 2, ink);
        }
        canvas.Rectangle(Left, Top, plotW, plotH, frame);
        canvas.Text(title + (logY ? " (LOG Y)" : ""), Left, 8, ink);
        for (int s = 0; s < series.Count; s++)
        {
            var color = Palette[s % Palette.Length];
            (int X, int Y)? previous = null;
            foreach (var p in series[s].Points)
            {
                if (!Usable(p)) { previous = null; continue; }
                var current = (X: Px(p.X), Y: Math.Clamp(Py(F(p.Y)), Top, Top + plotH - 1));
                if (previous is { } from) canvas.Line(from.X, from.Y, current.X, current.Y, color, 2);
                else canvas.Line(current.X, current.Y, current.X, current.Y, color, 2);
                previous = current;
            }
            int ly = Top + 6 + s * 16;
            canvas.Line(Left + plotW + 10, ly + Font.Height / 2, Left + plotW + 30, ly + Font.Height / 2, color, 3);
            canvas.Text(series[s].Name, Left + plotW + 36, ly, ink);
        }
        return canvas.ToImage();
    }

    private sealed class Canvas(int width, int height)
    {
        private readonly RasterImage _image = RasterImage.White(width, height);

        public RasterImage ToImage() => _image;

        public void Set(int x, int y, ReadOnlySpan<byte> rgb)
        {
            if ((uint)x >= (uint)width || (uint)y >= (uint)height) return;
            rgb.CopyTo(_image.Pixels.AsSpan((y * width + x) * 3, 3));
        }

        /// <summary>Bresenham's line, each point stamped as a <paramref name="thickness"/>-pixel square.</summary>
        public void Line(int x0, int y0, int x1, int y1, ReadOnlySpan<byte> rgb, int thickness)
        {
            int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
            int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
            int error = dx + dy;
            while (true)
            {
                for (int a = 0; a < thickness; a++)
                    for (int b = 0; b < thickness; b++) Set(x0 + a - thickness / 2, y0 + b - thickness / 2, rgb);
                if (x0 == x1 && y0 == y1) return;
                int e2 = 2 * error;
                if (e2 >= dy) { error += dy; x0 += sx; }
                if (e2 <= dx) { error += dx; y0 += sy; }
            }
        }

        public void Rectangle(int x, int y, int w, int h, ReadOnlySpan<byte> rgb)
        {
            Line(x, y, x + w - 1, y, rgb, 1);
            Line(x, y + h - 1, x + w - 1, y + h - 1, rgb, 1);
            Line(x, y, x, y + h - 1, rgb, 1);
            Line(x + w - 1, y, x + w - 1, y + h - 1, rgb, 1);
        }

        public void Text(string text, int x, int y, ReadOnlySpan<byte> rgb)
        {
            foreach (char c in text)
            {
                var glyph = Font.Glyph(c);
                for (int row = 0; row < 5; row++)
                    for (int col = 0; col < 3; col++)
                        if (glyph[row * 3 + col] == '#')
                            for (int a = 0; a < Font.Scale; a++)
                                for (int b = 0; b < Font.Scale; b++) Set(x + col * Font.Scale + a, y + row * Font.Scale + b, rgb);
                x += Font.Advance;
            }
        }
    }

    /// <summary>A 3×5 pixel font (upper case, digits and the punctuation of numbers and tags), drawn at 2×.</summary>
    private static class Font
    {
        public const int Scale = 2;
        public const int Advance = 4 * Scale;
        public const int Height = 5 * Scale;

        public static int Width(string text) => text.Length * Advance - Scale;

        /// <summary>Five rows of three pixels per character, '#' for ink.</summary>
        private static readonly Dictionary<char, string> Rows = new()
        {
            ['A'] = ".#. #.# ### #.# #.#", ['B'] = "##. #.# ##. #.# ##.", ['C'] = ".## #.. #.. #.. .##", ['D'] = "##. #.# #.# #.# ##.",
            ['E'] = "### #.. ##. #.. ###", ['F'] = "### #.. ##. #.. #..", ['G'] = ".## #.. #.# #.# .##", ['H'] = "#.# #.# ### #.# #.#",
            ['I'] = "### .#. .#. .#. ###", ['J'] = "..# ..# ..# #.# .#.", ['K'] = "#.# #.# ##. #.# #.#", ['L'] = "#.. #.. #.. #.. ###",
            ['M'] = "#.# ### ### #.# #.#", ['N'] = "##. #.# #.# #.# #.#", ['O'] = ".#. #.# #.# #.# .#.", ['P'] = "##. #.# ##. #.. #..",
            ['Q'] = ".#. #.# #.# ##. .##", ['R'] = "##. #.# ##. #.# #.#", ['S'] = ".## #.. .#. ..# ##.", ['T'] = "### .#. .#. .#. .#.",
            ['U'] = "#.# #.# #.# #.# ###", ['V'] = "#.# #.# #.# #.# .#.", ['W'] = "#.# #.# ### ### #.#", ['X'] = "#.# #.# .#. #.# #.#",
            ['Y'] = "#.# #.# .#. .#. .#.", ['Z'] = "### ..# .#. #.. ###", ['0'] = "### #.# #.# #.# ###", ['1'] = ".#. ##. .#. .#. ###",
            ['2'] = "##. ..# .#. #.. ###", ['3'] = "##. ..# .#. ..# ##.", ['4'] = "#.# #.# ### ..# ..#", ['5'] = "### #.. ##. ..# ##.",
            ['6'] = ".## #.. ### #.# ###", ['7'] = "### ..# .#. .#. .#.", ['8'] = "### #.# ### #.# ###", ['9'] = "### #.# ### ..# ##.",
            ['.'] = "... ... ... ... .#.", ['-'] = "... ... ### ... ...", ['+'] = "... .#. ### .#. ...", ['_'] = "... ... ... ... ###",
            ['/'] = "..# ..# .#. #.. #..", ['('] = ".#. #.. #.. #.. .#.", [')'] = ".#. ..# ..# ..# .#.", [':'] = "... .#. ... .#. ...",
            [','] = "... ... ... .#. #..", ['='] = "... ### ... ### ...", ['%'] = "#.# ..# .#. #.. #.#", [' '] = "... ... ... ... ...",
            ['?'] = "##. ..# .#. ... .#.",
        };

        /// <summary>The 15 pixels of <paramref name="c"/> row by row; unknown characters draw as '?'.</summary>
        public static string Glyph(char c) => Glyphs.GetValueOrDefault(char.ToUpperInvariant(c)) ?? Glyphs['?'];

        private static readonly Dictionary<char, string> Glyphs = Rows.ToDictionary(p => p.Key, p => p.Value.Replace(" ", ""));
    }
}
