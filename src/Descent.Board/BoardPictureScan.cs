namespace Descent.Board;

/// <summary>
/// Finds what <c>descent playground --out</c> wrote (<c>PlaygroundPictures.Write</c>: <c>PREFIX-contour.svg</c>,
/// <c>PREFIX-loss.svg</c>, <c>PREFIX-animation.svg</c>, <c>PREFIX-summary.csv</c> and one trace per path) among
/// the files under a log directory; every other picture is listed as it is.
/// </summary>
internal static class BoardPictureScan
{
    private const string ContourSuffix = "-contour.svg";

    public static BoardPictures Scan(string root, IReadOnlyList<FileInfo> files)
    {
        var byPath = files.ToDictionary(f => f.FullName, StringComparer.Ordinal);
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        var playground = new List<BoardPlayground>();
        // A playground output is recognised by its contour plot next to its loss chart or animation, so a
        // lone SVG that happens to end in -contour.svg stays an ordinary picture.
        foreach (var contour in files.Where(f => f.Name.EndsWith(ContourSuffix, StringComparison.Ordinal)))
        {
            string dir = contour.DirectoryName!;
            string prefix = contour.Name[..^ContourSuffix.Length];
            string Sibling(string suffix) => Path.Combine(dir, prefix + suffix);
            string loss = Sibling("-loss.svg"), animation = Sibling("-animation.svg"), summary = Sibling("-summary.csv");
            if (!byPath.ContainsKey(loss) && !byPath.ContainsKey(animation)) continue;
            BoardTable? table = null;
            var traces = new List<string>();
            if (byPath.ContainsKey(summary))
            {
                table = ReadCsv(summary);
                claimed.Add(summary);
                // Every other PREFIX-*.csv beside the summary is one path's trace (one per summary row).
                foreach (var trace in files
                             .Where(f => f.DirectoryName == dir && f.FullName != summary
                                         && f.Name.StartsWith(prefix + "-", StringComparison.Ordinal)
                                         && f.Name.EndsWith(".csv", StringComparison.Ordinal))
                             .OrderBy(f => f.Name, StringComparer.Ordinal))
                    if (claimed.Add(trace.FullName)) traces.Add(Url(root, trace));
            }
            string? Claim(string path)
            {
                if (!byPath.TryGetValue(path, out var file)) return null;
                claimed.Add(path);
                return Url(root, file);
            }
            playground.Add(new BoardPlayground(Relative(root, dir), prefix, Claim(contour.FullName), Claim(loss), Claim(animation), table, traces));
        }
        var pictures = files
            .Where(f => !claimed.Contains(f.FullName) && !f.Name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            .Select(f => new BoardPicture(Relative(root, f.FullName), Url(root, f)))
            .ToList();
        return new BoardPictures(playground, pictures);
    }

    /// <summary>The URL that serves a file under the log directory; the modification time makes a rewritten file a new URL, so browsers do not show a stale copy.</summary>
    public static string Url(string root, FileInfo file) =>
        "files/" + string.Join("/", Relative(root, file.FullName).Split('/').Select(Uri.EscapeDataString)) + "?v=" + file.LastWriteTimeUtc.Ticks;

    private static string Relative(string root, string path)
    {
        string relative = Path.GetRelativePath(root, path);
        return relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    private static int IndexOf(IReadOnlyList<string> columns, string name)
    {
        for (int i = 0; i < columns.Count; i++)
            if (columns[i] == name) return i;
        return -1;
    }

    /// <summary>
    /// Reads a small CSV (quoted fields allowed); null when it cannot be read (missing, locked, unreadable), since
    /// a half-written file is not an error worth showing and one unreadable file must not break the page.
    /// </summary>
    internal static BoardTable? ReadCsv(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        if (lines.Count == 0) return null;
        return new BoardTable(SplitCsvLine(lines[0]), lines.Skip(1).Select(l => (IReadOnlyList<string>)SplitCsvLine(l)).ToList());
    }

    internal static List<string> SplitCsvLine(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return fields;
    }
}
