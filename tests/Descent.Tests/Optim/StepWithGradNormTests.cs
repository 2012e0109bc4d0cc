using Descent.Nn;
using Descent.Optim;

namespace Descent.Tests.Optim;

/// <summary>
/// <see cref="Optimizer.StepWithGradNorm"/> steps exactly as <see cref="Optimizer.Step()"/> does and returns
/// √Σg² of the gradients it stepped with, computed here independently in double precision.
/// </summary>
public class StepWithGradNormTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (string name in Optimizers.Names)
        {
            if (name == "lbfgs") continue;
            // 37 values run inline with a scalar tail; 300,037 cross several chunks, so the step is split over the worker pool.
            data.Add(name, 37);
            data.Add(name, 300_037);
        }
        return data;
    }

    /// <summary>Two parameters filled from a seed, with gradients of mixed signs and magnitudes.</summary>
    private sealed class TwoTensors : Module
    {
        public TwoTensors(int size, int seed)
        {
            var random = new Random(seed);
            A = RegisterParameter("a", new Parameter(Tensor.FromArray(Values(random, size, 1f), size)));
            B = RegisterParameter("b", new Parameter(Tensor.FromArray(Values(random, 19, 1f), 19)));
        }

        public Parameter A { get; }
        public Parameter B { get; }

        public override Tensor Forward(Tensor input) => A;

        public void SetGradients(int seed)
        {
            var random = new Random(seed);
            Values(random, A.Numel, 3e-2f).CopyTo(A.Grad!.Data);
            Values(random, B.Numel, 5f).CopyTo(B.Grad!.Data);
        }
    }

    private static float[] Values(Random random, int n, float scale)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale * Math.Exp(random.NextDouble() * 4 - 2));
        return values;
    }

    private static double IndependentNorm(Optimizer optimizer)
    {
        double sum = 0;
        foreach (float g in optimizer.Arena.Grad) sum += (double)g * g;
        return Math.Sqrt(sum);
    }

    private static void AssertSameStepsAndNorm(Func<TwoTensors, Optimizer> create, int size)
    {
        var plainModel = new TwoTensors(size, seed: 1);
        var measuredModel = new TwoTensors(size, seed: 1);
        var plain = create(plainModel);
        var measured = create(measuredModel);
        for (int step = 0; step < 3; step++)
        {
            plainModel.SetGradients(seed: 10 + step);
            measuredModel.SetGradients(seed: 10 + step);
            double expected = IndependentNorm(measured);
            plain.Step();
            double norm = measured.StepWithGradNorm();
            Assert.InRange(norm, expected * (1 - 1e-6), expected * (1 + 1e-6));
            Assert.Equal(plainModel.A.ToArray(), measuredModel.A.ToArray());
            Assert.Equal(plainModel.B.ToArray(), measuredModel.B.ToArray());
        }
        Assert.Equal(plain.StateDict().Buffers.Keys.Order(), measured.StateDict().Buffers.Keys.Order());
        foreach (var (key, buffer) in plain.StateDict().Buffers) Assert.Equal(buffer, measured.StateDict().Buffers[key]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Steps_as_step_and_returns_the_norm_of_the_gradients(string name, int size) =>
        AssertSameStepsAndNorm(model => Optimizers.Create(name, model, new OptimizerSettings { Lr = 0.01, WeightDecay = 0.1 }), size);

    [Theory]
    [InlineData(37)]
    [InlineData(300_037)]
    public void Groups_with_their_own_options_are_all_measured(int size) =>
        AssertSameStepsAndNorm(model => new SGD(
        [
            new ParamGroup<SgdOptions>([model.A], new SgdOptions { Lr = 0.1, Momentum = 0.9, Nesterov = true }),
            new ParamGroup<SgdOptions>([model.B], new SgdOptions { Lr = 0.01, WeightDecay = 0.5, Maximize = true }),
        ]), size);

    [Theory]
    [InlineData(37)]
    [InlineData(300_037)]
    public void Lookahead_measures_through_its_inner_optimizer(int size) =>
        AssertSameStepsAndNorm(model => new Lookahead(new Adam(model.Parameters(), lr: 0.01, weightDecay: 0.1), k: 2), size);

    [Fact]
    public void A_closure_optimizer_refuses_as_step_does()
    {
        var model = new TwoTensors(5, seed: 1);
        var lbfgs = Optimizers.Create("lbfgs", model, new OptimizerSettings { Lr = 1 });
        var stepError = Assert.Throws<InvalidOperationException>(lbfgs.Step);
        var normError = Assert.Throws<InvalidOperationException>(() => lbfgs.StepWithGradNorm());
        Assert.Equal(stepError.Message, normError.Message);
    }
}
