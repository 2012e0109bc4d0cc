using static Descent.Tests.Cli.CliRunner;

namespace Descent.Tests.Cli;

/// <summary>Commands that write files refuse an unusable destination before doing any work, in one line with exit code 2.</summary>
public class OutputPathTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "descent-outpaths-" + Guid.NewGuid().ToString("N"));
    private readonly string _file;

    public OutputPathTests()
    {
        Directory.CreateDirectory(_root);
        _file = Path.Combine(_root, "a-file.txt");
        File.WriteAllText(_file, "keep me");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);


    [Theory]
    [InlineData("compare", "--out")]
    [InlineData("experiment", "init", "--out")]
    [InlineData("experiment", "batchnorm", "--out")]
    [InlineData("experiment", "regularization", "--out")]
    [InlineData("playground", "--preset", "saddle", "--out")]
    public void An_out_directory_that_is_a_file_is_refused_before_any_work(params string[] args)
    {
        var (code, stdout, err) = Run([.. args, _file]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"descent: error: --out: cannot write to directory '{_file}'", err.Trim());
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("keep me", File.ReadAllText(_file));
    }

    [Fact]
    public void A_trace_inside_a_file_is_refused()
    {
        var (code, _, err) = Run("playground", "--function", "quadratic", "--optimizer", "sgd", "--steps", "3", "--start", "1,1", "--trace", Path.Combine(_file, "t.csv"));
        Assert.Equal(2, code);
        Assert.StartsWith("descent: error: --trace: cannot write to directory", err.Trim());
    }

    [Fact]
    public void A_board_export_onto_a_directory_is_refused()
    {
        var (code, _, err) = Run("board", "--logdir", _root, "--export", _root);
        Assert.Equal(2, code);
        Assert.Equal($"descent: error: --export: '{_root}' is a directory; give a file name", err.Trim());
    }
}
