using Descent.Nn;
using Descent.Regularization;

namespace Descent.Tests.Regularization;

public sealed class WeightPenaltyTests
{
    // Linear(3 → 2): weight [[1, −2, 0], [0.5, 3, −1]] (one exact zero for L1's kink), bias [4, −5].
    private static (Linear Layer, ParameterArena Arena) SmallLayer()
    {
        var layer = new Linear(3, 2);
        float[] weight = [1f, -2f, 0f, 0.5f, 3f, -1f];
        weight.CopyTo(layer.Weight.Data);
        float[] bias = [4f, -5f];
        bias.CopyTo(layer.Bias!.Data);
        var arena = ParameterArena.Pack(layer.Parameters());
        // Gradients already accumulated by a backward pass: the penalty must add to them, not replace them.
        for (int i = 0; i < arena.Length; i++) arena.Grad[i] = 0.25f * i;
        return (layer, arena);
    }

    private static float[] Gradient(ParameterArena arena) => (float[])arena.Grad.Clone();

    [Fact]
    public void L2_ValueIsHalfLambdaSumOfSquares_GradientIsLambdaW_OnWeightsOnly()
    {
        var (_, arena) = SmallLayer();
        var before = Gradient(arena);

        double value = WeightPenalty.L2(0.1).AddGradient(arena);

        // ‖W‖² = 1 + 4 + 0 + 0.25 + 9 + 1 = 15.25 → 0.1 / 2 · 15.25.
        Assert.Equal(0.7625, value, 1e-6);
        float[] weight = [1f, -2f, 0f, 0.5f, 3f, -1f];
        for (int i = 0; i < 6; i++) Assert.Equal(before[i] + 0.1f * weight[i], arena.Grad[i], 6);
        Assert.Equal(before[6], arena.Grad[6]);
        Assert.Equal(before[7], arena.Grad[7]);
    }

    [Fact]
    public void L1_ValueIsLambdaSumOfMagnitudes_GradientIsLambdaSign_ZeroAtZero()
    {
        var (_, arena) = SmallLayer();
        var before = Gradient(arena);

        double value = WeightPenalty.L1(0.5).AddGradient(arena);

        // ‖W‖₁ = 1 + 2 + 0 + 0.5 + 3 + 1 = 7.5 → 0.5 · 7.5.
        Assert.Equal(3.75, value, 1e-6);
        float[] sign = [1f, -1f, 0f, 1f, 1f, -1f];
        for (int i = 0; i < 6; i++) Assert.Equal(before[i] + 0.5f * sign[i], arena.Grad[i], 6);
        Assert.Equal(before[2], arena.Grad[2]);
        Assert.Equal(before[6..], arena.Grad[6..]);
    }

    [Fact]
    public void ElasticNet_IsTheSumOfBothTerms()
    {
        var (_, arena) = SmallLayer();
        var before = Gradient(arena);

        double value = WeightPenalty.ElasticNet(l1: 0.5, l2: 0.1).AddGradient(arena);

        Assert.Equal(3.75 + 0.7625, value, 1e-6);
        float[] weight = [1f, -2f, 0f, 0.5f, 3f, -1f];
        for (int i = 0; i < 6; i++) Assert.Equal(before[i] + 0.5f * MathF.Sign(weight[i]) + 0.1f * weight[i], arena.Grad[i], 6);
    }

    [Fact]
    public void WeightsOnlyFalse_PenalizesBiasesToo()
    {
        var (_, arena) = SmallLayer();
        var before = Gradient(arena);

        double value = WeightPenalty.L2(0.1, weightsOnly: false).AddGradient(arena);

        Assert.Equal(0.05 * (15.25 + 16 + 25), value, 1e-6);
        Assert.Equal(before[6] + 0.4f, arena.Grad[6], 6);
        Assert.Equal(before[7] - 0.5f, arena.Grad[7], 6);
    }

    [Fact]
    public void Value_LeavesGradientsAlone_AndMatchesTheModelForm()
    {
        var (layer, arena) = SmallLayer();
        var before = Gradient(arena);
        var penalty = WeightPenalty.ElasticNet(0.5, 0.1);

        double fromArena = penalty.Value(arena);
        double fromModel = penalty.Value(layer);

        Assert.Equal(before, arena.Grad);
        Assert.Equal(3.75 + 0.7625, fromArena, 1e-6);
        Assert.Equal(fromArena, fromModel, 1e-9);
    }

