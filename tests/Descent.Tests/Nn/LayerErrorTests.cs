using Descent.Nn;

namespace Descent.Tests.Nn;

public class LayerErrorTests
{
    [Fact]
    public void Linear_shape_mismatch_names_the_layer_and_both_shapes()
    {
        var layer = new Linear(784, 512);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(2, 100)));
        Assert.Contains("Linear(784 → 512)", e.Message);
        Assert.Contains("[2, 100]", e.Message);
        Assert.Contains("[512, 784]", e.Message);
    }

    [Fact]
    public void Conv2d_channel_mismatch_names_the_layer_and_both_shapes()
    {
        var layer = new Conv2d(3, 8, 3);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(1, 1, 8, 8)));
        Assert.Contains("Conv2d(3 → 8", e.Message);
        Assert.Contains("[1, 1, 8, 8]", e.Message);
        Assert.Contains("[8, 3, 3, 3]", e.Message);
    }

    [Fact]
    public void Sequential_names_parameters_like_pytorch_and_state_dict_round_trips()
    {
        var model = new Sequential(new Linear(2, 3), new ReLU(), new Linear(3, 1));
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], model.NamedParameters().Select(p => p.Name));
        var state = model.StateDict();
        var copy = new Sequential(new Linear(2, 3), new ReLU(), new Linear(3, 1));
        copy.LoadStateDict(state);
        Assert.Equal(model.Parameters().SelectMany(p => p.ToArray()), copy.Parameters().SelectMany(p => p.ToArray()));
        var wrong = new Sequential(new Linear(2, 4), new ReLU(), new Linear(4, 1));
        var e = Assert.Throws<ArgumentException>(() => wrong.LoadStateDict(state));
        Assert.Contains("'0.weight'", e.Message);
    }

    [Fact]
    public void Train_and_eval_propagate_to_children()
    {
        var inner = new Linear(2, 2);
        var model = new Sequential(inner);
        model.Eval();
        Assert.False(inner.Training);
        model.Train();
        Assert.True(inner.Training);
    }
}
