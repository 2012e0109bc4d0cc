using System.Text.Json;
using Descent.Nn;
using Descent.Optim;
using Descent.Tests.Fixtures;
using Xunit.Abstractions;

namespace Descent.Tests.Optim;

/// <summary>
/// Adagrad, Adadelta, RMSprop, LBFGS and Lookahead: trajectories against tests/fixtures/optim/adaptive.json
/// (torch 1.13, see generate_adaptive.py), PyTorch's argument checks, convergence, state round trips and the
/// parallel split of the fused rules.
/// </summary>
public class AdaptiveOptimizerTests(ITestOutputHelper output)
{
    private static readonly JsonElement Root = Fixture.Load("optim/adaptive.json");
    private static readonly JsonElement Problems = FixtureProblems.Problems;
    private static readonly float[] QuadraticA = Fixture.Floats(Problems.GetProperty("quadratic").GetProperty("A").GetProperty("data"));
    private static readonly float[] QuadraticC = Fixture.Floats(Problems.GetProperty("quadratic").GetProperty("c"));

    private static IEnumerable<JsonElement> RunsOf(params string[] optimizers) =>
        Root.GetProperty("runs").EnumerateArray().Where(r => optimizers.Contains(r.GetProperty("optimizer").GetString()));

    private static JsonElement Run(string id) => Root.GetProperty("runs").EnumerateArray().First(r => r.GetProperty("id").GetString() == id);

    public static TheoryData<string> ElementwiseRuns() => new(RunsOf("Adagrad", "Adadelta", "RMSprop").Select(r => r.GetProperty("id").GetString()!));

    public static TheoryData<string> LbfgsRuns() => new(RunsOf("LBFGS").Select(r => r.GetProperty("id").GetString()!));

    public static TheoryData<string> LookaheadRuns() => new(RunsOf("Lookahead").Select(r => r.GetProperty("id").GetString()!));

    // ------------------------------------------------------------------------------------------------
    // Problems: the float32 formulas of sgd.json (gradient) and adaptive.json (loss), in the same order.
    // The gradient is FixtureProblems.Gradient with A parsed once: the convergence runs call it 20,000 times.
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public void Gradient_is_the_shared_fixture_formula()
    {
        foreach (var problem in new[] { "quadratic", "rosenbrock" })
        {
            var x = X0(problem);
            for (int k = 0; k < 3; k++)
            {
                Assert.Equal(FixtureProblems.Gradient(Problems.GetProperty(problem), problem, x), Gradient(problem, x));
                for (int i = 0; i < x.Length; i++) x[i] = x[i] * 0.7f + 0.3f;
            }
        }
    }

    private static float[] Gradient(string problem, ReadOnlySpan<float> x)
    {
        if (problem == "rosenbrock")
        {
            float u = 1f - x[0], v = x[1] - x[0] * x[0];
            return [(-2f * u) - ((400f * x[0]) * v), 200f * v];
        }
        int n = QuadraticC.Length;
        var d = new float[n];
        for (int i = 0; i < n; i++) d[i] = x[i] - QuadraticC[i];
        var g = new float[n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                float prod = QuadraticA[i * n + j] * d[j];
                g[i] = g[i] + prod;
            }
        return g;
    }

    private static float Loss(string problem, ReadOnlySpan<float> x)
    {
        if (problem == "rosenbrock")
        {
            float u = 1f - x[0], v = x[1] - x[0] * x[0];
            float uu = u * u, vv = v * v;
            float hundredVv = 100f * vv;
            return uu + hundredVv;
        }
        var g = Gradient(problem, x);
        float s = 0;
        for (int i = 0; i < g.Length; i++)
        {
            float prod = (x[i] - QuadraticC[i]) * g[i];
            s = s + prod;
        }
        return 0.5f * s;
    }

    private static float[] Optimum(string problem) => problem == "rosenbrock" ? [1f, 1f] : QuadraticC;

    private static float[] X0(string problem) => Fixture.Floats(Problems.GetProperty(problem).GetProperty("x0"));

