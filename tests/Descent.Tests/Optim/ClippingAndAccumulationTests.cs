using Descent.Data;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Tests.Optim;

public class ClippingAndAccumulationTests
{
    private static ParameterArena ArenaWithGrads(float[] grads)
    {
        var p = new Parameter(grads.Length);
        var arena = ParameterArena.Pack([p]);
        grads.CopyTo(arena.Grad, 0);
        return arena;
    }

    [Theory]
    [InlineData(7)]
    [InlineData(131_072)]
    [InlineData(300_001)]  // split over the worker pool, with a partial last chunk
    public void Zero_grad_clears_every_gradient_and_no_weight(int length)
    {
        var arena = ArenaWithGrads(Enumerable.Range(0, length).Select(i => i + 1f).ToArray());
        arena.Data.AsSpan().Fill(3f);
        arena.ZeroGrad();
        Assert.Equal(-1, arena.Grad.AsSpan().IndexOfAnyExcept(0f));
        Assert.Equal(-1, arena.Data.AsSpan().IndexOfAnyExcept(3f));
    }

    [Theory]
    [InlineData(2.0, 1.0)]
    [InlineData(2.0, 1000.0)]
    [InlineData(1.0, 0.5)]
    [InlineData(double.PositiveInfinity, 0.3)]
    [InlineData(3.0, 0.7)]
    public void Clip_grad_norm_follows_pytorch_formula(double p, double maxNorm)
    {
        var rng = new Random(5);
        var g = Enumerable.Range(0, 1000).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        double expectedTotal = double.IsPositiveInfinity(p) ? g.Max(v => Math.Abs((double)v)) : Math.Pow(g.Sum(v => Math.Pow(Math.Abs(v), p)), 1 / p);
        double coef = Math.Min(1, maxNorm / (expectedTotal + 1e-6));
        var arena = ArenaWithGrads(g);
        double total = GradientClipping.ClipGradNorm(arena, maxNorm, p);
        Assert.Equal(expectedTotal, total, 1e-4 * expectedTotal);
        for (int i = 0; i < g.Length; i++) Assert.Equal(g[i] * coef, arena.Grad[i], 1e-6);
    }

    [Fact]
    public void Clip_grad_value_clamps()
    {
        var arena = ArenaWithGrads([-3f, -0.5f, 0f, 0.2f, 9f]);
        GradientClipping.ClipGradValue(arena, 1.0);
        Assert.Equal([-1f, -0.5f, 0f, 0.2f, 1f], arena.Grad);
    }

    [Fact]
    public void Accumulating_micro_batches_equals_one_large_batch()
    {
        // Four batches of 8 with loss/4 give the mean gradient of the 32 samples: one step must land
        // where one step on the whole batch of 32 lands.
        var rng = new Random(3);
        var x = Enumerable.Range(0, 32 * 6).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, 32).Select(i => i % 3).ToArray();
        var data = new InMemoryDataset(x, y, [6], 3);

        float[] Train(int batchSize, int accumulate)
        {
            Rng.ManualSeed(1);
            var model = new Sequential(new Linear(6, 5), new Tanh(), new Linear(5, 3));
            var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.5)) { AccumulationSteps = accumulate };
            trainer.Fit(new DataLoader(data, batchSize), null, 1);
            Assert.Equal(1, trainer.GlobalStep);
            return model.Parameters().SelectMany(p => p.ToArray()).ToArray();
        }

        var big = Train(32, 1);
        var accumulated = Train(8, 4);
        for (int i = 0; i < big.Length; i++) Assert.Equal(big[i], accumulated[i], 1e-5);
    }

    [Fact]
    public void No_decay_on_bias_and_norm_puts_rank_one_parameters_in_a_group_without_decay()
    {
        var model = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
        var groups = ParamGroups.NoDecayOnBiasAndNorm(model, new SgdOptions { Lr = 0.1, WeightDecay = 0.01 });
        Assert.Equal(2, groups.Count);
        Assert.All(groups[0].Params, p => Assert.Equal(2, p.Rank));
        Assert.All(groups[1].Params, p => Assert.Equal(1, p.Rank));
        Assert.Equal(0.01, groups[0].Options.WeightDecay);
        Assert.Equal(0, groups[1].Options.WeightDecay);
        var sgd = new SGD(groups);
        foreach (var p in model.Parameters()) p.Grad!.Data.Clear();
        var bias = groups[1].Params[0];
        bias.Data.Fill(1f);
        sgd.Step();
        Assert.All(bias.ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void Sgd_parallel_step_equals_elementwise_rule()
    {
        // 400,000 parameters take the multi-core path; the same rule on each element alone must agree exactly.
        const int n = 400_000;
        var rng = new Random(9);
        var values = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var grads = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var big = new Parameter(Tensor.FromArray((float[])values.Clone(), n));
        var sgdBig = new SGD([big], lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true);
        var small = new Parameter(Tensor.FromArray(values[..1000], 1000));
        var sgdSmall = new SGD([small], lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true);
        for (int step = 0; step < 3; step++)
        {
            grads.CopyTo(big.Grad!.Data);
            grads.AsSpan(0, 1000).CopyTo(small.Grad!.Data);
            sgdBig.Step();
            sgdSmall.Step();
        }
        Assert.Equal(small.ToArray(), big.ToArray()[..1000]);
    }

    [Fact]
    public void Nesterov_lecture_form_gradient_at_look_ahead_point_equals_pytorch_form()
    {
        // Lectures (Sutskever): v ← αv − ε∇f(θ + αv), θ ← θ + v. PyTorch tracks φ = θ + αv and equals it
        // step for step under a constant learning rate (pytorch-semantics §2.2).
        const float lr = 0.02f, mu = 0.9f;
        static float Grad(float x) => 4f * x * x * x - 2f * x;   // f = x⁴ − x²
        var p = new Parameter(Tensor.FromArray([1.7f], 1));
        var sgd = new SGD([p], lr: lr, momentum: mu, nesterov: true);
        float theta = 1.7f, v = 0f;
        for (int step = 0; step < 60; step++)
        {
            p.Grad!.Data[0] = Grad(p.Data[0]);
            sgd.Step();
            v = mu * v - lr * Grad(theta + mu * v);
            theta += v;
            float lookAhead = theta + mu * v;
            Assert.True(Math.Abs(lookAhead - p.Data[0]) <= 1e-5 * (1 + Math.Abs(lookAhead)), $"step {step}: lecture look-ahead {lookAhead}, PyTorch {p.Data[0]}");
        }
    }
}

public class TrainerPenaltyTests
{
    [Fact]
    public void Trainer_l2_penalty_equals_sgd_weight_decay_on_weights()
    {
        var rng = new Random(4);
        var x = Enumerable.Range(0, 16 * 5).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, 16).Select(i => i % 2).ToArray();
        var data = new Descent.Data.InMemoryDataset(x, y, [5], 2);
        float[] Train(bool penalty)
        {
            Rng.ManualSeed(2);
            var model = new Sequential(new Linear(5, 4, bias: false), new Tanh(), new Linear(4, 2, bias: false));
            var sgd = new SGD(model.Parameters(), lr: 0.1, weightDecay: penalty ? 0 : 0.05);
            var trainer = new Trainer(model, sgd) { Penalty = penalty ? Descent.Regularization.WeightPenalty.L2(0.05) : null };
            trainer.Fit(new Descent.Data.DataLoader(data, 4), null, 2);
            return model.Parameters().SelectMany(p => p.ToArray()).ToArray();
        }
        var a = Train(true);
        var b = Train(false);
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 1e-6f);
    }
}
