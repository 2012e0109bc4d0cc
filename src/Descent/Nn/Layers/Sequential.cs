namespace Descent.Nn;

/// <summary>Runs its children in order, like <c>nn.Sequential</c>; children are named "0", "1", ….</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    /// <summary>Creates the container from layers in order.</summary>
    public Sequential(params IEnumerable<Module> layers)
    {
        foreach (var l in layers) Add(l);
    }

    /// <summary>Appends a layer.</summary>
    public Sequential Add(Module layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    private Module? At(int index) => index < _layers.Count ? _layers[index] : null;

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => _layers;

    /// <summary>Layer <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        if (!Autodiff.Tape.IsAnomalyEnabled)
        {
            for (int i = 0; i < _layers.Count; i++)
            {
                // A convolution whose output only a ReLU reads runs fused with it, and with a 2×2 max pool after
                // that: same values and gradients, without passes over the full-size activation. Anomaly mode below
                // keeps every layer apart.
                if (_layers[i] is Conv2d conv && At(i + 1) is ReLU)
                {
                    if (At(i + 2) is MaxPool2d { KernelSize: 2, Stride: 2, Padding: 0 } pool)
                    {
                        x = conv.ForwardReluMaxPool2x2(x, pool);
                        i += 2;
                    }
                    else
                    {
                        x = conv.ForwardRelu(x);
                        i++;
                    }
                }
                else x = _layers[i].Forward(x);
            }
            return x;
        }
        // Anomaly mode names the layer an op runs in: "2 (Linear)", nested "1.0 (Conv2d)".
        string? outer = Autodiff.Tape.CurrentLayer;
        string prefix = outer is null ? "" : outer[..outer.IndexOf(' ')] + ".";
        try
        {
            for (int i = 0; i < _layers.Count; i++)
            {
                Autodiff.Tape.CurrentLayer = $"{prefix}{i} ({_layers[i].GetType().Name})";
                x = _layers[i].Forward(x);
            }
        }
        finally
        {
            Autodiff.Tape.CurrentLayer = outer;
        }
        return x;
    }
}
