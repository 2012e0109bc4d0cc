using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent experiment NAME</c>: the lectures' experiments, each a table on stdout, pictures as SVG under
/// <c>--out</c> and, with <c>--logdir</c>, TensorBoard runs. An unknown NAME is a usage error.
/// </summary>
public static class ExperimentCommand
{
    /// <summary>Builds the command with every experiment as a subcommand; output goes to <paramref name="stdout"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("experiment", "Run one of the lectures' experiments: a table, pictures, and TensorBoard runs with --logdir.");
        foreach (var experiment in Experiments(stdout)) cmd.Subcommands.Add(experiment);
        // A name that is no subcommand lands here, so that the error names the experiments there are.
        var name = new Argument<string?>("name") { Description = "The experiment", Arity = ArgumentArity.ZeroOrOne, Hidden = true };
        cmd.Arguments.Add(name);
        cmd.SetAction(int (parse) =>
        {
            string known = string.Join(", ", cmd.Subcommands.Select(c => c.Name));
            throw new UsageException(parse.GetValue(name) is { } unknown
                ? $"unknown experiment '{unknown}' (expected one of: {known})"
                : $"experiment needs a name: one of {known}");
        });
        return cmd;
    }

    /// <summary>The experiments; a new one is one more line here.</summary>
    private static IEnumerable<Command> Experiments(TextWriter stdout) =>
    [
        ExperimentInitCommand.Create(stdout),
        ExperimentBatchNormCommand.Create(stdout),
        ExperimentRegularizationCommand.Create(stdout),
        ExperimentTransferCommand.Create(stdout),
        ExperimentBatchSizeCommand.Create(stdout),
        ExperimentStepSizeCommand.Create(stdout),
    ];

    /// <summary>Refuses a count option below <paramref name="minimum"/>, naming it.</summary>
    internal static int AtLeast(ParseResult parse, Option<int> option, int minimum)
    {
        int value = parse.GetValue(option);
        if (value < minimum) throw new UsageException($"{option.Name} must be an integer ≥ {minimum}, got {value}");
        return value;
    }

    /// <summary>Refuses a number option that is not positive and finite, naming it.</summary>
    internal static double Positive(ParseResult parse, Option<double> option)
    {
        double value = parse.GetValue(option);
        if (!(value > 0) || !double.IsFinite(value)) throw new UsageException($"{option.Name} must be a positive number, got {value.ToString(CultureInfo.InvariantCulture)}");
        return value;
    }

    /// <summary>Refuses a momentum outside [0, 1), naming the option.</summary>
    internal static double Momentum(ParseResult parse, Option<double> option)
    {
        double value = parse.GetValue(option);
        if (!(value >= 0 && value < 1)) throw new UsageException($"{option.Name} must be in [0, 1), got {value.ToString(CultureInfo.InvariantCulture)}");
        return value;
    }
}

/// <summary>
/// A progress line on stderr, redrawn in place at most ~15 times a second; it exists only when stderr is a
/// terminal, so logs and pipes stay clean (like <see cref="ProgressBar"/>, which follows epochs instead).
/// </summary>
internal sealed class ExperimentProgress : IDisposable
{
    private readonly TextWriter _err;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    // One throttle interval in the past, so that the first report draws (long.MinValue would overflow the difference).
    private long _lastDrawTicks = -Stopwatch.Frequency;
    private string? _label;
    private long _labelStartTicks, _labelDone;

    private ExperimentProgress(TextWriter err) => _err = err;

    /// <summary>A progress line on the console's stderr, or null when stderr is not a terminal.</summary>
    public static ExperimentProgress? ForConsole() => ProgressLine.OnTerminal ? new ExperimentProgress(Console.Error) : null;

    /// <summary>Shows <paramref name="label"/> with a bar for <paramref name="done"/> of <paramref name="total"/>.</summary>
    public void Report(string label, long done, long total)
    {
        long now = _clock.ElapsedTicks;
        // Rate and ETA over this label's own steps: each row or part restarts its count at 0.
        if (label != _label || done < _labelDone) (_label, _labelStartTicks) = (label, now);
        _labelDone = done;
        if (!ProgressLine.Due(ref _lastDrawTicks, now, final: done >= total)) return;
        double seconds = (double)(now - _labelStartTicks) / Stopwatch.Frequency;
        string rate = done > 0 && seconds > 0 ? FormattableString.Invariant($"{done / seconds:0} it/s") : "";
        string eta = done > 0 && seconds > 0 && done < total ? FormattableString.Invariant($"ETA {TimeSpan.FromSeconds((total - done) * seconds / done):mm\\:ss}") : "";
        _err.Write(ProgressLine.Draw($"{label,-16}", (double)done / Math.Max(total, 1), FormattableString.Invariant($"{done}/{total}  {rate,9}  {eta,9}  {_clock.Elapsed:mm\\:ss}")));
    }

    /// <summary>Shows <paramref name="label"/> alone, for work measured in items rather than steps.</summary>
    public void Report(string label) => _err.Write(ProgressLine.Erase + FormattableString.Invariant($"{label,-40}  {_clock.Elapsed:mm\\:ss}"));

    public void Dispose()
    {
        _err.Write(ProgressLine.Erase);
        _err.Flush();
    }
}
