namespace Descent.Tests.Cli;

/// <summary>Runs the <c>descent</c> command in-process, as the executable does, capturing both streams.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Descent.Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>Bad input: exit code 2 and one line on stderr starting with "descent: error:", no stack trace; returns the line.</summary>
    public static string AssertUsageError(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("descent: error:", lines[0]);
        Assert.DoesNotContain("   at ", err);
        return lines[0].Trim();
    }
}
