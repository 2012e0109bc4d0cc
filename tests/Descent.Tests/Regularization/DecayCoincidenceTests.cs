using Descent.Nn;
using Descent.Optim;
using Descent.Regularization;

namespace Descent.Tests.Regularization;

/// <summary>
/// The claims of docs/regularization.md, checked on Descent's optimizers: an L2 penalty λ/2·‖w‖² in the loss, the
/// optimizers' coupled weight_decay λ and AdamW's decoupled decay coincide for plain SGD, and part ways under Adam.
/// </summary>
public sealed class DecayCoincidenceTests
{
    private const int Steps = 20;

    // A small regression problem with a real loss surface: 16 samples of 5 features, 3 targets.
    private static (Tensor X, Tensor Y) Problem()
    {
        var x = TestData.Random(11, 16, 5);
        var y = TestData.Random(12, 16, 3);
        return (x, y);
    }

    private static Sequential Model()
    {
        Rng.ManualSeed(7);
        return new Sequential(new Linear(5, 8), new Tanh(), new Linear(8, 3));
    }

    /// <summary>Runs <see cref="Steps"/> steps of mean-squared-error training; <paramref name="beforeStep"/> runs between backward and step.</summary>
    private static float[] Train(Sequential model, Optimizer optimizer, Action<Optimizer>? beforeStep = null)
    {
        var (x, y) = Problem();
        for (int step = 0; step < Steps; step++)
        {
            optimizer.ZeroGrad();
            Functional.MseLoss(model.Forward(x), y).Backward();
            beforeStep?.Invoke(optimizer);
            optimizer.Step();
        }
        return (float[])optimizer.Arena.Data.Clone();
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.9, false)]
    [InlineData(0.9, true)]
    public void Sgd_L2PenaltyLambda_IsExactlyWeightDecayLambda(double momentum, bool nesterov)
    {
        const double Lambda = 0.05;
        var coupledModel = Model();
        var coupled = Train(coupledModel, new SGD(coupledModel.Parameters(), lr: 0.1, momentum: momentum, weightDecay: Lambda, nesterov: nesterov));

        var penalizedModel = Model();
        var penalty = WeightPenalty.L2(Lambda, weightsOnly: false);
        var penalized = Train(penalizedModel, new SGD(penalizedModel.Parameters(), lr: 0.1, momentum: momentum, nesterov: nesterov),
            optimizer => penalty.AddGradient(optimizer.Arena));

        // Both add λw to the gradient with the same fused multiply-add, so the trajectories agree bit for bit.
        Assert.Equal(coupled, penalized);
        var plainModel = Model();
        Assert.NotEqual(coupled, Train(plainModel, new SGD(plainModel.Parameters(), lr: 0.1, momentum: momentum, nesterov: nesterov)));
    }

    [Fact]
    public void Sgd_WeightDecayLambda_IsDecoupledDecayOfLrTimesLambda()
    {
        // Decoupled decay shrinks θ ← θ(1 − γλ) apart from the gradient step. AdamW applies exactly that shrink and
        // nothing else when its gradient is zero (its moments stay zero), so it serves as the decoupled decay here,
        // followed by a plain SGD step on the loss gradient saved beforehand.
        const double Lambda = 0.05, Lr = 0.1;
        var coupledModel = Model();
        var coupled = Train(coupledModel, new SGD(coupledModel.Parameters(), lr: Lr, weightDecay: Lambda));

        var decoupledModel = Model();
        var sgd = new SGD(decoupledModel.Parameters(), lr: Lr);
        var decay = new AdamW(decoupledModel.Parameters(), lr: Lr, weightDecay: Lambda);
        Assert.Same(sgd.Arena, decay.Arena);
        var saved = new float[sgd.Arena.Length];
        var decoupled = Train(decoupledModel, sgd, optimizer =>
        {
            optimizer.Arena.Grad.CopyTo(saved, 0);
            optimizer.Arena.ZeroGrad();
            decay.Step();
            saved.CopyTo(optimizer.Arena.Grad, 0);
        });

        for (int i = 0; i < coupled.Length; i++) Assert.Equal(coupled[i], decoupled[i], 1e-6);
    }

    [Fact]
    public void Adam_CoupledWeightDecay_IsStillTheL2Penalty()
    {
        // Coupled decay is the L2 penalty's gradient for every optimizer; what changes under Adam is what the rule
        // then does with it (next test).
        const double Lambda = 0.05;
        var coupledModel = Model();
        var coupled = Train(coupledModel, new Adam(coupledModel.Parameters(), lr: 0.01, weightDecay: Lambda));

        var penalizedModel = Model();
        var penalty = WeightPenalty.L2(Lambda, weightsOnly: false);
        var penalized = Train(penalizedModel, new Adam(penalizedModel.Parameters(), lr: 0.01), optimizer => penalty.AddGradient(optimizer.Arena));

        for (int i = 0; i < coupled.Length; i++) Assert.Equal(coupled[i], penalized[i], 1e-6);
    }

    [Fact]
    public void Adam_AdaptiveDenominatorRescalesL2_WhileAdamWShrinksByLrTimesLambda()
    {
        // With no loss at all the only gradient is the decay. Adam divides it by its own RMS, so the first step moves
        // every weight by lr whatever λ and |w| are; AdamW multiplies every weight by (1 − lr·λ), like SGD's decay.
        float[] weights = [2f, -0.5f, 0.25f];
        foreach (double lambda in new[] { 1e-3, 1e-1 })
        {
            var adamParameter = new Parameter(3);
            weights.CopyTo(adamParameter.Data);
            var adam = new Adam([adamParameter], lr: 0.1, weightDecay: lambda);
            adam.ZeroGrad();
            adam.Step();

            var adamWParameter = new Parameter(3);
            weights.CopyTo(adamWParameter.Data);
            var adamW = new AdamW([adamWParameter], lr: 0.1, weightDecay: lambda);
            adamW.ZeroGrad();
            adamW.Step();

            var sgdParameter = new Parameter(3);
            weights.CopyTo(sgdParameter.Data);
            var sgd = new SGD([sgdParameter], lr: 0.1, weightDecay: lambda);
            sgd.ZeroGrad();
            sgd.Step();

            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(weights[i] - 0.1f * MathF.Sign(weights[i]), adamParameter.Data[i], 4);
                Assert.Equal(weights[i] * (1 - 0.1 * lambda), adamWParameter.Data[i], 6);
                Assert.Equal(adamWParameter.Data[i], sgdParameter.Data[i], 6);
            }
        }
    }
}
