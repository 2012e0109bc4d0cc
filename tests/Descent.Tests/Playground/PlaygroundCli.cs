using System.CommandLine;
using System.Globalization;
using Descent.Cli.Commands;

namespace Descent.Tests.Playground;

/// <summary>Runs <c>descent playground …</c> in process, as the top-level command does, and reads traces back.</summary>
internal static class PlaygroundCli
{
    /// <summary>The exit code and standard output; bad input surfaces as the exception the top level turns into exit code 2.</summary>
    public static (int Code, string Out) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var parse = PlaygroundCommand.Create(stdout).Parse(args);
        if (parse.Errors.Count > 0) throw new InvalidOperationException($"parse error: {parse.Errors[0].Message}");
        int code = parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stdout, EnableDefaultExceptionHandler = false });
        return (code, stdout.ToString());
    }

    /// <summary>A fresh temporary directory.</summary>
    public static string TempDir(string what)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"descent-playground-{what}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The rows of a <c>step,x,y,loss</c> trace.</summary>
    public static List<(int Step, float X, float Y, float Loss)> ReadTrace(string path)
    {
        var lines = File.ReadAllLines(path);
        Assert.Equal("step,x,y,loss", lines[0]);
        return lines.Skip(1).Select(line =>
        {
            var cells = line.Split(',');
            Assert.Equal(4, cells.Length);
            return (int.Parse(cells[0], CultureInfo.InvariantCulture), float.Parse(cells[1], CultureInfo.InvariantCulture),
                float.Parse(cells[2], CultureInfo.InvariantCulture), float.Parse(cells[3], CultureInfo.InvariantCulture));
        }).ToList();
    }
}