    [Theory]
    [InlineData(0.3, 0.0)]
    [InlineData(0.0, 0.7)]
    [InlineData(0.2, 0.4)]
    public void Gradient_MatchesCentralFiniteDifferences(double l1, double l2)
    {
        Rng.ManualSeed(3);
        var model = new Sequential(new Linear(7, 5), new ReLU(), new Linear(5, 3));
        var arena = ParameterArena.Pack(model.Parameters());
        // Keep weights away from L1's kink so the finite difference does not straddle it.
        for (int i = 0; i < arena.Length; i++)
            if (MathF.Abs(arena.Data[i]) < 0.05f) arena.Data[i] = arena.Data[i] < 0 ? -0.05f : 0.05f;
        var penalty = new WeightPenalty(l1, l2);
        Array.Clear(arena.Grad);
        penalty.AddGradient(arena);

        const float h = 1e-2f;
        for (int i = 0; i < arena.Length; i++)
        {
            float saved = arena.Data[i];
            arena.Data[i] = saved + h;
            double plus = penalty.Value(arena);
            arena.Data[i] = saved - h;
            double minus = penalty.Value(arena);
            arena.Data[i] = saved;
            double numeric = (plus - minus) / (2 * h);
            Assert.True(Math.Abs(numeric - arena.Grad[i]) < 1e-3 * (1 + Math.Abs(numeric)), $"element {i}: analytic {arena.Grad[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void LargeArena_SplitAcrossThreads_MatchesADoublePrecisionReference()
    {
        Rng.ManualSeed(1);
        // 600 · 500 weights: several chunks, so the pass runs on the worker pool where there is one.
        var model = new Sequential(new Linear(600, 500), new ReLU(), new Linear(500, 13));
        var arena = ParameterArena.Pack(model.Parameters());
        var penalty = WeightPenalty.ElasticNet(1e-3, 5e-3);
        double expected = 0;
        foreach (var p in model.Parameters().Where(p => p.Rank >= 2))
            foreach (var w in p.Data.ToArray())
                expected += 1e-3 * Math.Abs(w) + 0.5 * 5e-3 * (double)w * w;

        Array.Clear(arena.Grad);
        double first = penalty.AddGradient(arena);
        double second = penalty.Value(arena);

        Assert.Equal(expected, first, 1e-5 * expected);
        Assert.Equal(first, second);
        var secondLayerWeight = (Linear)model.NamedChildren().Last().Module;
        var g = secondLayerWeight.Weight.Grad!.Data;
        var w2 = secondLayerWeight.Weight.Data;
        for (int i = 0; i < g.Length; i++) Assert.Equal(1e-3f * MathF.Sign(w2[i]) + 5e-3f * w2[i], g[i], 6);
        Assert.All(secondLayerWeight.Bias!.Grad!.Data.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ZeroPenalty_DoesNothing()
    {
        var (_, arena) = SmallLayer();
        var before = Gradient(arena);

        Assert.Equal(0, new WeightPenalty().AddGradient(arena));
        Assert.True(new WeightPenalty().IsZero);
        Assert.Equal(before, arena.Grad);
    }

    [Theory]
    [InlineData(-0.1, 0.0, "l1 penalty strength must be a non-negative finite number, got -0.1")]
    [InlineData(0.0, -2.0, "l2 penalty strength must be a non-negative finite number, got -2")]
    [InlineData(double.NaN, 0.0, "l1 penalty strength must be a non-negative finite number, got NaN")]
    [InlineData(0.0, double.PositiveInfinity, "l2 penalty strength must be a non-negative finite number")]
    public void BadStrength_IsRejected(double l1, double l2, string message)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new WeightPenalty(l1, l2));

        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void PenaltyFollowsANewArena()
    {
        var penalty = WeightPenalty.L2(1);
        var (_, first) = SmallLayer();
        Assert.Equal(7.625, penalty.Value(first), 1e-6);

        var other = new Linear(2, 1);
        new float[] { 3f, 4f }.CopyTo(other.Weight.Data);
        var second = ParameterArena.Pack(other.Parameters());

        Assert.Equal(12.5, penalty.Value(second), 1e-6);
    }
}
