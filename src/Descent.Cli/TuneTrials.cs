using System.CommandLine;
using System.Globalization;
using Descent.Optim;
using Descent.Training;
using Descent.Tuning;

namespace Descent.Cli;

/// <summary>One configuration of <c>train</c>'s model, loop and optimizer options, as a trial of <c>descent tune</c> sets them.</summary>
/// <param name="Settings">Model, epochs, batch size, seed.</param>
/// <param name="Optimizer">The optimizer's name.</param>
/// <param name="OptimizerSettings">Its hyperparameters.</param>
/// <param name="ClipNorm">Gradient clipping to this norm, or null.</param>
/// <param name="Accumulate">Batches per optimizer step.</param>
internal sealed record TrialConfiguration(TrainSettings Settings, string Optimizer, OptimizerSettings OptimizerSettings, double? ClipNorm, int Accumulate);

/// <summary>
/// Turns a trial's parameters into train's options: the space names train's options (<c>lr</c>, <c>hidden</c>, …), so a
/// trial's configuration is the command line's train options plus <c>--NAME VALUE</c> for each parameter, parsed by
/// the very option sets <c>train</c> parses with — one meaning, one validation for every option.
/// </summary>
internal sealed class TrialConfigurations
{
    private readonly ModelDataOptionSet _data = new();
    private readonly OptimizerOptionSet _optim = new();
    private readonly RootCommand _parser = new();
    private readonly string[] _base;
    private readonly double _valFraction;

    /// <summary>The options a search space may name: train's model, loop and optimizer options.</summary>
    public static readonly string[] Tunable =
    [
        "lr", "optimizer", "momentum", "dampening", "nesterov", "weight-decay", "betas", "eps", "rho", "alpha", "centered", "amsgrad",
        "lr-decay", "initial-accumulator-value", "no-decay-bias-norm", "clip-norm", "accumulate",
        "model", "hidden", "activation", "init", "batch-norm", "dropout", "epochs", "batch-size",
    ];

    /// <param name="baseArguments">The train options given on the command line, as tokens.</param>
    /// <param name="valFraction">The validation fraction the search uses (the data's, not a trial's).</param>
    public TrialConfigurations(IReadOnlyList<string> baseArguments, double valFraction)
    {
        foreach (var o in _data.All.Concat(_optim.All)) _parser.Options.Add(o);
        _base = [.. baseArguments];
        _valFraction = valFraction;
    }

    /// <summary>The options of <paramref name="parse"/> that a trial's configuration inherits (train's model, data and optimizer options), as tokens.</summary>
    public static List<string> TrainTokens(ParseResult parse, IEnumerable<Option> trainOptions)
    {
        var names = trainOptions.Select(o => o.Name).ToHashSet();
        var tokens = new List<string>();
        foreach (var result in parse.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>())
        {
            if (result.Implicit || !names.Contains(result.Option.Name)) continue;
            tokens.Add(result.Option.Name);
            tokens.AddRange(result.Tokens.Select(t => t.Value));
        }
        return tokens;
    }

    /// <summary>A parameter's value as an option's text: floats round-trip, in the invariant culture.</summary>
    public static string Text(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The configuration of these parameter values; <see cref="UsageException"/> naming the option when one is bad.</summary>
    public TrialConfiguration For(IEnumerable<KeyValuePair<string, object>> parameters)
    {
        var parse = _parser.Parse([.. _base, .. parameters.SelectMany(p => new[] { "--" + p.Key, Text(p.Value) })]);
        if (parse.Errors.Count > 0) throw new UsageException(parse.Errors[0].Message);
        var settings = _data.Settings(parse, _valFraction, userData: true) with { ValFraction = _valFraction };
        _optim.CheckTraining(parse);
        string optimizer = parse.GetValue(_optim.Optimizer)!;
        var optimizerSettings = _optim.Settings(parse);
        // Bad hyperparameters (a negative lr, betas out of range) fail here, before any data is touched.
        Optimizers.Create(optimizer, new Nn.Linear(1, 1), optimizerSettings);
        return new TrialConfiguration(settings, optimizer, optimizerSettings, parse.GetValue(_optim.ClipNorm), parse.GetValue(_optim.Accumulate));
    }

    /// <summary>
    /// Tries every parameter at its extremes (the low and high of a range, each choice of a categorical one), the
    /// others as the command line sets them, so a space whose values train would refuse is refused before the search.
    /// </summary>
    public void Check(SearchSpace space)
    {
        foreach (var (name, distribution) in space.Parameters)
        {
            object[] probes = distribution switch
            {
                CategoricalDistribution c => [.. c.Choices],
                IntDistribution i => [i.Low, i.High],
                FloatDistribution f => [f.Low, f.High],
                _ => [],
            };
            if (distribution is FloatDistribution && _parser.Options.First(o => o.Name == "--" + name).ValueType is var type && type != typeof(double) && type != typeof(double?))
                throw new UsageException($"--space {name}: train's --{name} takes {(type == typeof(int) || type == typeof(int?) ? "integers (use int:LOW..HIGH)" : "one of a list of values (use a|b|c)")}");
            foreach (var value in probes)
            {
                try
                {
                    For([new(name, value)]);
                }
                catch (Exception e) when (e is UsageException or ArgumentException)
                {
                    throw new UsageException($"--space {name}={Text(value)}: {e.Message}");
                }
            }
        }
    }
}

/// <summary>
/// Ends a trial's training when the study's pruner says so: reports the validation metric of every epoch to the trial
/// (<see cref="Trial.Report"/>, step = epoch) and throws <see cref="TrialPrunedException"/> once
/// <see cref="Trial.ShouldPrune"/> is true. Add it after the callbacks that should still see the epoch (the logger).
/// </summary>
internal sealed class PruningCallback(Trial trial, Func<EpochResult, double> metric) : ITrainerCallback
{
    public void OnEpochEnd(EpochResult result)
    {
        trial.Report(metric(result), result.Epoch);
        if (trial.ShouldPrune()) throw new TrialPrunedException();
    }
}
