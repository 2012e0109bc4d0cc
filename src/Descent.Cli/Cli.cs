using System.CommandLine;
using Descent.Cli.Commands;

namespace Descent.Cli;

/// <summary>
/// The <c>descent</c> command. Parsing and presentation only: every command calls the library.
/// Bad input of any kind ends in one line on stderr and exit code 2.
/// </summary>
public static class Cli
{
    /// <summary>Exit code for bad input (unknown option, bad value, missing or corrupt data).</summary>
    public const int UsageError = 2;

    /// <summary>Runs the command line; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Descent: train neural networks in C#, compare optimizers, see why training fails.");
        root.Subcommands.Add(TrainCommand.Create(stdout));
        root.Subcommands.Add(PredictCommand.Create(stdout));
        root.Subcommands.Add(SummaryCommand.Create(stdout));
        root.Subcommands.Add(CompareCommand.Create(stdout));
        root.Subcommands.Add(PlaygroundCommand.Create(stdout));
        root.Subcommands.Add(EventsCommand.Create(stdout));
        root.Subcommands.Add(ExperimentCommand.Create(stdout));
        root.Subcommands.Add(BoardCommand.Create(stdout));
        root.Subcommands.Add(ExportCommand.Create(stdout));
        root.Subcommands.Add(DoctorCommand.Create(stdout));
        root.Subcommands.Add(TuneCommand.Create(stdout));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0) return Fail(stderr, OneLine(parse.Errors[0].Message), UsageError);
        if (NonFiniteOption(parse) is { } bad) return Fail(stderr, bad, UsageError);
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is Training.TrainingDivergedException or Autodiff.AnomalyDetectedException)
        {
            // Not bad input but a failed run: exit code 1, with what to change.
            return Fail(stderr, e.Message, 1);
        }
        catch (Exception e) when (IsUserError(e))
        {
            return Fail(stderr, Printable.Escape(OneLine(InCommandLineTerms(e, parse.CommandResult.Command))), UsageError);
        }
        // Sizes come from the user (options, file headers): one too large for this machine or for the arithmetic is bad input too.
        catch (OutOfMemoryException e)
        {
            return Fail(stderr, $"out of memory: the sizes given need more memory than this machine has ({OneLine(e.Message)})", UsageError);
        }
        catch (OverflowException e)
        {
            return Fail(stderr, $"a size given is too large: {OneLine(e.Message)}", UsageError);
        }
        // In an MPI job a rank that cannot go on must end the job, or the others wait for it in their next collective.
        catch (Exception e) when (Distributed.ProcessGroup.World is { WorldSize: > 1 } group)
        {
            group.Abort($"{e.GetType().Name}: {OneLine(e.Message)}");
            throw;
        }
    }

    /// <summary>
    /// Reports a failed command as one line. In an MPI job that has started, the line names the rank and the whole job
    /// ends (<c>MPI_Abort</c>); before that, every rank fails alike and rank 0 alone says so.
    /// </summary>
    private static int Fail(TextWriter stderr, string message, int exitCode)
    {
        if (Distributed.ProcessGroup.World is { WorldSize: > 1 } group) group.Abort(message, exitCode);
        if (Distributed.ProcessGroup.LaunchedByMpi && Distributed.ProcessGroup.LauncherRank != 0) return exitCode;
        stderr.WriteLine($"descent: error: {message}");
        return exitCode;
    }

    /// <summary>
    /// The library names the parameter a bad value came in (<see cref="ArgumentException.ParamName"/>, such as
    /// <c>WeightDecay</c>); where the running command has the option of that name (<c>--weight-decay</c>), the
    /// message names the option instead. A missing data file points to the command's <c>--data</c>.
    /// </summary>
    private static string InCommandLineTerms(Exception e, Command command)
    {
        bool Has(string option) => command.Options.Any(o => o.Name == option);
        if (e is ArgumentException { ParamName: { Length: > 0 } name } argument && Has(Option(name)))
            return $"{Option(name)}: {argument.Message.Replace($" (Parameter '{name}')", "")}";
        if (e is FileNotFoundException && Has("--data"))
            return $"{e.Message} (--data DIR)";
        return e.Message;
    }

    /// <summary>
    /// A number option given as NaN or ±Infinity (which .NET parses): no option of Descent means anything by them, so
    /// they are refused before a command starts, naming the option.
    /// </summary>
    private static string? NonFiniteOption(ParseResult parse)
    {
        foreach (var option in parse.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>())
        {
            if (option.Implicit || (option.Option.ValueType != typeof(double) && option.Option.ValueType != typeof(double?))) continue;
            if (option.GetValueOrDefault<double?>() is { } value && !double.IsFinite(value))
                return $"{option.Option.Name} must be a finite number, got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        }
        return null;
    }

    /// <summary><c>ValidationSamples</c> → <c>--validation-samples</c>.</summary>
    private static string Option(string parameter) =>
        "--" + string.Concat(parameter.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));

    // Files and directories the user named (missing, unreadable, unwritable, full disk) are the user's to fix, so
    // I/O failures get the one-line treatment too; a stack trace would say nothing more useful.
    private static bool IsUserError(Exception e) =>
        e is ArgumentException or InvalidDataException or IOException or UnauthorizedAccessException or FormatException or UsageException;

    private static string OneLine(string message) =>
        string.Join(" ", message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>A command-line value the library accepts in principle but the command refuses.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>What the command line said, beyond the values System.CommandLine fills in.</summary>
internal static class ParseResultExtensions
{
    /// <summary>True when <paramref name="option"/> was on the command line (not only its default).</summary>
    public static bool Given(this ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>Refuses every option of <paramref name="options"/> that was given: "OPTION does not apply REASON".</summary>
    public static void Refuse(this ParseResult parse, IEnumerable<Option> options, string reason)
    {
        foreach (var option in options)
            if (parse.Given(option)) throw new UsageException($"{option.Name} does not apply {reason}");
    }
}
