using System.Diagnostics;
using Descent.Lab.Plots;

namespace Descent.Lab.Experiments;

/// <summary>
/// What <see cref="StepSizeExperiment.Run"/> does: SGD on f(θ) = ½ Σᵢ λᵢ θᵢ², whose gradient λᵢθᵢ is observed with
/// added Gaussian noise of standard deviation σ, under four step-size schedules. The defaults take about a second.
/// </summary>
public sealed record StepSizeExperimentOptions
{
    /// <summary>ε, the step size at t = 1 of every schedule.</summary>
    public double Epsilon { get; init; } = 0.5;
    /// <summary>σ, the standard deviation of the noise on each gradient component.</summary>
    public double Sigma { get; init; } = 1;
    /// <summary>The curvatures λᵢ (the problem is convex: all positive). ε/t needs ελ &gt; ½ for its 1/t rate.</summary>
    public IReadOnlyList<double> Curvatures { get; init; } = [1.6, 1.2];
    /// <summary>Every coordinate of the start θ₀.</summary>
    public double Start { get; init; } = 5;
    /// <summary>SGD steps per run.</summary>
    public int Steps { get; init; } = 100_000;
    /// <summary>Independent runs averaged per schedule.</summary>
    public int Runs { get; init; } = 100;
    /// <summary>Seed of the noise.</summary>
    public int Seed { get; init; }

    /// <summary>Checks every knob; messages name it.</summary>
    /// <exception cref="ArgumentException">A value out of range.</exception>
    public void Validate()
    {
        if (!(Epsilon > 0) || !double.IsFinite(Epsilon)) throw new ArgumentException($"epsilon must be positive, got {Epsilon}");
        if (!(Sigma >= 0) || !double.IsFinite(Sigma)) throw new ArgumentException($"sigma must be ≥ 0, got {Sigma}");
        if (Curvatures.Count == 0 || Curvatures.Any(l => !(l > 0) || !double.IsFinite(l))) throw new ArgumentException("curvatures must be positive numbers, at least one");
        if (Curvatures.Any(l => Epsilon * l >= 2)) throw new ArgumentException($"the constant step diverges unless ε·λ < 2 for every curvature; ε = {Epsilon}, largest λ = {Curvatures.Max()}");
        if (Steps < 10) throw new ArgumentException($"steps must be at least 10, got {Steps}");
        if (Runs < 1) throw new ArgumentException($"runs must be a positive integer, got {Runs}");
    }
}

/// <summary>A step-size schedule ηₜ (t = 1, 2, …).</summary>
/// <param name="Name">How the table names it.</param>
/// <param name="Step">ηₜ as a function of ε and t.</param>
public sealed record StepSchedule(string Name, Func<double, long, double> Step)
{
    /// <summary>The four schedules: ε, ε/t, ε/√t, ε/t².</summary>
    public static IReadOnlyList<StepSchedule> All { get; } =
    [
        new("constant ε", (e, _) => e),
        new("ε/t", (e, t) => e / t),
        new("ε/√t", (e, t) => e / Math.Sqrt(t)),
        new("ε/t²", (e, t) => e / ((double)t * t)),
    ];
}

/// <summary>One schedule's run.</summary>
/// <param name="Schedule">The schedule.</param>
/// <param name="Loss">(t, f(θₜ) averaged over the runs) at t = 0 and at 40 steps per decade, logarithmically spaced.</param>
/// <param name="ExpectedLoss">E f(θₜ) at the same steps from the exact second-moment recursion E θ²ₜ₊₁ = (1 − ηₜλ)² E θ²ₜ + ηₜ²σ².</param>
/// <param name="StepSum">Σ ηₜ over the run: the distance the steps can cover.</param>
/// <param name="StepSquareSum">Σ ηₜ² over the run: the noise the steps let in.</param>
public sealed record StepSizeRow(StepSchedule Schedule, IReadOnlyList<(long Step, double Loss)> Loss, IReadOnlyList<(long Step, double Loss)> ExpectedLoss, double StepSum, double StepSquareSum)
{
    /// <summary>The averaged loss at the recorded step nearest to <paramref name="step"/>.</summary>
    public double LossAt(long step) => Loss.MinBy(p => Math.Abs(p.Step - step)).Loss;

    /// <summary>The expected loss at the recorded step nearest to <paramref name="step"/>.</summary>
    public double ExpectedLossAt(long step) => ExpectedLoss.MinBy(p => Math.Abs(p.Step - step)).Loss;
}

/// <summary>The result: a row per schedule and the constant step's noise floor in closed form.</summary>
/// <param name="Options">What ran.</param>
/// <param name="Rows">One per schedule, in <see cref="StepSchedule.All"/> order.</param>
/// <param name="NoiseFloor">E f under the constant step once stationary: Σᵢ εσ² / (2(2 − ελᵢ)).</param>
/// <param name="Seconds">Wall time.</param>
public sealed record StepSizeExperimentResult(StepSizeExperimentOptions Options, IReadOnlyList<StepSizeRow> Rows, double NoiseFloor, double Seconds)
{
    /// <summary>The row of the schedule named <paramref name="name"/>.</summary>
    public StepSizeRow this[string name] => Rows.Single(r => r.Schedule.Name == name);
}

