using System.Text.Json;
using Descent.Tests.Fixtures;

namespace Descent.Tests.Ops;

/// <summary>
/// The losses against PyTorch 1.13 (tests/fixtures/losses.json): forward values and the gradients of input and
/// target for every reduction, Huber's delta, smooth L1's beta (0 included), BCE's weight and pos_weight,
/// cross-entropy's class weight and label smoothing; and the one-line errors on bad input.
/// </summary>
public class LossTests
{
    private static readonly JsonElement Cases = Fixture.Load("losses.json").GetProperty("cases");

    public static TheoryData<string> Names() => new(Cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_and_backward_match_pytorch(string name)
    {
        var c = Cases.EnumerateArray().First(e => e.GetProperty("name").GetString() == name);
        var input = Fixture.Tensor(c.GetProperty("input"));
        input.RequiresGrad = true;
        var target = Optional(c, "target");
        if (target is not null) target.RequiresGrad = true;
        var weight = Optional(c, "weight");
        var posWeight = Optional(c, "pos_weight");
        var attrs = c.GetProperty("attrs");
        var reduction = c.GetProperty("reduction").GetString() switch { "none" => Reduction.None, "sum" => Reduction.Sum, _ => Reduction.Mean };

        var y = c.GetProperty("op").GetString() switch
        {
            "mse_loss" => Functional.MseLoss(input, target!, reduction),
            "l1_loss" => Functional.L1Loss(input, target!, reduction),
            "huber_loss" => Functional.HuberLoss(input, target!, reduction, attrs.GetProperty("delta").GetDouble()),
            "smooth_l1_loss" => Functional.SmoothL1Loss(input, target!, reduction, attrs.GetProperty("beta").GetDouble()),
            "binary_cross_entropy_with_logits" => Functional.BinaryCrossEntropyWithLogits(input, target!, reduction, weight, posWeight),
            // Class indices travel as a float tensor [N], as a batch's Target carries them; probabilities as [N, C].
            "cross_entropy" => Functional.CrossEntropy(input, target ?? ClassIndexTensor(Fixture.Ints(c.GetProperty("targets"))), reduction, weight, attrs.GetProperty("label_smoothing").GetDouble()),
            var op => throw new InvalidOperationException($"fixture op '{op}' has no runner"),
        };

        var expected = c.GetProperty("output");
        Assert.Equal(Fixture.Ints(expected.GetProperty("shape")), y.Shape.ToArray());
        Fixture.AssertClose(Fixture.Floats(expected.GetProperty("data")), y.Data, 1e-5, 1e-5, $"{name} output");

        y.Backward(Fixture.Tensor(c.GetProperty("upstream")));
        var tensors = new Dictionary<string, Tensor?> { ["input"] = input, ["target"] = target };
        foreach (var g in c.GetProperty("grads").EnumerateObject())
        {
            var grad = tensors[g.Name]?.Grad;
            Assert.True(grad is not null, $"{name}: no gradient reached {g.Name}");
            Fixture.AssertClose(Fixture.Floats(g.Value.GetProperty("data")), grad!.Data, 2e-5, 1e-4, $"{name} d/d{g.Name}");
        }
    }

    private static Tensor ClassIndexTensor(int[] classes) => Tensor.FromArray(classes.Select(v => (float)v).ToArray(), classes.Length);

    private static Tensor? Optional(JsonElement c, string property) =>
        c.GetProperty(property).ValueKind == JsonValueKind.Null ? null : Fixture.Tensor(c.GetProperty(property));

    [Fact]
    public void Cross_entropy_with_default_weight_and_smoothing_equals_the_plain_form()
    {
        // The weighted/smoothed path with all-ones weights and ε = 0 must agree with the fused fast path.
        var logits = TestData.Uniform(3, -2, 2, 4, 3);
        int[] targets = [2, 0, 1, 1];
        float plain = Functional.CrossEntropy(logits, targets).Item();
        float weighted = Functional.CrossEntropy(logits, targets, weight: Tensor.FromArray([1f, 1f, 1f], 3)).Item();
        Assert.Equal(plain, weighted, 1e-6f);
    }

    public static TheoryData<string, Action> BadInputs() => new()
    {
        { "mse_loss", () => Functional.MseLoss(Tensor.Zeros(4, 5), Tensor.Zeros(5, 4)) },
        { "l1_loss", () => Functional.L1Loss(Tensor.Zeros(4, 5), Tensor.Zeros(4, 1)) },
        { "huber_loss", () => Functional.HuberLoss(Tensor.Zeros(3), Tensor.Zeros(4)) },
        { "smooth_l1_loss", () => Functional.SmoothL1Loss(Tensor.Zeros(3, 1), Tensor.Zeros(3)) },
        { "binary_cross_entropy_with_logits", () => Functional.BinaryCrossEntropyWithLogits(Tensor.Zeros(4, 5), Tensor.Zeros(4, 4)) },
        { "delta", () => Functional.HuberLoss(Tensor.Zeros(3), Tensor.Zeros(3), delta: 0) },
        { "beta", () => Functional.SmoothL1Loss(Tensor.Zeros(3), Tensor.Zeros(3), beta: -0.5) },
        { "weight", () => Functional.BinaryCrossEntropyWithLogits(Tensor.Zeros(4, 5), Tensor.Zeros(4, 5), weight: Tensor.Zeros(4)) },
        { "posWeight", () => Functional.BinaryCrossEntropyWithLogits(Tensor.Zeros(4, 5), Tensor.Zeros(4, 5), posWeight: Tensor.Zeros(2, 4, 5)) },
        { "labelSmoothing", () => Functional.CrossEntropy(Tensor.Zeros(2, 3), [0, 1], labelSmoothing: 1.5) },
        { "labelSmoothing", () => Functional.CrossEntropy(Tensor.Zeros(2, 3), [0, 1], labelSmoothing: -0.1) },
        { "weight", () => Functional.CrossEntropy(Tensor.Zeros(2, 3), [0, 1], weight: Tensor.Zeros(4)) },
        { "weight", () => Functional.CrossEntropy(Tensor.Zeros(2, 3), [0, 1], weight: Tensor.Zeros(1, 3)) },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_is_refused_in_one_line_naming_the_problem(string expectedMention, Action call)
    {
        var e = Assert.ThrowsAny<ArgumentException>(call);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(expectedMention, e.Message);
    }

    [Fact]
    public void Shape_mismatch_names_both_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Functional.L1Loss(Tensor.Zeros(4, 5), Tensor.Zeros(5, 4)));
        Assert.Contains("[4, 5]", e.Message);
        Assert.Contains("[5, 4]", e.Message);
    }
}