    /// <summary>Sets the parameter's gradient at its current value (negated for a negated objective).</summary>
    private static void SetGradient(Parameter p, string problem, bool negate = false)
    {
        var g = Gradient(problem, p.Data);
        if (negate) for (int i = 0; i < g.Length; i++) g[i] = -g[i];
        g.CopyTo(p.Grad!.Data);
    }

    private static Func<float> Closure(Parameter p, string problem) => () =>
    {
        SetGradient(p, problem);
        return Loss(problem, p.Data);
    };

    private static double MaxRelativeError(float[] expected, ReadOnlySpan<float> actual)
    {
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(actual[i] - (double)expected[i]) / Math.Max(1, Math.Abs(expected[i])));
        return worst;
    }

    private static double D(JsonElement h, string name) => h.GetProperty(name).GetDouble();

    private static bool B(JsonElement h, string name) => h.GetProperty(name).GetBoolean();

    // ------------------------------------------------------------------------------------------------
    // Fixture trajectories
    // ------------------------------------------------------------------------------------------------

    private static Optimizer ElementwiseOptimizer(string name, JsonElement h, Parameter p) => name switch
    {
        "Adagrad" => new Adagrad([p], lr: D(h, "lr"), lrDecay: D(h, "lr_decay"), weightDecay: D(h, "weight_decay"), initialAccumulatorValue: D(h, "initial_accumulator_value"), eps: D(h, "eps"), maximize: B(h, "maximize")),
        "Adadelta" => new Adadelta([p], lr: D(h, "lr"), rho: D(h, "rho"), eps: D(h, "eps"), weightDecay: D(h, "weight_decay"), maximize: B(h, "maximize")),
        "RMSprop" => new RMSprop([p], lr: D(h, "lr"), alpha: D(h, "alpha"), eps: D(h, "eps"), weightDecay: D(h, "weight_decay"), momentum: D(h, "momentum"), centered: B(h, "centered"), maximize: B(h, "maximize")),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(ElementwiseRuns))]
    public void Elementwise_trajectory_matches_pytorch(string id)
    {
        var run = Run(id);
        string problem = run.GetProperty("problem").GetString()!;
        bool negate = run.GetProperty("objective").GetString() == "negated";
        var rows = run.GetProperty("params").EnumerateArray().Select(Fixture.Floats).ToArray();
        var p = new Parameter(Tensor.FromArray(rows[0], rows[0].Length));
        var optimizer = ElementwiseOptimizer(run.GetProperty("optimizer").GetString()!, run.GetProperty("hyper"), p);
        double worst = 0;
        for (int step = 1; step < rows.Length; step++)
        {
            SetGradient(p, problem, negate);
            optimizer.Step();
            worst = Math.Max(worst, MaxRelativeError(rows[step], p.Data));
            Fixture.AssertClose(rows[step], p.Data, 1e-5, 1e-5, $"{id} step {step}");
        }
        Assert.Equal(100, rows.Length - 1);
        output.WriteLine($"{id}: max relative error {worst:G3}");
        Assert.True(worst <= 1e-5, $"{id}: max relative error {worst:G3}");
    }

    [Theory]
    [MemberData(nameof(LbfgsRuns))]
    public void Lbfgs_trajectory_and_counters_match_pytorch(string id)
    {
        var run = Run(id);
        string problem = run.GetProperty("problem").GetString()!;
        var h = run.GetProperty("hyper");
        var rows = run.GetProperty("params").EnumerateArray().Select(Fixture.Floats).ToArray();
        var evals = Fixture.Ints(run.GetProperty("func_evals"));
        var iters = Fixture.Ints(run.GetProperty("n_iter"));
        var losses = Fixture.Floats(run.GetProperty("step_losses"));
        var p = new Parameter(Tensor.FromArray(rows[0], rows[0].Length));
        var lbfgs = new LBFGS([p], lr: D(h, "lr"), maxIter: h.GetProperty("max_iter").GetInt32(), maxEval: h.GetProperty("max_eval").GetInt32(),
            toleranceGrad: D(h, "tolerance_grad"), toleranceChange: D(h, "tolerance_change"), historySize: h.GetProperty("history_size").GetInt32(),
            lineSearchFn: h.GetProperty("line_search_fn").ValueKind == JsonValueKind.Null ? LineSearch.None : LineSearch.StrongWolfe);
        double worst = 0;
        for (int step = 1; step < rows.Length; step++)
        {
            float loss = lbfgs.Step(Closure(p, problem));
            worst = Math.Max(worst, MaxRelativeError(rows[step], p.Data));
            Fixture.AssertClose(rows[step], p.Data, 1e-4, 1e-4, $"{id} step {step}");
            Assert.True(Math.Abs(loss - losses[step - 1]) <= 1e-4 * Math.Max(1, Math.Abs(losses[step - 1])), $"{id} step {step}: loss {loss} vs {losses[step - 1]}");
            Assert.Equal((evals[step - 1], iters[step - 1]), ((int)lbfgs.FunctionEvaluations, (int)lbfgs.Iterations));
        }
        Assert.True(rows.Length - 1 >= 20);
        output.WriteLine($"{id}: max relative error {worst:G3}");
    }

    /// <summary>torch 1.13's single-tensor Adam (no weight decay, no amsgrad) as a fast optimizer for Lookahead.</summary>
    private sealed record PlainAdamOptions : OptimizerOptions
    {
        public double Beta1 { get; init; } = 0.9;
        public double Beta2 { get; init; } = 0.999;
        public double Eps { get; init; } = 1e-8;
    }

    /// <summary>Its state stays out of state dicts: only its steps matter here.</summary>
    private sealed class PlainAdam(IEnumerable<Parameter> parameters, double lr) : Optimizer<PlainAdamOptions>(parameters, new PlainAdamOptions { Lr = lr })
    {
        private float[]? _m, _v;
        private double _step;

        protected override void StepGroup(int groupIndex, PlainAdamOptions o, ArenaSlice slice)
        {
            _m ??= new float[slice.Length];
            _v ??= new float[slice.Length];
            _step++;
            double stepSize = o.Lr / (1 - Math.Pow(o.Beta1, _step));
            float bc2Sqrt = (float)Math.Sqrt(1 - Math.Pow(o.Beta2, _step));
            float b1 = (float)o.Beta1, b2 = (float)o.Beta2, oneMinusB1 = (float)(1 - o.Beta1), oneMinusB2 = (float)(1 - o.Beta2), eps = (float)o.Eps, negStep = (float)-stepSize;
            var p = slice.Param;
            ReadOnlySpan<float> g = slice.Gradient;
            for (int i = 0; i < slice.Length; i++)
            {
                _m[i] = MathF.FusedMultiplyAdd(oneMinusB1, g[i], _m[i] * b1);
                _v[i] = MathF.FusedMultiplyAdd(oneMinusB2 * g[i], g[i], _v[i] * b2);
                float denom = MathF.Sqrt(_v[i]) / bc2Sqrt + eps;
                p[i] += negStep * _m[i] / denom;
            }
        }
    }

    [Theory]
    [MemberData(nameof(LookaheadRuns))]
    public void Lookahead_trajectory_matches_reference(string id)
    {
        var run = Run(id);
        string problem = run.GetProperty("problem").GetString()!;
        var h = run.GetProperty("hyper");
        var inner = h.GetProperty("inner_hyper");
        var rows = run.GetProperty("params").EnumerateArray().Select(Fixture.Floats).ToArray();
        var p = new Parameter(Tensor.FromArray(rows[0], rows[0].Length));
        Optimizer fast = h.GetProperty("inner").GetString() == "SGD"
            ? new SGD([p], lr: D(inner, "lr"), momentum: D(inner, "momentum"))
            : new PlainAdam([p], D(inner, "lr"));
        var lookahead = new Lookahead(fast, h.GetProperty("k").GetInt32(), D(h, "alpha"));
        double worst = 0;
        for (int step = 1; step < rows.Length; step++)
        {
            SetGradient(p, problem);
            lookahead.Step();
            worst = Math.Max(worst, MaxRelativeError(rows[step], p.Data));
            Fixture.AssertClose(rows[step], p.Data, 1e-5, 1e-5, $"{id} step {step}");
        }
        output.WriteLine($"{id}: max relative error {worst:G3}");
    }

    // ------------------------------------------------------------------------------------------------
    // Arguments
    // ------------------------------------------------------------------------------------------------

    private static string MessageOf(Action construct) => Assert.ThrowsAny<ArgumentException>(construct).Message.Split(" (Parameter")[0];

    [Fact]
    public void Invalid_hyperparameters_use_pytorch_wording()
    {
        var p = new Parameter(2);
        Assert.Equal("Invalid learning rate: -1", MessageOf(() => new Adagrad([p], lr: -1)));
        Assert.Equal("Invalid lr_decay value: -0.1", MessageOf(() => new Adagrad([p], lrDecay: -0.1)));
        Assert.Equal("Invalid weight_decay value: -1", MessageOf(() => new Adagrad([p], weightDecay: -1)));
        Assert.Equal("Invalid initial_accumulator_value value: -0.5", MessageOf(() => new Adagrad([p], initialAccumulatorValue: -0.5)));
        Assert.Equal("Invalid epsilon value: -1e-10", MessageOf(() => new Adagrad([p], eps: -1e-10)));

        Assert.Equal("Invalid learning rate: -0.5", MessageOf(() => new Adadelta([p], lr: -0.5)));
        Assert.Equal("Invalid rho value: 1.5", MessageOf(() => new Adadelta([p], rho: 1.5)));
        Assert.Equal("Invalid rho value: -0.1", MessageOf(() => new Adadelta([p], rho: -0.1)));
        Assert.Equal("Invalid epsilon value: -1e-06", MessageOf(() => new Adadelta([p], eps: -1e-6)));
        Assert.Equal("Invalid weight_decay value: -0.01", MessageOf(() => new Adadelta([p], weightDecay: -0.01)));

        Assert.Equal("Invalid learning rate: -0.01", MessageOf(() => new RMSprop([p], lr: -0.01)));
        Assert.Equal("Invalid epsilon value: -1e-08", MessageOf(() => new RMSprop([p], eps: -1e-8)));
        Assert.Equal("Invalid momentum value: -0.9", MessageOf(() => new RMSprop([p], momentum: -0.9)));
        Assert.Equal("Invalid weight_decay value: -1", MessageOf(() => new RMSprop([p], weightDecay: -1)));
        Assert.Equal("Invalid alpha value: -0.99", MessageOf(() => new RMSprop([p], alpha: -0.99)));
        // PyTorch's order: the first failing check wins.
        Assert.Equal("Invalid epsilon value: -1", MessageOf(() => new RMSprop([p], eps: -1, alpha: -1)));

        Assert.Equal("Invalid learning rate: -1", MessageOf(() => new LBFGS([p], lr: -1)));
        Assert.Equal("Invalid max_iter value: 0", MessageOf(() => new LBFGS([p], maxIter: 0)));
        Assert.Equal("Invalid history_size value: 0", MessageOf(() => new LBFGS([p], historySize: 0)));
        Assert.Equal("Invalid max_eval value: 0", MessageOf(() => new LBFGS([p], maxEval: 0)));
        Assert.StartsWith("LBFGS has no weight_decay", MessageOf(() => new LBFGS([new ParamGroup<LBFGSOptions>([p], new LBFGSOptions { WeightDecay = 0.1 })])));
        Assert.Equal("only 'strong_wolfe' is supported", MessageOf(() => new LBFGS([p], lineSearchFn: (LineSearch)7)));
        var q = new Parameter(3);
        Assert.Equal("LBFGS doesn't support per-parameter options (parameter groups)",
            MessageOf(() => new LBFGS([new ParamGroup<LBFGSOptions>([p], new LBFGSOptions()), new ParamGroup<LBFGSOptions>([q], new LBFGSOptions())])));

        var sgd = new SGD([p], lr: 0.1);
        Assert.Equal("Invalid slow update rate: 1.5", MessageOf(() => new Lookahead(sgd, alpha: 1.5)));
        Assert.Equal("Invalid lookahead steps: 0", MessageOf(() => new Lookahead(sgd, k: 0)));
    }

    [Fact]
    public void Defaults_are_pytorchs()
    {
        var p = new Parameter(2);
        var adagrad = new Adagrad([p]).ParamGroups[0].Options;
        Assert.Equal((1e-2, 0.0, 0.0, 0.0, 1e-10, false), (adagrad.Lr, adagrad.LrDecay, adagrad.WeightDecay, adagrad.InitialAccumulatorValue, adagrad.Eps, adagrad.Maximize));
        var adadelta = new Adadelta([p]).ParamGroups[0].Options;
        Assert.Equal((1.0, 0.9, 1e-6, 0.0, false), (adadelta.Lr, adadelta.Rho, adadelta.Eps, adadelta.WeightDecay, adadelta.Maximize));
        var rmsprop = new RMSprop([p]).ParamGroups[0].Options;
        Assert.Equal((1e-2, 0.99, 1e-8, 0.0, 0.0, false, false), (rmsprop.Lr, rmsprop.Alpha, rmsprop.Eps, rmsprop.WeightDecay, rmsprop.Momentum, rmsprop.Centered, rmsprop.Maximize));
        var lbfgs = new LBFGS([p]).ParamGroups[0].Options;
        Assert.Equal((1.0, 20, 25, 1e-7, 1e-9, 100, LineSearch.None), (lbfgs.Lr, lbfgs.MaxIter, lbfgs.MaxEval, lbfgs.ToleranceGrad, lbfgs.ToleranceChange, lbfgs.HistorySize, lbfgs.LineSearchFn));
        Assert.Equal(12, new LBFGS([p], maxIter: 10).ParamGroups[0].Options.MaxEval);
        var lookahead = new Lookahead(new SGD([p], lr: 0.1));
        Assert.Equal((5, 0.5), (lookahead.K, lookahead.Alpha));
        Assert.Same(lookahead.Inner.Arena, lookahead.Arena);
    }

    [Fact]
    public void Lbfgs_requires_a_closure()
    {
        var p = new Parameter(Tensor.FromArray([1f, 2f], 2));
        var lbfgs = new LBFGS([p]);
        Assert.True(lbfgs.RequiresClosure);
        Assert.True(new Lookahead(lbfgs).RequiresClosure);
        Assert.False(new Lookahead(new Adagrad([new Parameter(2)])).RequiresClosure);
        Assert.Contains("LBFGS needs a closure", Assert.Throws<InvalidOperationException>(lbfgs.Step).Message);
        Assert.Throws<InvalidOperationException>(new Lookahead(lbfgs).Step);
        // Through Lookahead with a closure it runs.
        var q = new Parameter(Tensor.FromArray([-1.2f, 1f], 2));
        var wrapped = new Lookahead(new LBFGS([q], lineSearchFn: LineSearch.StrongWolfe), k: 2);
        for (int i = 0; i < 60; i++) wrapped.Step(Closure(q, "rosenbrock"));
        Assert.True(MaxRelativeError([1f, 1f], q.Data) < 1e-3, $"ended at ({q.Data[0]}, {q.Data[1]})");
    }

    [Fact]
    public void Lookahead_drives_the_inner_learning_rate_and_counts_inner_steps()
    {
        var p = new Parameter(Tensor.FromArray([1f], 1));
        var inner = new SGD([p], lr: 0.1);
        var lookahead = new Lookahead(inner, k: 2, alpha: 0.5);
        Assert.Same(inner.ParamGroups[0].Options, lookahead.GroupOptions[0]);
        lookahead.GroupOptions[0].Lr = 0.5;
        p.Grad!.Data[0] = 1f;
        lookahead.Step();
        Assert.Equal(0.5f, p.Data[0]);
        Assert.Equal(1, lookahead.StepsSinceSync);
        lookahead.Step();
        // fast 0 after two steps; slow 1 + 0.5·(0 − 1) = 0.5; fast reset to slow.
        Assert.Equal(0.5f, p.Data[0]);
        Assert.Equal(0.5f, lookahead.SlowWeights[0]);
        Assert.Equal((0, 2L, 2L), (lookahead.StepsSinceSync, lookahead.StepCount, inner.StepCount));
    }

    // ------------------------------------------------------------------------------------------------
    // Convergence
    // ------------------------------------------------------------------------------------------------

    public static TheoryData<string, string, int, double> ConvergenceCases() => new()
    {
        { "Adagrad(lr 0.5)", "quadratic", 1000, 1e-4 },
        { "Adagrad(lr 0.5)", "rosenbrock", 5000, 0.05 },
        { "Adadelta(lr 0.03)", "quadratic", 20000, 1e-4 },
        { "Adadelta(lr 0.03)", "rosenbrock", 20000, 0.02 },
        { "RMSprop(lr 1e-3, momentum 0.9, centered)", "quadratic", 2000, 2e-3 },
        { "RMSprop(lr 1e-4, momentum 0.9)", "rosenbrock", 10000, 1e-3 },
        { "LBFGS", "quadratic", 5, 1e-4 },
        { "LBFGS(lr 0.1)", "rosenbrock", 20, 1e-4 },
        { "LBFGS(strong_wolfe)", "quadratic", 5, 1e-4 },
        { "LBFGS(strong_wolfe)", "rosenbrock", 10, 1e-4 },
        { "Lookahead(SGD lr 0.01, momentum 0.9)", "quadratic", 1000, 1e-4 },
        { "Lookahead(SGD lr 0.001, momentum 0.9)", "rosenbrock", 20000, 1e-4 },
        { "Lookahead(RMSprop lr 1e-4, momentum 0.9)", "rosenbrock", 10000, 1e-4 },
    };

    private static Optimizer Build(string name, Parameter p) => name switch
    {
        "Adagrad(lr 0.5)" => new Adagrad([p], lr: 0.5),
        "Adadelta(lr 0.03)" => new Adadelta([p], lr: 0.03),
        "RMSprop(lr 1e-3, momentum 0.9, centered)" => new RMSprop([p], lr: 1e-3, momentum: 0.9, centered: true),
        "RMSprop(lr 1e-4, momentum 0.9)" => new RMSprop([p], lr: 1e-4, momentum: 0.9),
        "LBFGS" => new LBFGS([p]),
        "LBFGS(lr 0.1)" => new LBFGS([p], lr: 0.1),
        "LBFGS(strong_wolfe)" => new LBFGS([p], lineSearchFn: LineSearch.StrongWolfe),
        "Lookahead(SGD lr 0.01, momentum 0.9)" => new Lookahead(new SGD([p], lr: 0.01, momentum: 0.9)),
        "Lookahead(SGD lr 0.001, momentum 0.9)" => new Lookahead(new SGD([p], lr: 0.001, momentum: 0.9)),
        "Lookahead(RMSprop lr 1e-4, momentum 0.9)" => new Lookahead(new RMSprop([p], lr: 1e-4, momentum: 0.9)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(ConvergenceCases))]
    public void Converges(string optimizer, string problem, int steps, double tolerance)
    {
        var p = new Parameter(Tensor.FromArray(X0(problem), X0(problem).Length));
        var opt = Build(optimizer, p);
        bool needsClosure = opt is LBFGS || (opt is Lookahead { Inner: LBFGS });
        for (int i = 0; i < steps; i++)
        {
            if (needsClosure) opt.Step(Closure(p, problem));
            else
            {
                SetGradient(p, problem);
                opt.Step();
            }
        }
        var optimum = Optimum(problem);
        double distance = 0;
        for (int i = 0; i < optimum.Length; i++) distance = Math.Max(distance, Math.Abs(p.Data[i] - optimum[i]));
        output.WriteLine($"{optimizer} on {problem}: max |x − x*| = {distance:G3} after {steps} steps");
        Assert.True(distance <= tolerance, $"{optimizer} on {problem}: max |x − x*| = {distance:G3} after {steps} steps");
    }

    // ------------------------------------------------------------------------------------------------
    // State round trip
    // ------------------------------------------------------------------------------------------------

    public static TheoryData<string> RoundTripCases() =>
    [
        "Adagrad", "Adadelta", "RMSprop", "RMSprop two groups", "LBFGS", "LBFGS strong_wolfe", "Lookahead(SGD)", "Lookahead(RMSprop)",
    ];

    private static (Optimizer Optimizer, Parameter[] Params) BuildForRoundTrip(string name, float[] values, bool fresh)
    {
        // A fresh optimizer gets other hyperparameters: the state dict must bring back the saved ones.
        double scale = fresh ? 3 : 1;
        if (name == "RMSprop two groups")
        {
            var first = new Parameter(Tensor.FromArray(values[..4], 4));
            var second = new Parameter(Tensor.FromArray(values[4..], values.Length - 4));
            var groups = new RMSprop([new ParamGroup<RMSpropOptions>([first], new RMSpropOptions { Lr = 0.01 * scale }),
                new ParamGroup<RMSpropOptions>([second], new RMSpropOptions { Lr = 0.02, Momentum = 0.9, Centered = true })]);
            return (groups, [first, second]);
        }
        var p = new Parameter(Tensor.FromArray(values, values.Length));
        Optimizer o = name switch
        {
            "Adagrad" => new Adagrad([p], lr: 0.1 * scale, lrDecay: 0.01, weightDecay: 0.05, initialAccumulatorValue: 0.1),
            "Adadelta" => new Adadelta([p], lr: 0.5 * scale, rho: 0.8, weightDecay: 0.05),
            "RMSprop" => new RMSprop([p], lr: 0.01 * scale, momentum: 0.5, centered: true, weightDecay: 0.05),
            "LBFGS" => new LBFGS([p], lr: 1 * scale, maxIter: 3, historySize: 2),
            "LBFGS strong_wolfe" => new LBFGS([p], lr: 1 * scale, maxIter: 3, historySize: 2, lineSearchFn: LineSearch.StrongWolfe),
            "Lookahead(SGD)" => new Lookahead(new SGD([p], lr: 0.01 * scale, momentum: 0.9), k: 3),
            "Lookahead(RMSprop)" => new Lookahead(new RMSprop([p], lr: 0.01 * scale, momentum: 0.9), k: 3),
            _ => throw new ArgumentException(name),
        };
        return (o, [p]);
    }

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void State_dict_round_trip_resumes_bit_for_bit(string name)
    {
        const int total = 8, saveAt = 4;
        float[] Run(bool resume)
        {
            var (opt, ps) = BuildForRoundTrip(name, X0("quadratic"), fresh: false);
            float[] Values() => ps.SelectMany(q => q.ToArray()).ToArray();
            void Step()
            {
                Func<float> closure = () =>
                {
                    var x = Values();
                    var g = Gradient("quadratic", x);
                    int offset = 0;
                    foreach (var q in ps)
                    {
                        g.AsSpan(offset, q.Numel).CopyTo(q.Grad!.Data);
                        offset += q.Numel;
                    }
                    return Loss("quadratic", x);
                };
                if (opt is LBFGS) opt.Step(closure);
                else
                {
                    closure();
                    opt.Step();
                }
            }
            for (int i = 0; i < total; i++)
            {
                if (resume && i == saveAt)
                {
                    var saved = opt.StateDict();
                    (opt, ps) = BuildForRoundTrip(name, Values(), fresh: true);
                    opt.LoadStateDict(saved);
                }
                Step();
            }
            return Values();
        }
        Assert.Equal(Run(false), Run(true));
    }

    [Fact]
    public void State_dict_names_follow_pytorch()
    {
        var p = new Parameter(Tensor.FromArray([1f, 2f], 2));
        var adagrad = new Adagrad([p]);
        p.Grad!.Data.Fill(0.5f);
        Assert.Equal(new[] { "0.sum" }, adagrad.StateDict().Buffers.Keys);
        adagrad.Step();
        Assert.Equal(1.0, adagrad.StateDict().Scalars["0.step"]);

        var rmsprop = new RMSprop([p], momentum: 0.9, centered: true);
        rmsprop.Step();
        Assert.Equal(new[] { "0.square_avg", "0.momentum_buffer", "0.grad_avg" }, rmsprop.StateDict().Buffers.Keys);
        var adadelta = new Adadelta([p]);
        adadelta.Step();
        Assert.Equal(new[] { "0.square_avg", "0.acc_delta" }, adadelta.StateDict().Buffers.Keys);

        var lbfgs = new LBFGS([p], maxIter: 3);
        lbfgs.Step(Closure(p, "rosenbrock"));
        var state = lbfgs.StateDict();
        Assert.Equal(new[] { "0.d", "0.prev_flat_grad", "0.ro", "0.old_dirs", "0.old_stps" }, state.Buffers.Keys);
        Assert.Equal(new[] { "0.func_evals", "0.n_iter", "0.t", "0.t_float32", "0.H_diag", "0.prev_loss" }, state.Scalars.Keys);
        Assert.Equal(((double)lbfgs.FunctionEvaluations, (double)lbfgs.Iterations), (state.Scalars["0.func_evals"], state.Scalars["0.n_iter"]));
        Assert.Equal(2 * state.Buffers["0.ro"].Length, state.Buffers["0.old_dirs"].Length);

        var lookahead = new Lookahead(new RMSprop([p]), k: 3);
        lookahead.Step();
        var wrapped = lookahead.StateDict();
        Assert.Equal("Lookahead(RMSprop)", wrapped.Optimizer);
        Assert.Equal(new[] { "inner.0.square_avg", "slow_weights" }, wrapped.Buffers.Keys);
        Assert.Equal(1.0, wrapped.Scalars["lookahead_step"]);
        Assert.Throws<ArgumentException>(() => new Lookahead(new Adagrad([new Parameter(2)])).LoadStateDict(wrapped));
    }

    // ------------------------------------------------------------------------------------------------
    // Parallel split
    // ------------------------------------------------------------------------------------------------

    public static TheoryData<string> ParallelCases() => ["Adagrad", "Adadelta", "RMSprop", "RMSprop centered", "Lookahead(Adagrad)"];

    private static Optimizer BuildElementwise(string name, Parameter p) => name switch
    {
        "Adagrad" => new Adagrad([p], lr: 0.1, lrDecay: 0.01, weightDecay: 0.05, initialAccumulatorValue: 0.1, maximize: true),
        "Adadelta" => new Adadelta([p], lr: 0.5, rho: 0.8, eps: 1e-5, weightDecay: 0.05),
        "RMSprop" => new RMSprop([p], lr: 0.01, alpha: 0.9, weightDecay: 0.05),
        "RMSprop centered" => new RMSprop([p], lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.05, maximize: true),
        "Lookahead(Adagrad)" => new Lookahead(new Adagrad([p], lr: 0.1), k: 2, alpha: 0.3),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(ParallelCases))]
    public void Large_group_in_parallel_equals_small_group(string name)
    {
        const int large = 300_000, small = 1_000, steps = 4;
        var random = new Random(1234);
        var values = new float[large];
        for (int i = 0; i < large; i++) values[i] = (float)(random.NextDouble() * 4 - 2);
        var grads = new float[steps][];
        for (int s = 0; s < steps; s++)
        {
            grads[s] = new float[large];
            for (int i = 0; i < large; i++) grads[s][i] = (float)(random.NextDouble() * 2 - 1);
        }
        // 300,000 elements take the parallel, vectorized path; 1,000 the inline one with a scalar tail; 15 only
        // the scalar loop.
        var big = new Parameter(Tensor.FromArray(values, large));
        var little = new Parameter(Tensor.FromArray(values[..small], small));
        var tiny = new Parameter(Tensor.FromArray(values[..15], 15));
        var runs = new[] { (big, BuildElementwise(name, big)), (little, BuildElementwise(name, little)), (tiny, BuildElementwise(name, tiny)) };
        for (int s = 0; s < steps; s++)
            foreach (var (p, opt) in runs)
            {
                grads[s].AsSpan(0, p.Numel).CopyTo(p.Grad!.Data);
                opt.Step();
            }
        Assert.Equal(little.ToArray(), big.Data[..small].ToArray());
        Assert.Equal(tiny.ToArray(), big.Data[..15].ToArray());
        Assert.NotEqual(values[..small], little.ToArray());
    }
}
