using Descent.TensorBoard;

namespace Descent.Board;

/// <summary>
/// A log directory as the board sees it: every run (a directory at any depth holding event files), the
/// playground outputs and other pictures under it. <see cref="Refresh"/> looks again and re-reads only what
/// changed: an event file that grew is read on from where the last read stopped, an unchanged one not at all.
/// </summary>
/// <remarks>
/// A run that cannot be read (a damaged record) is kept with its error, naming the file and byte offset; the
/// other runs are unaffected. Thread-safe: refreshes are serialized, and each returns an immutable snapshot.
/// </remarks>
public sealed class BoardLogDir
{
    private static readonly string[] PictureExtensions = [".svg", ".png", ".jpg", ".jpeg", ".gif"];

    private readonly Lock _lock = new();
    private readonly Dictionary<string, CachedFile> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CachedRun> _runs = new(StringComparer.Ordinal);
    private string _otherFingerprint = "";
    private BoardSnapshot _current;
    private DateTime _lastRefresh = DateTime.MinValue;

    private sealed record CachedFile(long Length, DateTime Modified, EventFileContents Contents);

    private sealed record CachedRun(string Fingerprint, BoardRun Run);

    /// <summary>Opens <paramref name="root"/> and reads everything under it once.</summary>
    /// <exception cref="DirectoryNotFoundException">No such directory.</exception>
    public BoardLogDir(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"log directory '{root}' does not exist");
        Root = Path.GetFullPath(root);
        _current = new BoardSnapshot(Root, 0, [], null);
        Refresh();
    }

    /// <summary>The log directory (full path).</summary>
    public string Root { get; }

    /// <summary>The snapshot of the last <see cref="Refresh"/>.</summary>
    public BoardSnapshot Current
    {
        get { lock (_lock) return _current; }
    }

    /// <summary>
    /// <see cref="Refresh"/> unless the last one is younger than <paramref name="maxAge"/>: a page asks several
    /// endpoints per poll, and one look at the disk serves them all.
    /// </summary>
    public BoardSnapshot RefreshIfOlderThan(TimeSpan maxAge)
    {
        lock (_lock)
            return DateTime.UtcNow - _lastRefresh >= maxAge ? Refresh() : _current;
    }

    /// <summary>Looks at the log directory again; returns the new snapshot (the same object when nothing changed).</summary>
    public BoardSnapshot Refresh()
    {
        lock (_lock)
        {
            _lastRefresh = DateTime.UtcNow;
            var eventFiles = new Dictionary<string, List<FileInfo>>(StringComparer.Ordinal);
            var others = new List<FileInfo>();
            // Symbolic links (and other reparse points: junctions) are skipped, files and directories alike: a
            // link such as logs/link -> .. would otherwise list runs from outside the log directory, and loop.
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true };
            options.AttributesToSkip |= FileAttributes.ReparsePoint;
            IEnumerable<FileInfo> all;
            try
            {
                all = new DirectoryInfo(Root).EnumerateFiles("*", options).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The log directory was removed (or made unreadable) while the board runs: show it empty rather than fail.
                all = [];
            }
            foreach (var file in all)
            {
                if (EventFileReader.IsEventFile(file.Name))
                {
                    string dir = file.DirectoryName ?? Root;
                    if (!eventFiles.TryGetValue(dir, out var list)) eventFiles[dir] = list = [];
                    list.Add(file);
                }
                else if (PictureExtensions.Contains(file.Extension.ToLowerInvariant()) || file.Name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
                {
                    others.Add(file);
                }
            }

            bool changed = false;
            var runs = new List<BoardRun>();
            foreach (var (dir, files) in eventFiles.OrderBy(p => RunName(p.Key) is "." ? "" : RunName(p.Key), StringComparer.Ordinal))
            {
                files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
                string fingerprint = string.Join("|", files.Select(f => $"{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}"));
                if (_runs.TryGetValue(dir, out var cached) && cached.Fingerprint == fingerprint)
                {
                    runs.Add(cached.Run);
                    continue;
                }
                var run = ReadRun(dir, files);
                _runs[dir] = new CachedRun(fingerprint, run);
                runs.Add(run);
                changed = true;
            }
            foreach (var gone in _runs.Keys.Where(k => !eventFiles.ContainsKey(k)).ToList())
            {
                _runs.Remove(gone);
                changed = true;
            }
            foreach (var gone in _files.Keys.Where(k => !File.Exists(k)).ToList()) _files.Remove(gone);

            others.Sort((a, b) => string.CompareOrdinal(a.FullName, b.FullName));
            string otherFingerprint = string.Join("|", others.Select(f => $"{f.FullName}:{f.Length}:{f.LastWriteTimeUtc.Ticks}"));
            var pictures = _current.Pictures;
            if (otherFingerprint != _otherFingerprint)
            {
                _otherFingerprint = otherFingerprint;
                pictures = BoardPictureScan.Scan(Root, others);
                changed = true;
            }
            if (changed) _current = new BoardSnapshot(Root, _current.Version + 1, runs, pictures);
            return _current;
        }
    }

    private string RunName(string directory)
    {
        string relative = Path.GetRelativePath(Root, directory);
        return relative == "." ? "." : relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    private BoardRun ReadRun(string directory, List<FileInfo> files)
    {
        string name = RunName(directory);
        var contents = new List<EventFileContents>();
        try
        {
            foreach (var file in files)
            {
                _files.TryGetValue(file.FullName, out var cached);
                EventFileContents read;
                if (cached is not null && cached.Length == file.Length && cached.Modified == file.LastWriteTimeUtc)
                    read = cached.Contents;
                else
                    // Event files only grow (TensorBoard assumes the same), so a longer file is read on from the last end.
                    read = EventFileReader.ReadFile(file.FullName, cached is not null && file.Length > cached.Length ? cached.Contents : null);
                _files[file.FullName] = new CachedFile(read.Length, file.LastWriteTimeUtc, read);
                contents.Add(read);
            }
            var run = EventFileReader.DecodeRun(name, directory, contents);
            return new BoardRun(name, directory, run, null, Files(contents));
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            // Forget what this run's files held: the next look re-reads them whole, so a file that was
            // replaced or repaired is not read on from a stale offset.
            foreach (var file in files) _files.Remove(file.FullName);
            return new BoardRun(name, directory, null, e.Message, files.Select(f => new BoardFile(f.Name, f.Length, 0)).ToList());
        }
    }

    private static List<BoardFile> Files(List<EventFileContents> contents) =>
        contents.Select(c => new BoardFile(Path.GetFileName(c.Path), c.Length, c.PartialTailBytes)).ToList();
}

/// <summary>One run under the log directory: its decoded events, or the error that kept it from being read.</summary>
/// <param name="Name">Relative path of the run directory (<c>.</c> for the log directory itself).</param>
/// <param name="Directory">Full path of the run directory.</param>
/// <param name="Events">The decoded run, or null when <paramref name="Error"/> is set.</param>
/// <param name="Error">Why the run could not be read, naming the file and byte offset.</param>
/// <param name="Files">Its event files.</param>
public sealed record BoardRun(string Name, string Directory, EventRun? Events, string? Error, IReadOnlyList<BoardFile> Files);
