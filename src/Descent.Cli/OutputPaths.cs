namespace Descent.Cli;

/// <summary>
/// Checks where a command will write before it does any work: an experiment that trains for a minute and then
/// cannot write its pictures would lose every result.
/// </summary>
internal static class OutputPaths
{
    /// <summary>Creates <paramref name="directory"/> if needed and proves it writable; returns it.</summary>
    /// <exception cref="UsageException">It cannot be created or written (names <paramref name="option"/> and the path).</exception>
    public static string Directory(string directory, string option)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            string probe = Path.Combine(directory, $".descent-write-check-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return directory;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new UsageException($"{option}: cannot write to directory '{directory}': {e.Message}");
        }
    }

    /// <summary>Makes sure the directory that will hold <paramref name="file"/> exists and is writable; returns the file.</summary>
    /// <exception cref="UsageException">It cannot (names <paramref name="option"/> and the path), or <paramref name="file"/> is a directory.</exception>
    public static string FileIn(string file, string option)
    {
        if (System.IO.Directory.Exists(file)) throw new UsageException($"{option}: '{file}' is a directory; give a file name");
        if (Path.GetDirectoryName(Path.GetFullPath(file)) is { Length: > 0 } parent) Directory(parent, option);
        return file;
    }
}
