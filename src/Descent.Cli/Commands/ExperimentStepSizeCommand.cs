using System.CommandLine;
using System.Globalization;
using Descent.Lab.Experiments;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent experiment step-size</c>: SGD with noisy gradients on a convex quadratic under a constant step, ε/t,
/// ε/√t and ε/t² — the Robbins–Monro condition on numbers.
/// </summary>
public static class ExperimentStepSizeCommand
{
    private const string DefaultOut = "experiments/step-size";

    /// <summary>Builds the command; output goes to <paramref name="stdout"/>, bad input throws <see cref="UsageException"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var defaults = new StepSizeExperimentOptions();
        var cmd = new Command("step-size", "SGD with noisy gradients on a convex problem under a constant step, ε/t, ε/√t and ε/t²: a noise floor, convergence, and stopping short.");
        var outDir = new Option<string>("--out") { Description = $"Directory for the SVG picture (default {DefaultOut})", DefaultValueFactory = _ => DefaultOut };
        var epsilon = new Option<double>("--epsilon") { Description = "ε, every schedule's first step", DefaultValueFactory = _ => defaults.Epsilon };
        var sigma = new Option<double>("--sigma") { Description = "Standard deviation of the gradient noise", DefaultValueFactory = _ => defaults.Sigma };
        var steps = new Option<int>("--steps") { Description = "SGD steps per run", DefaultValueFactory = _ => defaults.Steps };
        var runs = new Option<int>("--runs") { Description = "Runs averaged per schedule", DefaultValueFactory = _ => defaults.Runs };
        var seed = new Option<int>("--seed") { Description = "Seed of the noise", DefaultValueFactory = _ => defaults.Seed };
        foreach (var o in new Option[] { outDir, epsilon, sigma, steps, runs, seed })
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            var options = defaults with
            {
                Epsilon = ExperimentCommand.Positive(parse, epsilon),
                Sigma = parse.GetValue(sigma) is var s && s >= 0 && double.IsFinite(s) ? s : throw new UsageException($"--sigma must be a number ≥ 0, got {s.ToString(CultureInfo.InvariantCulture)}"),
                Steps = ExperimentCommand.AtLeast(parse, steps, 10),
                Runs = ExperimentCommand.AtLeast(parse, runs, 1),
                Seed = parse.GetValue(seed),
            };
            if (options.Curvatures.Any(l => options.Epsilon * l >= 2))
                throw new UsageException($"--epsilon must be below {(2 / options.Curvatures.Max()).ToString(CultureInfo.InvariantCulture)} (ε·λ < 2 for the largest curvature {options.Curvatures.Max().ToString(CultureInfo.InvariantCulture)}), got {options.Epsilon.ToString(CultureInfo.InvariantCulture)}");
            return Run(options, OutputPaths.Directory(parse.GetValue(outDir)!, "--out"), stdout);
        });
        return cmd;
    }

    private static int Run(StepSizeExperimentOptions o, string outDir, TextWriter stdout)
    {
        var result = StepSizeExperiment.Run(o);
        stdout.WriteLine(FormattableString.Invariant(
            $"step-size: SGD on f(θ) = ½ Σ λᵢθᵢ², λ = ({string.Join(", ", o.Curvatures)}), θ₀ = {o.Start:G4} in every coordinate, gradient noise σ = {o.Sigma:G4}, ε = {o.Epsilon:G4}; f(θₜ) averaged over {o.Runs} runs"));
        stdout.WriteLine(FormattableString.Invariant($"noise floor of the constant step, Σ εσ²/(2(2 − ελᵢ)): {result.NoiseFloor:G4}"));
        stdout.WriteLine();
        var at = new List<long> { 10, 100, 1000, 10_000, 100_000, 1_000_000 }.Where(t => t < o.Steps).Append(o.Steps).ToList();
        stdout.WriteLine($"{"schedule",-11}  {string.Join("  ", at.Select(t => $"{"f @ " + t.ToString(CultureInfo.InvariantCulture),10}"))}  {"expected",10}  {"Σ ηₜ",8}  {"Σ ηₜ²",8}");
        foreach (var r in result.Rows)
            stdout.WriteLine(FormattableString.Invariant(
                $"{r.Schedule.Name,-11}  {string.Join("  ", at.Select(t => $"{r.LossAt(t),10:G3}"))}  {r.ExpectedLossAt(o.Steps),10:G3}  {r.StepSum,8:G4}  {r.StepSquareSum,8:G4}"));
        stdout.WriteLine();
        stdout.WriteLine("expected: E f at the last step from the exact recursion E θ²ₜ₊₁ = (1 − ηₜλ)² E θ²ₜ + ηₜ²σ²");
        stdout.WriteLine($"picture: {StepSizeExperiment.WritePicture(result, outDir)}");
        stdout.WriteLine(FormattableString.Invariant($"total {result.Seconds:F1} s"));
        return 0;
    }
}
