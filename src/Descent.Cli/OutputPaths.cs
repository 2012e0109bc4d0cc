namespace Descent.Cli;

/// <summary>
/// Checks where a command will write before it does any work: an experiment that trains for a minute and then
/// cannot write its pictures would lose every result. The checks create nothing: a refused command, or one that stops
/// on bad input later, leaves no empty folder behind; the writers create their folders when they write.
/// </summary>
internal static class OutputPaths
{
    /// <summary>
    /// Proves that <paramref name="directory"/> can be written, or created and written: it is a writable directory, or the
    /// nearest of its parents that exists is one. Returns it.
    /// </summary>
    /// <exception cref="UsageException">It cannot be (names <paramref name="option"/> and the path).</exception>
    public static string Directory(string directory, string option)
    {
        try
        {
            string existing = Path.GetFullPath(directory);
            while (!System.IO.Directory.Exists(existing))
            {
                if (File.Exists(existing)) throw new IOException($"'{existing}' is a file");
                existing = Path.GetDirectoryName(existing) ?? throw new IOException("no part of the path exists");
            }
            string probe = Path.Combine(existing, $".descent-write-check-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return directory;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new UsageException($"{option}: cannot write to directory '{directory}': {e.Message}");
        }
    }

    /// <summary>Makes sure the directory that will hold <paramref name="file"/> can be written (see <see cref="Directory"/>); returns the file.</summary>
    /// <exception cref="UsageException">It cannot (names <paramref name="option"/> and the path), or <paramref name="file"/> is a directory.</exception>
    public static string FileIn(string file, string option)
    {
        if (System.IO.Directory.Exists(file)) throw new UsageException($"{option}: '{file}' is a directory; give a file name");
        if (Path.GetDirectoryName(Path.GetFullPath(file)) is { Length: > 0 } parent) Directory(parent, option);
        return file;
    }

    /// <summary>Creates the directory that will hold <paramref name="file"/>, once every check has passed and the file is about to be written.</summary>
    public static string CreateParent(string file)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(file)) is { Length: > 0 } parent) System.IO.Directory.CreateDirectory(parent);
        return file;
    }
}
