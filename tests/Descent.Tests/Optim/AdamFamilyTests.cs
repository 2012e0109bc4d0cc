using System.Text.Json;
using Descent.Nn;
using Descent.Optim;
using Descent.Tests.Fixtures;
using Xunit.Abstractions;

namespace Descent.Tests.Optim;

/// <summary>
/// Adam, AdamW, NAdam, RAdam, Adamax and Lion: trajectories against tests/fixtures/optim/adam_family.json
/// (PyTorch 1.13; corrected NAdam; Lion from its paper), PyTorch's refusals, convergence, state round trips
/// and the parallel split of a large group.
/// </summary>
public class AdamFamilyTests(ITestOutputHelper output)
{
    private static readonly JsonElement Root = Fixture.Load("optim/adam_family.json");
    private static readonly JsonElement Problems = FixtureProblems.Problems;

    public static readonly TheoryData<string> OptimizerNames = new(["Adam", "AdamW", "NAdam", "RAdam", "Adamax", "Lion"]);

    public static TheoryData<string> Runs() => new(Root.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString()!));

    [Theory]
    [MemberData(nameof(Runs))]
    public void Trajectory_matches_reference(string id)
    {
        var run = Root.GetProperty("runs").EnumerateArray().First(r => r.GetProperty("id").GetString() == id);
        string problemName = run.GetProperty("problem").GetString()!;
        var problem = Problems.GetProperty(problemName);
        var rows = run.GetProperty("params").EnumerateArray().Select(Fixture.Floats).ToArray();
        bool negated = run.GetProperty("objective").GetString() == "negated";

        // One parameter per group, so the groups map onto PyTorch's param_groups.
        var slices = new List<(int Start, Parameter P, JsonElement Group)>();
        foreach (var g in run.GetProperty("groups").EnumerateArray())
        {
            int start = g.GetProperty("start").GetInt32(), end = g.GetProperty("end").GetInt32();
            slices.Add((start, new Parameter(Tensor.FromArray(rows[0][start..end], end - start)), g));
        }
        var optimizer = FromFixture(run.GetProperty("optimizer").GetString()!, slices.Select(s => (s.P, s.Group)).ToList());
        double[]? schedule = run.GetProperty("lr_schedule").ValueKind == JsonValueKind.Array
            ? run.GetProperty("lr_schedule").EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;

        int n = rows[0].Length;
        var x = (float[])rows[0].Clone();
        double worst = 0;
        for (int step = 0; step < rows.Length - 1; step++)
        {
            var g = FixtureProblems.Gradient(problem, problemName, x);
            if (negated) for (int i = 0; i < n; i++) g[i] = -g[i];
            foreach (var (start, p, _) in slices) g.AsSpan(start, p.Numel).CopyTo(p.Grad!.Data);
            if (schedule is not null) foreach (var options in optimizer.GroupOptions) options.Lr = schedule[step];
            optimizer.Step();
            foreach (var (start, p, _) in slices) p.Data.CopyTo(x.AsSpan(start));
            for (int i = 0; i < n; i++)
            {
                double expected = rows[step + 1][i], error = Math.Abs(x[i] - expected) / Math.Max(1, Math.Abs(expected));
                worst = Math.Max(worst, error);
                Assert.True(error <= 1e-5, $"{id} step {step + 1} [{i}]: reference {expected:R}, Descent {x[i]:R} (relative error {error:G3})");
            }
        }
        output.WriteLine($"{id}: max relative error {worst:G3} over {rows.Length - 1} steps");
    }

    private static Optimizer FromFixture(string name, IReadOnlyList<(Parameter P, JsonElement G)> groups)
    {
        static (double, double) Betas(JsonElement g) => (g.GetProperty("betas")[0].GetDouble(), g.GetProperty("betas")[1].GetDouble());
        static double D(JsonElement g, string key) => g.GetProperty(key).GetDouble();
        static bool B(JsonElement g, string key) => g.GetProperty(key).GetBoolean();
        return name switch
        {
            "Adam" => new Adam(groups.Select(x => new ParamGroup<AdamOptions>([x.P], new AdamOptions
            { Lr = D(x.G, "lr"), Betas = Betas(x.G), Eps = D(x.G, "eps"), WeightDecay = D(x.G, "weight_decay"), Amsgrad = B(x.G, "amsgrad"), Maximize = B(x.G, "maximize") }))),
            "AdamW" => new AdamW(groups.Select(x => new ParamGroup<AdamWOptions>([x.P], new AdamWOptions
            { Lr = D(x.G, "lr"), Betas = Betas(x.G), Eps = D(x.G, "eps"), WeightDecay = D(x.G, "weight_decay"), Amsgrad = B(x.G, "amsgrad"), Maximize = B(x.G, "maximize") }))),
            "NAdam" => new NAdam(groups.Select(x => new ParamGroup<NAdamOptions>([x.P], new NAdamOptions
            { Lr = D(x.G, "lr"), Betas = Betas(x.G), Eps = D(x.G, "eps"), WeightDecay = D(x.G, "weight_decay"), MomentumDecay = D(x.G, "momentum_decay") }))),
            "RAdam" => new RAdam(groups.Select(x => new ParamGroup<RAdamOptions>([x.P], new RAdamOptions
            { Lr = D(x.G, "lr"), Betas = Betas(x.G), Eps = D(x.G, "eps"), WeightDecay = D(x.G, "weight_decay") }))),
            "Adamax" => new Adamax(groups.Select(x => new ParamGroup<AdamaxOptions>([x.P], new AdamaxOptions
            { Lr = D(x.G, "lr"), Betas = Betas(x.G), Eps = D(x.G, "eps"), WeightDecay = D(x.G, "weight_decay"), Maximize = B(x.G, "maximize") }))),
            "Lion" => new Lion(groups.Select(x => new ParamGroup<LionOptions>([x.P], new LionOptions
            { Lr = D(x.G, "lr"), Betas = Betas(x.G), WeightDecay = D(x.G, "weight_decay") }))),
            _ => throw new ArgumentException(name),
        };
    }

    /// <summary>Each optimizer with every state buffer and branch switched on.</summary>
    private static Optimizer Create(string name, IEnumerable<Parameter> parameters, double lr) => name switch
    {
        "Adam" => new Adam(parameters, lr: lr, weightDecay: 0.01, amsgrad: true),
        "AdamW" => new AdamW(parameters, lr: lr, weightDecay: 0.05, amsgrad: true, maximize: true),
        "NAdam" => new NAdam(parameters, lr: lr, weightDecay: 0.01),
        "RAdam" => new RAdam(parameters, lr: lr, weightDecay: 0.01),
        "Adamax" => new Adamax(parameters, lr: lr, weightDecay: 0.01, maximize: true),
        "Lion" => new Lion(parameters, lr: lr, weightDecay: 0.1),
        _ => throw new ArgumentException(name),
    };

    private static void AssertRefused(Func<Optimizer> create, string message) =>
        Assert.Equal(message, Assert.ThrowsAny<ArgumentException>(create).Message.Split(" (Parameter")[0]);

    [Fact]
    public void Invalid_hyperparameters_use_pytorch_wording()
    {
        var p = new Parameter(2);
        AssertRefused(() => new Adam([p], lr: -1), "Invalid learning rate: -1");
        AssertRefused(() => new Adam([p], eps: -1e-8), "Invalid epsilon value: -1e-08");
        AssertRefused(() => new Adam([p], betas: (1.0, 0.999)), "Invalid beta parameter at index 0: 1.0");
        AssertRefused(() => new Adam([p], betas: (0.9, -0.5)), "Invalid beta parameter at index 1: -0.5");
        AssertRefused(() => new Adam([p], weightDecay: -1), "Invalid weight_decay value: -1");
        // PyTorch checks lr, eps, betas, then weight_decay.
        AssertRefused(() => new Adam([p], eps: -1, betas: (2, 2), weightDecay: -1), "Invalid epsilon value: -1.0");

        AssertRefused(() => new AdamW([p], lr: -0.5), "Invalid learning rate: -0.5");
        AssertRefused(() => new AdamW([p], eps: -1e-8), "Invalid epsilon value: -1e-08");
        AssertRefused(() => new AdamW([p], betas: (1.0, 0.999)), "Invalid beta parameter at index 0: 1.0");
        AssertRefused(() => new AdamW([p], betas: (0.9, 1.0)), "Invalid beta parameter at index 1: 1.0");
        AssertRefused(() => new AdamW([p], weightDecay: -0.01), "Invalid weight_decay value: -0.01");

        AssertRefused(() => new NAdam([p], lr: -1), "Invalid learning rate: -1");
        AssertRefused(() => new NAdam([p], eps: -1e-8), "Invalid epsilon value: -1e-08");
        AssertRefused(() => new NAdam([p], betas: (-0.1, 0.999)), "Invalid beta parameter at index 0: -0.1");
        AssertRefused(() => new NAdam([p], betas: (0.9, 1.5)), "Invalid beta parameter at index 1: 1.5");
        AssertRefused(() => new NAdam([p], weightDecay: -1), "Invalid weight_decay value: -1");
        AssertRefused(() => new NAdam([p], momentumDecay: -0.004), "Invalid momentum_decay value: -0.004");

        AssertRefused(() => new RAdam([p], lr: -1), "Invalid learning rate: -1");
        AssertRefused(() => new RAdam([p], eps: -1e-8), "Invalid epsilon value: -1e-08");
        AssertRefused(() => new RAdam([p], betas: (1.0, 0.999)), "Invalid beta parameter at index 0: 1.0");
        AssertRefused(() => new RAdam([p], betas: (0.9, 1.0)), "Invalid beta parameter at index 1: 1.0");
        AssertRefused(() => new RAdam([p], weightDecay: -1), "Invalid weight_decay value: -1");

        AssertRefused(() => new Adamax([p], lr: -1), "Invalid learning rate: -1");
        AssertRefused(() => new Adamax([p], eps: -1e-8), "Invalid epsilon value: -1e-08");
        AssertRefused(() => new Adamax([p], betas: (1.0, 0.999)), "Invalid beta parameter at index 0: 1.0");
        AssertRefused(() => new Adamax([p], betas: (0.9, 1.0)), "Invalid beta parameter at index 1: 1.0");
        AssertRefused(() => new Adamax([p], weightDecay: -1), "Invalid weight_decay value: -1");

        AssertRefused(() => new Lion([p], lr: -1), "Invalid learning rate: -1");
        AssertRefused(() => new Lion([p], betas: (1.0, 0.99)), "Invalid beta parameter at index 0: 1.0");
        AssertRefused(() => new Lion([p], betas: (0.9, 1.0)), "Invalid beta parameter at index 1: 1.0");
        AssertRefused(() => new Lion([p], weightDecay: -1), "Invalid weight_decay value: -1");

        // Groups are validated too, and NaN is refused like any out-of-range value.
        AssertRefused(() => new Adam([new ParamGroup<AdamOptions>([p], new AdamOptions { Eps = double.NaN })]), "Invalid epsilon value: nan");
    }

    [Fact]
    public void Hyperparameters_are_formatted_as_python_floats()
    {
        string[] expected = ["1.0", "-1e-08", "0.001", "0.0001", "1e-05", "123.456", "1000000000000000.0", "1e+16", "1.5e+300", "-0.1", "0.0", "2.5e-320"];
        double[] values = [1.0, -1e-8, 0.001, 0.0001, 1e-5, 123.456, 1e15, 1e16, 1.5e300, -0.1, 0.0, 2.5e-320];
        Assert.Equal(expected, values.Select(AdamFamily.PythonFloat));
    }

    [Fact]
    public void Defaults_are_pytorchs()
    {
        var adam = new AdamOptions();
        Assert.Equal((1e-3, (0.9, 0.999), 1e-8, 0.0, false, false), (adam.Lr, adam.Betas, adam.Eps, adam.WeightDecay, adam.Amsgrad, adam.Maximize));
        var adamW = new AdamWOptions();
        Assert.Equal((1e-3, (0.9, 0.999), 1e-8, 1e-2, false, false), (adamW.Lr, adamW.Betas, adamW.Eps, adamW.WeightDecay, adamW.Amsgrad, adamW.Maximize));
        var nadam = new NAdamOptions();
        Assert.Equal((2e-3, (0.9, 0.999), 1e-8, 0.0, 4e-3), (nadam.Lr, nadam.Betas, nadam.Eps, nadam.WeightDecay, nadam.MomentumDecay));
        var radam = new RAdamOptions();
        Assert.Equal((1e-3, (0.9, 0.999), 1e-8, 0.0), (radam.Lr, radam.Betas, radam.Eps, radam.WeightDecay));
        var adamax = new AdamaxOptions();
        Assert.Equal((2e-3, (0.9, 0.999), 1e-8, 0.0, false), (adamax.Lr, adamax.Betas, adamax.Eps, adamax.WeightDecay, adamax.Maximize));
        var lion = new LionOptions();
        Assert.Equal((1e-4, (0.9, 0.99), 0.0), (lion.Lr, lion.Betas, lion.WeightDecay));
        Assert.Equal(0.01, ((AdamWOptions)new AdamW([new Parameter(1)]).GroupOptions[0]).WeightDecay);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Momentum_coefficient_is_beta1(string name)
    {
        var options = Create(name, [new Parameter(1)], 1e-3).GroupOptions[0];
        var momentum = Assert.IsAssignableFrom<IMomentumOptions>(options);
        Assert.Equal(0.9, momentum.MomentumCoefficient);
        momentum.MomentumCoefficient = 0.85;
        var betas = ((double, double))options.GetType().GetProperty("Betas")!.GetValue(options)!;
        Assert.Equal(0.85, betas.Item1);
        Assert.Equal(name == "Lion" ? 0.99 : 0.999, betas.Item2);
    }

    [Theory]
    [InlineData("Adam", 0.05, 1500)]
    [InlineData("AdamW", 0.05, 1500)]
    [InlineData("NAdam", 0.05, 1500)]
    [InlineData("RAdam", 0.05, 1500)]
    [InlineData("Adamax", 0.1, 1500)]
    [InlineData("Lion", 0.01, 1500)]
    public void Converges_on_the_quadratic(string name, double lr, int steps)
    {
        var problem = Problems.GetProperty("quadratic");
        var c = Fixture.Floats(problem.GetProperty("c"));
        var p = new Parameter(Tensor.FromArray(Fixture.Floats(problem.GetProperty("x0")), c.Length));
        var optimizer = Plain(name, p, lr);
        double start = Distance(p.Data, c);
        for (int step = 0; step < steps; step++)
        {
            FixtureProblems.Gradient(problem, "quadratic", p.Data.ToArray()).CopyTo(p.Grad!.Data);
            if (name == "Lion" && step == steps / 2) optimizer.GroupOptions[0].Lr = lr / 10;
            optimizer.Step();
        }
        double end = Distance(p.Data, c);
        output.WriteLine($"{name}: |x − x*| {start:G3} → {end:G3}");
        Assert.True(end < 1e-2 * start, $"{name}: |x − x*| went from {start:G3} to {end:G3}");
    }

    [Theory]
    [InlineData("Adam", 0.05, 3000, null)]
    [InlineData("AdamW", 0.05, 3000, null)]
    [InlineData("NAdam", 0.02, 5000, null)]
    [InlineData("RAdam", 0.05, 3000, 1e-3)] // its first five steps are not adapted: SGD with momentum
    [InlineData("Adamax", 0.2, 3000, null)]
    [InlineData("Lion", 0.002, 3000, null)]
    public void Converges_on_rosenbrock(string name, double lr, int steps, double? unrectifiedLr)
    {
        var problem = Problems.GetProperty("rosenbrock");
        var p = new Parameter(Tensor.FromArray(Fixture.Floats(problem.GetProperty("x0")), 2));
        var optimizer = Plain(name, p, unrectifiedLr ?? lr);
        for (int step = 0; step < steps; step++)
        {
            FixtureProblems.Gradient(problem, "rosenbrock", p.Data.ToArray()).CopyTo(p.Grad!.Data);
            if (step == 5) optimizer.GroupOptions[0].Lr = lr;
            if (step == steps * 3 / 4) optimizer.GroupOptions[0].Lr = lr / 10;
            optimizer.Step();
        }
        double end = Distance(p.Data, [1f, 1f]);
        output.WriteLine($"{name}: |x − (1, 1)| = {end:G3} after {steps} steps");
        Assert.True(end < 0.05, $"{name}: ended at ({p.Data[0]}, {p.Data[1]}), {end:G3} from the minimum (1, 1)");
    }

    private static Optimizer Plain(string name, Parameter p, double lr) => name switch
    {
        "Adam" => new Adam([p], lr: lr),
        "AdamW" => new AdamW([p], lr: lr, weightDecay: 1e-4), // decay moves the minimum by about 1e-4
        "NAdam" => new NAdam([p], lr: lr),
        "RAdam" => new RAdam([p], lr: lr),
        "Adamax" => new Adamax([p], lr: lr),
        "Lion" => new Lion([p], lr: lr),
        _ => throw new ArgumentException(name),
    };

    private static double Distance(ReadOnlySpan<float> x, float[] target)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++) s += (x[i] - (double)target[i]) * (x[i] - target[i]);
        return Math.Sqrt(s);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void State_dict_round_trip_resumes_bit_for_bit(string name)
    {
        float[] Run(bool resume)
        {
            var p = new Parameter(Tensor.FromArray([1f, -2f, 3f, 0.5f], 4));
            var q = new Parameter(Tensor.FromArray([-1f, 0.25f], 2));
            var optimizer = Create(name, [p, q], 0.01);
            for (int step = 0; step < 12; step++)
            {
                if (resume && step == 7)
                {
                    var saved = optimizer.StateDict();
                    Assert.Contains("0.exp_avg", saved.Buffers.Keys);
                    if (name != "Lion") Assert.Equal(7.0, saved.Scalars["0.step"]);
                    if (name == "NAdam") Assert.Contains("0.mu_product", saved.Scalars.Keys);
                    if (name is "Adam" or "AdamW") Assert.Contains("0.max_exp_avg_sq", saved.Buffers.Keys);
                    (p, q) = (new Parameter(p.Clone()), new Parameter(q.Clone()));
                    optimizer = Create(name, [p, q], 0.5);
                    Assert.Throws<ArgumentException>(() => Create(name, [new Parameter(5)], 0.01).LoadStateDict(saved));
                    optimizer.LoadStateDict(saved);
                }
                for (int j = 0; j < 4; j++) p.Grad!.Data[j] = p.Data[j] * p.Data[j] - 1f;
                for (int j = 0; j < 2; j++) q.Grad!.Data[j] = 3f * q.Data[j];
                optimizer.Step();
            }
            return [.. p.ToArray(), .. q.ToArray()];
        }
        Assert.Equal(Run(false), Run(true));
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void A_state_buffer_of_the_wrong_length_is_refused(string name)
    {
        var p = new Parameter(Tensor.FromArray([1f, 2f, 3f], 3));
        var optimizer = Create(name, [p], 0.01);
        optimizer.Step();
        var saved = optimizer.StateDict();
        var e = Assert.Throws<ArgumentException>(() => optimizer.LoadStateDict(saved with { Buffers = saved.Buffers.ToDictionary(kv => kv.Key, _ => new float[2]) }));
        Assert.Contains("holds 2 values but the group holds 3", e.Message);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Large_group_split_across_cores_equals_small_group(string name)
    {
        const int Large = 300_007, Small = 1_000;
        var random = new Random(7);
        var values = new float[Large];
        for (int i = 0; i < Large; i++) values[i] = (float)(random.NextDouble() * 4 - 2);
        var large = new Parameter(Tensor.FromArray((float[])values.Clone(), Large));
        var small = new Parameter(Tensor.FromArray(values[..Small], Small));
        var largeOptimizer = Create(name, [large], 0.01);
        var smallOptimizer = Create(name, [small], 0.01);
        for (int step = 0; step < 8; step++) // RAdam rectifies from step 6 on
        {
            foreach (var p in (Parameter[])[large, small])
            {
                Span<float> x = p.Data, g = p.Grad!.Data;
                for (int i = 0; i < x.Length; i++) g[i] = x[i] * x[i] * x[i] - x[i];
            }
            largeOptimizer.Step();
            smallOptimizer.Step();
        }
        Assert.Equal(small.ToArray(), large.Data[..Small].ToArray());
    }
}
