using Descent.Autodiff;
using Descent.Data;
using Descent.Nn;
using Descent.Training;

namespace Descent.Lab.Doctor;

/// <summary>
/// The checks of the freshly initialized model, on one batch of up to <see cref="BatchSamples"/> training samples: the
/// loss against what an uninformed model scores, units of a layer that start identical, how the activations' spread
/// changes with depth, and how the gradient's size changes from the last layer to the first.
/// </summary>
internal static class InitChecks
{
    /// <summary>Samples of the batch the checks run on.</summary>
    public const int BatchSamples = 256;

    /// <summary>Ratio of the first weight matrix's RMS gradient to the last's above which gradients explode (below its inverse, vanish).</summary>
    public const double GradientSpread = 1e3;

    public static IEnumerable<Finding> Run(DoctorSetup setup)
    {
        var model = setup.Model();
        var loss = new Trainer(model, setup.Optimizer(model)).LossFor(setup.Data.Train);
        var (x, target) = Doctor.SampleBatch(setup.Data.Train, BatchSamples, setup.Seed);
        var findings = new List<Finding>();
        findings.AddRange(LossAtInit(model, loss, x, target, setup.Data.Train));
        findings.AddRange(Symmetry(model));
        findings.AddRange(ActivationDrift(model, x));
        findings.AddRange(GradientsAcrossDepth(model, loss, x, target));
        findings.AddRange(GradientCheck(model, loss, x, target, setup.Seed));
        return findings;
    }

    /// <summary>
    /// <c>loss-at-init</c>: an uninformed classifier scores ln C (uniform probabilities); a regression model that predicts
    /// zero scores the mean square of the targets. More than 1.5 times ln C (3 times for regression), or under half of
    /// ln C, means the initial outputs are far too confident or the loss is wired wrongly.
    /// </summary>
    private static IEnumerable<Finding> LossAtInit(Module model, LossFunction lossFunction, Tensor x, Tensor target, Dataset train)
    {
        double loss;
        model.Eval();
        using (Tape.NoGrad()) loss = lossFunction(model.Forward(x), target).Item();
        model.Train();
        bool classification = train.Task == TaskKind.Classification;
        double expected = classification ? Math.Log(train.NumClasses) : target.Data.ToArray().Average(v => (double)v * v);
        if (!(expected > 0)) yield break;
        double ratio = loss / expected;
        bool bad = classification ? !(ratio is >= 0.5 and <= 1.5) : !(ratio <= 3);
        if (!bad) yield break;
        string what = classification ? $"ln {train.NumClasses} = {Doctor.Number(expected)}, what uniform predictions score" : $"{Doctor.Number(expected)}, what predicting zero scores";
        yield return new Finding("loss-at-init", Severity.Warning,
            $"The loss at initialization is {Doctor.Number(loss)}, {Doctor.Number(ratio)} times {what}.",
            new Dictionary<string, object?> { ["loss"] = Doctor.Round(loss), ["expected"] = Doctor.Round(expected), ["ratio"] = Doctor.Round(ratio), ["samples"] = target.Shape[0] },
            ratio > 1
                ? "Initialize with a smaller scale (--init kaiming-normal, or the default torch-default) so that the initial outputs are near zero; zero the last layer's bias."
                : "Check the loss and the labels: a loss far below chance before training suggests the targets leak into the inputs.");
    }

    /// <summary>The weight matrices (Linear, Conv2d: rank 2 or more) by parameter name, in forward order.</summary>
    internal static List<(string Name, Parameter Weight)> Weights(Module model) =>
        [.. model.NamedParameters().Where(p => p.Parameter.Rank >= 2)];

