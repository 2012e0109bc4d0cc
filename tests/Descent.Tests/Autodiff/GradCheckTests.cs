using Descent.Autodiff;

namespace Descent.Tests.Autodiff;

/// <summary>
/// The op registry: every differentiable op with inputs away from its kinks. Each row runs the
/// finite-difference gradient check; adding an op means adding a row.
/// </summary>
public class GradCheckTests
{
    public static TheoryData<string> Ops() => new(Registry.Keys);

    private static readonly Dictionary<string, (Func<Tensor[], Tensor> F, Func<Tensor[]> Inputs)> Registry = new()
    {
        ["add_same"] = (x => x[0] + x[1], () => [TestData.Random(1, 3, 4).Grad(), TestData.Random(2, 3, 4).Grad()]),
        ["add_broadcast"] = (x => x[0] + x[1], () => [TestData.Random(1, 2, 3, 4).Grad(), TestData.Random(2, 4).Grad()]),
        ["sub_broadcast"] = (x => x[0] - x[1], () => [TestData.Random(1, 2, 1, 4).Grad(), TestData.Random(2, 3, 1).Grad()]),
        ["mul_broadcast"] = (x => x[0] * x[1], () => [TestData.Random(1, 2, 3, 4).Grad(), TestData.Random(2, 3, 1).Grad()]),
        ["mul_same"] = (x => x[0] * x[1], () => [TestData.Random(1, 5, 7).Grad(), TestData.Random(2, 5, 7).Grad()]),
        ["div_broadcast"] = (x => x[0] / x[1], () => [TestData.Random(1, 3, 4).Grad(), TestData.Uniform(2, 1.0, 2.0, 4).Grad()]),
        ["scalar_ops"] = (x => (x[0] * 3f + 1f) / 2f - 0.5f, () => [TestData.Random(1, 6).Grad()]),
        ["neg"] = (x => -x[0], () => [TestData.Random(1, 6).Grad()]),
        ["exp"] = (x => x[0].Exp(), () => [TestData.Random(1, 6).Grad()]),
        ["log"] = (x => x[0].Log(), () => [TestData.Uniform(1, 0.5, 2.0, 6).Grad()]),
        ["matmul"] = (x => Functional.MatMul(x[0], x[1]), () => [TestData.Random(1, 3, 5).Grad(), TestData.Random(2, 5, 4).Grad()]),
        ["matmul_tA"] = (x => Functional.MatMul(x[0], x[1], transposeA: true), () => [TestData.Random(1, 5, 3).Grad(), TestData.Random(2, 5, 4).Grad()]),
        ["matmul_tB"] = (x => Functional.MatMul(x[0], x[1], transposeB: true), () => [TestData.Random(1, 3, 5).Grad(), TestData.Random(2, 4, 5).Grad()]),
        ["matmul_tAtB"] = (x => Functional.MatMul(x[0], x[1], true, true), () => [TestData.Random(1, 5, 3).Grad(), TestData.Random(2, 4, 5).Grad()]),
        ["linear"] = (x => Functional.Linear(x[0], x[1], x[2]), () => [TestData.Random(1, 4, 5).Grad(), TestData.Random(2, 3, 5).Grad(), TestData.Random(3, 3).Grad()]),
        ["linear_3d_input"] = (x => Functional.Linear(x[0], x[1], null), () => [TestData.Random(1, 2, 4, 5).Grad(), TestData.Random(2, 3, 5).Grad()]),
        ["conv2d"] = (x => Functional.Conv2d(x[0], x[1], x[2], (1, 1), (1, 1)), () => [TestData.Random(1, 2, 3, 5, 6).Grad(), TestData.Random(2, 4, 3, 3, 3).Grad(), TestData.Random(3, 4).Grad()]),
        ["conv2d_stride2"] = (x => Functional.Conv2d(x[0], x[1], null, (2, 2), (0, 0)), () => [TestData.Random(1, 2, 2, 7, 7).Grad(), TestData.Random(2, 3, 2, 3, 3).Grad()]),
        ["conv2d_rect"] = (x => Functional.Conv2d(x[0], x[1], x[2], (2, 1), (1, 0)), () => [TestData.Random(1, 1, 2, 6, 5).Grad(), TestData.Random(2, 3, 2, 2, 3).Grad(), TestData.Random(3, 3).Grad()]),
        ["max_pool2d"] = (x => Functional.MaxPool2d(x[0], (2, 2)), () => [Distinct(1, 2, 3, 6, 6).Grad()]),
        ["max_pool2d_pad"] = (x => Functional.MaxPool2d(x[0], (3, 3), (2, 2), (1, 1)), () => [Distinct(2, 1, 2, 7, 5).Grad()]),
        ["avg_pool2d"] = (x => Functional.AvgPool2d(x[0], (2, 2)), () => [TestData.Random(1, 2, 3, 6, 6).Grad()]),
        ["avg_pool2d_pad"] = (x => Functional.AvgPool2d(x[0], (3, 3), (1, 1), (1, 1)), () => [TestData.Random(1, 1, 2, 5, 4).Grad()]),
        ["relu"] = (x => Functional.Relu(x[0]), () => [TestData.AwayFromZero(1, 0.05f, 4, 5).Grad()]),
        ["leaky_relu"] = (x => Functional.LeakyRelu(x[0], 0.2f), () => [TestData.AwayFromZero(1, 0.05f, 4, 5).Grad()]),
        ["elu"] = (x => Functional.Elu(x[0], 0.5f), () => [TestData.AwayFromZero(1, 0.05f, 4, 5).Grad()]),
        ["sigmoid"] = (x => Functional.Sigmoid(x[0]), () => [TestData.Random(1, 4, 5).Grad()]),
        ["tanh"] = (x => Functional.Tanh(x[0]), () => [TestData.Random(1, 4, 5).Grad()]),
        ["gelu"] = (x => Functional.Gelu(x[0]), () => [TestData.Uniform(1, -3.0, 3.0, 4, 5).Grad()]),
        ["softmax_last"] = (x => Functional.Softmax(x[0], -1), () => [TestData.Random(1, 3, 5).Grad()]),
        ["softmax_dim1_3d"] = (x => Functional.Softmax(x[0], 1), () => [TestData.Random(1, 2, 4, 3).Grad()]),
        ["log_softmax_last"] = (x => Functional.LogSoftmax(x[0], -1), () => [TestData.Random(1, 3, 5).Grad()]),
        ["log_softmax_dim1_3d"] = (x => Functional.LogSoftmax(x[0], 1), () => [TestData.Random(1, 2, 4, 3).Grad()]),
        ["sum_all"] = (x => x[0].Sum(), () => [TestData.Random(1, 3, 4).Grad()]),
        ["sum_dim0"] = (x => x[0].Sum(0), () => [TestData.Random(1, 3, 4, 2).Grad()]),
        ["sum_last_keepdim"] = (x => x[0].Sum(-1, keepDim: true), () => [TestData.Random(1, 3, 4).Grad()]),
        ["mean_all"] = (x => x[0].Mean(), () => [TestData.Random(1, 3, 4).Grad()]),
        ["mean_dim1"] = (x => x[0].Mean(1), () => [TestData.Random(1, 3, 4, 2).Grad()]),
        ["max_dim1"] = (x => x[0].Max(1), () => [Distinct(3, 3, 5).Grad()]),
        ["reshape"] = (x => x[0].Reshape(4, -1) * x[1], () => [TestData.Random(1, 2, 3, 2).Grad(), TestData.Random(2, 4, 3).Grad()]),
        ["flatten"] = (x => Functional.Flatten(x[0], 1) * x[1], () => [TestData.Random(1, 2, 3, 2, 2).Grad(), TestData.Random(2, 2, 12).Grad()]),
        ["cross_entropy_mean"] = (x => Functional.CrossEntropy(x[0], [0, 3, 1, 4, 2, 2]), () => [TestData.Uniform(1, -2.0, 2.0, 6, 5).Grad()]),
        ["cross_entropy_sum"] = (x => Functional.CrossEntropy(x[0], [0, 3, 1, 4, 2, 2], Reduction.Sum), () => [TestData.Uniform(1, -2.0, 2.0, 6, 5).Grad()]),
        ["cross_entropy_none"] = (x => Functional.CrossEntropy(x[0], [0, 3, 1], Reduction.None), () => [TestData.Uniform(1, -2.0, 2.0, 3, 5).Grad()]),
        ["nll_mean"] = (x => Functional.NllLoss(Functional.LogSoftmax(x[0]), [1, 0, 2]), () => [TestData.Random(1, 3, 4).Grad()]),
        ["mse_mean"] = (x => Functional.MseLoss(x[0], x[1]), () => [TestData.Random(1, 3, 4).Grad(), TestData.Random(2, 3, 4).Grad()]),
        ["mse_sum"] = (x => Functional.MseLoss(x[0], x[1], Reduction.Sum), () => [TestData.Random(1, 3, 4).Grad(), TestData.Random(2, 3, 4)]),
        ["bce_with_logits"] = (x => Functional.BinaryCrossEntropyWithLogits(x[0], x[1]), () => [TestData.Uniform(1, -3.0, 3.0, 3, 4).Grad(), TestData.Uniform(2, 0.0, 1.0, 3, 4).Grad()]),
        ["bce_with_logits_sum"] = (x => Functional.BinaryCrossEntropyWithLogits(x[0], x[1], Reduction.Sum), () => [TestData.Uniform(1, -3.0, 3.0, 3, 4).Grad(), TestData.Uniform(2, 0.0, 1.0, 3, 4)]),
        ["bce_with_logits_weights"] = (x => Functional.BinaryCrossEntropyWithLogits(x[0], x[1], Reduction.Mean, TestData.Uniform(3, 0.5, 2.0, 3, 1), TestData.Uniform(4, 0.2, 3.0, 4)), () => [TestData.Uniform(1, -3.0, 3.0, 3, 4).Grad(), TestData.Uniform(2, 0.0, 1.0, 3, 4).Grad()]),
        // |input − target| ≥ 0.05, beyond the kink of |d| by more than the step ε = 0.01.
        ["l1_mean"] = (x => Functional.L1Loss(x[0], x[1]), () => [TestData.AwayFromZero(1, 0.1f, 3, 4).Grad(), TestData.Uniform(2, -0.05, 0.05, 3, 4).Grad()]),
        ["l1_none"] = (x => Functional.L1Loss(x[0], x[1], Reduction.None), () => [TestData.AwayFromZero(1, 0.1f, 7).Grad(), TestData.Uniform(2, -0.05, 0.05, 7).Grad()]),
        ["huber_delta0.5"] = (x => Functional.HuberLoss(x[0], x[1], Reduction.Sum, delta: 0.5), () => [TestData.Random(1, 3, 4).Grad(), TestData.Random(2, 3, 4).Grad()]),
        ["smooth_l1_beta0.5"] = (x => Functional.SmoothL1Loss(x[0], x[1], Reduction.Mean, beta: 0.5), () => [TestData.Random(1, 3, 4).Grad(), TestData.Random(2, 3, 4).Grad()]),
        ["smooth_l1_beta0"] = (x => Functional.SmoothL1Loss(x[0], x[1], Reduction.Mean, beta: 0), () => [TestData.AwayFromZero(1, 0.1f, 3, 4).Grad(), TestData.Uniform(2, -0.05, 0.05, 3, 4).Grad()]),
        ["cross_entropy_weight"] = (x => Functional.CrossEntropy(x[0], [0, 3, 1, 4, 2, 2], weight: Tensor.FromArray([0.5f, 2f, 1f, 1.5f, 0.2f], 5)), () => [TestData.Uniform(1, -2.0, 2.0, 6, 5).Grad()]),
        ["cross_entropy_smoothing"] = (x => Functional.CrossEntropy(x[0], [0, 3, 1, 4, 2, 2], Reduction.Sum, labelSmoothing: 0.1), () => [TestData.Uniform(1, -2.0, 2.0, 6, 5).Grad()]),
        ["cross_entropy_weight_smoothing_none"] = (x => Functional.CrossEntropy(x[0], [0, 3, 1], Reduction.None, Tensor.FromArray([0.5f, 2f, 1f, 1.5f, 0.2f], 5), 0.2), () => [TestData.Uniform(1, -2.0, 2.0, 3, 5).Grad()]),
    };

