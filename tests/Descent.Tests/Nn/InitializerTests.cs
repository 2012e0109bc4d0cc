using System.Text.Json;
using Descent.Init;
using Descent.Nn;
using Descent.Tests.Fixtures;

namespace Descent.Tests.Nn;

/// <summary>
/// The initializers against their formulas and PyTorch (tests/fixtures/norm.json, "init" and "gain").
/// </summary>
/// <remarks>
/// Statistical tolerances: a sample of n values from a distribution with standard deviation σ has a mean with
/// standard error σ/√n and a variance with standard error √((μ₄ − σ⁴)/n), where μ₄ is the fourth central moment:
/// σ²·√(2/n) for a normal (and at most that for a truncated normal, which has lighter tails), and
/// σ²·√(4/(5n)) for a uniform (μ₄ = 9σ⁴/5). Every check allows 5 standard errors, and every draw is seeded, so
/// the tests are deterministic.
/// </remarks>
public class InitializerTests
{
    private static readonly JsonElement Norm = Fixture.Load("norm.json");

    private static IEnumerable<JsonElement> InitCases(string name) =>
        Norm.GetProperty("init").EnumerateArray().Where(e => e.GetProperty("name").GetString() == name);

    private static (double Mean, double Variance, double Min, double Max) Moments(Tensor t)
    {
        var d = t.ToArray();
        double mean = d.Average(v => (double)v);
        double variance = d.Average(v => (v - mean) * (v - mean));
        return (mean, variance, d.Min(), d.Max());
    }

    /// <summary>Asserts mean ≈ <paramref name="mean"/> and variance ≈ σ² within 5 standard errors.</summary>
    private static void AssertMoments(Tensor t, double mean, double std, double kurtosisExcess, string what)
    {
        var m = Moments(t);
        int n = t.Numel;
        double meanTolerance = 5 * std / Math.Sqrt(n);
        double varianceTolerance = 5 * std * std * Math.Sqrt((2 + kurtosisExcess) / n);
        Assert.True(Math.Abs(m.Mean - mean) <= meanTolerance, $"{what}: mean {m.Mean} vs {mean} ± {meanTolerance}");
        Assert.True(Math.Abs(m.Variance - std * std) <= varianceTolerance, $"{what}: variance {m.Variance} vs {std * std} ± {varianceTolerance}");
    }

    private const double UniformKurtosisExcess = -1.2, NormalKurtosisExcess = 0;

    private static Tensor Empty(JsonElement e) => Tensor.Zeros(Fixture.Ints(e.GetProperty("shape")));

    private static FanMode Mode(JsonElement args) => args.GetProperty("mode").GetString() == "fan_in" ? FanMode.FanIn : FanMode.FanOut;

    [Fact]
    public void CalculateGain_matches_pytorch()
    {
        foreach (var g in Norm.GetProperty("gain").EnumerateArray())
        {
            var name = g.GetProperty("nonlinearity").GetString()!;
            double? param = g.GetProperty("param").ValueKind == JsonValueKind.Null ? null : g.GetProperty("param").GetDouble();
            Assert.Equal(g.GetProperty("gain").GetDouble(), Initializers.CalculateGain(name, param), 15);
        }
        Assert.Equal(5.0 / 3, Initializers.CalculateGain("tanh"));
        Assert.Equal(Math.Sqrt(2), Initializers.CalculateGain("relu"));
        Assert.Equal(Math.Sqrt(2 / (1 + 0.01 * 0.01)), Initializers.CalculateGain("leaky_relu"));
        Assert.Equal(0.75, Initializers.CalculateGain("selu"));
        var e = Assert.Throws<ArgumentException>(() => Initializers.CalculateGain("swish"));
        Assert.Equal(Norm.GetProperty("errors").GetProperty("unknown_nonlinearity").GetString(), e.Message);
    }