    /// <summary>
    /// <c>symmetry</c>: a hidden layer in which more than half of the units (rows of the weight: output features or
    /// channels) have exactly the weights of another unit. Such units compute the same thing and get the same gradient,
    /// so they stay identical forever. The last layer is exempt: zero-initializing it is a known good practice.
    /// </summary>
    private static IEnumerable<Finding> Symmetry(Module model)
    {
        var weights = Weights(model);
        var layers = new Dictionary<string, object?>();
        foreach (var (name, w) in weights.Take(weights.Count - 1))
        {
            int units = w.Shape[0], fanIn = w.Numel / units;
            if (units < 2) continue;
            var data = w.Data.ToArray();
            int distinct = Enumerable.Range(0, units).Select(u => new FloatsKey(data, u * fanIn, fanIn)).Distinct().Count();
            if (distinct * 2 <= units) layers[name] = new Dictionary<string, int> { ["units"] = units, ["distinct_units"] = distinct };
        }
        if (layers.Count == 0) yield break;
        string first = layers.Keys.First();
        var firstCounts = (Dictionary<string, int>)layers[first]!;
        yield return new Finding("symmetry", Severity.Error,
            $"{layers.Count} hidden layer(s) start with identical units ({first}: {firstCounts["distinct_units"]} distinct among {firstCounts["units"]}): identical units get identical gradients and never differ.",
            new Dictionary<string, object?> { ["parameters"] = layers },
            "Initialize the weights randomly (--init kaiming-normal, or the default torch-default) to break the symmetry; only biases may start equal.");
    }

    /// <summary>
    /// <c>activation-drift</c>: the standard deviation of the last hidden activation over that of the first, on the
    /// batch at initialization. Below 1e-2 the signal collapses with depth, above 1e2 it explodes: the initialization's
    /// scale does not fit the activation (Kaiming for ReLU, Xavier for tanh).
    /// </summary>
    private static IEnumerable<Finding> ActivationDrift(Module model, Tensor x)
    {
        var stats = new List<(string Layer, double Mean, double Std)>();
        model.Eval();
        using (Tape.NoGrad())
        {
            foreach (var (name, layer) in Doctor.Layers(model))
            {
                x = layer.Forward(x);
                if (layer is not (ReLU or LeakyReLU or ELU or GELU or Sigmoid or Tanh)) continue;
                var values = x.Data.ToArray();
                double mean = values.Average(v => (double)v);
                stats.Add((name, mean, Math.Sqrt(values.Average(v => (v - mean) * (v - mean)))));
            }
        }
        model.Train();
        if (stats.Count < 2 || !(stats[0].Std > 0)) yield break;
        double ratio = stats[^1].Std / stats[0].Std;
        if (ratio is >= 1e-2 and <= 1e2) yield break;
        bool collapsing = !(ratio > 1e2);
        yield return new Finding("activation-drift", Severity.Warning,
            $"The activations {(collapsing ? "collapse" : "explode")} with depth: the standard deviation of layer {stats[^1].Layer}'s output is {Doctor.Number(ratio)} times that of layer {stats[0].Layer}'s.",
            new Dictionary<string, object?>
            {
                ["last_over_first_std"] = Doctor.Round(ratio),
                ["per_layer"] = stats.ToDictionary(s => s.Layer, s => (object?)new Dictionary<string, double> { ["mean"] = Doctor.Round(s.Mean), ["std"] = Doctor.Round(s.Std) }),
            },
            "Initialize to keep the variance across layers (--init kaiming-normal for ReLU, xavier-normal for tanh/sigmoid), or add --batch-norm.");
    }

    /// <summary>
    /// <c>vanishing-gradients</c> / <c>exploding-gradients</c>: the root-mean-square gradient of the first weight
    /// matrix over that of the last, after one backward pass. Below 1e-3 the first layers barely learn; above 1e3 they
    /// take steps a thousand times larger than the last layer.
    /// </summary>
    private static IEnumerable<Finding> GradientsAcrossDepth(Module model, LossFunction lossFunction, Tensor x, Tensor target)
    {
        var weights = Weights(model);
        if (weights.Count < 2) yield break;
        model.ZeroGrad();
        lossFunction(model.Forward(x), target).Backward();
        var rms = weights.Select(w => w.Weight.Grad is { } g ? Math.Sqrt(g.Data.ToArray().Average(v => (double)v * v)) : 0).ToArray();
        model.ZeroGrad();
        // A weight without any gradient is the business of symmetry and frozen-parameters; the ratio says nothing then.
        if (rms.Any(r => !(r > 0) || !double.IsFinite(r))) yield break;
        double ratio = rms[0] / rms[^1];
        var perLayer = weights.Select((w, i) => (w.Name, Rms: rms[i])).ToDictionary(p => p.Name, p => (object?)Doctor.Round(p.Rms));
        var evidence = new Dictionary<string, object?> { ["first_over_last"] = Doctor.Round(ratio), ["grad_rms"] = perLayer };
        if (ratio < 1 / GradientSpread)
            yield return new Finding("vanishing-gradients", Severity.Warning,
                $"The gradient of the first layer ({weights[0].Name}) is {Doctor.Number(ratio)} times that of the last ({weights[^1].Name}): the early layers barely learn.",
                evidence, "Use ReLU-family activations with Kaiming initialization (--activation relu --init kaiming-normal), or add --batch-norm; avoid sigmoid/tanh in deep stacks.");
        else if (ratio > GradientSpread)
            yield return new Finding("exploding-gradients", Severity.Warning,
                $"The gradient of the first layer ({weights[0].Name}) is {Doctor.Number(ratio)} times that of the last ({weights[^1].Name}): the early layers take huge steps.",
                evidence, Fixes.ExplodingGradients);
    }

