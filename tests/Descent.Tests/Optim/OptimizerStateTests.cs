using Descent.Nn;
using Descent.Optim;

namespace Descent.Tests.Optim;

/// <summary>
/// The typed state of each group (<c>optimizer.State(i)</c>): what PyTorch's <c>optimizer.state</c> holds after
/// known steps (closed forms of the first step), the same values under PyTorch's names in the state dict, and
/// a refused state dict that changes nothing.
/// </summary>
public class OptimizerStateTests
{
    private static readonly float[] Gradient = [0.5f, -2f, 0f, 3f];

    private static Parameter Point() => new(Tensor.FromArray([1f, -1f, 2f, 0.25f], 4));

    /// <summary><paramref name="optimizer"/> (over one <see cref="Point"/>) with <see cref="Gradient"/> in its arena.</summary>
    private static T WithGradient<T>(T optimizer) where T : Optimizer
    {
        Gradient.CopyTo(optimizer.Arena.Grad, 0);
        return optimizer;
    }

    [Fact]
    public void Adam_state_after_the_first_step_is_its_closed_form()
    {
        var adam = WithGradient(new Adam([Point()], amsgrad: true));
        Assert.Null(adam.State(0));
        adam.Step();
        var state = adam.State(0)!;
        Assert.Equal(1, state.Step);
        // m = 0.9·0 + 0.1·g and v = 0.999·0 + 0.001·g², each rounded once.
        Assert.Equal(Gradient.Select(g => g * 0.1f), state.ExpAvg.ToArray());
        Assert.Equal(Gradient.Select(g => 0.001f * g * g), state.ExpAvgSq.ToArray());
        Assert.Equal(state.ExpAvgSq.ToArray(), state.MaxExpAvgSq.ToArray());
        var plain = WithGradient(new Adam([Point()]));
        Assert.Null(plain.State(0));
        plain.Step();
        Assert.True(plain.State(0)!.MaxExpAvgSq.IsEmpty);
    }

    [Fact]
    public void Sgd_momentum_buffer_starts_as_the_gradient()
    {
        var sgd = WithGradient(new SGD([Point()], lr: 0.1, momentum: 0.9, weightDecay: 0));
        sgd.Step();
        Assert.Equal(Gradient, sgd.State(0)!.MomentumBuffer.ToArray());
        var plain = WithGradient(new SGD([Point()], lr: 0.1));
        plain.Step();
        Assert.True(plain.State(0)!.MomentumBuffer.IsEmpty);
        Assert.Empty(plain.StateDict().Buffers);
    }

    [Fact]
    public void NAdam_mu_product_is_the_first_mu_in_float32()
    {
        var nadam = WithGradient(new NAdam([Point()]));
        nadam.Step();
        Assert.Equal((float)(0.9 * (1 - 0.5 * Math.Pow(0.96, 0.004))), nadam.State(0)!.MuProduct);
        Assert.Equal(nadam.State(0)!.MuProduct, nadam.StateDict().Scalars["0.mu_product"]);
    }

    [Fact]
    public void Adagrad_state_exists_before_the_first_step()
    {
        var adagrad = WithGradient(new Adagrad([Point()], initialAccumulatorValue: 0.25));
        Assert.Equal(0, adagrad.State(0)!.Step);
        Assert.Equal([0.25f, 0.25f, 0.25f, 0.25f], adagrad.State(0)!.Sum.ToArray());
        adagrad.Step();
        Assert.Equal(Gradient.Select(g => 0.25f + g * g), adagrad.State(0)!.Sum.ToArray());
    }

    [Fact]
    public void State_dict_holds_the_typed_state_under_pytorch_names_and_restores_it()
    {
        var rmsprop = WithGradient(new RMSprop([Point()], momentum: 0.9, centered: true));
        rmsprop.Step();
        rmsprop.Step();
        var saved = rmsprop.StateDict();
        var state = rmsprop.State(0)!;
        Assert.Equal(2.0, saved.Scalars["0.step"]);
        Assert.Equal(state.SquareAvg.ToArray(), saved.Buffers["0.square_avg"]);
        Assert.Equal(state.MomentumBuffer.ToArray(), saved.Buffers["0.momentum_buffer"]);
        Assert.Equal(state.GradAvg.ToArray(), saved.Buffers["0.grad_avg"]);

        var restored = WithGradient(new RMSprop([Point()], momentum: 0.9, centered: true));
        restored.LoadStateDict(saved);
        Assert.Equal(2, restored.State(0)!.Step);
        Assert.Equal(state.SquareAvg.ToArray(), restored.State(0)!.SquareAvg.ToArray());
        Assert.Equal(state.GradAvg.ToArray(), restored.State(0)!.GradAvg.ToArray());
    }

    [Fact]
    public void A_state_dict_from_before_the_first_step_restores_a_fresh_state()
    {
        var fresh = new Adam([Point()]).StateDict();
        Assert.Empty(fresh.Buffers);
        var adam = WithGradient(new Adam([Point()]));
        adam.Step();
        adam.LoadStateDict(fresh);
        Assert.Null(adam.State(0));
    }

    [Fact]
    public void A_refused_state_dict_changes_nothing()
    {
        var a = new Parameter(Tensor.FromArray([1f, 2f], 2));
        var b = new Parameter(Tensor.FromArray([3f, 4f, 5f], 3));
        var adam = new Adam([new ParamGroup<AdamOptions>([a], new AdamOptions()), new ParamGroup<AdamOptions>([b], new AdamOptions { Lr = 0.5 })]);
        adam.Step();
        var saved = adam.StateDict();
        adam.Step();
        var expAvg = adam.State(0)!.ExpAvg.ToArray();
        var broken = saved with { Buffers = saved.Buffers.ToDictionary(kv => kv.Key, kv => kv.Key == "1.exp_avg" ? new float[2] : kv.Value) };
        var error = Assert.Throws<ArgumentException>(() => adam.LoadStateDict(broken));
        Assert.Equal("loaded state dict's 'exp_avg' of group 1 holds 2 values but the group holds 3", error.Message);
        Assert.Equal(2, adam.StepCount);
        Assert.Equal(2, adam.State(0)!.Step);
        Assert.Equal(expAvg, adam.State(0)!.ExpAvg.ToArray());
        Assert.Equal(0.5, adam.ParamGroups[1].Options.Lr);
    }

    [Fact]
    public void A_missing_entry_is_named()
    {
        var adamax = WithGradient(new Adamax([Point()]));
        adamax.Step();
        var saved = adamax.StateDict();
        var error = Assert.Throws<ArgumentException>(() => adamax.LoadStateDict(saved with { Buffers = saved.Buffers.Where(kv => kv.Key != "0.exp_inf").ToDictionary() }));
        Assert.Equal("loaded state dict has no 'exp_inf' for group 0", error.Message);
    }
}