    [Fact]
    public void Xavier_bound_and_std_are_pytorchs_exactly_and_the_samples_follow_them()
    {
        var random = new Random(1);
        foreach (var e in InitCases("xavier_uniform"))
        {
            double gain = e.GetProperty("args").GetProperty("gain").GetDouble();
            var t = Empty(e);
            var (fanIn, fanOut) = Initializers.Fans(t);
            Assert.Equal(e.GetProperty("fan_in").GetInt32(), fanIn);
            Assert.Equal(e.GetProperty("fan_out").GetInt32(), fanOut);
            double bound = e.GetProperty("bound").GetDouble();
            Assert.Equal(bound, Initializers.XavierUniformBound(t, gain), 1e-15);
            // With the square root; the lecture's gain·6/(fan_in + fan_out) would be a different number.
            Assert.True(Math.Abs(gain * 6.0 / (fanIn + fanOut) - bound) > 1e-3);
            Initializers.XavierUniform(t, gain, random);
            var m = Moments(t);
            Assert.True(m.Min >= -bound && m.Max <= bound, $"xavier_uniform leaves ±{bound}: [{m.Min}, {m.Max}]");
            AssertMoments(t, 0, bound / Math.Sqrt(3), UniformKurtosisExcess, $"xavier_uniform {gain}");
        }
        foreach (var e in InitCases("xavier_normal"))
        {
            double gain = e.GetProperty("args").GetProperty("gain").GetDouble();
            var t = Empty(e);
            double std = e.GetProperty("std").GetDouble();
            Assert.Equal(std, Initializers.XavierNormalStd(t, gain), 1e-15);
            Initializers.XavierNormal(t, gain, random);
            AssertMoments(t, 0, std, NormalKurtosisExcess, $"xavier_normal {gain}");
        }
    }

    [Fact]
    public void Kaiming_and_lecun_bounds_and_std_are_pytorchs_exactly_and_the_samples_follow_them()
    {
        var random = new Random(2);
        foreach (var e in InitCases("kaiming_uniform"))
        {
            var args = e.GetProperty("args");
            double a = args.GetProperty("a").GetDouble();
            var nonlinearity = args.GetProperty("nonlinearity").GetString()!;
            var t = Empty(e);
            double bound = e.GetProperty("bound").GetDouble();
            Assert.Equal(bound, Math.Sqrt(3) * Initializers.KaimingStd(t, a, Mode(args), nonlinearity), 1e-15);
            Initializers.KaimingUniform(t, a, Mode(args), nonlinearity, random);
            var m = Moments(t);
            Assert.True(m.Min >= -bound && m.Max <= bound, $"kaiming_uniform leaves ±{bound}");
            AssertMoments(t, 0, bound / Math.Sqrt(3), UniformKurtosisExcess, $"kaiming_uniform {args}");
        }
        foreach (var e in InitCases("kaiming_normal"))
        {
            var args = e.GetProperty("args");
            var t = Empty(e);
            double std = e.GetProperty("std").GetDouble();
            Assert.Equal(std, Initializers.KaimingStd(t, args.GetProperty("a").GetDouble(), Mode(args), args.GetProperty("nonlinearity").GetString()!), 1e-15);
            Initializers.KaimingNormal(t, args.GetProperty("a").GetDouble(), Mode(args), args.GetProperty("nonlinearity").GetString()!, random);
            AssertMoments(t, 0, std, NormalKurtosisExcess, $"kaiming_normal {args}");
        }
        var lecunUniform = InitCases("lecun_uniform").Single();
        var u = Empty(lecunUniform);
        double lecunBound = lecunUniform.GetProperty("bound").GetDouble();
        Assert.Equal(lecunBound, Math.Sqrt(3.0 / Initializers.Fans(u).FanIn), 1e-15);
        Initializers.LecunUniform(u, random);
        Assert.True(Moments(u).Max <= lecunBound && Moments(u).Min >= -lecunBound);
        AssertMoments(u, 0, lecunBound / Math.Sqrt(3), UniformKurtosisExcess, "lecun_uniform");
        var lecunNormal = InitCases("lecun_normal").Single();
        var n = Empty(lecunNormal);
        double lecunStd = lecunNormal.GetProperty("std").GetDouble();
        Assert.Equal(lecunStd, 1 / Math.Sqrt(Initializers.Fans(n).FanIn), 1e-15);
        Initializers.LecunNormal(n, random);
        AssertMoments(n, 0, lecunStd, NormalKurtosisExcess, "lecun_normal");

        // PyTorch's defaults: a = 0 with leaky_relu is the relu gain, bound √(6/fan_in).
        var w = Tensor.Zeros(300, 200);
        Assert.Equal(Math.Sqrt(6.0 / 200), Math.Sqrt(3) * Initializers.KaimingStd(w), 1e-15);
        // Zero-element tensors are left alone, as PyTorch does (with a warning there).
        Initializers.KaimingNormal(Tensor.Zeros(0, 5));
    }