    /// <summary>Distinct values spaced well apart, so max has no ties and no near-ties under ±ε.</summary>
    private static Tensor Distinct(int seed, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        var d = t.Data;
        var order = Enumerable.Range(0, d.Length).OrderBy(_ => 0).ToArray();
        new Random(seed).Shuffle(order);
        for (int i = 0; i < d.Length; i++) d[i] = order[i] * 0.1f - d.Length * 0.05f;
        return t;
    }

    [Theory]
    [MemberData(nameof(Ops))]
    public void Gradient_matches_finite_differences(string op)
    {
        var (f, inputs) = Registry[op];
        var result = GradCheck.Check(f, inputs());
        Assert.True(result.Passed, $"{op}: {result}");
    }

    [Fact]
    public void Gradient_check_catches_a_wrong_backward()
    {
        // A deliberately wrong op: forward 2x, backward 3x. The checker must fail it.
        Tensor Wrong(Tensor[] x) => Functional.Unary("wrong", x[0], (a, y) => { for (int i = 0; i < a.Length; i++) y[i] = 2 * a[i]; },
            (_, _, gy, gx) => { for (int i = 0; i < gy.Length; i++) gx[i] += 3 * gy[i]; });
        var result = GradCheck.Check(Wrong, [TestData.Random(1, 5).Grad()]);
        Assert.False(result.Passed);
    }
}
