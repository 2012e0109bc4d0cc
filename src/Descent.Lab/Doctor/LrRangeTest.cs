using Descent.Data;
using Descent.Lab.Plots;
using Descent.Training;

namespace Descent.Lab.Doctor;

/// <summary>
/// The learning-rate range test (Smith 2017; fastai's <c>lr_find</c>): a fresh model trains for up to
/// <see cref="Steps"/> steps while the learning rate grows exponentially from <see cref="MinLr"/> to
/// <see cref="MaxLr"/>; the smoothed loss falls, bottoms out and blows up. The suggested learning rate is a tenth of
/// the one at the bottom. A curve whose minimum is not a tenth below its start is inconclusive and makes no finding. <c>lr-too-high</c>: the user's learning rate is past the bottom. <c>lr-too-low</c>: it is
/// under a thousandth of the bottom, where the loss had not started to fall.
/// </summary>
internal static class LrRangeTest
{
    public const int Steps = 100;
    public const double MinLr = 1e-6;
    public const double MaxLr = 10;

    /// <summary>Steps that only set the baseline of the curve.</summary>
    private const int SkipStart = 10;

    /// <summary>Stop once the smoothed loss exceeds this multiple of its lowest value.</summary>
    private const double DivergenceFactor = 4;

    /// <summary>The findings, the curve as SVG, and the suggested learning rate when the curve is conclusive.</summary>
    public sealed record Result(IReadOnlyList<Finding> Findings, string? Svg, double? SuggestedLr);

    public static Result Run(DoctorSetup setup)
    {
        var model = setup.Model();
        var optimizer = setup.Optimizer(model);
        if (optimizer.RequiresClosure) return new Result([], null, null);
        double userLr = Doctor.Lr(optimizer);
        var trainer = new Trainer(model, optimizer);
        var loader = new DataLoader(setup.Data.Train, setup.BatchSize, shuffle: true, seed: setup.Seed + 3);
        var curve = new List<(double Lr, double Loss)>();
        double smoothed = 0, best = double.PositiveInfinity, bestLr = double.NaN;
        int step = 0;
        for (int epoch = 1; step < Steps; epoch++)
        {
            bool stop = false;
            foreach (var batch in loader.Epoch(epoch))
            {
                double lr = MinLr * Math.Pow(MaxLr / MinLr, (double)step / (Steps - 1));
                foreach (var options in optimizer.GroupOptions) options.Lr = lr;
                float loss = trainer.TrainStep(batch.X, batch.Target);
                step++;
                if (!float.IsFinite(loss)) { stop = true; break; }
                smoothed = 0.9 * smoothed + 0.1 * loss;
                double debiased = smoothed / (1 - Math.Pow(0.9, step));
                curve.Add((lr, debiased));
                // Like fastai's skip_start, the first steps only set the baseline: their smoothed loss is mostly noise.
                if (step > SkipStart && debiased < best) (best, bestLr) = (debiased, lr);
                if (debiased > DivergenceFactor * best || step == Steps) { stop = true; break; }
            }
            if (stop || loader.Count == 0) break;
        }
        Autodiff.Tape.Clear();
        if (curve.Count <= SkipStart + 2 || double.IsNaN(bestLr)) return new Result([], null, null);
        double suggested = bestLr / 10;
        var evidence = new Dictionary<string, object?>
        {
            ["lr"] = userLr, ["lr_at_minimum"] = Doctor.Round(bestLr), ["suggested_lr"] = Doctor.Round(suggested),
            ["suggested_range"] = new[] { Doctor.Round(bestLr / 100), Doctor.Round(bestLr / 3) }, ["steps"] = step,
        };
        var findings = new List<Finding>();
        string range = $"{Doctor.Number(bestLr / 100)}–{Doctor.Number(bestLr / 3)}";
        // A curve that never falls a tenth below its start (the mean of the skipped points) says nothing about where
        // the learning rate should be.
        bool conclusive = best < 0.9 * curve.Take(SkipStart).Average(p => p.Loss);
        evidence["conclusive"] = conclusive;
        if (conclusive && userLr > bestLr)
            findings.Add(new Finding("lr-too-high", Severity.Warning,
                $"The learning rate {Doctor.Number(userLr)} is past the bottom of the range test's loss curve (at {Doctor.Number(bestLr)}), where the loss grows instead of falling.",
                evidence, $"Lower the learning rate to about {Doctor.Number(suggested)} (--lr {Doctor.Number(suggested)}; the test suggests {range})."));
        else if (conclusive && userLr < bestLr / 1000)
            findings.Add(new Finding("lr-too-low", Severity.Warning,
                $"The learning rate {Doctor.Number(userLr)} is over a thousand times below the bottom of the range test's loss curve (at {Doctor.Number(bestLr)}): training will crawl.",
                evidence, $"Raise the learning rate to about {Doctor.Number(suggested)} (--lr {Doctor.Number(suggested)}; the test suggests {range})."));
        var svg = LineChart.Svg($"Learning-rate range test (suggested {Doctor.Number(suggested)}, yours {Doctor.Number(userLr)})", "log10 learning rate", "smoothed loss",
            [new Series("loss", [.. curve.Select(p => (Math.Log10(p.Lr), p.Loss))]),
             new Series("your lr", [(Math.Log10(userLr), curve.Min(p => p.Loss)), (Math.Log10(userLr), curve.Max(p => p.Loss))]),
             new Series("suggested", [(Math.Log10(suggested), curve.Min(p => p.Loss)), (Math.Log10(suggested), curve.Max(p => p.Loss))])],
            logY: true);
        return new Result(findings, svg, conclusive ? suggested : null);
    }
}