    [Fact]
    public void Uniform_normal_and_constants_match_their_formulas()
    {
        var random = new Random(3);
        var uniform = InitCases("uniform").Single();
        var args = uniform.GetProperty("args");
        double low = args.GetProperty("low").GetDouble(), high = args.GetProperty("high").GetDouble();
        var t = Empty(uniform);
        Initializers.Uniform(t, low, high, random);
        var m = Moments(t);
        Assert.True(m.Min >= low && m.Max <= high);
        AssertMoments(t, (low + high) / 2, (high - low) / Math.Sqrt(12), UniformKurtosisExcess, "uniform");
        // PyTorch's own draw passes the same test: the fixture is a sample, not a formula.
        var torch = uniform.GetProperty("sample");
        Assert.InRange(torch.GetProperty("mean").GetDouble(), (low + high) / 2 - 5 * (high - low) / Math.Sqrt(12 * t.Numel), (low + high) / 2 + 5 * (high - low) / Math.Sqrt(12 * t.Numel));

        var normal = InitCases("normal").Single();
        var n = Empty(normal);
        double mean = normal.GetProperty("args").GetProperty("mean").GetDouble(), std = normal.GetProperty("std").GetDouble();
        Initializers.Normal(n, mean, std, random);
        AssertMoments(n, mean, std, NormalKurtosisExcess, "normal");

        var c = Tensor.Zeros(4, 5);
        Initializers.Constant(c, 0.25);
        Assert.All(c.ToArray(), v => Assert.Equal(0.25f, v));
        Initializers.Ones(c);
        Assert.All(c.ToArray(), v => Assert.Equal(1f, v));
        Initializers.Zeros(c);
        Assert.All(c.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Truncated_normal_stays_in_bounds_with_the_truncated_moments()
    {
        var random = new Random(4);
        foreach (var e in InitCases("trunc_normal"))
        {
            var args = e.GetProperty("args");
            double mean = args.GetProperty("mean").GetDouble(), std = args.GetProperty("std").GetDouble();
            double a = args.GetProperty("a").GetDouble(), b = args.GetProperty("b").GetDouble();
            double expectedMean = e.GetProperty("expected_mean").GetDouble(), expectedStd = e.GetProperty("expected_std").GetDouble();
            var (ourMean, ourStd) = TruncatedMoments(mean, std, a, b);
            Assert.Equal(expectedMean, ourMean, 1e-12);
            Assert.Equal(expectedStd, ourStd, 1e-12);
            var t = Empty(e);
            Initializers.TruncNormal(t, mean, std, a, b, random);
            var m = Moments(t);
            Assert.True(m.Min >= a && m.Max <= b, $"trunc_normal leaves [{a}, {b}]: [{m.Min}, {m.Max}]");
            AssertMoments(t, expectedMean, expectedStd, NormalKurtosisExcess, $"trunc_normal {args}");
            var torch = e.GetProperty("sample");
            Assert.True(Math.Abs(torch.GetProperty("std").GetDouble() - expectedStd) <= 5 * expectedStd / Math.Sqrt(2 * t.Numel));
        }
        Assert.Throws<ArgumentException>(() => Initializers.TruncNormal(Tensor.Zeros(3), a: 1, b: -1));
    }

    /// <summary>Mean and standard deviation of N(μ, σ²) truncated to [a, b], from the error function under test.</summary>
    private static (double Mean, double Std) TruncatedMoments(double mean, double std, double a, double b)
    {
        static double Pdf(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
        double alpha = (a - mean) / std, beta = (b - mean) / std;
        double z = SpecialFunctions.NormalCdf(beta) - SpecialFunctions.NormalCdf(alpha);
        double d = (Pdf(alpha) - Pdf(beta)) / z;
        double variance = std * std * (1 + (alpha * Pdf(alpha) - beta * Pdf(beta)) / z - d * d);
        return (mean + std * d, Math.Sqrt(variance));
    }

    [Fact]
    public void Error_function_and_its_inverse_are_accurate()
    {
        // Values from Python's math.erf / math.erfc.
        (double X, double Erf, double Erfc)[] table =
        [
            (0.1, 0.1124629160182849, 0.8875370839817152), (0.5, 0.5204998778130465, 0.4795001221869535),
            (1.0, 0.8427007929497149, 0.15729920705028513), (1.9999, 0.9953201979070294, 0.004679802092970608),
            (2.0, 0.9953222650189527, 0.004677734981047265), (2.5, 0.999593047982555, 0.0004069520174449589),
            (3.0, 0.9999779095030014, 2.2090496998585438e-05), (4.5, 0.9999999998033839, 1.9661604415428873e-10),
            (-0.7, -0.6778011938374184, 1.6778011938374184),
        ];
        foreach (var (x, erf, erfc) in table)
        {
            Assert.Equal(erf, SpecialFunctions.Erf(x), 1e-15);
            Assert.True(Math.Abs(SpecialFunctions.Erfc(x) - erfc) <= 1e-13 * erfc, $"erfc({x}) = {SpecialFunctions.Erfc(x)}, expected {erfc}");
        }
        foreach (var y in new[] { -0.999999, -0.9, -0.3, 0.0, 1e-8, 0.2, 0.75, 0.99, 0.9999999 })
            Assert.Equal(y, SpecialFunctions.Erf(SpecialFunctions.Erfinv(y)), 1e-14);
        Assert.Equal(double.PositiveInfinity, SpecialFunctions.Erfinv(1));
    }

    [Fact]
    public void Orthogonal_rows_or_columns_are_orthonormal_times_the_gain()
    {
        var random = new Random(5);
        foreach (var e in InitCases("orthogonal"))
        {
            double gain = e.GetProperty("args").GetProperty("gain").GetDouble();
            int rows = e.GetProperty("rows").GetInt32(), cols = e.GetProperty("cols").GetInt32();
            var t = Empty(e);
            Initializers.Orthogonal(t, gain, random);
            double worst = GramError(t.ToArray(), rows, cols, gain);
            // PyTorch's own float32 result is off by up to 1e-6 (fixture); storing a double Q in float32 costs about as much.
            Assert.True(e.GetProperty("gram_max_abs_error").GetDouble() < 1e-5);
            Assert.True(worst < 1e-5, $"orthogonal {rows}×{cols}, gain {gain}: |WWᵀ − gain²I| = {worst}");
        }
        var e1 = Assert.Throws<ArgumentException>(() => Initializers.Orthogonal(Tensor.Zeros(5)));
        Assert.Equal(Norm.GetProperty("errors").GetProperty("orthogonal_1d").GetString(), e1.Message);

        // The sign correction makes the law uniform over orthogonal matrices, so entries average out to 0:
        // the mean of the first entry over many draws has standard error 1/√(n·size).
        double sum = 0;
        const int draws = 400;
        for (int k = 0; k < draws; k++)
        {
            var q = Tensor.Zeros(4, 4);
            Initializers.Orthogonal(q, random: random);
            sum += q.Data[0];
        }
        Assert.True(Math.Abs(sum / draws) < 5 * 0.5 / Math.Sqrt(draws), $"first entry averages {sum / draws}");
    }

    private static double GramError(float[] w, int rows, int cols, double gain)
    {
        bool byRows = rows <= cols;
        int k = byRows ? rows : cols, len = byRows ? cols : rows;
        double worst = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double dot = 0;
                for (int l = 0; l < len; l++)
                    dot += byRows ? (double)w[i * cols + l] * w[j * cols + l] : (double)w[l * cols + i] * w[l * cols + j];
                worst = Math.Max(worst, Math.Abs(dot - (i == j ? gain * gain : 0)));
            }
        return worst;
    }

    [Fact]
    public void Tensors_without_fans_are_refused_in_pytorch_words()
    {
        var errors = Norm.GetProperty("errors");
        var oneD = Tensor.Zeros(5);
        Assert.Equal(errors.GetProperty("fans_1d").GetString(), Assert.Throws<ArgumentException>(() => Initializers.XavierUniform(oneD)).Message);
        Assert.Equal(errors.GetProperty("fans_1d").GetString(), Assert.Throws<ArgumentException>(() => Initializers.XavierNormal(oneD)).Message);
        Assert.Equal(errors.GetProperty("kaiming_1d").GetString(), Assert.Throws<ArgumentException>(() => Initializers.KaimingNormal(oneD)).Message);
        Assert.Equal(errors.GetProperty("kaiming_1d").GetString(), Assert.Throws<ArgumentException>(() => Initializers.KaimingUniform(oneD)).Message);
        Assert.Throws<ArgumentException>(() => Initializers.LecunNormal(Tensor.Scalar(1)));
    }

    [Fact]
    public void Init_specs_parse_and_apply_to_every_linear_and_conv_weight()
    {
        Assert.Equal("normal:0.01", InitSpec.Parse("normal:0.01").ToString());
        Assert.Equal("kaiming-normal", InitSpec.Parse(" Kaiming_Normal ").ToString());
        Assert.True(InitSpec.Parse("torch-default").IsTorchDefault);
        foreach (var bad in new[] { "he", "normal", "normal:abc", "normal:-1", "uniform:0", "xavier-uniform:2", "" })
            Assert.Throws<ArgumentException>(() => InitSpec.Parse(bad));
        Assert.Contains("xavier-uniform, xavier-normal", Assert.Throws<ArgumentException>(() => InitSpec.Parse("he")).Message);

        var model = new Sequential(new Conv2d(3, 16, 3), new BatchNorm2d(16), new ReLU(), new Flatten(), new Linear(16 * 36, 100), new ReLU(), new Linear(100, 10));
        var random = new Random(6);
        Assert.Equal(3, InitSpec.Parse("normal:0.05").Apply(model, random));
        var named = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        AssertMoments(named["4.weight"], 0, 0.05, NormalKurtosisExcess, "normal:0.05 on Linear");
        Assert.All(new[] { "0.bias", "4.bias", "6.bias" }, b => Assert.All(named[b].ToArray(), v => Assert.Equal(0f, v)));
        // Normalization layers keep their own init.
        Assert.All(named["1.weight"].ToArray(), v => Assert.Equal(1f, v));

        InitSpec.Parse("uniform:0.2").Apply(model, random);
        Assert.InRange(named["4.weight"].ToArray().Max(Math.Abs), 0.19f, 0.2f);
        InitSpec.Parse("kaiming-normal").Apply(model, random);
        AssertMoments(named["4.weight"], 0, Math.Sqrt(2.0 / 576), NormalKurtosisExcess, "kaiming-normal on Linear");
        InitSpec.Parse("xavier-uniform").Apply(model, random);
        Assert.True(named["0.weight"].ToArray().Max(Math.Abs) <= Math.Sqrt(6.0 / (27 + 144)));
        InitSpec.Parse("orthogonal").Apply(model, random);
        Assert.True(GramError(named["0.weight"].ToArray(), 16, 27, 1) < 1e-5);
        InitSpec.Parse("zeros").Apply(model, random);
        Assert.All(named["6.weight"].ToArray(), v => Assert.Equal(0f, v));
        InitSpec.Parse("torch-default").Apply(model, random);
        double bound = 1 / Math.Sqrt(100);
        Assert.Contains(named["6.bias"].ToArray(), v => v != 0f);
        Assert.All(named["6.bias"].ToArray(), v => Assert.InRange(v, -bound, bound));
        InitSpec.Parse("lecun-normal").Apply(model, random);
        AssertMoments(named["4.weight"], 0, 1 / Math.Sqrt(576), NormalKurtosisExcess, "lecun-normal on Linear");
    }

    [Fact]
    public void Cli_init_option_changes_the_model_and_refuses_bad_specs()
    {
        var (code, output, err) = NormalizationTests.RunCli("train", "--init", "xavier-uniform", "--epochs", "2", "--hidden", "32", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
        Assert.InRange(doc.RootElement.GetProperty("test_accuracy").GetDouble(), 0.85, 1.0);

        // All-zero weights are a saddle: every hidden unit gets the same (zero) gradient and nothing learns.
        var (zerosCode, zerosOutput, _) = NormalizationTests.RunCli("train", "--init", "zeros", "--epochs", "1", "--hidden", "16", "--json");
        Assert.Equal(0, zerosCode);
        using var zeros = JsonDocument.Parse(zerosOutput.TrimEnd().Split('\n')[^1]);
        Assert.InRange(zeros.RootElement.GetProperty("test_accuracy").GetDouble(), 0.0, 0.2);

        foreach (var spec in new[] { "he-normal", "normal:x", "uniform:-2", "orthogonal:1" })
        {
            var (bad, _, message) = NormalizationTests.RunCli("train", "--init", spec);
            Assert.Equal(2, bad);
            Assert.StartsWith("descent: error: --init:", message);
            Assert.Single(message.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }
}
