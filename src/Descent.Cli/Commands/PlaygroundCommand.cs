using System.CommandLine;
using System.Globalization;
using Descent.Optim;
using Descent.Lab.Playground;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent playground</c>: optimizers on 2-D loss surfaces. One run writes its trace
/// (<c>--optimizer NAME --trace FILE.csv</c>); a comparison (<c>--optimizers A,B,…</c>) or a preset
/// (<c>--preset saddle|ravine|cliff|lr|newton</c>) writes a contour plot with the paths, a loss chart, an animation,
/// one trace per optimizer and a summary under <c>--out</c>. Every form prints a table of the runs' metrics.
/// </summary>
public static class PlaygroundCommand
{
    private const string DefaultOut = "runs/playground";

    /// <summary>Builds the command; output goes to <paramref name="stdout"/>, bad input throws <see cref="UsageException"/> or <see cref="ArgumentException"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("playground", "Run optimizers on 2-D loss surfaces: traces, contour plots with their paths, animations, presets.");
        var options = new PlaygroundOptionSet();
        foreach (var o in options.All) cmd.Options.Add(o);
        cmd.SetAction(parse => Run(parse, options, stdout));
        return cmd;
    }

    /// <summary>The playground's own options next to the optimizer and schedule options it shares with <c>train</c>.</summary>
    private sealed class PlaygroundOptionSet
    {
        public readonly OptimizerOptionSet Optim = new();
        public readonly ScheduleOptionSet Schedule = new();
        public readonly Option<string?> Function = new("--function") { Description = "Loss surface: " + string.Join("|", TestFunctions.Names) };
        public readonly Option<string?> Optimizers = new("--optimizers") { Description = "Compare these optimizers (comma-separated, " + string.Join("|", PlaygroundOptimizers.Names) + ")" };
        public readonly Option<int?> Steps = new("--steps") { Description = "Optimizer steps (default 200, or the preset's)" };
        public readonly Option<string?> Start = new("--start") { Description = "Start point X,Y (default: the function's own)" };
        public readonly Option<string?> Trace = new("--trace") { Description = "Write the run's path as CSV: step,x,y,loss for steps 0..N" };
        public readonly Option<string?> Out = new("--out") { Description = $"Directory for the contour plot, loss chart, animation, traces and summary (default {DefaultOut} for comparisons and presets)" };
        public readonly Option<string?> Preset = new("--preset") { Description = "A lecture picture in one command: " + string.Join("|", Presets.Names) };
        public readonly Option<double> Noise = new("--noise") { Description = "Standard deviation of Gaussian noise added to each gradient coordinate (mini-batch-like); gd always gets the exact gradient" };
        public readonly Option<int> Seed = new("--seed") { Description = "Seed of the gradient noise" };
        public readonly Option<double> Damping = new("--damping") { Description = "newton: smallest curvature divided by (eigenvalues below it are raised to it)", DefaultValueFactory = _ => 1e-3 };
        public readonly Option<double> Tolerance = new("--tolerance") { Description = "Distance to a minimum that counts as reached", DefaultValueFactory = _ => TrajectoryMetrics.DefaultTolerance };

        public PlaygroundOptionSet() => Optim.Optimizer.Description = "One optimizer: " + string.Join("|", PlaygroundOptimizers.Names);

        public IEnumerable<Option> All => Optim.All.Concat(Schedule.All).Concat([Function, Optimizers, Steps, Start, Trace, Out, Preset, Noise, Seed, Damping, Tolerance]);
    }

    private static int Run(ParseResult parse, PlaygroundOptionSet o, TextWriter stdout)
    {
        o.Optim.CheckTraining(parse);
        if (parse.GetValue(o.Steps) is { } n && n is < 1 or > PlaygroundRun.MaxSteps)
            throw new UsageException($"--steps must be a positive integer no larger than {PlaygroundRun.MaxSteps}, got {n}");
        double noise = parse.GetValue(o.Noise);
        if (!(noise >= 0) || !double.IsFinite(noise)) throw new UsageException($"--noise must be a number ≥ 0, got {noise}");
        if (parse.GetValue(o.Damping) is var damping && !(damping > 0)) throw new UsageException($"--damping must be positive, got {damping}");
        if (parse.GetValue(o.Tolerance) is var tolerance && !(tolerance > 0)) throw new UsageException($"--tolerance must be positive, got {tolerance}");
        return parse.GetValue(o.Preset) is { } preset ? RunPreset(parse, o, preset, stdout) : RunFunction(parse, o, stdout);
    }

    private static int RunPreset(ParseResult parse, PlaygroundOptionSet o, string name, TextWriter stdout)
    {
        string key = name.Trim().ToLowerInvariant();
        if (!Presets.Names.Contains(key))
            throw new UsageException($"--preset: unknown preset '{name}' (expected one of: {string.Join(", ", Presets.Names)})");
        // A preset fixes its functions, optimizers, start points and hyperparameters: its claim depends on them.
        var fixedByPreset = new Option[] { o.Function, o.Optimizers, o.Start, o.Trace }.Concat(o.Optim.All.Where(x => x != o.Optim.Accumulate && x != o.Optim.ClipNorm));
        foreach (var conflicting in fixedByPreset)
            if (parse.Given(conflicting))
                throw new UsageException($"--preset chooses its own functions, optimizers, start points and hyperparameters; drop {conflicting.Name}");
        if (parse.Given(o.Optim.ClipNorm) && key != "cliff")
            throw new UsageException("--clip-norm with a preset sets the clip of --preset cliff's clipped run; the other presets do not clip");

        var preset = Presets.Get(key, parse.GetValue(o.Optim.ClipNorm) ?? 1);
        string directory = OutputPaths.Directory(parse.GetValue(o.Out) ?? DefaultOut, "--out");
        stdout.WriteLine($"preset {preset.Name}: {preset.Claim}");
        foreach (var panel in preset.Panels)
        {
            string prefix = preset.Panels.Count == 1 ? preset.Name : $"{preset.Name}-{panel.Function.Name}";
            Report(stdout, panel.Function, panel.Runs.Select(r => Configure(r, parse, o)).ToList(), panel.Title, directory, prefix, parse.GetValue(o.Tolerance));
        }
        return 0;
    }

    private static int RunFunction(ParseResult parse, PlaygroundOptionSet o, TextWriter stdout)
    {
        var functionName = parse.GetValue(o.Function)
            ?? throw new UsageException($"--function is required (one of: {string.Join(", ", TestFunctions.Names)}), or use --preset {string.Join("|", Presets.Names)}");
        if (!TestFunctions.Names.Contains(functionName.Trim().ToLowerInvariant()))
            throw new UsageException($"--function: unknown function '{functionName}' (expected one of: {string.Join(", ", TestFunctions.Names)})");
        var f = TestFunctions.Get(functionName);

        bool comparison = parse.GetValue(o.Optimizers) is not null;
        string optionName = comparison ? "--optimizers" : "--optimizer";
        if (comparison && parse.Given(o.Optim.Optimizer)) throw new UsageException("give either --optimizer (one run) or --optimizers (a comparison), not both");
        if (comparison && parse.Given(o.Trace)) throw new UsageException("--trace writes one run's path: use it with --optimizer; a comparison writes one trace per optimizer under --out");
        string[] names = comparison
            ? parse.GetValue(o.Optimizers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [parse.GetValue(o.Optim.Optimizer)!];
        if (names.Length == 0) throw new UsageException($"--optimizers needs at least one of: {string.Join(", ", PlaygroundOptimizers.Names)}");
        foreach (var name in names)
            if (!PlaygroundOptimizers.Names.Contains(name.Trim().ToLowerInvariant()))
                throw new UsageException($"{optionName}: unknown optimizer '{name}' (expected one of: {string.Join(", ", PlaygroundOptimizers.Names)})");

        Vec2? start = parse.GetValue(o.Start) is { } text ? ParsePoint(text) : null;
        var settings = o.Optim.Settings(parse);
        var runs = names.Select(name => Configure(new PlaygroundRun
        {
            Function = f,
            Optimizer = name,
            Settings = settings,
            Start = start,
            ClipNorm = parse.GetValue(o.Optim.ClipNorm),
            Label = name,
        }, parse, o)).ToList();
        string? directory = parse.GetValue(o.Out) ?? (comparison ? DefaultOut : null);
        if (directory is not null) OutputPaths.Directory(directory, "--out");
        if (parse.GetValue(o.Trace) is { } traceFile) OutputPaths.FileIn(traceFile, "--trace");
        var title = comparison ? $"{names.Length} optimizers on {f.Name}" : $"{names[0]} on {f.Name}";
        var trajectories = Report(stdout, f, runs, title, directory, f.Name, parse.GetValue(o.Tolerance));

        if (parse.GetValue(o.Trace) is { } tracePath)
        {
            using (var writer = new StreamWriter(OutputPaths.CreateParent(tracePath))) trajectories[0].WriteCsv(writer);
            stdout.WriteLine($"trace: {tracePath}");
        }
        return 0;
    }

    /// <summary>Applies the options every form honours: steps, noise, seed, accumulation, Newton's damping, the schedule.</summary>
    private static PlaygroundRun Configure(PlaygroundRun run, ParseResult parse, PlaygroundOptionSet o)
    {
        int steps = parse.GetValue(o.Steps) ?? run.Steps;
        return run with
        {
            Steps = steps,
            Noise = parse.GetValue(o.Noise),
            Seed = parse.GetValue(o.Seed),
            Accumulate = parse.GetValue(o.Optim.Accumulate),
            NewtonDamping = parse.GetValue(o.Damping),
            // Every optimizer step is one schedule period, so step and epoch schedules coincide here.
            Schedule = parse.GetValue(o.Schedule.Schedule) is null ? null : optimizer => o.Schedule.Create(parse, optimizer, steps, 1)?.Scheduler,
        };
    }

    /// <summary>Runs, prints the table, and writes the pictures when <paramref name="directory"/> is set.</summary>
    private static IReadOnlyList<Trajectory> Report(TextWriter stdout, TestFunction f, IReadOnlyList<PlaygroundRun> runs, string title, string? directory, string prefix, double tolerance)
    {
        var trajectories = runs.Select(TrajectoryRunner.Run).ToList();
        var first = trajectories[0];
        stdout.WriteLine(FormattableString.Invariant($"{f.Name}: f(x, y) = {f.Formula}; start ({first.Start.X:G6}, {first.Start.Y:G6}); {first.Steps} steps"));
        string tol = tolerance.ToString("G3", CultureInfo.InvariantCulture);
        int labelWidth = Math.Max(9, trajectories.Max(t => t.Label.Length));
        stdout.WriteLine($"{"optimizer".PadRight(labelWidth)}  {"lr",9}  {"final loss",12}  {"dist to min",11}  {$"steps to {tol}",13}  {"escaped",7}  {"diverged",8}  {"max step",9}  {"zig-zags",8}");
        foreach (var t in trajectories)
        {
            var m = t.Metrics(tolerance);
            string distance = m.DistanceToNearestMinimum is { } d ? d.ToString("G4", CultureInfo.InvariantCulture) : "-";
            string reached = m.StepsToTolerance?.ToString(CultureInfo.InvariantCulture) ?? (f.Minima.Count > 0 ? "never" : "-");
            string zigZags = m.ZigZags?.ToString(CultureInfo.InvariantCulture) ?? "-";
            stdout.WriteLine(FormattableString.Invariant(
                $"{t.Label.PadRight(labelWidth)}  {t.Lr,9:G4}  {m.FinalLoss,12:G5}  {distance,11}  {reached,13}  {YesNo(m.EscapedSaddle),7}  {YesNo(m.Diverged),8}  {m.LargestStep,9:G4}  {zigZags,8}"));
        }
        if (directory is not null)
        {
            var files = PlaygroundPictures.Write(directory, prefix, title, trajectories, tolerance);
            stdout.WriteLine($"pictures: {files.Contour}, {files.Loss}, {files.Animation}; traces: {Path.Combine(directory, prefix + "-<optimizer>.csv")}; table: {files.Summary}");
        }
        return trajectories;
    }

    private static string YesNo(bool? value) => value switch { true => "yes", false => "no", null => "-" };

    private static Vec2 ParsePoint(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double x)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double y)
            || !double.IsFinite(x) || !double.IsFinite(y))
            throw new UsageException($"--start expects two numbers X,Y, e.g. -1.2,1; got '{text}'");
        return new Vec2(x, y);
    }
}
