namespace Descent.Nn;

/// <summary>The ready-made models behind <c>descent train --model</c>; each is an ordinary <see cref="Sequential"/>.</summary>
public static class Models
{
    /// <summary>
    /// A multilayer perceptron: Linear(in → h₁), act, …, Linear(hₖ → classes). With an image input,
    /// put a <see cref="Flatten"/> in front (done here when <paramref name="flattenInput"/> is set).
    /// </summary>
    public static Sequential Mlp(int inputSize, IReadOnlyList<int> hidden, int numClasses, string activation = "relu", bool flattenInput = false)
    {
        var net = new Sequential();
        if (flattenInput) net.Add(new Flatten());
        int prev = inputSize;
        foreach (var h in hidden)
        {
            if (h < 1) throw new ArgumentOutOfRangeException(nameof(hidden), $"hidden layer sizes must be positive, got {h}");
            net.Add(new Linear(prev, h));
            net.Add(Activations.Create(activation));
            prev = h;
        }
        net.Add(new Linear(prev, numClasses));
        return net;
    }

    /// <summary>
    /// The small CNN of the benchmarks: conv3×3(C→32, pad 1) → act → maxpool2 → conv3×3(32→64, pad 1) → act →
    /// maxpool2 → flatten → Linear(64·⌊H/4⌋·⌊W/4⌋ → 128) → act → Linear(128 → classes).
    /// </summary>
    public static Sequential Cnn(int channels, int height, int width, int numClasses, string activation = "relu")
    {
        if (height < 4 || width < 4) throw new ArgumentException($"the cnn model needs images of at least 4×4, got {height}×{width}");
        return new Sequential(
            new Conv2d(channels, 32, 3, padding: 1), Activations.Create(activation), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1), Activations.Create(activation), new MaxPool2d(2),
            new Flatten(),
            new Linear(64 * (height / 4) * (width / 4), 128), Activations.Create(activation),
            new Linear(128, numClasses));
    }
}
