using Descent.Lab.Experiments;
using Descent.Tests.Fixtures;

namespace Descent.Tests.Experiments;

public class PolynomialRidgeTests
{
    [Fact]
    public void Degree_one_fit_matches_the_hand_solved_normal_equations()
    {
        // x = 0, ½, 1 map to t = −1, 0, 1, where P₀ = 1 and P₁ = t are orthogonal over the points, so the normal
        // equations decouple: c₀ = mean(y) and c₁ = Σtᵢyᵢ / (Σtᵢ² + Nλ/2) = 3 / (2 + 1.5λ).
        double[] x = [0, 0.5, 1], y = [0, 1, 3];
        foreach (double lambda in new[] { 0.0, 0.4, 5.0 })
        {
            var fit = PolynomialRidge.Fit(x, y, 1, lambda);
            Assert.Equal(4.0 / 3, fit.Coefficients[0], 12);
            Assert.Equal(3 / (2 + 1.5 * lambda), fit.Coefficients[1], 12);
        }
    }

    [Fact]
    public void Ridge_fits_match_numpy_normal_equations()
    {
        var f = Fixture.Load("experiments/ridge.json");
        double[] x = Doubles(f.GetProperty("x")), y = Doubles(f.GetProperty("y")), grid = Doubles(f.GetProperty("grid"));
        int cases = 0;
        foreach (var c in f.GetProperty("cases").EnumerateArray())
        {
            int degree = c.GetProperty("degree").GetInt32();
            double lambda = c.GetProperty("lambda").GetDouble();
            var fit = PolynomialRidge.Fit(x, y, degree, lambda);
            var coefficients = Doubles(c.GetProperty("coefficients"));
            var predictions = Doubles(c.GetProperty("predictions"));
            for (int k = 0; k <= degree; k++)
                Assert.True(Math.Abs(coefficients[k] - fit.Coefficients[k]) <= 1e-8 * (1 + Math.Abs(coefficients[k])), $"degree {degree} λ {lambda} c{k}: numpy {coefficients[k]}, Descent {fit.Coefficients[k]}");
            for (int i = 0; i < grid.Length; i++)
                Assert.True(Math.Abs(predictions[i] - fit.Predict(grid[i])) <= 1e-8 * (1 + Math.Abs(predictions[i])), $"degree {degree} λ {lambda} at x = {grid[i]}");
            cases++;
        }
        Assert.Equal(12, cases);
    }

    [Fact]
    public void The_fit_minimizes_the_ridge_objective()
    {
        var data = PolynomialData.Generate(15, 1, 0.3, seed: 3);
        var fit = PolynomialRidge.Fit(data.TrainX, data.TrainY, 6, 1e-3);
        double best = fit.Objective(data.TrainX, data.TrainY);
        var random = new Random(1);
        for (int trial = 0; trial < 50; trial++)
        {
            var moved = (double[])fit.Coefficients.Clone();
            moved[random.Next(moved.Length)] += (random.NextDouble() - 0.5) * 1e-3;
            Assert.True((fit with { Coefficients = moved }).Objective(data.TrainX, data.TrainY) > best);
        }
    }

    [Fact]
    public void Unregularized_fit_with_too_few_points_is_refused()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => PolynomialRidge.Fit([0, 0.5, 1], [1, 2, 3], 3, 0));
        Assert.Contains("at least 4 training points", e.Message);
        Assert.Equal(4, PolynomialRidge.Fit([0, 0.5, 1], [1, 2, 3], 3, 0.1).Coefficients.Length);
        Assert.ThrowsAny<ArgumentException>(() => new PolynomialExperimentOptions { Degrees = [25] }.Validate());
        Assert.ThrowsAny<ArgumentException>(() => new PolynomialExperimentOptions { Lambdas = [-1] }.Validate());
    }

    private static double[] Doubles(System.Text.Json.JsonElement a) => a.EnumerateArray().Select(v => v.GetDouble()).ToArray();
}

public class RegularizationExperimentTests
{
    private static readonly PolynomialResult Default = RegularizationExperiment.RunPolynomial(new PolynomialExperimentOptions());

    [Fact]
    public void Degree_15_unregularized_has_the_lowest_training_error_and_overfits()
    {
        var d15 = Default.Get(15, 0);
        Assert.Equal(d15.TrainMse, Default.Runs.Min(r => r.TrainMse));
        Assert.True(d15.TrainMse < 0.09 / 2, $"train MSE {d15.TrainMse} should be well under the noise variance 0.09");
        Assert.True(d15.ValidationMse > 10 * Default.Get(4, 0).ValidationMse, $"degree 15 validation {d15.ValidationMse}, degree 4 {Default.Get(4, 0).ValidationMse}");
    }

    [Fact]
    public void Degree_1_underfits_with_both_errors_high()
    {
        double floor = 0.3 * 0.3;
        var d4 = Default.Best(4);
        foreach (var r in Default.OfDegree(1))
        {
            Assert.True(r.TrainMse > 2 * floor && r.ValidationMse > 2 * floor, $"degree 1 at λ {r.Lambda}: {r.TrainMse} / {r.ValidationMse}");
            Assert.True(r.TrainMse > 2 * d4.TrainMse && r.ValidationMse > d4.ValidationMse);
            Assert.True(Math.Abs(r.Gap) < 0.1, $"an underfit model has no large gap, got {r.Gap}");
        }
    }

