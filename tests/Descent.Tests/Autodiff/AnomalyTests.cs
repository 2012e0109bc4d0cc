using Descent.Autodiff;
using Descent.Nn;

namespace Descent.Tests.Autodiff;

/// <summary>Anomaly mode names the first op, forward or backward, and the layer that produced a NaN or infinity.</summary>
public class AnomalyTests
{
    /// <summary>A layer computing log(x), the planted fault.</summary>
    private sealed class LogLayer : Module
    {
        public override Tensor Forward(Tensor input) => Functional.Log(input);
    }

    [Fact]
    public void A_log_of_zero_in_forward_is_named_with_its_layer()
    {
        var linear = new Linear(3, 2);
        linear.Weight.Data.Clear();
        linear.Bias!.Data.Clear();   // the Linear outputs exact zeros
        var model = new Sequential(linear, new ReLU(), new Sequential(new LogLayer(), new Linear(2, 1)));
        var x = Tensor.FromArray([1f, 2f, 3f], 1, 3);

        var unchecked_ = model.Forward(x);   // without the mode: -inf flows on silently
        Assert.False(float.IsFinite(unchecked_.Data[0]));
        Tape.Clear();

        var e = Assert.Throws<AnomalyDetectedException>(() =>
        {
            using (Tape.DetectAnomaly()) model.Forward(x);
        });
        Assert.Equal("forward: op 'log' in layer 2.0 (LogLayer) produced -inf in its output of shape [1, 2]", e.Message);
        Tape.Clear();
        Assert.False(Tape.IsAnomalyEnabled);
    }

    [Fact]
    public void An_infinite_gradient_in_backward_is_named_with_the_op_that_made_it()
    {
        // log(1e-45) = −103.3 is finite; its derivative 1/x overflows float32.
        var x = Tensor.FromArray([1e-45f, 1f], 2);
        x.RequiresGrad = true;
        var e = Assert.Throws<AnomalyDetectedException>(() =>
        {
            using (Tape.DetectAnomaly())
            {
                var y = Functional.Sum(Functional.Log(x));
                Assert.True(float.IsFinite(y.Item()));
                y.Backward();
            }
        });
        Assert.Equal("backward: op 'log' produced inf in the gradient of its input 0 (shape [2])", e.Message);
        Tape.Clear();
    }

    [Fact]
    public void The_command_names_the_layer_where_a_diverging_run_first_overflows()
    {
        var o = new StringWriter();
        var err = new StringWriter();
        int code = Descent.Cli.Cli.Run(["train", "--lr", "1e6", "--epochs", "2", "--detect-anomaly"], o, err);
        Assert.Equal(1, code);
        Assert.Matches(@"^descent: error: (forward|backward): op '\w+' in layer \d+ \(\w+\) produced (NaN|inf|-inf) in ", err.ToString());
    }
}
