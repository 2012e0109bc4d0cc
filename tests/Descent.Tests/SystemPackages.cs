using System.Diagnostics;
using Descent.Data;

namespace Descent.Tests;

/// <summary>
/// The optional Debian packages some tests need. A test that needs one is a <c>[SkippableFact]</c> that calls
/// <see cref="SystemPackage.Require"/>: without the package it is skipped, and the reason names the package to
/// install. <c>.ci/run</c> installs them all, so there they run.
/// </summary>
/// <remarks>
/// To see the skips on a machine that has the packages, list them (Debian names, comma-separated, or <c>all</c>)
/// in <c>DESCENT_TEST_HIDE_PACKAGES</c>, e.g. <c>DESCENT_TEST_HIDE_PACKAGES=all dotnet test -c Release</c>.
/// </remarks>
internal static class SystemPackages
{
    /// <summary>The Fashion-MNIST IDX files under <see cref="Datasets.DefaultFashionMnistDir"/>.</summary>
    public static readonly SystemPackage FashionMnist = new("dataset-fashion-mnist", () =>
        new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
            .All(f => File.Exists(Path.Combine(Datasets.DefaultFashionMnistDir, f + ".gz"))));

    /// <summary>Google's <c>protoc</c> compiler.</summary>
    public static readonly SystemPackage Protoc = new("protobuf-compiler", () => OnPath("protoc") is not null);

    /// <summary>Debian's <c>/usr/bin/python3</c> able to <c>import google.protobuf</c>.</summary>
    public static readonly SystemPackage PythonProtobuf = new("python3-protobuf", () => Succeeds(Python, "-c", "import google.protobuf"));

    /// <summary>A headless browser, <c>chromium</c>.</summary>
    public static readonly SystemPackage Chromium = new("chromium", () => OnPath("chromium") is not null);

    /// <summary>util-linux's <c>script</c>, which runs a command under a pseudo-terminal.</summary>
    public static readonly SystemPackage Script = new("bsdutils", () => OnPath("script") is not null);

    /// <summary>PostgreSQL's server programs (<c>initdb</c>, <c>pg_ctl</c>) under <c>/usr/lib/postgresql/*/bin</c>, for the tuning tests' own server.</summary>
    public static readonly SystemPackage PostgreSql = new("postgresql", () =>
        Directory.Exists("/usr/lib/postgresql")
        && Directory.GetDirectories("/usr/lib/postgresql").Any(d => File.Exists(Path.Combine(d, "bin", "initdb"))));
    /// <summary>
    /// MPICH: the <c>mpiexec</c> launcher and the MPICH-ABI library (<c>libmpi.so.12</c>, Debian's <c>libmpich.so.12</c>),
    /// looked for as files: the tests run MPI in child processes and never load it into the test host.
    /// </summary>
    public static readonly SystemPackage Mpich = new("mpich", () =>
        OnPath("mpiexec") is not null
        && new[] { "/usr/lib", "/usr/lib64", "/usr/local/lib" }.Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "libmpi*.so.12", SearchOption.AllDirectories))
            .Any(f => Path.GetFileName(f) is "libmpi.so.12" or "libmpich.so.12"));

    /// <summary>Debian's interpreter, not whichever <c>python3</c> comes first on PATH: the Debian packages install into it.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    private static bool Succeeds(string program, params string[] args)
    {
        if (!File.Exists(program)) return false;
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}

/// <summary>One Debian package, by its name, and how to tell whether it is installed.</summary>
internal sealed class SystemPackage(string name, Func<bool> probe)
{
    private readonly Lazy<bool> present = new(probe);

    /// <summary>The Debian package name.</summary>
    public string Name { get; } = name;

    /// <summary>Whether the package is there and not hidden by <c>DESCENT_TEST_HIDE_PACKAGES</c>.</summary>
    public bool Installed => !Hidden && present.Value;

    private bool Hidden =>
        (Environment.GetEnvironmentVariable("DESCENT_TEST_HIDE_PACKAGES") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(n => n == "all" || n == Name);

    /// <summary>Skips the calling <c>[SkippableFact]</c> when the package is missing, naming it.</summary>
    public void Require() => Skip.IfNot(Installed, $"needs Debian's {Name} (apt-get install {Name})");
}