    [Fact]
    public void The_gap_shrinks_as_lambda_grows_and_a_good_lambda_rescues_degree_15()
    {
        var runs = Default.OfDegree(15);
        for (int i = 1; i < runs.Count; i++)
            Assert.True(runs[i].Gap < runs[i - 1].Gap, $"gap at λ {runs[i].Lambda} ({runs[i].Gap}) not below λ {runs[i - 1].Lambda} ({runs[i - 1].Gap})");
        var best = Default.Best(15);
        Assert.True(best.Lambda > 0);
        Assert.True(best.ValidationMse < 0.25, $"best degree-15 validation MSE {best.ValidationMse}");
        // Too much λ underfits every degree: the training error rises to about the variance of y.
        Assert.True(Default.Get(15, 10).TrainMse > 5 * Default.Get(15, 0).TrainMse);
        // Training error can only grow with λ (the penalty trades it for smaller weights).
        for (int i = 1; i < runs.Count; i++) Assert.True(runs[i].TrainMse >= runs[i - 1].TrainMse - 1e-12);
    }

    [Fact]
    public void Descent_autodiff_with_the_L2_penalty_reaches_the_closed_form_fit()
    {
        Assert.Equal(3, Default.Checks.Count);
        foreach (var c in Default.Checks)
        {
            Assert.True(c.DescentObjective >= c.ExactObjective * (1 - 1e-9), $"degree {c.Degree}: beat the exact minimum?");
            Assert.True(c.DescentObjective <= c.ExactObjective * (1 + 1e-4), $"degree {c.Degree}: {c.DescentObjective} vs {c.ExactObjective}");
            Assert.True(c.MaxCurveDifference < 1e-2, $"degree {c.Degree}: curves differ by {c.MaxCurveDifference}");
        }
    }

    [Fact]
    public void Pictures_are_written()
    {
        var dir = Path.Combine(Path.GetTempPath(), "descent-reg-pictures-" + Guid.NewGuid().ToString("N"));
        var files = RegularizationExperiment.WritePolynomialPictures(dir, Default).Files;
        Assert.Equal(6, files.Count);
        foreach (var f in files) Assert.StartsWith("<svg", File.ReadAllText(f));
        Assert.Contains("degree 15", File.ReadAllText(Path.Combine(dir, "poly-fits-lambda0.svg")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void On_a_small_subset_regularization_shrinks_the_gap()
    {
        var result = RegularizationExperiment.RunSubset(new SubsetExperimentOptions
        {
            Samples = 300, Epochs = 40, Hidden = [128], Regularizers = ["none", "l2", "all"], Seed = 1,
        });
        Assert.Equal(300, result.TrainSamples);
        Assert.Equal(1797 - 300, result.ValidationSamples);
        var none = result.Get("none");
        Assert.Equal(40, none.History.Count);
        Assert.True(none.Final.TrainAccuracy > 0.99, $"the unregularized MLP should memorize 300 samples, got {none.Final.TrainAccuracy}");
        // The last 10 epochs are averaged: a single epoch's gap moves by a percent or two. The loss gap is the
        // measure: on 300 digits the accuracy gap of one seed is within noise of the baseline's for some regularizers.
        double LossGap(string name) => result.Get(name).History.TakeLast(10).Average(e => e.LossGap);
        Assert.True(LossGap("l2") < 0.9 * LossGap("none"), $"l2 loss gap {LossGap("l2")} vs none {LossGap("none")}");
        Assert.True(LossGap("all") < 0.6 * LossGap("none"), $"all loss gap {LossGap("all")} vs none {LossGap("none")}");
        Assert.True(result.Get("all").History.TakeLast(10).Average(e => e.Gap) < none.History.TakeLast(10).Average(e => e.Gap));
    }

    [Fact]
    public void Subset_runs_are_reproducible_and_bad_settings_are_refused()
    {
        var options = new SubsetExperimentOptions { Samples = 100, Epochs = 2, Hidden = [16], Regularizers = ["dropout", "augment"], Seed = 4 };
        var a = RegularizationExperiment.RunSubset(options);
        var b = RegularizationExperiment.RunSubset(options);
        Assert.Equal(a.Runs.SelectMany(r => r.History), b.Runs.SelectMany(r => r.History));
        Assert.ThrowsAny<ArgumentException>(() => RegularizationExperiment.RunSubset(options with { Regularizers = ["weight-decay"] }));
        // The library names its own parameters, not the command line's options.
        var tooMany = Assert.Throws<ArgumentException>(() => RegularizationExperiment.RunSubset(options with { Samples = 5000 }));
        Assert.Equal(nameof(SubsetExperimentOptions.Samples), tooMany.ParamName);
        Assert.DoesNotContain("--", tooMany.Message);
        var tooFewLeft = Assert.Throws<ArgumentException>(() => RegularizationExperiment.RunSubset(options with { Samples = 1700, ValidationSamples = 500 }));
        Assert.Equal(nameof(SubsetExperimentOptions.ValidationSamples), tooFewLeft.ParamName);
        Assert.DoesNotContain("--", tooFewLeft.Message);
        Assert.Throws<FormatException>(() => RegularizationExperiment.RunSubset(options with { Augment = "spin:3" }));
    }
}
