using Descent.Data;
using Descent.Lab.Doctor;
using Descent.Nn;
using Descent.Optim;
using Descent.TensorBoard;
using Descent.Training;

namespace Descent.Tests.Doctor;

/// <summary>
/// <see cref="DoctorLog"/>: the run it writes, read back with <see cref="EventFileReader"/>, holds a text per finding and
/// the model summary, and the probe's instruments as the report has them; the first step's gradient norm and update
/// ratio also match values computed here from scratch (plain SGD: Δθ = −lr·∇θ, so ‖Δθ‖/‖θ‖ = lr·‖∇θ‖/‖θ‖).
/// </summary>
public sealed class DoctorLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-doctorlog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly PreparedData Digits = DataPreparation.Load("digits", null, asImages: false, valFraction: 0.1, seed: 0);

    private const double Lr = 0.1;

    private static Sequential Model()
    {
        Rng.ManualSeed(0);
        return Models.Mlp(64, [256, 128], 10);
    }

    private static DoctorSetup Setup() => new()
    {
        Data = Digits,
        Model = Model,
        Optimizer = m => Optimizers.Create("sgd", m, new OptimizerSettings { Lr = Lr }),
    };

    private static void Near(double expected, double actual, double relative, string what) =>
        Assert.True(Math.Abs(expected - actual) <= relative * Math.Abs(expected), $"{what}: expected {expected}, got {actual}");

    [Fact]
    public void The_run_holds_each_finding_as_text_and_the_instruments_as_the_report_says()
    {
        var report = Lab.Doctor.Doctor.Examine(Setup());
        // The digits' blank corner pixels: an info finding to write as text.
        Assert.True(report.Has("constant-features"), string.Join(", ", report.Findings.Select(f => f.Id)));
        using (var writer = new SummaryWriter(_dir)) DoctorLog.Write(report, writer);
        var run = EventFileReader.ReadRun(_dir);

        // Text: one per finding, and the summary.
        Assert.Equal(report.Findings.Select(f => $"findings/{f.Id}/text_summary").Append("summary/text_summary").Order(), run.Texts.Keys.Order());
        foreach (var f in report.Findings)
        {
            string text = run.Texts[$"findings/{f.Id}/text_summary"].Single().Text;
            Assert.Contains($"**{f.Severity.ToString().ToLowerInvariant()}** `{f.Id}`", text);
            Assert.Contains(f.Message, text);
            Assert.Contains(f.Fix, text);
            Assert.Contains("**Evidence:**", text);
        }
        string summary = run.Texts["summary/text_summary"].Single().Text;
        Assert.Contains("| 0 Linear(64 → 256) | [-1, 256] | 16640 | 66560 |", summary);
        Assert.Contains("50826 parameters", summary);

        // Scalars and histograms: every parameter's trace over the probe's steps, every activation layer's statistics.
        var instruments = report.Instruments!;
        Assert.Equal(ProbeRun.MaxSteps, instruments.Steps);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"], instruments.Parameters.Select(p => p.Name));
        foreach (var p in instruments.Parameters)
        {
            var norms = run.Scalars[$"grad_norm/{p.Name}"];
            Assert.Equal(Enumerable.Range(1, instruments.Steps).Select(s => (long)s), norms.Select(e => e.Step));
            for (int i = 0; i < norms.Count; i++) Near(p.GradNorms[i], norms[i].Value, 1e-6, $"grad_norm/{p.Name} step {i + 1}");
            if (p.Name.EndsWith("weight", StringComparison.Ordinal))
            {
                var ratios = run.Scalars[$"update_ratio/{p.Name}"];
                Assert.Equal(instruments.Steps, ratios.Count);
                for (int i = 0; i < ratios.Count; i++) Near(p.UpdateRatios[i], ratios[i].Value, 1e-6, $"update_ratio/{p.Name} step {i + 1}");
            }
            else Assert.False(run.Scalars.ContainsKey($"update_ratio/{p.Name}"));
            var grads = run.Histograms[$"grads/{p.Name}"].Single();
            Assert.Equal(instruments.Steps, grads.Step);
            Assert.Equal(p.LastGradient.Length, grads.Count);
            Near(p.LastGradient.Sum(v => (double)v), grads.Sum, 1e-6, $"grads/{p.Name} sum");
        }
        Assert.Equal(["1", "3"], instruments.Activations.Select(a => a.Layer));
        foreach (var a in instruments.Activations)
        {
            Near(a.Mean, run.Scalars[$"activation_mean/{a.Layer}"].Single().Value, 1e-6, "mean");
            Near(a.Std, run.Scalars[$"activation_std/{a.Layer}"].Single().Value, 1e-6, "std");
            Near(a.FractionActive, run.Scalars[$"activation_active/{a.Layer}"].Single().Value, 1e-6, "active");
            var histogram = run.Histograms[$"activations/{a.Layer}"].Single();
            Assert.Equal(ProbeRun.ActivationSamples * (a.Layer == "1" ? 256 : 128), histogram.Count);
            Assert.Equal(0, histogram.Min);
            Assert.Equal(a.Values.Count(v => v > 0), a.FractionActive * a.Values.Length, 3);
        }

        // Step 1 from scratch: the first batch of the seeded loader through a fresh model.
        var model = Model();
        var batch = new DataLoader(Digits.Train, 32, shuffle: true, seed: 0).Epoch(1).First();
        Functional.CrossEntropy(model.Forward(batch.X), batch.Target).Backward();
        var weight = ((Linear)model[0]).Weight;
        double gradNorm = Math.Sqrt(weight.Grad!.Data.ToArray().Sum(v => (double)v * v));
        double weightNorm = Math.Sqrt(weight.Data.ToArray().Sum(v => (double)v * v));
        Near(gradNorm, run.Scalars["grad_norm/0.weight"][0].Value, 1e-4, "step 1 gradient norm");
        Near(Lr * gradNorm / weightNorm, run.Scalars["update_ratio/0.weight"][0].Value, 1e-3, "step 1 update ratio");
    }
}
