using System.Globalization;
using System.Text;
using static Descent.Lab.Plots.ChartFormat;

namespace Descent.Lab.Plots;

/// <summary>A path drawn over a contour plot: an optimizer's iterates, in order.</summary>
public sealed record PathSeries(string Name, IReadOnlyList<(double X, double Y)> Points);

/// <summary>What a contour plot shows: a surface over a window, paths on it, and marked points.</summary>
public sealed record ContourScene
{
    /// <summary>The title line.</summary>
    public required string Title { get; init; }

    /// <summary>A second, smaller line under the title (e.g. the formula), or null.</summary>
    public string? Subtitle { get; init; }

    /// <summary>The surface z = f(x, y); non-finite values are left blank.</summary>
    public required Func<double, double, double> Surface { get; init; }

    /// <summary>Left edge of the window.</summary>
    public required double XMin { get; init; }

    /// <summary>Right edge of the window.</summary>
    public required double XMax { get; init; }

    /// <summary>Bottom edge of the window.</summary>
    public required double YMin { get; init; }

    /// <summary>Top edge of the window.</summary>
    public required double YMax { get; init; }

    /// <summary>Paths to overlay, each in its own colour (the same colours, in the same order, as <see cref="LineChart"/>).</summary>
    public IReadOnlyList<PathSeries> Paths { get; init; } = [];

    /// <summary>Points marked with a star (global minima).</summary>
    public IReadOnlyList<(double X, double Y)> Minima { get; init; } = [];

    /// <summary>Points marked with a diamond (saddle points).</summary>
    public IReadOnlyList<(double X, double Y)> Saddles { get; init; } = [];
}

/// <summary>
/// A contour plot as a standalone SVG: the surface shaded on a compressed scale (logarithmic for a surface spanning
/// many orders of magnitude, like Rosenbrock's, so its valley still shows; linear for a gentle one), level curves
/// evenly spaced on that scale, paths overlaid with a dot per iterate, each path's start ringed, minima starred,
/// saddles marked, and a legend. Paths are cut at the window's edge, so a diverging run leaves the picture instead of
/// stretching it.
/// <see cref="AnimatedSvg"/> draws the same picture with the paths replayed step by step.
/// </summary>
public static class ContourPlot
{
    /// <summary>The colours of <see cref="LineChart"/>, in its order, so a path and its loss curve match.</summary>
    internal static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31"];

    // Viridis, low values dark; the shading is mixed with white so the paths stay the strongest colours on the page.
    private static readonly (double R, double G, double B)[] ColourMap =
        [(68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142), (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37)];

    private const int LevelCount = 18;
    private const double Left = 64, Right = 230, Top = 58, Bottom = 52;

    /// <summary>Renders <paramref name="scene"/> as an SVG document about <paramref name="size"/> pixels across the plot area.</summary>
    public static string Svg(ContourScene scene, int size = 560) => Render(scene, size, animationSeconds: null);

    /// <summary>
    /// The same picture with the paths replayed: every path grows step by step in <paramref name="seconds"/>, a dot
    /// marks each optimizer's current point and a bar under the plot shows the step; the replay loops. Uses SVG's
    /// own animation elements (SMIL), so any browser plays it with no script; a static renderer shows the full paths.
    /// </summary>
    public static string AnimatedSvg(ContourScene scene, double seconds = 10, int size = 560) => Render(scene, size, seconds);

