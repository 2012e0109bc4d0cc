using System.Text.Json;

namespace Descent.Tests.Fixtures;

/// <summary>Every layer and loss, forward and backward, against PyTorch 1.13 (tests/fixtures/ops.json).</summary>
public class OpsFixtureTests
{
    private static readonly JsonElement Cases = Fixture.Load("ops.json").GetProperty("cases");

    public static TheoryData<string> Names() => new(Cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_and_backward_match_pytorch(string name)
    {
        var c = Cases.EnumerateArray().First(e => e.GetProperty("name").GetString() == name);
        var tensors = new Dictionary<string, Tensor>();
        foreach (var group in new[] { "inputs", "params" })
            foreach (var t in c.GetProperty(group).EnumerateArray())
            {
                var tensor = Fixture.Tensor(t);
                tensor.RequiresGrad = true;
                tensors[t.GetProperty("name").GetString()!] = tensor;
            }
        var attrs = c.GetProperty("attrs");
        int[]? targets = c.GetProperty("targets").ValueKind == JsonValueKind.Array ? Fixture.Ints(c.GetProperty("targets")) : null;
        string op = c.GetProperty("op").GetString()!;
        var expected = c.GetProperty("output");

        if (op == "argmax")
        {
            var idx = Functional.ArgMax(tensors["x"], attrs.GetProperty("dim").GetInt32());
            Assert.Equal(Fixture.Ints(expected.GetProperty("data")), idx);
            return;
        }

        var y = Run(op, attrs, tensors, targets);
        Assert.Equal(Fixture.Ints(expected.GetProperty("shape")), y.Shape.ToArray());
        Fixture.AssertClose(Fixture.Floats(expected.GetProperty("data")), y.Data, 1e-5, 1e-5, $"{name} output");

        y.Backward(Fixture.Tensor(c.GetProperty("upstream")));
        foreach (var g in c.GetProperty("grads").EnumerateObject())
        {
            var grad = tensors[g.Name].Grad;
            Assert.True(grad is not null, $"{name}: no gradient reached {g.Name}");
            Fixture.AssertClose(Fixture.Floats(g.Value.GetProperty("data")), grad!.Data, 2e-5, 1e-4, $"{name} d/d{g.Name}");
        }
    }

    private static (int, int) Pair(JsonElement a) => (a[0].GetInt32(), a[1].GetInt32());

    private static Reduction ReductionOf(JsonElement attrs) => attrs.GetProperty("reduction").GetString() == "sum" ? Reduction.Sum : Reduction.Mean;

    private static Tensor Run(string op, JsonElement attrs, Dictionary<string, Tensor> t, int[]? targets) => op switch
    {
        "linear" => Functional.Linear(t["x"], t["weight"], t.GetValueOrDefault("bias")),
        "matmul" => Functional.MatMul(t["A"], t["B"], attrs.GetProperty("transA").GetBoolean(), attrs.GetProperty("transB").GetBoolean()),
        "conv2d" => Functional.Conv2d(t["x"], t["weight"], t.GetValueOrDefault("bias"), Pair(attrs.GetProperty("stride")), Pair(attrs.GetProperty("padding"))),
        "conv2d_relu" => Functional.Conv2d(t["x"], t["weight"], t.GetValueOrDefault("bias"), Pair(attrs.GetProperty("stride")), Pair(attrs.GetProperty("padding")), "Conv2d", relu: true),
        "conv2d_relu_max_pool2d" => Functional.Conv2dReluMaxPool2x2(t["x"], t["weight"], t.GetValueOrDefault("bias"), Pair(attrs.GetProperty("stride")), Pair(attrs.GetProperty("padding")), "Conv2d", "MaxPool2d"),
        "max_pool2d" => Functional.MaxPool2d(t["x"], Pair(attrs.GetProperty("kernel")), Pair(attrs.GetProperty("stride")), Pair(attrs.GetProperty("padding"))),
        "avg_pool2d" => Functional.AvgPool2d(t["x"], Pair(attrs.GetProperty("kernel")), Pair(attrs.GetProperty("stride")), Pair(attrs.GetProperty("padding"))),
        "relu" => Functional.Relu(t["x"]),
        "leaky_relu" => Functional.LeakyRelu(t["x"], attrs.GetProperty("negative_slope").GetSingle()),
        "elu" => Functional.Elu(t["x"], attrs.GetProperty("alpha").GetSingle()),
        "sigmoid" => Functional.Sigmoid(t["x"]),
        "tanh" => Functional.Tanh(t["x"]),
        "gelu" => Functional.Gelu(t["x"]),
        "softmax" => Functional.Softmax(t["x"], attrs.GetProperty("dim").GetInt32()),
        "log_softmax" => Functional.LogSoftmax(t["x"], attrs.GetProperty("dim").GetInt32()),
        "exp" => Functional.Exp(t["x"]),
        "log" => Functional.Log(t["x"]),
        "neg" => Functional.Neg(t["x"]),
        "add" => t["a"] + t["b"],
        "sub" => t["a"] - t["b"],
        "mul" => t["a"] * t["b"],
        "div" => t["a"] / t["b"],
        "sum" => attrs.GetProperty("dim").ValueKind == JsonValueKind.Null ? t["x"].Sum() : t["x"].Sum(attrs.GetProperty("dim").GetInt32(), attrs.GetProperty("keepdim").GetBoolean()),
        "mean" => attrs.GetProperty("dim").ValueKind == JsonValueKind.Null ? t["x"].Mean() : t["x"].Mean(attrs.GetProperty("dim").GetInt32(), attrs.GetProperty("keepdim").GetBoolean()),
        "max" => t["x"].Max(attrs.GetProperty("dim").GetInt32(), attrs.GetProperty("keepdim").GetBoolean()),
        "reshape" => t["x"].Reshape(Fixture.Ints(attrs.GetProperty("shape"))),
        "flatten" => Functional.Flatten(t["x"], attrs.GetProperty("start_dim").GetInt32()),
        "cross_entropy" => Functional.CrossEntropy(t["input"], targets!, ReductionOf(attrs)),
        "nll_loss" => Functional.NllLoss(t["input"], targets!, ReductionOf(attrs)),
        "mse_loss" => Functional.MseLoss(t["input"], t["target"], ReductionOf(attrs)),
        "binary_cross_entropy_with_logits" => Functional.BinaryCrossEntropyWithLogits(t["input"], t["target"], ReductionOf(attrs)),
        _ => throw new InvalidOperationException($"fixture op '{op}' has no runner"),
    };
}
