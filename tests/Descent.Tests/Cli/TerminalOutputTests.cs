using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Descent.Tests.Cli;

/// <summary>
/// <c>descent train</c> as a person sees it: the built command runs under a pseudo-terminal (util-linux's
/// <c>script</c>), so it draws its progress bar, and the captured bytes are replayed on an 80-column screen.
/// </summary>
public class TerminalOutputTests
{
    private const int Columns = 80;

    [SkippableFact]
    public void Epoch_rows_are_lines_of_their_own_and_the_header_is_in_words()
    {
        SystemPackages.Script.Require();

        var (code, output) = RunInTerminal("train", "--epochs", "2", "--hidden", "32", "--optimizer", "nesterov", "--lr", "0.05");

        Assert.True(code == 0, output);
        // The bar was drawn (so this ran on a terminal), and erased: no screen row keeps any of it.
        Assert.Contains("samples/s", output);
        var screen = Screen.Replay(output, Columns);
        string shown = string.Join("\n", screen);
        Assert.DoesNotContain("samples/s", shown);
        Assert.DoesNotContain("[#", shown);

        // The header is longer than a row: the rows it wrapped onto, joined.
        string header = string.Concat(screen.TakeWhile(l => !l.StartsWith("Optimizer")));
        Assert.Equal("Training MLP 64-32-10 (2,410 parameters) on digits (1,293 train / 144 val / 360 test) for 2 epochs, batch 32", header);
        Assert.Contains("Optimizer: SGD (lr 0.05, momentum 0.9, nesterov)", screen);
        Assert.DoesNotContain("Lr =", shown);

        int table = screen.FindIndex(l => l.StartsWith("epoch  train loss"));
        Assert.True(table >= 0, shown);
        Assert.Matches(new Regex(@"^ +1 +\d+\.\d{4} +\d\.\d{4} +\d+\.\d{4} +\d\.\d{4} +0\.05 +\d+\.\d\d$"), screen[table + 1]);
        Assert.Matches(new Regex(@"^ +2 +\d+\.\d{4} +\d\.\d{4} +\d+\.\d{4} +\d\.\d{4} +0\.05 +\d+\.\d\d$"), screen[table + 2]);
        Assert.StartsWith("test accuracy ", screen[table + 3]);
    }

    [Fact]
    public void The_screen_replay_wraps_at_the_width_and_applies_returns_and_erasures()
    {
        // What the replay must get right for the test above to mean anything.
        Assert.Equal(["abcd", "ef"], Screen.Replay("abcdef", 4));
        Assert.Equal(["xbc", "next"], Screen.Replay("abc\rx\r\nnext", 4));
        Assert.Equal(["row"], Screen.Replay("bar 50%\r\e[2Krow", 10));
        Assert.Equal(["ab"], Screen.Replay("abcdef\r\e[2Cxy\r\e[2C\e[K", 10));
        Assert.Equal(["abcd", "row"], Screen.Replay("abcdefg\r\e[2Krow", 4));
        Assert.Equal(["hi"], Screen.Replay("\e[?1h\e=hi", 10));
    }

    /// <summary>Runs the built <c>descent</c> under <c>script</c> on an 80×24 pseudo-terminal; returns the exit code and every byte it wrote.</summary>
    private static (int Code, string Output) RunInTerminal(params string[] args)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? SystemPackages.OnPath("dotnet") ?? "dotnet";
        string cli = Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll");
        string command = $"stty cols {Columns} rows 24; exec {Quote(dotnet)} {Quote(cli)} {string.Join(" ", args.Select(Quote))}";
        var start = new ProcessStartInfo("script", ["-qfec", command, "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        var bytes = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(bytes);
        process.WaitForExit();
        return (process.ExitCode, Encoding.UTF8.GetString(bytes.ToArray()) + stderr.Result);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>
    /// A terminal screen reduced to what these tests need: printable characters overwrite, a line wraps at the
    /// width (the next character after the last column goes to the next row), carriage return, line feed, and
    /// the erase-in-line and cursor-forward sequences; other escape sequences are dropped. Rows keep the spaces
    /// printed at their ends, so the rows of a wrapped line join back into it.
    /// </summary>
    private static class Screen
    {
        public static List<string> Replay(string output, int width)
        {
            var rows = new List<StringBuilder> { new() };
            int row = 0, col = 0;
            for (int i = 0; i < output.Length; i++)
            {
                char c = output[i];
                if (c == '\e')
                {
                    if (i + 1 < output.Length && output[i + 1] == '[')
                    {
                        int end = i + 2;
                        while (end < output.Length && output[end] is < '@' or > '~') end++;
                        if (end == output.Length) break;
                        string parameter = output[(i + 2)..end];
                        var line = rows[row];
                        switch (output[end])
                        {
                            case 'K' when parameter == "2": line.Clear(); break;
                            case 'K' when parameter is "" or "0": if (line.Length > col) line.Length = col; break;
                            case 'C': col = Math.Min(width, col + (parameter == "" ? 1 : int.Parse(parameter))); break;
                        }
                        i = end;
                    }
                    else i++; // a two-character sequence such as ESC =
                    continue;
                }
                switch (c)
                {
                    case '\r': col = 0; break;
                    case '\n':
                        row++;
                        if (row == rows.Count) rows.Add(new StringBuilder());
                        break;
                    default:
                        if (c < ' ') break;
                        if (col == width)
                        {
                            row++;
                            col = 0;
                            if (row == rows.Count) rows.Add(new StringBuilder());
                        }
                        var target = rows[row];
                        if (target.Length < col) target.Append(' ', col - target.Length);
                        if (col < target.Length) target[col] = c;
                        else target.Append(c);
                        col++;
                        break;
                }
            }
            var screen = rows.Select(r => r.ToString()).ToList();
            while (screen.Count > 0 && screen[^1].Length == 0) screen.RemoveAt(screen.Count - 1);
            return screen;
        }
    }
}
