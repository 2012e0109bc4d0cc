using Descent.Data;
using Descent.Init;
using Descent.Lab.Doctor;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Tests.Doctor;

/// <summary>
/// <see cref="TrainingWatch"/> during real training on the digits: each of its checks fires on a planted condition,
/// once, with the doctor's id and fix for the same setup; a healthy run makes no finding.
/// </summary>
public class TrainingWatchTests
{
    private static readonly PreparedData Digits = DataPreparation.Load("digits", null, asImages: false, valFraction: 0.1, seed: 0);

    private static Sequential Mlp(int[]? hidden = null, string activation = "relu", string init = "torch-default")
    {
        Rng.ManualSeed(0);
        var model = Models.Mlp(64, hidden ?? [256, 128], 10, activation);
        var spec = InitSpec.Parse(init);
        if (!spec.IsTorchDefault) spec.Apply(model);
        return model;
    }

    private static Sequential DeadFirstLayer()
    {
        var model = Mlp();
        ((Linear)model[0]).Bias!.Data.Fill(-100f);
        return model;
    }

    /// <summary>Trains <paramref name="model"/> with SGD at <paramref name="lr"/> under a watch; returns the findings and whether training diverged.</summary>
    private static (IReadOnlyList<Finding> Findings, List<Finding> Reported, bool Diverged) Watch(Module model, double lr, int epochs)
    {
        var reported = new List<Finding>();
        var watch = new TrainingWatch(reported.Add);
        var trainer = new Trainer(model, Optimizers.Create("sgd", model, new OptimizerSettings { Lr = lr }));
        trainer.Callbacks.Add(watch);
        bool diverged = false;
        try
        {
            trainer.Fit(Digits.TrainLoader(32, 0), epochs: epochs);
        }
        catch (TrainingDivergedException)
        {
            diverged = true;
        }
        return (watch.Findings, reported, diverged);
    }

    private static DoctorSetup Setup(Func<Module> model, double lr) => new()
    {
        Data = Digits,
        Model = model,
        Optimizer = m => Optimizers.Create("sgd", m, new OptimizerSettings { Lr = lr }),
    };

    private static Finding Single(IReadOnlyList<Finding> findings, string id)
    {
        Assert.True(findings.Count(f => f.Id == id) == 1, $"expected one {id}, got: {string.Join(", ", findings.Select(f => f.Id))}");
        return findings.First(f => f.Id == id);
    }

    [Fact]
    public void A_healthy_run_makes_no_finding()
    {
        var (findings, reported, diverged) = Watch(Mlp(), lr: 0.1, epochs: 20);
        Assert.False(diverged);
        Assert.Empty(findings);
        Assert.Empty(reported);
    }

    [Fact]
    public void Lr_50_is_non_finite_with_the_doctors_fix_and_still_stops_training()
    {
        var (findings, reported, diverged) = Watch(Mlp(), lr: 50, epochs: 1);
        Assert.True(diverged);
        var watched = Single(findings, "non-finite");
        Assert.Equal(Severity.Error, watched.Severity);
        Assert.Equal([watched], reported);
        var doctor = Lab.Doctor.Doctor.Examine(Setup(() => Mlp(), 50)).Findings.First(f => f.Id == "non-finite");
        Assert.Equal(doctor.Fix, watched.Fix);
    }

    [Fact]
    public void Large_negative_biases_are_dead_units_once_with_the_doctors_fix()
    {
        var (findings, reported, diverged) = Watch(DeadFirstLayer(), lr: 0.1, epochs: 4);
        Assert.False(diverged);
        var watched = Single(findings, "dead-units");
        Assert.Single(reported, f => f.Id == "dead-units");
        Assert.Equal("1", watched.Evidence["layer"]);
        Assert.Equal(256, watched.Evidence["dead"]);
        // Eight sampled steps with a zero gradient: steps 1, 21, …, 141.
        Assert.Equal(1L + (TrainingWatch.DeadWindow - 1) * TrainingWatch.Every, watched.Evidence["step"]);
        var doctor = Lab.Doctor.Doctor.Examine(Setup(DeadFirstLayer, 0.1)).Findings.First(f => f.Id == "dead-units");
        Assert.Equal(doctor.Fix, watched.Fix);
        Assert.Equal(doctor.Evidence["layer"], watched.Evidence["layer"]);
    }

    [Fact]
    public void Lr_1e_6_is_a_low_update_ratio_with_the_doctors_fix()
    {
        var (findings, _, _) = Watch(Mlp(), lr: 1e-6, epochs: 2);
        var watched = Single(findings, "update-ratio");
        Assert.Equal("low", watched.Evidence["direction"]);
        // Plain SGD moves a weight by lr·‖∇θ‖: with gradients of order 0.1–1 and weights of norm about 5, some 1e-8.
        Assert.InRange((double)watched.Evidence["median_ratio"]!, 1e-9, 1e-6);
        var doctor = Lab.Doctor.Doctor.Examine(Setup(() => Mlp(), 1e-6)).Findings.First(f => f.Id == "update-ratio");
        Assert.Equal(doctor.Fix, watched.Fix);
    }

    [Fact]
    public void Eight_tanh_layers_with_normal_1_init_are_exploding_gradients_at_step_1()
    {
        int[] hidden = [256, 256, 256, 256, 256, 256, 256, 256];
        var (findings, _, _) = Watch(Mlp(hidden, "tanh", "normal:1"), lr: 0.01, epochs: 1);
        var watched = Single(findings, "exploding-gradients");
        Assert.Equal(1L, watched.Evidence["step"]);
        Assert.True((double)watched.Evidence["first_over_last"]! > InitChecks.GradientSpread);
        var doctor = Lab.Doctor.Doctor.Examine(Setup(() => Mlp(hidden, "tanh", "normal:1"), 0.01)).Findings.First(f => f.Id == "exploding-gradients");
        Assert.Equal(doctor.Fix, watched.Fix);
    }

    [Fact]
    public void A_high_update_ratio_fires_on_the_median_of_five_sampled_steps()
    {
        // SGD at lr 3 on a tiny net: every step rewrites a good part of the weights before the loss blows up.
        var (findings, _, _) = Watch(Mlp([16]), lr: 3, epochs: 2);
        var watched = Single(findings, "update-ratio");
        Assert.Equal("high", watched.Evidence["direction"]);
        Assert.True((double)watched.Evidence["median_ratio"]! > ProbeRun.UpdateRatioHigh);
    }
}
