using Descent.Autodiff;
using Descent.Nn;

namespace Descent.Tests.Nn;

public class SequentialFusionTests
{
    /// <summary>
    /// Sequential runs a Conv2d followed by a ReLU as one fused op; running the same two layers one at a time (as the
    /// doctor does, and as anomaly mode does) gives the unfused ops, whose kernels the PyTorch fixtures check. Both
    /// routes must give the same output and the same gradients, bit for bit.
    /// </summary>
    [Fact]
    public void A_conv_followed_by_relu_gives_the_outputs_and_gradients_of_the_layers_run_apart()
    {
        Rng.ManualSeed(3);
        // Convolution + ReLU + pool on a 10×10 output, again on a 5×5 one (the pool drops a row and a column), then
        // convolution + ReLU alone.
        var model = new Sequential(new Conv2d(3, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 6, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Conv2d(6, 4, 1), new ReLU(), new Flatten());
        var input = TestData.Random(11, 6, 3, 10, 10).Grad();
        Tape.Clear(); // the tape is per thread: drop what another test may have left on it

        var fused = model.Forward(input);
        Assert.Equal(["conv2d_relu_max_pool2d", "conv2d_relu_max_pool2d", "conv2d_relu", "reshape"], Tape.Nodes.Select(n => n.Name));
        var fusedOutput = fused.Data.ToArray();
        fused.Sum().Backward();
        var fusedGrads = model.Parameters().Select(p => p.Grad!.Data.ToArray()).Append(input.Grad!.Data.ToArray()).ToList();

        model.ZeroGrad();
        input.Grad = null;
        var apart = input;
        foreach (var layer in model.Layers) apart = layer.Forward(apart);
        Assert.DoesNotContain(Tape.Nodes, n => n.Name.StartsWith("conv2d_relu", StringComparison.Ordinal));
        Assert.Equal(fusedOutput, apart.Data.ToArray());
        apart.Sum().Backward();
        var apartGrads = model.Parameters().Select(p => p.Grad!.Data.ToArray()).Append(input.Grad!.Data.ToArray()).ToList();

        Assert.Equal(fusedGrads.Count, apartGrads.Count);
        for (int i = 0; i < fusedGrads.Count; i++) Assert.Equal(apartGrads[i], fusedGrads[i]);
        Assert.Contains(fusedGrads[^1], g => g != 0f);
    }
}
