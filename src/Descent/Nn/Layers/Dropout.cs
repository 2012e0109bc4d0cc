using System.Globalization;

namespace Descent.Nn;

/// <summary>
/// Inverted dropout, like <c>nn.Dropout(p=0.5)</c>: in training each element is zeroed with probability
/// <see cref="P"/> and the rest are multiplied by 1/(1 − p), so that a unit's expected output is unchanged;
/// after <see cref="Module.Eval"/> the layer is the identity (no rescaling is needed at test time).
/// </summary>
/// <remarks>
/// Masks come from <see cref="Rng.Default"/> at the time of each forward pass (so <see cref="Rng.ManualSeed"/>
/// makes a run repeatable, as <c>torch.manual_seed</c> does), or from the generator given to the constructor.
/// PyTorch's mask stream cannot be reproduced; the distribution is the same.
/// </remarks>
public sealed class Dropout : Module
{
    private readonly Random? _random;
    private readonly string _description;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing an element, in [0, 1).</param>
    /// <param name="random">A generator of its own; <see cref="Rng.Default"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="p"/> is outside [0, 1): "dropout probability has to be between 0 and 1, but got 1.5".</exception>
    public Dropout(double p = 0.5, Random? random = null)
    {
        Functional.CheckDropoutProbability(p);
        P = p;
        _random = random;
        _description = $"Dropout(p={p.ToString(CultureInfo.InvariantCulture)})";
    }

    /// <summary>The probability of zeroing an element.</summary>
    public double P { get; }

    /// <inheritdoc />
    public override string Describe() => _description;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, P, Training, _random);
}
