namespace Descent.Lab.Plots;

/// <summary>
/// Level curves of a sampled surface by marching squares, joined into polylines so that each curve is one SVG path
/// rather than hundreds of two-point segments.
/// </summary>
internal static class ContourLines
{
    /// <summary>
    /// The curves where the surface equals <paramref name="level"/>. <paramref name="values"/>[j, i] is the value at
    /// grid column i and row j; returned points are in grid coordinates (i, j), fractional along cell edges.
    /// Cells with a non-finite corner are skipped.
    /// </summary>
    public static List<List<(double I, double J)>> Trace(double[,] values, double level)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        int horizontalEdges = rows * (cols - 1);
        var points = new Dictionary<int, (double I, double J)>();
        var links = new Dictionary<int, List<int>>();

        int Horizontal(int i, int j) => j * (cols - 1) + i;
        int Vertical(int i, int j) => horizontalEdges + j * cols + i;

        void Link(int a, int b)
        {
            if (!links.TryGetValue(a, out var la)) links[a] = la = [];
            if (!links.TryGetValue(b, out var lb)) links[b] = lb = [];
            la.Add(b);
            lb.Add(a);
        }

        Span<int> crossing = stackalloc int[4];
        for (int j = 0; j < rows - 1; j++)
            for (int i = 0; i < cols - 1; i++)
            {
                double v00 = values[j, i], v10 = values[j, i + 1], v11 = values[j + 1, i + 1], v01 = values[j + 1, i];
                if (!double.IsFinite(v00) || !double.IsFinite(v10) || !double.IsFinite(v11) || !double.IsFinite(v01)) continue;
                bool h00 = v00 >= level, h10 = v10 >= level, h11 = v11 >= level, h01 = v01 >= level;
                int n = 0;
                // Edges in the order bottom, right, top, left; each crossing point is registered once per edge id.
                if (h00 != h10) crossing[n++] = Add(Horizontal(i, j), i + Frac(v00, v10), j);
                if (h10 != h11) crossing[n++] = Add(Vertical(i + 1, j), i + 1, j + Frac(v10, v11));
                if (h01 != h11) crossing[n++] = Add(Horizontal(i, j + 1), i + Frac(v01, v11), j + 1);
                if (h00 != h01) crossing[n++] = Add(Vertical(i, j), i, j + Frac(v00, v01));
                if (n == 2) Link(crossing[0], crossing[1]);
                else if (n == 4)
                {
                    // A saddle cell: the average of the corners decides which diagonal pair is connected.
                    bool centreHigh = 0.25 * (v00 + v10 + v11 + v01) >= level;
                    bool cutOffBottomRightAndTopLeft = centreHigh == h00;
                    if (cutOffBottomRightAndTopLeft)
                    {
                        Link(crossing[0], crossing[1]);
                        Link(crossing[2], crossing[3]);
                    }
                    else
                    {
                        Link(crossing[0], crossing[3]);
                        Link(crossing[1], crossing[2]);
                    }
                }
            }

        var lines = new List<List<(double, double)>>();
        var visited = new HashSet<int>();
        // Open curves start at an end (a point with one neighbour); what is left afterwards are closed loops.
        foreach (var start in links.Keys.Where(k => links[k].Count == 1).Concat(links.Keys).ToList())
        {
            if (visited.Contains(start)) continue;
            var line = new List<(double, double)>();
            int previous = -1, current = start;
            while (true)
            {
                visited.Add(current);
                line.Add(points[current]);
                int next = -1;
                foreach (var candidate in links[current])
                    if (candidate != previous && !visited.Contains(candidate)) { next = candidate; break; }
                if (next < 0)
                {
                    if (line.Count > 2 && links[current].Contains(start)) line.Add(points[start]);
                    break;
                }
                previous = current;
                current = next;
            }
            if (line.Count > 1) lines.Add(line);
        }
        return lines;

        int Add(int id, double i, double j)
        {
            points[id] = (i, j);
            return id;
        }

        double Frac(double a, double b) => (level - a) / (b - a);
    }
}