/// <summary>
/// The step-size condition of stochastic gradient descent (Robbins &amp; Monro, 1951): with noisy gradients SGD
/// converges when Σ ηₜ = ∞ (the steps can travel any distance) and Σ ηₜ² &lt; ∞ (the noise they let in stays
/// bounded). A constant step breaks the second and stalls at a noise floor; ε/t meets both and converges; ε/t²
/// breaks the first and stops short of the minimum; ε/√t breaks the second too, but its floor sinks as its step shrinks.
/// </summary>
public static class StepSizeExperiment
{
    /// <summary>Runs every schedule.</summary>
    /// <exception cref="ArgumentException">Bad options.</exception>
    public static StepSizeExperimentResult Run(StepSizeExperimentOptions options)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var checkpoints = Checkpoints(options.Steps);
        var rows = StepSchedule.All.Select(s => RunSchedule(s, options, checkpoints)).ToList();
        double floor = options.Curvatures.Sum(l => options.Epsilon * options.Sigma * options.Sigma / (2 * (2 - options.Epsilon * l)));
        return new StepSizeExperimentResult(options, rows, floor, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Step 0, then about 40 steps per decade up to <paramref name="steps"/>.</summary>
    private static long[] Checkpoints(int steps) =>
        Enumerable.Range(0, (int)(40 * Math.Log10(steps)) + 1).Select(k => (long)Math.Round(Math.Pow(10, k / 40.0)))
            .Append(0).Append(steps).Where(t => t <= steps).Distinct().Order().ToArray();

    private static StepSizeRow RunSchedule(StepSchedule schedule, StepSizeExperimentOptions o, long[] checkpoints)
    {
        int d = o.Curvatures.Count;
        var lambda = o.Curvatures.ToArray();
        var sums = new double[checkpoints.Length];
        var rng = new Random(o.Seed);
        var theta = new double[d];
        for (int run = 0; run < o.Runs; run++)
        {
            Array.Fill(theta, o.Start);
            int next = 0;
            for (long t = 0; ; t++)
            {
                if (t == checkpoints[next]) sums[next++] += Loss(theta, lambda);
                if (next == checkpoints.Length) break;
                double eta = schedule.Step(o.Epsilon, t + 1);
                for (int i = 0; i < d; i++) theta[i] -= eta * (lambda[i] * theta[i] + o.Sigma * Gaussian(rng));
            }
        }
        // The mean of f over infinitely many runs, exactly: the second moment of each coordinate follows a linear recursion.
        var moment = Enumerable.Repeat(o.Start * o.Start, d).ToArray();
        var expected = new List<(long, double)>(checkpoints.Length);
        double stepSum = 0, stepSquareSum = 0;
        int k = 0;
        for (long t = 0; k < checkpoints.Length; t++)
        {
            if (t == checkpoints[k])
            {
                expected.Add((t, 0.5 * Enumerable.Range(0, d).Sum(i => lambda[i] * moment[i])));
                k++;
                if (k == checkpoints.Length) break;
            }
            double eta = schedule.Step(o.Epsilon, t + 1);
            stepSum += eta;
            stepSquareSum += eta * eta;
            for (int i = 0; i < d; i++) moment[i] = (1 - eta * lambda[i]) * (1 - eta * lambda[i]) * moment[i] + eta * eta * o.Sigma * o.Sigma;
        }
        var loss = checkpoints.Select((t, i) => (t, sums[i] / o.Runs)).ToList();
        return new StepSizeRow(schedule, loss, expected, stepSum, stepSquareSum);
    }

    private static double Loss(double[] theta, double[] lambda)
    {
        double f = 0;
        for (int i = 0; i < theta.Length; i++) f += 0.5 * lambda[i] * theta[i] * theta[i];
        return f;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Writes <c>step-size-loss.svg</c> (mean loss against log₁₀ t, log scale) into <paramref name="directory"/>; returns its path.</summary>
    public static string WritePicture(StepSizeExperimentResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "step-size-loss.svg");
        var series = result.Rows.Select(r => new Series(r.Schedule.Name, r.Loss.Where(p => p.Step > 0).Select(p => (Math.Log10(p.Step), p.Loss)).ToList())).ToList();
        series.Add(new Series("noise floor of ε", [(0, result.NoiseFloor), (Math.Log10(result.Options.Steps), result.NoiseFloor)]));
        File.WriteAllText(path, LineChart.Svg($"SGD with noisy gradients on a convex quadratic (mean of {result.Options.Runs} runs)", "log10 step t", "f(θ)", series, logY: true));
        return path;
    }
}
