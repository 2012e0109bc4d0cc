namespace Descent.Nn;

/// <summary>The ready-made models behind <c>descent train --model</c>; each is an ordinary <see cref="Sequential"/>.</summary>
public static class Models
{
    /// <summary>
    /// A multilayer perceptron: Linear(in → h₁), act, …, Linear(hₖ → classes). With an image input,
    /// put a <see cref="Flatten"/> in front (done here when <paramref name="flattenInput"/> is set).
    /// </summary>
    /// <remarks>
    /// With <paramref name="batchNorm"/> every hidden Linear is followed by a <see cref="BatchNorm1d"/> before its
    /// activation (the placement of Ioffe &amp; Szegedy, 2015); with <paramref name="dropout"/> &gt; 0 every hidden
    /// activation is followed by a <see cref="Dropout"/>. A hidden block is then
    /// Linear → BatchNorm1d → act → Dropout. The output layer gets neither.
    /// </remarks>
    /// <param name="inputSize">Features per sample.</param>
    /// <param name="hidden">Hidden layer sizes.</param>
    /// <param name="numClasses">Output size.</param>
    /// <param name="activation">One of <see cref="Activations.Names"/>.</param>
    /// <param name="flattenInput">Put a <see cref="Flatten"/> first.</param>
    /// <param name="batchNorm">Batch-normalize every hidden layer.</param>
    /// <param name="dropout">Dropout probability after every hidden activation; 0 for none.</param>
    public static Sequential Mlp(int inputSize, IReadOnlyList<int> hidden, int numClasses, string activation = "relu", bool flattenInput = false,
        bool batchNorm = false, double dropout = 0)
    {
        Functional.CheckDropoutProbability(dropout);
        var net = new Sequential();
        if (flattenInput) net.Add(new Flatten());
        int prev = inputSize;
        foreach (var h in hidden)
        {
            if (h < 1) throw new ArgumentOutOfRangeException(nameof(hidden), $"hidden layer sizes must be positive, got {h}");
            net.Add(new Linear(prev, h));
            if (batchNorm) net.Add(new BatchNorm1d(h));
            net.Add(Activations.Create(activation));
            if (dropout > 0) net.Add(new Dropout(dropout));
            prev = h;
        }
        net.Add(new Linear(prev, numClasses));
        return net;
    }

    /// <summary>
    /// The small CNN of the benchmarks: conv3×3(C→32, pad 1) → act → maxpool2 → conv3×3(32→64, pad 1) → act →
    /// maxpool2 → flatten → Linear(64·⌊H/4⌋·⌊W/4⌋ → 128) → act → Linear(128 → classes).
    /// </summary>
    /// <remarks>
    /// With <paramref name="batchNorm"/> each convolution is followed by a <see cref="BatchNorm2d"/> and the hidden
    /// Linear by a <see cref="BatchNorm1d"/>, before the activation; with <paramref name="dropout"/> &gt; 0 each of
    /// those three activations is followed by a <see cref="Dropout"/> (before the pooling, for the convolutions).
    /// </remarks>
    /// <param name="channels">Input channels.</param>
    /// <param name="height">Input height, at least 4.</param>
    /// <param name="width">Input width, at least 4.</param>
    /// <param name="numClasses">Output size.</param>
    /// <param name="activation">One of <see cref="Activations.Names"/>.</param>
    /// <param name="batchNorm">Batch-normalize after each convolution and the hidden Linear.</param>
    /// <param name="dropout">Dropout probability after every hidden activation; 0 for none.</param>
    public static Sequential Cnn(int channels, int height, int width, int numClasses, string activation = "relu", bool batchNorm = false, double dropout = 0)
    {
        if (height < 4 || width < 4) throw new ArgumentException($"the cnn model needs images of at least 4×4, got {height}×{width}");
        Functional.CheckDropoutProbability(dropout);
        var net = new Sequential();
        void Block(Module layer, Module? norm)
        {
            net.Add(layer);
            if (batchNorm) net.Add(norm!);
            net.Add(Activations.Create(activation));
            if (dropout > 0) net.Add(new Dropout(dropout));
        }
        Block(new Conv2d(channels, 32, 3, padding: 1), batchNorm ? new BatchNorm2d(32) : null);
        net.Add(new MaxPool2d(2));
        Block(new Conv2d(32, 64, 3, padding: 1), batchNorm ? new BatchNorm2d(64) : null);
        net.Add(new MaxPool2d(2));
        net.Add(new Flatten());
        Block(new Linear(64 * (height / 4) * (width / 4), 128), batchNorm ? new BatchNorm1d(128) : null);
        net.Add(new Linear(128, numClasses));
        return net;
    }
}
