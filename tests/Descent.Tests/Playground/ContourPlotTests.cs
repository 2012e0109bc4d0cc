using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Descent.Plots;

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
    public void Embedded_png_is_well_formed_and_holds_the_pixels()
    {
        var rgb = new byte[5 * 3 * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 37 % 251);
        var png = PngImage.Encode(5, 3, rgb);
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        var idat = new MemoryStream();
        for (int at = 8; at < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length)), Crc32(png.AsSpan(at + 4, 4 + length)));
            if (type == "IHDR") Assert.Equal((5, 3), (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at + 8)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at + 12))));
            if (type == "IDAT") idat.Write(png, at + 8, length);
            at += 12 + length;
        }
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        var rows = raw.ToArray();
        Assert.Equal(3 * (1 + 5 * 3), rows.Length);
        for (int y = 0; y < 3; y++)
        {
            Assert.Equal(1, rows[y * 16]);
            for (int i = 0; i < 15; i++)
            {
                byte left = i >= 3 ? rgb[y * 15 + i - 3] : (byte)0;
                Assert.Equal(rgb[y * 15 + i], (byte)(rows[y * 16 + 1 + i] + left));
            }
        }
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

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
