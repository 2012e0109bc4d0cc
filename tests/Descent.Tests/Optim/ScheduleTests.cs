using System.Text.Json;
using Descent.Nn;
using Descent.Optim;
using Descent.Optim.Schedules;
using Descent.Tests.Fixtures;

namespace Descent.Tests.Optim;

/// <summary>An Adam-like options record: β₁ is the momentum coefficient that schedules drive.</summary>
internal sealed record FakeAdamOptions : OptimizerOptions, IMomentumOptions
{
    public double Beta1 { get; set; } = 0.9;
    public double Beta2 { get; set; } = 0.999;
    double IMomentumOptions.MomentumCoefficient { get => Beta1; set => Beta1 = value; }
}

/// <summary>Options without any momentum (like Adagrad's).</summary>
internal sealed record NoMomentumOptions : OptimizerOptions;

/// <summary>An optimizer whose step leaves the parameters alone: only its groups' hyperparameters matter here.</summary>
internal sealed class FakeOptimizer<TOptions>(IEnumerable<ParamGroup<TOptions>> groups) : Optimizer<TOptions>(groups)
    where TOptions : OptimizerOptions
{
    protected override void StepGroup(int groupIndex, TOptions options, ArenaSlice slice) { }
}

/// <summary>Learning-rate schedules against torch.optim.lr_scheduler 1.13 (tests/fixtures/optim/schedules.json) and their formulas.</summary>
public class ScheduleTests
{
    private const double Tolerance = 1e-12;
    private static readonly JsonElement Root = Fixture.Load("optim/schedules.json");

    private static readonly Dictionary<string, Func<int, double>> Lambdas = new()
    {
        ["pow0.95"] = k => Math.Pow(0.95, k),
        ["halve_every_30"] = k => Math.Pow(0.5, k / 30),
        ["inverse_linear"] = k => 1.0 / (1.0 + 0.1 * k),
        ["const0.95"] = _ => 0.95,
        ["wave"] = k => k % 3 == 0 ? 1.02 : 0.97,
    };

