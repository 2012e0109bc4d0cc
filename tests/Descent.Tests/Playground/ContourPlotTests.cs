using System.Text.RegularExpressions;
using System.Xml.Linq;
using Descent.Lab.Plots;

namespace Descent.Tests.Playground;

/// <summary>The contour plot's parts: level curves, the embedded PNG, clipping of far paths.</summary>
public class ContourPlotTests
{
    [Fact]
    public void Level_curve_of_a_bowl_is_one_closed_circle()
    {
        const int n = 81;
        var grid = new double[n, n];
        double Coordinate(double index) => -2 + 4 * index / (n - 1);
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++)
                grid[j, i] = Coordinate(i) * Coordinate(i) + Coordinate(j) * Coordinate(j);
        var lines = ContourLines.Trace(grid, 1);
        var circle = Assert.Single(lines);
        Assert.Equal(circle[0], circle[^1]);
        Assert.All(circle, p => Assert.InRange(Math.Sqrt(Coordinate(p.I) * Coordinate(p.I) + Coordinate(p.J) * Coordinate(p.J)), 0.995, 1.005));
    }

    [Fact]
    public void Paths_far_outside_the_window_are_cut_at_its_edge()
    {
        var scene = new ContourScene
        {
            Title = "t",
            Surface = (x, y) => x * x + y * y,
            XMin = -1, XMax = 1, YMin = -1, YMax = 1,
            Paths = [new PathSeries("far", [(0, 0), (1e30, 0), (double.NaN, double.NaN)])],
        };
        var doc = XDocument.Parse(ContourPlot.Svg(scene));
        doc.Descendants().Where(e => e.Name.LocalName == "image").Remove();
        var numbers = Regex.Matches(doc.ToString(), @"-?\d+(\.\d+)?(E[+-]?\d+)?").Select(m => double.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.All(numbers.Where(v => v > 1e4), v => Assert.Fail($"a coordinate of {v} reached the SVG"));
        Assert.Contains("far", doc.Descendants().Where(e => e.Name.LocalName == "text").Select(t => t.Value));
        Assert.Throws<ArgumentException>(() => ContourPlot.Svg(scene with { XMax = -1 }));
    }
}