    /// <summary>
    /// <c>gradient-check</c>: the analytic gradient (backward) against central differences of the loss, with steps
    /// 1e-2 and 1e-3, on 16 samples in evaluation mode, at six entries of every parameter (the one with the largest gradient and
    /// five random ones). An entry disagrees when, for both steps, the two differ by more than a quarter of the larger (entries where both
    /// are under 1e-4 are skipped: float32 cannot resolve them); a parameter fails when two of its entries disagree.
    /// Catches a graph cut by <c>Detach</c> or a custom op with a wrong backward.
    /// </summary>
    private static IEnumerable<Finding> GradientCheck(Module model, LossFunction lossFunction, Tensor x, Tensor target, int seed)
    {
        int n = Math.Min(16, x.Shape[0]);
        int[] xShape = [n, .. x.Shape[1..]], tShape = [n, .. target.Shape[1..]];
        var xs = new Tensor(x.Data[..(x.Numel / x.Shape[0] * n)].ToArray(), xShape);
        var ts = new Tensor(target.Data[..(target.Numel / target.Shape[0] * n)].ToArray(), tShape);
        float[] steps = [1e-2f, 1e-3f];
        model.Eval();
        model.ZeroGrad();
        lossFunction(model.Forward(xs), ts).Backward();
        double Loss()
        {
            using (Tape.NoGrad()) return lossFunction(model.Forward(xs), ts).Item();
        }
        var rng = new Random(seed);
        var failed = new Dictionary<string, object?>();
        foreach (var (name, p) in model.NamedParameters())
        {
            if (p.Grad is not { } grad || !p.RequiresGrad) continue;
            var analytic = grad.Data.ToArray();
            int largest = 0;
            for (int i = 1; i < analytic.Length; i++) if (Math.Abs(analytic[i]) > Math.Abs(analytic[largest])) largest = i;
            int disagree = 0;
            var entries = new List<object>();
            foreach (int i in new[] { largest }.Concat(Enumerable.Range(0, 5).Select(_ => rng.Next(analytic.Length))).Distinct())
            {
                double a = analytic[i], numeric = double.NaN;
                bool agrees = false;
                // Two step sizes: a ReLU kink or a max-pool switch inside one of them spoils that difference only.
                foreach (float h in steps)
                {
                    float saved = p.Data[i];
                    p.Data[i] = saved + h;
                    double plus = Loss();
                    p.Data[i] = saved - h;
                    double minus = Loss();
                    p.Data[i] = saved;
                    numeric = (plus - minus) / (2 * h);
                    double scale = Math.Max(Math.Abs(a), Math.Abs(numeric));
                    agrees |= scale < 1e-4 || Math.Abs(a - numeric) <= 0.25 * scale;
                }
                if (agrees) continue;
                disagree++;
                entries.Add(new Dictionary<string, double> { ["index"] = i, ["analytic"] = Doctor.Round(a), ["numeric"] = Doctor.Round(numeric) });
            }
            if (disagree >= 2) failed[name] = entries;
        }
        model.ZeroGrad();
        model.Train();
        if (failed.Count == 0) yield break;
        yield return new Finding("gradient-check", Severity.Error,
            $"The gradient of {failed.Count} parameter(s) ({string.Join(", ", failed.Keys.Take(3))}) disagrees with finite differences of the loss: backward does not compute the derivative of forward.",
            new Dictionary<string, object?> { ["parameters"] = failed, ["steps"] = steps, ["samples"] = n },
            "Look for a cut in the graph (Detach, a value copied out of a tensor and back) or a custom op whose backward does not match its forward.");
    }
}