    private static string Render(ContourScene scene, int size, double? animationSeconds)
    {
        if (!(scene.XMax > scene.XMin) || !(scene.YMax > scene.YMin)) throw new ArgumentException($"the window [{scene.XMin}, {scene.XMax}] × [{scene.YMin}, {scene.YMax}] is empty");
        double aspect = (scene.YMax - scene.YMin) / (scene.XMax - scene.XMin);
        double plotW = aspect <= 1 ? size : size / aspect, plotH = aspect <= 1 ? size * aspect : size;
        double width = Left + plotW + Right, height = Top + plotH + Bottom + (animationSeconds is null ? 0 : 34);
        double Sx(double x) => Left + (x - scene.XMin) / (scene.XMax - scene.XMin) * plotW;
        double Sy(double y) => Top + (1 - (y - scene.YMin) / (scene.YMax - scene.YMin)) * plotH;

        var sb = new StringBuilder();
        sb.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{width:F0}\" height=\"{height:F0}\" viewBox=\"0 0 {width:F0} {height:F0}\" font-family=\"sans-serif\" font-size=\"12\">\n"));
        sb.Append(Inv($"<defs><clipPath id=\"plot-area\"><rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW:F1}\" height=\"{plotH:F1}\"/></clipPath></defs>\n"));
        sb.Append(Inv($"<rect width=\"{width:F0}\" height=\"{height:F0}\" fill=\"white\"/>\n"));
        sb.Append(Inv($"<text x=\"{Left + plotW / 2:F1}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Esc(scene.Title)}</text>\n"));
        if (scene.Subtitle is { } subtitle)
            sb.Append(Inv($"<text x=\"{Left + plotW / 2:F1}\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">{Esc(subtitle)}</text>\n"));

        AppendSurface(sb, scene, plotW, plotH, Sx, Sy);
        AppendAxes(sb, scene, plotW, plotH, Sx, Sy);

        sb.Append("<g clip-path=\"url(#plot-area)\">\n");
        for (int s = 0; s < scene.Paths.Count; s++)
        {
            string colour = Palette[s % Palette.Length];
            var path = scene.Paths[s];
            if (animationSeconds is { } seconds) AppendAnimatedPath(sb, scene, path, colour, seconds, Sx, Sy);
            else AppendPath(sb, scene, path, colour, Sx, Sy);
        }
        foreach (var (x, y) in scene.Saddles) sb.Append(Diamond(Sx(x), Sy(y)));
        foreach (var (x, y) in scene.Minima) sb.Append(Star(Sx(x), Sy(y)));
        foreach (var (x, y) in scene.Paths.Where(p => p.Points.Count > 0).Select(p => p.Points[0]).Distinct())
            if (double.IsFinite(x) && double.IsFinite(y))
                sb.Append(Inv($"<circle cx=\"{Sx(x):F1}\" cy=\"{Sy(y):F1}\" r=\"6\" fill=\"white\" fill-opacity=\"0.6\" stroke=\"black\" stroke-width=\"2\"/>\n"));
        sb.Append("</g>\n");

        AppendLegend(sb, scene, Left + plotW + 16);
        if (animationSeconds is { } total) AppendProgressBar(sb, scene, plotW, Top + plotH + Bottom - 6, total);
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>The shaded raster and the level curves.</summary>
    private static void AppendSurface(StringBuilder sb, ContourScene scene, double plotW, double plotH, Func<double, double> sx, Func<double, double> sy)
    {
        // Shading: one raster pixel per two screen pixels, coloured by the value's rank among all pixels.
        int rw = Math.Max(2, (int)(plotW / 2)), rh = Math.Max(2, (int)(plotH / 2));
        var raster = new double[rh * rw];
        for (int r = 0; r < rh; r++)
            for (int c = 0; c < rw; c++)
            {
                double x = scene.XMin + (c + 0.5) / rw * (scene.XMax - scene.XMin);
                double y = scene.YMax - (r + 0.5) / rh * (scene.YMax - scene.YMin);
                raster[r * rw + c] = scene.Surface(x, y);
            }
        var sorted = raster.Where(double.IsFinite).Order().ToArray();
        var scale = new ValueScale(sorted);
        var rgb = new byte[rw * rh * 3];
        for (int p = 0; p < raster.Length; p++)
        {
            var (red, green, blue) = double.IsFinite(raster[p]) ? Shade(scale.Position(raster[p])) : ((byte)255, (byte)255, (byte)255);
            rgb[3 * p] = red;
            rgb[3 * p + 1] = green;
            rgb[3 * p + 2] = blue;
        }
        string png = Convert.ToBase64String(Descent.TensorBoard.PngEncoder.Encode(rgb, rw, rh, 3));
        sb.Append(Inv($"<image x=\"{Left}\" y=\"{Top}\" width=\"{plotW:F1}\" height=\"{plotH:F1}\" preserveAspectRatio=\"none\" xlink:href=\"data:image/png;base64,{png}\"/>\n"));

        // Level curves evenly spaced on the same compressed scale as the shading.
        const int n = 160;
        int cols = n + 1, rows = Math.Max(2, (int)Math.Round(n * plotH / plotW)) + 1;
        var grid = new double[rows, cols];
        for (int j = 0; j < rows; j++)
            for (int i = 0; i < cols; i++)
                grid[j, i] = scene.Surface(scene.XMin + (double)i / (cols - 1) * (scene.XMax - scene.XMin), scene.YMin + (double)j / (rows - 1) * (scene.YMax - scene.YMin));
        var levels = Enumerable.Range(1, LevelCount).Select(k => scale.Value((k - 0.5) / LevelCount)).Distinct().ToList();
        var d = new StringBuilder();
        foreach (var level in levels)
            foreach (var line in ContourLines.Trace(grid, level))
            {
                for (int p = 0; p < line.Count; p++)
                {
                    double x = scene.XMin + line[p].I / (cols - 1) * (scene.XMax - scene.XMin);
                    double y = scene.YMin + line[p].J / (rows - 1) * (scene.YMax - scene.YMin);
                    d.Append(Inv($"{(p == 0 ? 'M' : 'L')}{sx(x):F1} {sy(y):F1}"));
                }
            }
        sb.Append(Inv($"<path d=\"{d}\" fill=\"none\" stroke=\"#000\" stroke-opacity=\"0.28\" stroke-width=\"0.8\"/>\n"));
    }

    private static void AppendAxes(StringBuilder sb, ContourScene scene, double plotW, double plotH, Func<double, double> sx, Func<double, double> sy)
    {
        sb.Append(Inv($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW:F1}\" height=\"{plotH:F1}\" fill=\"none\" stroke=\"#444\"/>\n"));
        foreach (double xv in NiceTicks(scene.XMin, scene.XMax))
        {
            double px = sx(xv);
            sb.Append(Inv($"<line x1=\"{px:F1}\" y1=\"{Top + plotH}\" x2=\"{px:F1}\" y2=\"{Top + plotH + 5}\" stroke=\"#444\"/><text x=\"{px:F1}\" y=\"{Top + plotH + 18}\" text-anchor=\"middle\">{Tick(xv)}</text>\n"));
        }
        foreach (double yv in NiceTicks(scene.YMin, scene.YMax))
        {
            double py = sy(yv);
            sb.Append(Inv($"<line x1=\"{Left - 5}\" y1=\"{py:F1}\" x2=\"{Left}\" y2=\"{py:F1}\" stroke=\"#444\"/><text x=\"{Left - 8}\" y=\"{py + 4:F1}\" text-anchor=\"end\">{Tick(yv)}</text>\n"));
        }
        sb.Append(Inv($"<text x=\"{Left + plotW / 2:F1}\" y=\"{Top + plotH + 38}\" text-anchor=\"middle\" font-style=\"italic\">x</text>\n"));
        sb.Append(Inv($"<text x=\"{Left - 44}\" y=\"{Top + plotH / 2:F1}\" text-anchor=\"middle\" font-style=\"italic\">y</text>\n"));
    }

    /// <summary>A path cut to the window (so far-away iterates do not distort the picture), with a dot per iterate and a larger dot at the end.</summary>
    private static void AppendPath(StringBuilder sb, ContourScene scene, PathSeries path, string colour, Func<double, double> sx, Func<double, double> sy)
    {
        var d = new StringBuilder();
        var dots = new StringBuilder();
        bool pen = false;
        var points = path.Points;
        for (int k = 1; k < points.Count; k++)
        {
            var (x0, y0) = points[k - 1];
            var (x1, y1) = points[k];
            if (!double.IsFinite(x0) || !double.IsFinite(y0) || !double.IsFinite(x1) || !double.IsFinite(y1)) { pen = false; continue; }
            if (ClipSegment(scene, ref x0, ref y0, ref x1, ref y1, out bool startClipped, out bool endClipped))
            {
                if (!pen || startClipped) d.Append(Inv($"M{sx(x0):F1} {sy(y0):F1}"));
                d.Append(Inv($"L{sx(x1):F1} {sy(y1):F1}"));
                pen = !endClipped;
            }
            else pen = false;
        }
        if (points.Count <= 400)
            foreach (var (x, y) in points)
                if (double.IsFinite(x) && double.IsFinite(y) && Inside(scene, x, y))
                    dots.Append(Inv($"M{sx(x):F1} {sy(y):F1}h0"));
        sb.Append(Inv($"<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-opacity=\"0.9\"/>\n"));
        sb.Append(Inv($"<path d=\"{dots}\" stroke=\"{colour}\" stroke-width=\"4\" stroke-linecap=\"round\"/>\n"));
        var last = points.LastOrDefault(p => double.IsFinite(p.X) && double.IsFinite(p.Y));
        if (points.Count > 0 && double.IsFinite(last.X) && Inside(scene, last.X, last.Y))
            sb.Append(Inv($"<circle cx=\"{sx(last.X):F1}\" cy=\"{sy(last.Y):F1}\" r=\"5\" fill=\"{colour}\" stroke=\"white\" stroke-width=\"1.5\"/>\n"));
    }

    /// <summary>
    /// A path revealed step by step: the stroke's dash offset and a moving dot follow the cumulative length at step k
    /// at time k/N of the replay. Points far outside the window are pulled in to ten window-widths, so the clip hides
    /// them while the visible part keeps its direction.
    /// </summary>
    private static void AppendAnimatedPath(StringBuilder sb, ContourScene scene, PathSeries path, string colour, double seconds, Func<double, double> sx, Func<double, double> sy)
    {
        double w = scene.XMax - scene.XMin, h = scene.YMax - scene.YMin;
        var screen = new List<(double X, double Y)>();
        foreach (var (x, y) in path.Points)
        {
            if (!double.IsFinite(x) || !double.IsFinite(y)) break;
            screen.Add((sx(Math.Clamp(x, scene.XMin - 10 * w, scene.XMax + 10 * w)), sy(Math.Clamp(y, scene.YMin - 10 * h, scene.YMax + 10 * h))));
        }
        if (screen.Count == 0) return;
        int steps = Math.Max(1, path.Points.Count - 1);
        var cumulative = new double[screen.Count];
        for (int k = 1; k < screen.Count; k++)
            cumulative[k] = cumulative[k - 1] + Math.Sqrt(Math.Pow(screen[k].X - screen[k - 1].X, 2) + Math.Pow(screen[k].Y - screen[k - 1].Y, 2));
        double total = cumulative[^1];
        string dur = Inv($"{seconds:0.###}s");
        if (total < 1e-6)
        {
            sb.Append(Inv($"<circle cx=\"{screen[0].X:F1}\" cy=\"{screen[0].Y:F1}\" r=\"5\" fill=\"{colour}\" stroke=\"white\" stroke-width=\"1.5\"/>\n"));
            return;
        }
        var d = new StringBuilder();
        for (int k = 0; k < screen.Count; k++) d.Append(Inv($"{(k == 0 ? 'M' : 'L')}{screen[k].X:F1} {screen[k].Y:F1}"));
        // Step k is shown at time k/N of the replay; a path that stopped early (NaN) holds its last point to the end.
        var times = Enumerable.Range(0, screen.Count).Select(k => (double)k / steps).ToList();
        var offsetValues = cumulative.Select(c => total - c).ToList();
        var xValues = screen.Select(p => p.X).ToList();
        var yValues = screen.Select(p => p.Y).ToList();
        if (screen.Count - 1 < steps)
        {
            times.Add(1);
            offsetValues.Add(offsetValues[^1]);
            xValues.Add(xValues[^1]);
            yValues.Add(yValues[^1]);
        }
        var keyTimes = string.Join(";", times.Select(t => Inv($"{t:0.######}")));
        var offsets = string.Join(";", offsetValues.Select(v => Inv($"{v:0.#}")));
        var xs = string.Join(";", xValues.Select(v => Inv($"{v:F1}")));
        var ys = string.Join(";", yValues.Select(v => Inv($"{v:F1}")));
        sb.Append(Inv($"<path d=\"{d}\" pathLength=\"{total:0.#}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-opacity=\"0.9\" stroke-dasharray=\"{total:0.#} {total:0.#}\" stroke-dashoffset=\"0\">"));
        sb.Append(Inv($"<animate attributeName=\"stroke-dashoffset\" dur=\"{dur}\" repeatCount=\"indefinite\" calcMode=\"linear\" keyTimes=\"{keyTimes}\" values=\"{offsets}\"/></path>\n"));
        sb.Append(Inv($"<circle r=\"5\" fill=\"{colour}\" stroke=\"white\" stroke-width=\"1.5\" cx=\"{screen[^1].X:F1}\" cy=\"{screen[^1].Y:F1}\">"));
        sb.Append(Inv($"<animate attributeName=\"cx\" dur=\"{dur}\" repeatCount=\"indefinite\" calcMode=\"linear\" keyTimes=\"{keyTimes}\" values=\"{xs}\"/>"));
        sb.Append(Inv($"<animate attributeName=\"cy\" dur=\"{dur}\" repeatCount=\"indefinite\" calcMode=\"linear\" keyTimes=\"{keyTimes}\" values=\"{ys}\"/></circle>\n"));
    }

    private static void AppendLegend(StringBuilder sb, ContourScene scene, double x)
    {
        double y = Top + 8;
        for (int s = 0; s < scene.Paths.Count; s++, y += 20)
            sb.Append(Inv($"<line x1=\"{x}\" y1=\"{y:F1}\" x2=\"{x + 26}\" y2=\"{y:F1}\" stroke=\"{Palette[s % Palette.Length]}\" stroke-width=\"3\"/><circle cx=\"{x + 13}\" cy=\"{y:F1}\" r=\"3\" fill=\"{Palette[s % Palette.Length]}\"/><text x=\"{x + 34}\" y=\"{y + 4:F1}\">{Esc(scene.Paths[s].Name)}</text>\n"));
        y += 10;
        if (scene.Paths.Count > 0)
        {
            sb.Append(Inv($"<circle cx=\"{x + 13}\" cy=\"{y:F1}\" r=\"6\" fill=\"white\" stroke=\"black\" stroke-width=\"2\"/><text x=\"{x + 34}\" y=\"{y + 4:F1}\">start</text>\n"));
            y += 22;
        }
        if (scene.Minima.Count > 0)
        {
            sb.Append(Star(x + 13, y)).Append(Inv($"<text x=\"{x + 34}\" y=\"{y + 4:F1}\">{(scene.Minima.Count > 1 ? "global minima" : "global minimum")}</text>\n"));
            y += 22;
        }
        if (scene.Saddles.Count > 0)
            sb.Append(Diamond(x + 13, y)).Append(Inv($"<text x=\"{x + 34}\" y=\"{y + 4:F1}\">saddle point</text>\n"));
    }

    private static void AppendProgressBar(StringBuilder sb, ContourScene scene, double plotW, double y, double seconds)
    {
        int steps = scene.Paths.Count == 0 ? 0 : scene.Paths.Max(p => p.Points.Count) - 1;
        string dur = Inv($"{seconds:0.###}s");
        sb.Append(Inv($"<text x=\"{Left - 8}\" y=\"{y + 30:F1}\" text-anchor=\"end\">step 0</text><text x=\"{Left + plotW + 8}\" y=\"{y + 30:F1}\">{steps}</text>\n"));
        sb.Append(Inv($"<rect x=\"{Left}\" y=\"{y + 20:F1}\" width=\"{plotW:F1}\" height=\"12\" fill=\"#eee\" stroke=\"#999\"/>\n"));
        sb.Append(Inv($"<rect x=\"{Left}\" y=\"{y + 20:F1}\" width=\"{plotW:F1}\" height=\"12\" fill=\"#888\"><animate attributeName=\"width\" dur=\"{dur}\" repeatCount=\"indefinite\" values=\"0;{plotW:F1}\"/></rect>\n"));
    }

    /// <summary>Liang–Barsky: cuts the segment to the window; false when nothing of it is inside.</summary>
    private static bool ClipSegment(ContourScene scene, ref double x0, ref double y0, ref double x1, ref double y1, out bool startClipped, out bool endClipped)
    {
        double dx = x1 - x0, dy = y1 - y0, t0 = 0, t1 = 1;
        startClipped = endClipped = false;
        foreach (var (p, q) in new[] { (-dx, x0 - scene.XMin), (dx, scene.XMax - x0), (-dy, y0 - scene.YMin), (dy, scene.YMax - y0) })
        {
            if (p == 0)
            {
                if (q < 0) return false;
                continue;
            }
            double t = q / p;
            if (p < 0) { if (t > t1) return false; if (t > t0) t0 = t; }
            else { if (t < t0) return false; if (t < t1) t1 = t; }
        }
        startClipped = t0 > 0;
        endClipped = t1 < 1;
        double nx0 = x0 + t0 * dx, ny0 = y0 + t0 * dy, nx1 = x0 + t1 * dx, ny1 = y0 + t1 * dy;
        (x0, y0, x1, y1) = (nx0, ny0, nx1, ny1);
        return true;
    }

    private static bool Inside(ContourScene scene, double x, double y) => x >= scene.XMin && x <= scene.XMax && y >= scene.YMin && y <= scene.YMax;

    private static string Star(double cx, double cy)
    {
        var d = new StringBuilder();
        for (int k = 0; k < 10; k++)
        {
            double r = k % 2 == 0 ? 9 : 3.8, a = -Math.PI / 2 + k * Math.PI / 5;
            d.Append(Inv($"{(k == 0 ? 'M' : 'L')}{cx + r * Math.Cos(a):F1} {cy + r * Math.Sin(a):F1}"));
        }
        return Inv($"<path d=\"{d}Z\" fill=\"#ffd400\" stroke=\"black\" stroke-width=\"1.2\"/>\n");
    }

    private static string Diamond(double cx, double cy) =>
        Inv($"<path d=\"M{cx:F1} {cy - 7:F1}L{cx + 7:F1} {cy:F1}L{cx:F1} {cy + 7:F1}L{cx - 7:F1} {cy:F1}Z\" fill=\"white\" stroke=\"black\" stroke-width=\"1.5\"/>\n");

    private static (byte, byte, byte) Shade(double t)
    {
        double pos = Math.Clamp(t, 0, 1) * (ColourMap.Length - 1);
        int i = Math.Min((int)pos, ColourMap.Length - 2);
        double f = pos - i;
        var (r0, g0, b0) = ColourMap[i];
        var (r1, g1, b1) = ColourMap[i + 1];
        const double white = 0.45;
        byte Mix(double a, double b) => (byte)Math.Round((a + (b - a) * f) * (1 - white) + 255 * white);
        return (Mix(r0, r1), Mix(g0, g1), Mix(b0, b1));
    }

    /// <summary>
    /// Maps values to [0, 1] for shading and level curves by asinh((v − min)/s), with s the spread of the lowest tenth
    /// of the values: logarithmic where a surface spans orders of magnitude (Rosenbrock's valley still gets its
    /// curves), nearly linear where it does not, and flat where the surface is flat (a plateau shows as one colour
    /// with no curves on it, instead of the rings an equal-count scale would invent).
    /// </summary>
    private readonly struct ValueScale
    {
        private readonly double _min, _spread, _top;

        public ValueScale(double[] sorted)
        {
            _min = sorted.Length > 0 ? sorted[0] : 0;
            double range = sorted.Length > 0 ? sorted[^1] - _min : 0;
            double tenth = sorted.Length > 0 ? sorted[(sorted.Length - 1) / 10] - _min : 0;
            _spread = Math.Max(tenth, Math.Max(range, 1e-300) * 1e-9);
            _top = Math.Max(Math.Asinh(range / _spread), 1e-300);
        }

        public double Position(double v) => Math.Asinh((v - _min) / _spread) / _top;

        public double Value(double position) => _min + _spread * Math.Sinh(position * _top);
    }
}
