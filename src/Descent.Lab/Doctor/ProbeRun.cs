using Descent.Autodiff;
using Descent.Data;
using Descent.Nn;
using Descent.Training;

namespace Descent.Lab.Doctor;

/// <summary>
/// The first <see cref="MaxSteps"/> optimizer steps of the real training (same model, optimizer, batch size and batch
/// order) under anomaly detection, measuring every step's update size per weight matrix and which parameters get a
/// gradient; then the trained model's activations on one batch.
/// </summary>
internal static class ProbeRun
{
    /// <summary>Optimizer steps of the probe.</summary>
    public const int MaxSteps = 50;

    /// <summary>Samples of the batch whose activations are examined.</summary>
    public const int ActivationSamples = 256;

    /// <summary>Median update ratio ‖Δθ‖/‖θ‖ above which steps are too large (the rule of thumb is about 1e-3).</summary>
    public const double UpdateRatioHigh = 1e-1;

    /// <summary>Median update ratio below which a weight matrix barely moves.</summary>
    public const double UpdateRatioLow = 1e-5;

    /// <summary>Fraction of a ReLU layer's units that, never active on a batch, make <c>dead-units</c> fire.</summary>
    public const double DeadFraction = 0.4;

    /// <summary>The probe's findings, and its instruments: per-step gradient norms and update ratios, and the activations after it.</summary>
    public static (List<Finding> Findings, ProbeInstruments Instruments) Run(DoctorSetup setup, IReadOnlyList<Finding> earlier)
    {
        var model = setup.Model();
        var optimizer = setup.Optimizer(model);
        var trainer = new Trainer(model, optimizer);
        var arena = optimizer.Arena;
        var names = model.NamedParameters().ToDictionary(p => p.Parameter, p => p.Name);
        var inOptimizer = arena.Parameters.ToHashSet();
        var everGradient = new bool[arena.Parameters.Count];
        var ratios = arena.Parameters.Select(_ => new List<double>()).ToArray();
        var gradNorms = arena.Parameters.Select(_ => new List<double>()).ToArray();
        var before = new float[arena.Length];
        var findings = new List<Finding>();
        var loader = new DataLoader(setup.Data.Train, setup.BatchSize, setup.Shuffle, setup.Seed);
        int step = 0;
        ProbeInstruments Instruments(IReadOnlyList<ActivationStats> activations) => new(step,
            [.. arena.Parameters.Select((p, i) => new ParameterTrace(names.GetValueOrDefault(p, $"parameter {i}"), gradNorms[i], ratios[i],
                arena.Grad.AsSpan(arena.OffsetOf(i), p.Numel).ToArray()))],
            activations);
        try
        {
            using var anomaly = Tape.DetectAnomaly();
            for (int epoch = 1; step < MaxSteps; epoch++)
            {
                foreach (var batch in loader.Epoch(epoch))
                {
                    if (step == MaxSteps) break;
                    arena.Data.CopyTo(before, 0);
                    float loss = trainer.TrainStep(batch.X, batch.Target);
                    step++;
                    if (!float.IsFinite(loss)) throw new TrainingDivergedException(epoch, step, Doctor.Lr(optimizer), loss);
                    for (int i = 0; i < everGradient.Length; i++)
                    {
                        int offset = arena.OffsetOf(i), length = arena.Parameters[i].Numel;
                        var grad = arena.Grad.AsSpan(offset, length);
                        if (!everGradient[i] && grad.IndexOfAnyExcept(0f) >= 0) everGradient[i] = true;
                        gradNorms[i].Add(Norm(grad, default));
                        if (arena.Parameters[i].Rank < 2) continue;
                        double norm = Norm(before.AsSpan(offset, length), default);
                        ratios[i].Add(norm > 0 ? Norm(arena.Data.AsSpan(offset, length), before.AsSpan(offset, length)) / norm : double.NaN);
                    }
                }
            }
        }
        catch (Exception e) when (e is AnomalyDetectedException or TrainingDivergedException)
        {
            findings.Add(new Finding("non-finite", Severity.Error,
                $"Training produces a non-finite value at step {step + (e is AnomalyDetectedException ? 1 : 0)}: {e.Message}.",
                new Dictionary<string, object?> { ["step"] = step + (e is AnomalyDetectedException ? 1 : 0), ["lr"] = Doctor.Lr(optimizer), ["detail"] = e.Message },
                Fixes.NonFinite));
            Tape.Clear();
            return (findings, Instruments([]));
        }
        findings.AddRange(UpdateRatios(arena.Parameters, ratios, names));
        if (!earlier.Any(f => f.Id == "symmetry"))
            findings.AddRange(Frozen(model, inOptimizer, arena.Parameters, everGradient, step));
        var (x, _) = Doctor.SampleBatch(setup.Data.Train, ActivationSamples, setup.Seed + 1);
        var activations = new List<ActivationStats>();
        findings.AddRange(Activations(model, x, activations));
        return (findings, Instruments(activations));
    }

