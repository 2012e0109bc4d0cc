using System.Diagnostics;

namespace Descent.Tests.Distributed;

/// <summary>Runs <c>descent</c> as its own process, alone or as the ranks of an <c>mpiexec</c> job, capturing both streams.</summary>
internal static class MpiJob
{
    /// <summary>The command's assembly, copied next to the tests with its runtime configuration.</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll");

    /// <summary>
    /// Starts <c>mpiexec -n <paramref name="ranks"/> dotnet descent ...</c> (or plain <c>dotnet descent ...</c> when
    /// <paramref name="ranks"/> is 0). Each rank gets one worker thread: the ranks share the machine's cores.
    /// </summary>
    public static Process Start(int ranks, IEnumerable<string> args)
    {
        var start = ranks == 0
            ? new ProcessStartInfo("dotnet") { ArgumentList = { CliDll } }
            : new ProcessStartInfo("mpiexec") { ArgumentList = { "-n", ranks.ToString(), "-env", "DOTNET_PROCESSOR_COUNT", "1", "dotnet", CliDll } };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        // A job of the test's own (should the test runner itself run under a launcher).
        start.Environment.Remove("PMI_RANK");
        start.Environment.Remove("PMI_SIZE");
        return Process.Start(start)!;
    }

    /// <summary>Runs to the end (at most <paramref name="timeoutSeconds"/>); returns the exit code and both streams.</summary>
    public static (int Code, string Out, string Err) Run(int ranks, params string[] args) => Run(ranks, 300, args);

    public static (int Code, string Out, string Err) Run(int ranks, int timeoutSeconds, params string[] args) =>
        Wait(Start(ranks, args), timeoutSeconds, $"descent {string.Join(" ", args)} on {ranks} ranks");

    /// <summary>
    /// One rank per argument list, in mpiexec's MPMD form (<c>-n 1 dotnet descent A : -n 1 dotnet descent B</c>), so
    /// that the ranks can be given different options (such as where to write).
    /// </summary>
    public static (int Code, string Out, string Err) RunEach(params string[][] rankArgs)
    {
        var start = new ProcessStartInfo("mpiexec");
        foreach (var args in rankArgs)
        {
            if (start.ArgumentList.Count > 0) start.ArgumentList.Add(":");
            foreach (var a in (string[])["-n", "1", "-env", "DOTNET_PROCESSOR_COUNT", "1", "dotnet", CliDll, .. args]) start.ArgumentList.Add(a);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.Environment.Remove("PMI_RANK");
        start.Environment.Remove("PMI_SIZE");
        return Wait(Process.Start(start)!, 300, $"descent {string.Join(" ", rankArgs[0])} on {rankArgs.Length} ranks");
    }

    private static (int Code, string Out, string Err) Wait(Process started, int timeoutSeconds, string what)
    {
        using var process = started;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{what} did not end within {timeoutSeconds} s");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// The processes running <see cref="CliDll"/> whose command line holds <paramref name="marker"/>, with their MPI rank
    /// (from <c>PMI_RANK</c>; -1 without).
    /// </summary>
    public static List<(int Pid, int Rank)> Ranks(string marker)
    {
        var result = new List<(int, int)>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (!commandLine.Contains(CliDll) || !commandLine.Contains(marker) || commandLine.StartsWith("mpiexec")) continue;
                var rank = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').FirstOrDefault(v => v.StartsWith("PMI_RANK="));
                result.Add((pid, rank is null ? -1 : int.Parse(rank["PMI_RANK=".Length..])));
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return result;
    }
}
