using Descent.Autodiff;

namespace Descent.Tests.Autodiff;

/// <summary>
/// The registry of the normalization ops: batch norm (training and evaluation, every layout), layer norm and
/// dropout with a fixed mask. Each row runs the finite-difference gradient check; adding an op means adding a row.
/// </summary>
public class NormGradCheckTests
{
    public static TheoryData<string> Ops() => new(Registry.Keys);

    /// <summary>A generator in the same state on every call, so that every evaluation draws the same mask.</summary>
    private static Random FixedMask() => new(17);

    private static readonly Dictionary<string, (Func<Tensor[], Tensor> F, Func<Tensor[]> Inputs)> Registry = new()
    {
        ["batch_norm_train_nc"] = (x => Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true),
            () => [TestData.Random(1, 6, 3).Grad(), TestData.Uniform(2, 0.5, 1.5, 3).Grad(), TestData.Random(3, 3).Grad()]),
        ["batch_norm_train_ncl"] = (x => Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true),
            () => [TestData.Random(1, 3, 2, 4).Grad(), TestData.Uniform(2, 0.5, 1.5, 2).Grad(), TestData.Random(3, 2).Grad()]),
        ["batch_norm_train_nchw"] = (x => Functional.BatchNorm(x[0], null, null, x[1], x[2], training: true),
            () => [TestData.Random(1, 2, 3, 3, 3).Grad(), TestData.Uniform(2, 0.5, 1.5, 3).Grad(), TestData.Random(3, 3).Grad()]),
        ["batch_norm_train_no_affine"] = (x => Functional.BatchNorm(x[0], null, null, training: true),
            () => [TestData.Random(4, 5, 4).Grad()]),
        ["batch_norm_train_updates_running_stats"] = (x => Functional.BatchNorm(x[0], Tensor.Zeros(3), Tensor.Full(1f, 3), x[1], x[2], training: true),
            () => [TestData.Random(5, 4, 3, 2).Grad(), TestData.Uniform(6, 0.5, 1.5, 3).Grad(), TestData.Random(7, 3).Grad()]),
        ["batch_norm_eval"] = (x => Functional.BatchNorm(x[0], Tensor.FromArray([0.1f, -0.2f, 0.3f], 3), Tensor.FromArray([0.5f, 1.5f, 2f], 3), x[1], x[2]),
            () => [TestData.Random(8, 4, 3).Grad(), TestData.Uniform(9, 0.5, 1.5, 3).Grad(), TestData.Random(10, 3).Grad()]),
        ["layer_norm_last"] = (x => Functional.LayerNorm(x[0], [5], x[1], x[2]),
            () => [TestData.Random(1, 4, 5).Grad(), TestData.Uniform(2, 0.5, 1.5, 5).Grad(), TestData.Random(3, 5).Grad()]),
        ["layer_norm_two_dims"] = (x => Functional.LayerNorm(x[0], [3, 4], x[1], x[2]),
            () => [TestData.Random(4, 2, 3, 4).Grad(), TestData.Uniform(5, 0.5, 1.5, 3, 4).Grad(), TestData.Random(6, 3, 4).Grad()]),
        ["layer_norm_no_affine"] = (x => Functional.LayerNorm(x[0], [6]),
            () => [TestData.Random(7, 3, 6).Grad()]),
        ["layer_norm_long_rows"] = (x => Functional.LayerNorm(x[0], [40], x[1], null),
            () => [TestData.Random(8, 2, 40).Grad(), TestData.Uniform(9, 0.5, 1.5, 40).Grad()]),
        ["dropout_fixed_mask"] = (x => Functional.Dropout(x[0], 0.4, training: true, FixedMask()),
            () => [TestData.Random(1, 4, 6).Grad()]),
        ["dropout_then_layer_norm"] = (x => Functional.LayerNorm(Functional.Dropout(x[0], 0.25, training: true, FixedMask()), [8]),
            () => [TestData.Random(2, 3, 8).Grad()]),
    };

    [Theory]
    [MemberData(nameof(Ops))]
    public void Gradient_matches_finite_differences(string op)
    {
        var (f, inputs) = Registry[op];
        var result = GradCheck.Check(f, inputs());
        Assert.True(result.Passed, $"{op}: {result}");
    }

    [Fact]
    public void Fixed_mask_really_is_fixed_and_drops_something()
    {
        var x = TestData.Random(1, 4, 6);
        var a = Functional.Dropout(x, 0.4, training: true, FixedMask()).ToArray();
        var b = Functional.Dropout(x, 0.4, training: true, FixedMask()).ToArray();
        Assert.Equal(a, b);
        Assert.Contains(0f, a);
        Assert.Contains(a, v => v != 0f);
    }
}