    public static TheoryData<string> Cases() => new(Root.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("id").GetString()!));

    private static JsonElement Case(string id) => Root.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("id").GetString() == id);

    // ---------------------------------------------------------------------------------------------
    // Building optimizers and schedules from fixture cases
    // ---------------------------------------------------------------------------------------------

    private static SGD Sgd(IReadOnlyList<double> lrs, double momentum = 0) =>
        new(lrs.Select(lr => new ParamGroup<SgdOptions>([new Parameter(1)], new SgdOptions { Lr = lr, Momentum = momentum })));

    private static FakeOptimizer<FakeAdamOptions> Adam(IReadOnlyList<double> lrs, double beta1 = 0.9) =>
        new(lrs.Select(lr => new ParamGroup<FakeAdamOptions>([new Parameter(1)], new FakeAdamOptions { Lr = lr, Beta1 = beta1 })));

    private static Optimizer OptimizerFor(JsonElement c)
    {
        var lrs = Doubles(c.GetProperty("group_lrs"));
        double m0 = c.GetProperty("momentum0").GetDouble();
        return c.GetProperty("optimizer").GetString() == "adam" ? Adam(lrs, m0) : Sgd(lrs, m0);
    }

    private static double[] Doubles(JsonElement a) => a.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static bool Has(JsonElement kw, string name) => kw.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;
    private static double D(JsonElement kw, string name, double fallback) => Has(kw, name) ? kw.GetProperty(name).GetDouble() : fallback;
    private static int I(JsonElement kw, string name) => kw.GetProperty(name).GetInt32();
    private static int? OptI(JsonElement kw, string name) => Has(kw, name) ? kw.GetProperty(name).GetInt32() : null;
    private static bool B(JsonElement kw, string name, bool fallback) => Has(kw, name) ? kw.GetProperty(name).GetBoolean() : fallback;
    private static string S(JsonElement kw, string name, string fallback) => Has(kw, name) ? kw.GetProperty(name).GetString()! : fallback;

    private static double[] PerGroup(JsonElement kw, string name, int groups) =>
        kw.GetProperty(name).ValueKind == JsonValueKind.Array ? Doubles(kw.GetProperty(name)) : Enumerable.Repeat(kw.GetProperty(name).GetDouble(), groups).ToArray();

    private static Func<int, double>[] LambdasOf(JsonElement kw, int groups) =>
        kw.GetProperty("lr_lambda").ValueKind == JsonValueKind.Array
            ? kw.GetProperty("lr_lambda").EnumerateArray().Select(n => Lambdas[n.GetString()!]).ToArray()
            : Enumerable.Repeat(Lambdas[kw.GetProperty("lr_lambda").GetString()!], groups).ToArray();

    private static LRScheduler Build(Optimizer opt, string name, JsonElement kw)
    {
        int n = opt.GroupOptions.Count;
        return name switch
        {
            "StepLR" => new StepLR(opt, I(kw, "step_size"), D(kw, "gamma", 0.1)),
            "MultiStepLR" => new MultiStepLR(opt, kw.GetProperty("milestones").EnumerateArray().Select(v => v.GetInt32()), D(kw, "gamma", 0.1)),
            "ExponentialLR" => new ExponentialLR(opt, D(kw, "gamma", double.NaN)),
            "CosineAnnealingLR" => new CosineAnnealingLR(opt, I(kw, "T_max"), D(kw, "eta_min", 0)),
            "CosineAnnealingWarmRestarts" => new CosineAnnealingWarmRestarts(opt, I(kw, "T_0"), OptI(kw, "T_mult") ?? 1, D(kw, "eta_min", 0)),
            "LinearLR" => new LinearLR(opt, D(kw, "start_factor", 1.0 / 3), D(kw, "end_factor", 1.0), OptI(kw, "total_iters") ?? 5),
            "ConstantLR" => new ConstantLR(opt, D(kw, "factor", 1.0 / 3), OptI(kw, "total_iters") ?? 5),
            "PolynomialLR" => new PolynomialLR(opt, OptI(kw, "total_iters") ?? 5, D(kw, "power", 1.0)),
            "LambdaLR" => new LambdaLR(opt, LambdasOf(kw, n)),
            "MultiplicativeLR" => new MultiplicativeLR(opt, LambdasOf(kw, n)),
            "OneCycleLR" => new OneCycleLR(opt, PerGroup(kw, "max_lr", n), OptI(kw, "total_steps"), OptI(kw, "epochs"), OptI(kw, "steps_per_epoch"),
                D(kw, "pct_start", 0.3), S(kw, "anneal_strategy", "cos") == "cos" ? AnnealStrategy.Cos : AnnealStrategy.Linear,
                B(kw, "cycle_momentum", true), D(kw, "base_momentum", 0.85), D(kw, "max_momentum", 0.95),
                D(kw, "div_factor", 25), D(kw, "final_div_factor", 1e4), B(kw, "three_phase", false)),
            "CyclicLR" => new CyclicLR(opt, PerGroup(kw, "base_lr", n), PerGroup(kw, "max_lr", n), OptI(kw, "step_size_up") ?? 2000, OptI(kw, "step_size_down"),
                S(kw, "mode", "triangular") switch { "triangular" => CyclicMode.Triangular, "triangular2" => CyclicMode.Triangular2, _ => CyclicMode.ExpRange },
                D(kw, "gamma", 1.0), B(kw, "cycle_momentum", true), D(kw, "base_momentum", 0.8), D(kw, "max_momentum", 0.9)),
            "ReduceLROnPlateau" => new ReduceLROnPlateau(opt, Has(kw, "min_lr") ? PerGroup(kw, "min_lr", n) : new double[n],
                S(kw, "mode", "min") == "min" ? PlateauMode.Min : PlateauMode.Max, D(kw, "factor", 0.1), OptI(kw, "patience") ?? 10,
                D(kw, "threshold", 1e-4), S(kw, "threshold_mode", "rel") == "rel" ? ThresholdMode.Rel : ThresholdMode.Abs,
                OptI(kw, "cooldown") ?? 0, D(kw, "eps", 1e-8)),
            "InverseTimeDecay" => new InverseTimeDecay(opt, D(kw, "decay_rate", 0), I(kw, "decay_steps"), B(kw, "staircase", false)),
            "LinearDecayToZero" => new LinearDecayToZero(opt, I(kw, "total_steps"), D(kw, "final_factor", 0)),
            "InverseSqrtLR" => new InverseSqrtLR(opt, I(kw, "warmup_steps")),
            "MomentumSchedule" => new MomentumSchedule(opt, D(kw, "start", 0), D(kw, "end", 0), I(kw, "total_steps")),
            _ => throw new ArgumentException($"no builder for {name}"),
        };
    }

    private static LRScheduler BuildCase(Optimizer opt, JsonElement c)
    {
        string name = c.GetProperty("scheduler").GetString()!;
        if (name is "SequentialLR" or "ChainedScheduler")
        {
            var children = c.GetProperty("children").EnumerateArray()
                .Select(ch => Build(opt, ch.GetProperty("scheduler").GetString()!, ch.GetProperty("kwargs"))).ToList();
            return name == "SequentialLR"
                ? new SequentialLR(opt, children, c.GetProperty("milestones").EnumerateArray().Select(v => v.GetInt32()).ToList())
                : new ChainedScheduler(children);
        }
        return Build(opt, name, c.GetProperty("kwargs"));
    }

    private static double[] GroupLrs(Optimizer opt) => opt.GroupOptions.Select(g => g.Lr).ToArray();

    private static double[] GroupMomentum(Optimizer opt) => opt.GroupOptions.Select(g => ((IMomentumOptions)g).MomentumCoefficient).ToArray();

    private static double RelativeError(double expected, double actual) =>
        expected == actual ? 0 : Math.Abs(expected - actual) / Math.Max(Math.Abs(expected), double.Epsilon);

    /// <summary>Runs a fixture case through Descent; returns the largest relative error of lr and momentum.</summary>
    private static double RunCase(JsonElement c, Func<Optimizer, LRScheduler>? build = null)
    {
        string id = c.GetProperty("id").GetString()!;
        var opt = OptimizerFor(c);
        var schedule = build is null ? BuildCase(opt, c) : build(opt);
        var lrRows = c.GetProperty("lr").EnumerateArray().Select(Doubles).ToArray();
        var momentumRows = c.GetProperty("momentum").ValueKind == JsonValueKind.Array
            ? c.GetProperty("momentum").EnumerateArray().Select(Doubles).ToArray() : null;
        var metrics = c.GetProperty("metrics").ValueKind == JsonValueKind.Array ? Doubles(c.GetProperty("metrics")) : null;
        double worst = 0;

        void Check(int k)
        {
            var lrs = GroupLrs(opt);
            var last = schedule.GetLastLr();
            for (int g = 0; g < lrs.Length; g++)
            {
                double err = RelativeError(lrRows[k][g], lrs[g]);
                worst = Math.Max(worst, err);
                Assert.True(err <= Tolerance, $"{id} lr[{k}][{g}]: PyTorch {lrRows[k][g]:R}, Descent {lrs[g]:R} (relative error {err:G3})");
                Assert.Equal(lrs[g], last[g]);
            }
            if (momentumRows is null) return;
            var momentum = GroupMomentum(opt);
            for (int g = 0; g < momentum.Length; g++)
            {
                double err = RelativeError(momentumRows[k][g], momentum[g]);
                worst = Math.Max(worst, err);
                Assert.True(err <= Tolerance, $"{id} momentum[{k}][{g}]: expected {momentumRows[k][g]:R}, Descent {momentum[g]:R} (relative error {err:G3})");
            }
        }

        Check(0);
        Assert.Equal(0, schedule.LastEpoch);
        for (int k = 0; k < lrRows.Length - 1; k++)
        {
            if (metrics is not null) schedule.Step(metrics[k]);
            else schedule.Step();
            Check(k + 1);
        }
        Assert.Equal(lrRows.Length - 1, schedule.LastEpoch);
        return worst;
    }

    // ---------------------------------------------------------------------------------------------
    // Fixture cases
    // ---------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Cases))]
    public void Lr_sequence_matches_the_fixture(string id) => RunCase(Case(id));

    [Fact]
    public void Fixture_covers_every_schedule_for_at_least_200_steps()
    {
        var cases = Root.GetProperty("cases").EnumerateArray().ToList();
        Assert.All(cases, c => Assert.True(c.GetProperty("lr").GetArrayLength() >= 201));
        var kinds = cases.Select(c => c.GetProperty("scheduler").GetString()).ToHashSet();
        foreach (var kind in new[] { "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LinearLR", "ConstantLR",
                     "PolynomialLR", "LambdaLR", "MultiplicativeLR", "OneCycleLR", "CyclicLR", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler",
                     "InverseTimeDecay", "LinearDecayToZero", "InverseSqrtLR", "MomentumSchedule" })
            Assert.Contains(kind, kinds);
    }

    [Fact]
    public void Linear_decay_equals_pytorch_linear_lr_from_one()
    {
        RunCase(Case("linear_1_to_0_over_100"), opt => new LinearDecayToZero(opt, 100));
        RunCase(Case("linear_1_to_0.01_over_150"), opt => new LinearDecayToZero(opt, 150, finalFactor: 0.01));
    }

    [Fact]
    public void Warmup_in_front_of_cosine_and_step_equals_sequential_lr()
    {
        RunCase(Case("sequential_warmup10_cosine190"), opt => new WarmupSchedule(opt, 10, new CosineAnnealingLR(opt, 190), startFactor: 0.1));
        RunCase(Case("sequential_warmup8_cosine30_two_groups"), opt => new WarmupSchedule(opt, 8, new CosineAnnealingLR(opt, 30, etaMin: 0.001), startFactor: 0.25));
        RunCase(Case("sequential_warmup5_step30"), opt => new WarmupSchedule(opt, 5, new StepLR(opt, 30, gamma: 0.5)));
        RunCase(Case("sequential_warmup10_restarts"), opt => new WarmupSchedule(opt, 10, new CosineAnnealingWarmRestarts(opt, 20, tMult: 2), startFactor: 0.1));
    }

    [Fact]
    public void Registry_warmup_with_cosine_over_the_remaining_steps_equals_sequential_lr()
    {
        var options = new ScheduleOptions { TotalSteps = 200, WarmupSteps = 10, WarmupStartFactor = 0.1 };
        RunCase(Case("sequential_warmup10_cosine190"), opt => Schedules.Create("cosine", opt, options));
        RunCase(Case("sequential_warmup5_step30"), opt => Schedules.Create("step", opt, new ScheduleOptions { StepSize = 30, Gamma = 0.5, WarmupSteps = 5 }));
    }

    // ---------------------------------------------------------------------------------------------
    // Closed forms of the schedules PyTorch lacks
    // ---------------------------------------------------------------------------------------------

    private static void AssertSequence(LRScheduler schedule, Optimizer opt, Func<int, int, double> expected, int steps = 300)
    {
        for (int k = 0; k <= steps; k++)
        {
            if (k > 0) schedule.Step();
            var lrs = GroupLrs(opt);
            for (int g = 0; g < lrs.Length; g++)
            {
                double e = expected(g, k);
                Assert.True(RelativeError(e, lrs[g]) <= Tolerance, $"{schedule.GetType().Name} period {k} group {g}: formula {e:R}, Descent {lrs[g]:R}");
            }
        }
    }

    [Fact]
    public void Inverse_time_decay_is_eps0_over_one_plus_kt()
    {
        double[] b = [0.1, 0.03];
        var opt = Sgd(b);
        AssertSequence(new InverseTimeDecay(opt, 0.05), opt, (g, k) => b[g] / (1 + 0.05 * k));
        var stairs = Sgd(b);
        AssertSequence(new InverseTimeDecay(stairs, 0.5, decaySteps: 7, staircase: true), stairs, (g, k) => b[g] / (1 + 0.5 * Math.Floor(k / 7.0)));
    }

    [Fact]
    public void Linear_decay_follows_the_lectures_formula_then_stays()
    {
        const double eps0 = 0.2;
        const int tau = 120;
        foreach (double alpha in new[] { 0.0, 0.01 })
        {
            var opt = Sgd([eps0]);
            AssertSequence(new LinearDecayToZero(opt, tau, alpha), opt, (_, k) =>
            {
                double a = Math.Min(k, tau) / (double)tau;
                return (1 - a) * eps0 + a * alpha * eps0;
            });
            Assert.Equal(alpha * eps0, GroupLrs(opt)[0], 15);
        }
    }

    [Fact]
    public void Inverse_sqrt_matches_the_transformer_formula()
    {
        const int w = 25;
        double[] b = [0.1, 0.02];
        var opt = Sgd(b);
        AssertSequence(new InverseSqrtLR(opt, w), opt, (g, k) =>
        {
            double t = k + 1;
            return b[g] * Math.Min(t / w, Math.Sqrt(w / t));
        });

        // Noam: d_model^-0.5 · min(t^-0.5, t · w^-1.5) with ε₀ = (d_model · w)^-0.5.
        const double dModel = 512;
        var noam = Sgd([1 / Math.Sqrt(dModel * w)]);
        AssertSequence(new InverseSqrtLR(noam, w), noam, (_, k) =>
        {
            double t = k + 1;
            return Math.Pow(dModel, -0.5) * Math.Min(Math.Pow(t, -0.5), t * Math.Pow(w, -1.5));
        });
        var peak = Sgd([0.3]);
        var s = new InverseSqrtLR(peak, w);
        for (int k = 0; k < w - 1; k++) s.Step();
        Assert.Equal(0.3, GroupLrs(peak)[0], 15);
    }

    [Fact]
    public void Momentum_schedule_drives_sgd_momentum_and_adam_beta1()
    {
        var sgd = Sgd([0.1, 0.2], momentum: 0.9);
        var linear = new MomentumSchedule(sgd, 0.99, 0.5, 40);
        var adam = Adam([1e-3], beta1: 0.9);
        var byFunction = new MomentumSchedule(adam, k => k < 10 ? 0.95 : 0.85);
        for (int k = 0; k <= 60; k++)
        {
            if (k > 0)
            {
                linear.Step();
                byFunction.Step();
            }
            double expected = 0.99 + (0.5 - 0.99) * Math.Min(k, 40) / 40;
            Assert.All(GroupMomentum(sgd), m => Assert.True(RelativeError(expected, m) <= Tolerance));
            Assert.Equal(expected, linear.GetLastMomentum()[1], 15);
            Assert.Equal(k < 10 ? 0.95 : 0.85, ((FakeAdamOptions)adam.GroupOptions[0]).Beta1);
            Assert.Equal([0.1, 0.2], GroupLrs(sgd));
            Assert.Equal(1e-3, GroupLrs(adam)[0]);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Composition
    // ---------------------------------------------------------------------------------------------

    [Fact]
    public void Warmup_in_front_of_a_chained_scheduler_restarts_the_chain()
    {
        var reference = Sgd([0.1]);
        var chain = new ChainedScheduler([new ConstantLR(reference, 0.5, 10), new ExponentialLR(reference, 0.9)]);
        var expected = new List<double> { GroupLrs(reference)[0] };
        for (int k = 0; k < 40; k++)
        {
            chain.Step();
            expected.Add(GroupLrs(reference)[0]);
        }

        var opt = Sgd([0.1]);
        var warm = new WarmupSchedule(opt, 6, new ChainedScheduler([new ConstantLR(opt, 0.5, 10), new ExponentialLR(opt, 0.9)]), startFactor: 0.2);
        for (int k = 0; k <= 46; k++)
        {
            if (k > 0) warm.Step();
            double lr = GroupLrs(opt)[0];
            double want = k < 6 ? 0.1 * (0.2 + 0.8 * k / 6) : expected[k - 6];
            Assert.True(RelativeError(want, lr) <= Tolerance, $"period {k}: expected {want:R}, got {lr:R}");
        }
    }

    [Fact]
    public void Warmup_in_front_of_plateau_hands_the_metrics_over_after_the_warmup()
    {
        var metrics = Doubles(Case("plateau_min_rel_default").GetProperty("metrics"));
        var reference = Sgd([0.1]);
        var plateau = new ReduceLROnPlateau(reference, patience: 3);
        var expected = new List<double>();
        for (int k = 5; k < metrics.Length; k++)
        {
            plateau.Step(metrics[k]);
            expected.Add(GroupLrs(reference)[0]);
        }

        var opt = Sgd([0.1]);
        var warm = new WarmupSchedule(opt, 5, new ReduceLROnPlateau(opt, patience: 3), startFactor: 0.5);
        Assert.True(warm.UsesMetric);
        Assert.Equal(0.05, GroupLrs(opt)[0], 15);
        for (int k = 0; k < metrics.Length; k++)
        {
            warm.Step(metrics[k]);
            double lr = GroupLrs(opt)[0];
            if (k + 1 < 5) Assert.Equal(0.1 * (0.5 + 0.5 * (k + 1) / 5), lr, 15);
            else if (k + 1 == 5) Assert.Equal(0.1, lr);
            else Assert.Equal(expected[k - 5], lr);
        }
        Assert.Throws<InvalidOperationException>(() => warm.Step());
    }

    [Fact]
    public void Chainable_schedules_keep_a_hand_written_lr_change_like_pytorch()
    {
        var opt = Sgd([0.1]);
        var schedule = new ExponentialLR(opt, 0.95);
        for (int k = 1; k <= 60; k++)
        {
            schedule.Step();
            if (k == 20) opt.GroupOptions[0].Lr *= 0.5;
            double expected = 0.1 * Math.Pow(0.95, k) * (k >= 20 ? 0.5 : 1);
            Assert.True(RelativeError(expected, GroupLrs(opt)[0]) <= 1e-13, $"period {k}");
        }

        var overwriting = Sgd([0.1]);
        var lambda = new LambdaLR(overwriting, k => 1.0 / (k + 1));
        lambda.Step();
        overwriting.GroupOptions[0].Lr = 7;
        lambda.Step();
        Assert.Equal(0.1 / 3, GroupLrs(overwriting)[0], 15);
    }

    // ---------------------------------------------------------------------------------------------
    // State round trip
    // ---------------------------------------------------------------------------------------------

    private static readonly double[] PlateauMetrics = Doubles(Case("plateau_stalled_rel_threshold").GetProperty("metrics"));

    public static TheoryData<string> RoundTripCases() => new(RoundTripFactories.Keys);

    private static readonly Dictionary<string, (Func<Optimizer> Optimizer, Func<Optimizer, LRScheduler> Schedule)> RoundTripFactories = new()
    {
        ["step"] = (() => Sgd([0.1, 0.01]), o => new StepLR(o, 13, 0.5)),
        ["multistep"] = (() => Sgd([0.1]), o => new MultiStepLR(o, [20, 60, 60, 90], 0.3)),
        ["exponential"] = (() => Sgd([0.1]), o => new ExponentialLR(o, 0.97)),
        ["cosine"] = (() => Sgd([0.1, 0.3]), o => new CosineAnnealingLR(o, 17, 0.001)),
        ["cosine_restarts"] = (() => Sgd([0.1]), o => new CosineAnnealingWarmRestarts(o, 7, 2, 1e-4)),
        ["linear"] = (() => Sgd([0.1]), o => new LinearLR(o, 0.2, 0.9, 70)),
        ["constant"] = (() => Sgd([0.1]), o => new ConstantLR(o, 0.25, 55)),
        ["polynomial"] = (() => Sgd([0.1]), o => new PolynomialLR(o, 90, 1.5)),
        ["lambda"] = (() => Sgd([0.1]), o => new LambdaLR(o, Lambdas["pow0.95"])),
        ["multiplicative"] = (() => Sgd([0.1, 0.2]), o => new MultiplicativeLR(o, Lambdas["wave"])),
        ["onecycle_sgd"] = (() => Sgd([0.1], 0.9), o => new OneCycleLR(o, 0.5, totalSteps: 120, threePhase: true)),
        ["onecycle_adam"] = (() => Adam([1e-3]), o => new OneCycleLR(o, 3e-3, totalSteps: 120)),
        ["cyclic"] = (() => Sgd([0.1], 0.9), o => new CyclicLR(o, 0.01, 0.1, 9, 14, CyclicMode.Triangular2)),
        ["plateau"] = (() => Sgd([0.1, 0.05]), o => new ReduceLROnPlateau(o, patience: 2, cooldown: 3, factor: 0.5)),
        ["sequential"] = (() => Sgd([0.1]), o => new SequentialLR(o, [new LinearLR(o, 0.1, 1, 10), new CosineAnnealingLR(o, 30), new ExponentialLR(o, 0.98)], [10, 40])),
        ["chained"] = (() => Sgd([0.1]), o => new ChainedScheduler([new ConstantLR(o, 0.1, 30), new ExponentialLR(o, 0.98), new CosineAnnealingLR(o, 25, 1e-3)])),
        ["warmup"] = (() => Sgd([0.1]), o => new WarmupSchedule(o, 12, new CosineAnnealingLR(o, 50))),
        ["warmup_plateau"] = (() => Sgd([0.1]), o => new WarmupSchedule(o, 12, new ReduceLROnPlateau(o, patience: 2))),
        ["momentum"] = (() => Sgd([0.1], 0.9), o => new MomentumSchedule(o, 0.95, 0.6, 80)),
        ["inverse_time"] = (() => Sgd([0.1]), o => new InverseTimeDecay(o, 0.3, 4, staircase: true)),
        ["inverse_sqrt"] = (() => Sgd([0.1]), o => new InverseSqrtLR(o, 15)),
    };

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void State_round_trip_mid_schedule_resumes_the_same_sequence(string name)
    {
        var (makeOptimizer, makeSchedule) = RoundTripFactories[name];
        const int total = 120, saveAt = 47;

        static void Advance(LRScheduler s, int k)
        {
            if (s.UsesMetric) s.Step(PlateauMetrics[k]);
            else s.Step();
        }

        static double[] Snapshot(Optimizer o) =>
            [.. GroupLrs(o), .. o.GroupOptions.Select(g => g is IMomentumOptions m ? m.MomentumCoefficient : double.NaN)];

        var straightOptimizer = makeOptimizer();
        var straight = makeSchedule(straightOptimizer);
        var expected = new List<double[]>();
        for (int k = 0; k < total; k++)
        {
            Advance(straight, k);
            expected.Add(Snapshot(straightOptimizer));
        }

        var firstOptimizer = makeOptimizer();
        var first = makeSchedule(firstOptimizer);
        for (int k = 0; k < saveAt; k++) Advance(first, k);
        var state = first.StateDict();

        var resumedOptimizer = makeOptimizer();
        var resumed = makeSchedule(resumedOptimizer);
        resumed.LoadStateDict(state);
        Assert.Equal(saveAt, resumed.LastEpoch);
        Assert.Equal(expected[saveAt - 1], Snapshot(resumedOptimizer));
        for (int k = saveAt; k < total; k++)
        {
            Advance(resumed, k);
            Assert.Equal(expected[k], Snapshot(resumedOptimizer));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    private static void AssertError(string expected, Action act) =>
        Assert.Equal(expected, Assert.Throws<ArgumentException>(act).Message);

    [Fact]
    public void Invalid_arguments_use_pytorch_wording()
    {
        var o = Sgd([0.1]);
        AssertError("Expected positive integer T_0, but got -1", () => new CosineAnnealingWarmRestarts(o, -1));
        AssertError("Expected integer T_mult >= 1, but got 0", () => new CosineAnnealingWarmRestarts(o, 10, tMult: 0));
        AssertError("You must define either total_steps OR (epochs AND steps_per_epoch)", () => new OneCycleLR(o, 0.1));
        AssertError("Expected positive integer total_steps, but got -5", () => new OneCycleLR(o, 0.1, totalSteps: -5));
        AssertError("Expected positive integer epochs, but got 0", () => new OneCycleLR(o, 0.1, epochs: 0, stepsPerEpoch: 10));
        AssertError("Expected positive integer steps_per_epoch, but got None", () => new OneCycleLR(o, 0.1, epochs: 3));
        AssertError("Expected float between 0 and 1 pct_start, but got 1.5", () => new OneCycleLR(o, 0.1, totalSteps: 100, pctStart: 1.5));
        AssertError("expected 1 values for max_lr, got 2", () => new OneCycleLR(o, [0.1, 0.2], totalSteps: 100));
        AssertError("Constant multiplicative factor expected to be between 0 and 1.", () => new ConstantLR(o, factor: 1.5));
        AssertError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.", () => new LinearLR(o, startFactor: 0));
        AssertError("Ending multiplicative factor expected to be between 0 and 1.", () => new LinearLR(o, endFactor: 2));
        AssertError("Expected 1 lr_lambdas, but got 2", () => new LambdaLR(o, [_ => 1.0, _ => 2.0]));
        AssertError("Expected 1 lr_lambdas, but got 0", () => new MultiplicativeLR(o, Array.Empty<Func<int, double>>()));
        AssertError("Factor should be < 1.0.", () => new ReduceLROnPlateau(o, factor: 1.0));
        AssertError("expected 1 min_lrs, got 3", () => new ReduceLROnPlateau(o, [0.0, 0.0, 0.0]));
        AssertError("expected 1 values for base_lr, got 2", () => new CyclicLR(o, [0.01, 0.02], [0.1]));
        AssertError("optimizer must support momentum with `cycle_momentum` option enabled",
            () => new OneCycleLR(new FakeOptimizer<NoMomentumOptions>([new ParamGroup<NoMomentumOptions>([new Parameter(1)], new NoMomentumOptions { Lr = 0.1 })]), 0.1, totalSteps: 10));
        AssertError("Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers 2 and the number of milestones to be equal to 2",
            () => new SequentialLR(o, [new StepLR(o, 3), new ExponentialLR(o, 0.9)], [3, 4]));
        var other = Sgd([0.1]);
        AssertError("Sequential Schedulers expects all schedulers to belong to the same optimizer, but got schedulers at index 1 to be different than the optimizer passed in.",
            () => new SequentialLR(o, [new StepLR(o, 3), new ExponentialLR(other, 0.9)], [3]));
        AssertError("ChainedScheduler expects all schedulers to belong to the same optimizer, but got schedulers at index 0 and 1 to be different",
            () => new ChainedScheduler([new StepLR(o, 3), new ExponentialLR(other, 0.9)]));
    }

    [Fact]
    public void Invalid_arguments_without_a_pytorch_message_name_the_option_and_its_range()
    {
        var o = Sgd([0.1]);
        AssertError("StepLR step_size must be a positive integer, but got 0", () => new StepLR(o, 0));
        AssertError("ExponentialLR gamma must be a positive number, but got -0.5", () => new ExponentialLR(o, -0.5));
        AssertError("CosineAnnealingLR T_max must be a positive integer, but got 0", () => new CosineAnnealingLR(o, 0));
        AssertError("PolynomialLR total_iters must be a positive integer, but got 0", () => new PolynomialLR(o, 0));
        AssertError("MultiStepLR milestones must be non-negative integers, but got -3", () => new MultiStepLR(o, [-3, 5]));
        AssertError("CyclicLR step_size_up must be a positive integer, but got 0", () => new CyclicLR(o, 0.01, 0.1, stepSizeUp: 0));
        AssertError("ReduceLROnPlateau patience must be an integer ≥ 0, but got -1", () => new ReduceLROnPlateau(o, patience: -1));
        AssertError("InverseTimeDecay decay_rate must be a finite number ≥ 0, but got -1.0", () => new InverseTimeDecay(o, -1));
        AssertError("InverseSqrtLR warmup_steps must be a positive integer, but got 0", () => new InverseSqrtLR(o, 0));
        AssertError("LinearDecayToZero final_factor must be in [0, 1], but got 1.5", () => new LinearDecayToZero(o, 10, 1.5));
        AssertError("WarmupSchedule warmup_steps must be a positive integer, but got 0", () => new WarmupSchedule(o, 0, new StepLR(o, 3)));
        AssertError("MomentumSchedule end must be in [0, 1), but got 1.0", () => new MomentumSchedule(o, 0.9, 1.0, 10));
        AssertError("OneCycleLR phase 1 spans no steps with total_steps=10 and pct_start=0.1; use more steps or another pct_start",
            () => new OneCycleLR(o, 0.1, totalSteps: 10, pctStart: 0.1));
        AssertError("SequentialLR cannot drive ReduceLROnPlateau (index 1): it steps on a metric",
            () => new SequentialLR(o, [new StepLR(o, 3), new ReduceLROnPlateau(o)], [3]));
        AssertError("cannot load a StepLR state into ExponentialLR", () => new ExponentialLR(o, 0.9).LoadStateDict(new StepLR(o, 3).StateDict()));

        var oneCycle = new OneCycleLR(Sgd([0.1]), 0.1, totalSteps: 10);
        for (int k = 0; k < 10; k++) oneCycle.Step();
        Assert.Equal("Tried to step 12 times. The specified number of total steps is 10", Assert.Throws<InvalidOperationException>(() => oneCycle.Step()).Message);
        Assert.Equal(10, oneCycle.LastEpoch);
        Assert.Throws<InvalidOperationException>(() => new ReduceLROnPlateau(Sgd([0.1])).Step());
        Assert.Throws<InvalidOperationException>(() => new StepLR(Sgd([0.1]), 3).Step(0.5));
    }

    // ---------------------------------------------------------------------------------------------
    // Registry
    // ---------------------------------------------------------------------------------------------

    private static readonly ScheduleOptions Everything = new()
    {
        StepSize = 10, Gamma = 0.5, Milestones = [10, 20], T0 = 10, DecayRate = 0.1, TotalSteps = 100, MaxLr = 0.5, StepSizeUp = 10,
    };

    public static TheoryData<string> Names() => new(Schedules.Names);

    [Theory]
    [MemberData(nameof(Names))]
    public void Registry_creates_each_name(string name)
    {
        var expectedType = new Dictionary<string, Type>
        {
            ["step"] = typeof(StepLR), ["multistep"] = typeof(MultiStepLR), ["exponential"] = typeof(ExponentialLR),
            ["inverse-time"] = typeof(InverseTimeDecay), ["cosine"] = typeof(CosineAnnealingLR), ["cosine-restarts"] = typeof(CosineAnnealingWarmRestarts),
            ["linear"] = typeof(LinearLR), ["linear-decay"] = typeof(LinearDecayToZero), ["inverse-sqrt"] = typeof(InverseSqrtLR),
            ["onecycle"] = typeof(OneCycleLR), ["cyclic"] = typeof(CyclicLR), ["polynomial"] = typeof(PolynomialLR),
            ["constant"] = typeof(ConstantLR), ["plateau"] = typeof(ReduceLROnPlateau),
        };
        var options = name == "inverse-sqrt" ? Everything with { WarmupSteps = 10 } : Everything;
        var opt = Sgd([0.1, 0.05], momentum: 0.9);
        var schedule = Schedules.Create(name, opt, options);
        Assert.IsType(expectedType[name], schedule);
        Assert.Equal(0, schedule.LastEpoch);
        for (int k = 0; k < 100; k++)
        {
            if (schedule.UsesMetric) schedule.Step(1.0);
            else schedule.Step();
        }
        Assert.All(GroupLrs(opt), lr => Assert.True(double.IsFinite(lr) && lr >= 0, $"{name}: lr {lr}"));

        var warmOpt = Sgd([0.1, 0.05], momentum: 0.9);
        var warm = Schedules.Create(name, warmOpt, options with { WarmupSteps = 10 });
        if (name == "inverse-sqrt") Assert.IsType<InverseSqrtLR>(warm);
        else
        {
            var wrapper = Assert.IsType<WarmupSchedule>(warm);
            Assert.IsType(expectedType[name], wrapper.After);
            var lrs = GroupLrs(warmOpt);
            for (int g = 0; g < lrs.Length; g++) Assert.True(RelativeError(wrapper.BaseLrs[g] / 3, lrs[g]) <= 1e-15, $"{name}: warm-up lr {lrs[g]:R}");
            for (int k = 0; k < 100; k++)
            {
                if (warm.UsesMetric) warm.Step(1.0);
                else warm.Step();
            }
        }
    }

    [Fact]
    public void Registry_reports_missing_and_invalid_options()
    {
        var o = Sgd([0.1]);
        AssertError($"unknown schedule 'sawtooth'; expected one of: {string.Join(", ", Schedules.Names)}", () => Schedules.Create("sawtooth", o));
        AssertError("the step schedule needs StepSize (step_size), a positive integer", () => Schedules.Create("step", o));
        AssertError("the multistep schedule needs Milestones (milestones), a list of periods", () => Schedules.Create("multistep", o));
        AssertError("the exponential schedule needs Gamma (gamma), the decay per period", () => Schedules.Create("exponential", o));
        AssertError("the cosine schedule needs TMax (T_max) or TotalSteps, a positive integer", () => Schedules.Create("cosine", o));
        AssertError("the cosine schedule runs for TotalSteps − WarmupSteps = 10 − 10 periods, which must be at least 1",
            () => Schedules.Create("cosine", o, new ScheduleOptions { TotalSteps = 10, WarmupSteps = 10 }));
        AssertError("the cyclic schedule needs MaxLr (max_lr), the upper lr bound", () => Schedules.Create("cyclic", o));
        AssertError("the inverse-sqrt schedule needs WarmupSteps (warmup_steps) ≥ 1, its built-in warm-up, but got 0", () => Schedules.Create("inverse-sqrt", o));
        AssertError("anneal_strategy must by one of 'cos' or 'linear', instead got cosine",
            () => Schedules.Create("onecycle", o, new ScheduleOptions { TotalSteps = 50, AnnealStrategy = "cosine" }));
        AssertError("mode is invalid and scale_fn is None", () => Schedules.Create("cyclic", o, new ScheduleOptions { MaxLr = 1, CyclicMode = "sine" }));
        AssertError("mode median is unknown!", () => Schedules.Create("plateau", o, new ScheduleOptions { Mode = "median" }));
        AssertError("threshold mode relative is unknown!", () => Schedules.Create("plateau", o, new ScheduleOptions { ThresholdMode = "relative" }));
        AssertError("Expected positive integer T_0, but got -1", () => Schedules.Create("cosine-restarts", o, new ScheduleOptions { T0 = -1 }));
        AssertError("WarmupSteps (warmup_steps) must be an integer ≥ 0, but got -2", () => Schedules.Create("step", o, new ScheduleOptions { StepSize = 3, WarmupSteps = -2 }));
    }

    [Fact]
    public void Registry_onecycle_defaults_to_the_optimizer_lr_as_peak_and_spans_the_run()
    {
        var opt = Sgd([0.2, 0.1], momentum: 0.9);
        var s = (OneCycleLR)Schedules.Create("onecycle", opt, new ScheduleOptions { TotalSteps = 80 });
        Assert.Equal(80, s.TotalSteps);
        var lrs = GroupLrs(opt);
        Assert.True(RelativeError(0.2 / 25, lrs[0]) <= 1e-14 && RelativeError(0.1 / 25, lrs[1]) <= 1e-14, $"{lrs[0]:R}, {lrs[1]:R}");
        var warm = (WarmupSchedule)Schedules.Create("onecycle", Sgd([0.2]), new ScheduleOptions { TotalSteps = 80, WarmupSteps = 20 });
        Assert.Equal(60, ((OneCycleLR)warm.After).TotalSteps);
        for (int k = 0; k < 80; k++) warm.Step();
    }
}
