using Descent.Autodiff;
using Descent.Nn;

namespace Descent.Tests.Autodiff;

public class TapeTests
{
    [Fact]
    public void Chain_rule_matches_closed_form()
    {
        // L = Σ (a·b + a)²  → dL/da = 2(a·b + a)(b + 1), dL/db = 2(a·b + a)·a
        var a = Tensor.FromArray([1f, -2f, 0.5f], 3).Grad();
        var b = Tensor.FromArray([3f, 0.25f, -1f], 3).Grad();
        var y = a * b + a;
        (y * y).Sum().Backward();
        float[] av = [1f, -2f, 0.5f], bv = [3f, 0.25f, -1f];
        for (int i = 0; i < 3; i++)
        {
            float inner = av[i] * bv[i] + av[i];
            Assert.Equal(2 * inner * (bv[i] + 1), a.Grad!.Data[i], 5);
            Assert.Equal(2 * inner * av[i], b.Grad!.Data[i], 5);
        }
    }

    [Fact]
    public void An_intermediate_read_by_several_ops_gets_the_sum_of_their_gradients()
    {
        // h is an intermediate: the first op whose backward reaches it writes its gradient buffer (it starts with
        // undefined contents), the later ones add. 300,001 elements: the element-wise ops run in chunks over the
        // worker threads, with a ragged last chunk. Closed form: dL/dx = (h > 0) + 3·σ(h)(1 − σ(h)) + 2·(2x) per
        // element, with h = 2x.
        var x = TestData.Random(7, 300_001).Grad();
        var h = x * 2f;
        var loss = (Functional.Relu(h) + Functional.Sigmoid(h) * 3f + Functional.Reshape(h, 1, 300_001) * Functional.Reshape(h, 1, 300_001) * 0.5f).Sum();
        loss.Backward();
        var xv = x.Data.ToArray();
        var g = x.Grad!.Data.ToArray();
        for (int i = 0; i < xv.Length; i++)
        {
            float hv = 2 * xv[i];
            float s = 1f / (1f + MathF.Exp(-hv));
            float expected = 2 * ((hv > 0 ? 1f : 0f) + 3 * s * (1 - s) + hv);
            Assert.True(MathF.Abs(g[i] - expected) <= 1e-5f * (1 + MathF.Abs(expected)), $"x.grad[{i}] = {g[i]}, expected {expected}");
        }
    }

    [Fact]
    public void Leaf_gradients_accumulate_until_zeroed()
    {
        var p = new Parameter(Tensor.FromArray([2f], 1));
        for (int k = 0; k < 3; k++) (p * p).Sum().Backward();
        Assert.Equal(12f, p.Grad!.Data[0]);
        var m = new Sequential(new Linear(1, 1));
        var w = m.Parameters()[0];
        m.Forward(Tensor.FromArray([1f], 1, 1)).Sum().Backward();
        m.Forward(Tensor.FromArray([1f], 1, 1)).Sum().Backward();
        Assert.Equal(2f, w.Grad!.Data[0]);
        m.ZeroGrad();
        Assert.Equal(0f, w.Grad!.Data[0]);
    }

    [Fact]
    public void NoGrad_records_nothing()
    {
        var a = TestData.Random(1, 4).Grad();
        Tensor y;
        using (Tape.NoGrad()) y = (a * a).Sum();
        Assert.False(y.RequiresGrad);
        Assert.Equal(0, Tape.Count);
        Assert.Throws<InvalidOperationException>(() => y.Backward());
    }

    [Fact]
    public void Detach_cuts_the_graph()
    {
        var a = Tensor.FromArray([3f], 1).Grad();
        var y = (a * a.Detach()).Sum();
        y.Backward();
        Assert.Equal(3f, a.Grad!.Data[0]);
    }

    [Fact]
    public void Deep_graph_backward_is_iterative()
    {
        // 200,000 chained ops would overflow the stack of a recursive topological sort.
        var x = Tensor.FromArray([1f], 1).Grad();
        var y = x;
        for (int i = 0; i < 200_000; i++) y = y * 1f;
        y.Sum().Backward();
        Assert.Equal(1f, x.Grad!.Data[0]);
    }

    [Fact]
    public void Intermediates_are_recycled_and_report_it()
    {
        var x = TestData.Random(1, 32, 32).Grad();
        var hidden = x.Tanh();
        hidden.Sum().Backward();
        var e = Assert.Throws<InvalidOperationException>(() => hidden.Data[0]);
        Assert.Contains("Backward", e.Message);
    }

    [Fact]
    public void Second_backward_without_retain_graph_fails_clearly()
    {
        var x = TestData.Random(1, 4).Grad();
        var y = (x * x).Sum();
        y.Backward(retainGraph: true);
        y.Backward();
        Assert.Equal(4 * x.Data[0], x.Grad!.Data[0], 5);
    }
}