    /// <summary>‖a − b‖₂ (‖a‖₂ when <paramref name="b"/> is empty).</summary>
    private static double Norm(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - (b.IsEmpty ? 0 : b[i]);
            sum += d * d;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// <c>update-ratio</c>: per weight matrix, the median over the probe's steps of ‖Δθ‖/‖θ‖. Around 1e-3 is healthy;
    /// above <see cref="UpdateRatioHigh"/> a step rewrites a tenth of the weights, below <see cref="UpdateRatioLow"/>
    /// the layer barely moves.
    /// </summary>
    private static IEnumerable<Finding> UpdateRatios(IReadOnlyList<Parameter> parameters, List<double>[] ratios, Dictionary<Parameter, string> names)
    {
        var medians = new Dictionary<string, object?>();
        string? highest = null, lowest = null;
        double max = 0, min = double.PositiveInfinity;
        for (int i = 0; i < parameters.Count; i++)
        {
            var measured = ratios[i].Where(r => !double.IsNaN(r)).Order().ToList();
            if (measured.Count == 0) continue;
            double median = measured[measured.Count / 2];
            string name = names.GetValueOrDefault(parameters[i], $"parameter {i}");
            medians[name] = Doctor.Round(median);
            if (median > max) (max, highest) = (median, name);
            if (median < min) (min, lowest) = (median, name);
        }
        if (highest is not null && max > UpdateRatioHigh)
            yield return new Finding("update-ratio", Severity.Warning,
                $"Each step changes {highest} by {Doctor.Number(max)} of its norm (median over {MaxSteps} steps), far above the healthy 1e-3: the learning rate is too high for it.",
                new Dictionary<string, object?> { ["parameter"] = highest, ["median_ratio"] = Doctor.Round(max), ["direction"] = "high", ["per_parameter"] = medians },
                Fixes.UpdateRatioHigh(max));
        else if (lowest is not null && min < UpdateRatioLow && min > 0)
            yield return new Finding("update-ratio", Severity.Warning,
                $"Each step changes {lowest} by only {Doctor.Number(min)} of its norm (median over {MaxSteps} steps), far below the healthy 1e-3: it barely learns.",
                new Dictionary<string, object?> { ["parameter"] = lowest, ["median_ratio"] = Doctor.Round(min), ["direction"] = "low", ["per_parameter"] = medians },
                Fixes.UpdateRatioLow);
    }

    /// <summary>
    /// <c>frozen-parameters</c>: parameters that do not require a gradient, that the optimizer does not hold, or whose
    /// gradient was exactly zero in every step of the probe (disconnected from the loss).
    /// </summary>
    private static IEnumerable<Finding> Frozen(Module model, HashSet<Parameter> inOptimizer, IReadOnlyList<Parameter> held, bool[] everGradient, int steps)
    {
        var frozen = new List<string>();
        var reasons = new Dictionary<string, object?>();
        foreach (var (name, p) in model.NamedParameters())
        {
            string? reason = !p.RequiresGrad ? "requires_grad is off"
                : !inOptimizer.Contains(p) ? "not in the optimizer"
                : !everGradient[IndexOf(held, p)] ? $"zero gradient in all {steps} steps"
                : null;
            if (reason is null) continue;
            frozen.Add(name);
            reasons[name] = reason;
        }
        if (frozen.Count == 0) yield break;
        yield return new Finding("frozen-parameters", Severity.Warning,
            $"{frozen.Count} parameter(s) never learn: {string.Join(", ", frozen.Take(5))}{(frozen.Count > 5 ? ", …" : "")} ({reasons[frozen[0]]}).",
            new Dictionary<string, object?> { ["parameters"] = reasons, ["steps"] = steps },
            "Pass every parameter to the optimizer with requires_grad on (or leave them out of the model if freezing is meant), and check that each layer's output reaches the loss.");
    }

    /// <summary>The position of <paramref name="p"/> in <paramref name="list"/> (by reference), or −1.</summary>
    internal static int IndexOf(IReadOnlyList<Parameter> list, Parameter p)
    {
        for (int i = 0; i < list.Count; i++) if (ReferenceEquals(list[i], p)) return i;
        return -1;
    }

    private static bool AtRails(Module activation, float v) => activation is Sigmoid ? v is < 0.01f or > 0.99f : Math.Abs(v) > 0.99f;

    /// <summary>Mean, standard deviation and fraction active of an activation layer's output; null for other layers.</summary>
    private static ActivationStats? Stats(string name, Module layer, Tensor output)
    {
        if (layer is not (ReLU or LeakyReLU or ELU or GELU or Sigmoid or Tanh)) return null;
        var values = output.Data.ToArray();
        double sum = 0, sq = 0;
        int active = 0;
        foreach (float v in values)
        {
            sum += v;
            sq += (double)v * v;
            if (layer is Sigmoid or Tanh ? !AtRails(layer, v) : v > 0) active++;
        }
        int n = Math.Max(values.Length, 1);
        double mean = sum / n;
        return new ActivationStats(name, layer.GetType().Name.ToLowerInvariant(), mean, Math.Sqrt(Math.Max(0, sq / n - mean * mean)), (double)active / n, values);
    }

    /// <summary>
    /// <c>dead-units</c>: ReLU units (features, or channels of a convolution) never positive on a batch, more than
    /// 40 % of a layer. <c>saturation</c>: more than 30 % of a sigmoid's outputs below 0.01 or above 0.99, or of a
    /// tanh's beyond ±0.99, where their gradient is nearly zero.
    /// </summary>
    private static IEnumerable<Finding> Activations(Module model, Tensor x, List<ActivationStats> stats)
    {
        var deadLayers = new Dictionary<string, object?>();
        var saturatedLayers = new Dictionary<string, object?>();
        (string Layer, int Dead, int Units) worstDead = ("", 0, 1);
        (string Layer, string Activation, double Fraction) worstSaturated = ("", "", 0);
        int samples = x.Shape[0];
        model.Eval();
        using (Tape.NoGrad())
        {
            foreach (var (name, layer) in Doctor.Layers(model))
            {
                x = layer.Forward(x);
                if (Stats(name, layer, x) is { } s) stats.Add(s);
                if (layer is ReLU && x.Rank >= 2)
                {
                    int units = x.Shape[1], per = x.Numel / (samples * units);
                    var alive = new bool[units];
                    var d = x.Data;
                    for (int i = 0; i < d.Length; i++)
                        if (d[i] > 0) alive[i / per % units] = true;
                    int dead = alive.Count(a => !a);
                    if (dead <= DeadFraction * units) continue;
                    deadLayers[name] = Doctor.Round((double)dead / units);
                    if ((long)dead * worstDead.Units > (long)worstDead.Dead * units) worstDead = (name, dead, units);
                }
                else if (layer is Sigmoid or Tanh)
                {
                    int rails = 0;
                    foreach (float v in x.Data)
                        if (AtRails(layer, v)) rails++;
                    double fraction = (double)rails / Math.Max(x.Numel, 1);
                    if (fraction <= 0.3) continue;
                    saturatedLayers[name] = Doctor.Round(fraction);
                    if (fraction > worstSaturated.Fraction) worstSaturated = (name, layer.GetType().Name.ToLowerInvariant(), fraction);
                }
            }
        }
        model.Train();
        if (deadLayers.Count > 0)
            yield return new Finding("dead-units", Severity.Warning,
                $"{worstDead.Dead} of the {worstDead.Units} ReLU units of layer {worstDead.Layer} are never active on a batch of {samples} samples: they pass no gradient and never recover.",
                new Dictionary<string, object?> { ["layer"] = worstDead.Layer, ["dead"] = worstDead.Dead, ["units"] = worstDead.Units, ["samples"] = samples, ["dead_fraction_per_layer"] = deadLayers },
                Fixes.DeadUnits);
        if (saturatedLayers.Count > 0)
            yield return new Finding("saturation", Severity.Warning,
                $"{Doctor.Number(100 * worstSaturated.Fraction)} % of the outputs of the {worstSaturated.Activation} of layer {worstSaturated.Layer} sit at its rails, where its gradient is nearly zero.",
                new Dictionary<string, object?> { ["layer"] = worstSaturated.Layer, ["activation"] = worstSaturated.Activation, ["saturated_fraction"] = Doctor.Round(worstSaturated.Fraction), ["saturated_fraction_per_layer"] = saturatedLayers },
                "Initialize with a smaller scale (--init xavier-normal for sigmoid/tanh), standardize the inputs, or add --batch-norm; or use --activation relu.");
    }
}
