using Descent.Nn;

namespace Descent.Tests.Autodiff;

/// <summary>Tensor.RegisterPostAccumulateGradHook: when it runs, and what the gradient holds then.</summary>
public sealed class PostAccumulateGradHookTests
{
    [Fact]
    public void Each_hook_runs_once_with_the_final_gradient_while_earlier_layers_are_still_to_run()
    {
        Rng.ManualSeed(0);
        var model = new Sequential(new Linear(3, 4), new Tanh(), new Linear(4, 2));
        var parameters = model.Parameters();
        var atHook = new Dictionary<int, (float[] Grad, int Remaining)>();
        var order = new List<int>();
        var handles = parameters.Select((p, i) => p.RegisterPostAccumulateGradHook(t =>
        {
            order.Add(i);
            atHook[i] = (t.Grad!.Data.ToArray(), Descent.Autodiff.Tape.BackwardRemaining);
        })).ToList();
        var x = Tensor.FromArray([0.5f, -1f, 2f, 1f, 0f, -0.5f], 2, 3);
        // The second layer's weight is read twice (the output and a penalty on it): its hook must wait for both.
        var w2 = parameters[2];
        (Functional.CrossEntropy(model.Forward(x), [1, 0]) + (w2 * w2).Sum()).Backward();
        for (int i = 0; i < parameters.Count; i++) Assert.Equal(parameters[i].Grad!.Data.ToArray(), atHook[i].Grad);
        Assert.Equal(parameters.Count, order.Count);
        // The output layer's parameters are final before the first layer's, with ops still to run.
        Assert.True(order.IndexOf(2) < order.IndexOf(0));
        Assert.True(atHook[3].Remaining > 0);
        foreach (var h in handles) h.Dispose();
        order.Clear();
        Functional.CrossEntropy(model.Forward(x), [1, 0]).Backward();
        Assert.Empty(order);
    }
}
