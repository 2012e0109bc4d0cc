using System.CommandLine;
using Descent.Cli.Commands;
using Descent.TensorBoard;

namespace Descent.Tests.Logging;

public class EventsCommandTests
{
    private static (int Code, string Out) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var root = new RootCommand();
        root.Subcommands.Add(EventsCommand.Create(stdout));
        int code = root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = new StringWriter(), EnableDefaultExceptionHandler = false });
        return (code, stdout.ToString());
    }

    [Fact]
    public void Events_lists_runs_tags_counts_and_last_values()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path))
        {
            for (int i = 1; i <= 3; i++) writer.AddScalar("train/loss", 1.0 / i, i);
            writer.AddScalar("train/bad", double.NaN, 3);
            writer.AddHistogram("weights/fc", [1f, 2f, 3f], 3);
            writer.AddImage("img", Tensor.Zeros(3, 4, 5), 3);
            writer.AddText("notes", "first line\nsecond line", 2);
            writer.AddScalars("cmp", new Dictionary<string, double> { ["a"] = 1 }, 3);
            writer.AddHParams(new Dictionary<string, object?> { ["lr"] = 0.1, ["opt"] = "sgd" }, new Dictionary<string, double> { ["hparam/acc"] = 0.9 }, runName: SummaryWriter.SameRun);
        }
        var (code, output) = Run("events", dir.Path);
        Assert.Equal(0, code);
        var lines = output.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Contains($"{dir.Path}: 2 runs, 2 event files, 14 records", lines);
        Assert.Contains("run .  (1 file, 12 records)", lines);
        Assert.Contains("run cmp_a  (1 file, 2 records)", lines);
        Assert.Matches(@"scalar\s+train/loss\s+3\s+3\s+0\.333333", output);
        Assert.Matches(@"scalar\s+train/bad\s+1\s+3\s+nan", output);
        Assert.Matches(@"histogram\s+weights/fc\s+1\s+3\s+n 3 min 1 max 3 mean 2", output);
        Assert.Matches(@"image\s+img\s+1\s+3\s+5×4 PNG, \d+ bytes", output);
        Assert.Matches("text\\s+notes/text_summary\\s+1\\s+2\\s+\"first line second line\"", output);
        Assert.Matches(@"hparams\s+_hparams_/experiment\s+1\s+0\s+2 hparams, 1 metric: hparam/acc", output);
        Assert.Matches(@"hparams\s+_hparams_/session_start_info\s+1\s+0\s+lr=0\.1, opt=sgd", output);
        Assert.Matches(@"hparams\s+_hparams_/session_end_info\s+1\s+0\s+status success", output);
        Assert.Matches(@"scalar\s+cmp\s+1\s+3\s+1", output);
    }

    [Fact]
    public void Events_notes_a_file_still_being_written_and_reads_single_files()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalar("x", 1, 1);
            path = writer.FilePath;
        }
        File.AppendAllText(path, "partial");
        var (code, output) = Run("events", dir.Path);
        Assert.Equal(0, code);
        Assert.Contains($"note: {Path.GetFileName(path)} ends in an incomplete record of 7 bytes", output);
        Assert.Contains("scalar", Run("events", path).Out);
    }

    [Fact]
    public void Damage_and_missing_data_are_one_line_errors_naming_file_and_offset()
    {
        using var dir = new TempDirectory();
        string path;
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalar("x", 1, 1);
            path = writer.FilePath;
        }
        var bytes = File.ReadAllBytes(path);
        bytes[^6] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        var damaged = Assert.Throws<InvalidDataException>(() => Run("events", dir.Path));
        Assert.Contains(path, damaged.Message);
        Assert.Contains("byte offset 40", damaged.Message);
        Assert.DoesNotContain('\n', damaged.Message);

        using var empty = new TempDirectory();
        Assert.Contains("holds no event files", Assert.Throws<ArgumentException>(() => Run("events", empty.Path)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => Run("events", empty.Sub("missing")));
    }
}
