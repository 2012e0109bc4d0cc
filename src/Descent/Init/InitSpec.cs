using System.Globalization;
using Descent.Nn;

namespace Descent.Init;

/// <summary>
/// A whole-model weight initialization named by a short spec, the <c>--init</c> option of <c>descent train</c>:
/// <c>xavier-uniform</c>, <c>xavier-normal</c>, <c>kaiming-uniform</c>, <c>kaiming-normal</c>, <c>lecun-normal</c>,
/// <c>orthogonal</c>, <c>zeros</c>, <c>normal:STD</c> (N(0, STD²)), <c>uniform:A</c> (U(−A, A)) or
/// <c>torch-default</c>. <see cref="Apply"/> re-initializes every <see cref="Linear"/> and <see cref="Conv2d"/>
/// weight of a model with it and zeroes their biases, except <c>torch-default</c>, which redraws weight and bias
/// as the layers' constructors do.
/// </summary>
/// <remarks>
/// The Xavier and Kaiming forms use the <c>torch.nn.init</c> defaults: gain 1 for Xavier; a = 0, fan_in and
/// the leaky_relu gain (√2, the same as relu) for Kaiming. In PyTorch, <c>--init kaiming-normal</c> is
/// <code>
/// for m in model.modules():
///     if isinstance(m, (nn.Linear, nn.Conv2d)):
///         nn.init.kaiming_normal_(m.weight)
///         if m.bias is not None: nn.init.zeros_(m.bias)
/// </code>
/// </remarks>
public sealed record InitSpec
{
    /// <summary>The accepted spec forms, for help texts and error messages.</summary>
    public static readonly string[] Forms =
        ["xavier-uniform", "xavier-normal", "kaiming-uniform", "kaiming-normal", "lecun-normal", "orthogonal", "zeros", "normal:STD", "uniform:A", "torch-default"];

    private static readonly string[] NamesWithoutArgument =
        ["xavier-uniform", "xavier-normal", "kaiming-uniform", "kaiming-normal", "lecun-normal", "orthogonal", "zeros", "torch-default"];

    private InitSpec(string name, double? argument)
    {
        Name = name;
        Argument = argument;
    }

    /// <summary>PyTorch's own default initialization of Linear and Conv2d.</summary>
    public static InitSpec TorchDefault { get; } = new("torch-default", null);

    /// <summary>The initializer's name, e.g. <c>xavier-uniform</c> or <c>normal</c>.</summary>
    public string Name { get; }

    /// <summary>The standard deviation of <c>normal:STD</c> or the bound of <c>uniform:A</c>; null for the others.</summary>
    public double? Argument { get; }

    /// <summary>True for <c>torch-default</c>, which leaves freshly built layers as they are.</summary>
    public bool IsTorchDefault => Name == "torch-default";

    /// <summary>Parses a spec such as <c>kaiming-normal</c> or <c>normal:0.01</c> (case and <c>_</c>/<c>-</c> do not matter).</summary>
    /// <exception cref="ArgumentException">The spec names no known initializer or its argument is missing, extra or not a positive number.</exception>
    public static InitSpec Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var text = spec.Trim().ToLowerInvariant().Replace('_', '-');
        int colon = text.IndexOf(':');
        var name = colon < 0 ? text : text[..colon];
        var argument = colon < 0 ? null : text[(colon + 1)..];
        if (name is "normal" or "uniform")
        {
            var what = name == "normal" ? "a standard deviation" : "a bound";
            var form = name == "normal" ? "normal:STD, e.g. normal:0.01" : "uniform:A, e.g. uniform:0.05";
            if (string.IsNullOrEmpty(argument))
                throw new ArgumentException($"init '{spec}' needs {what}: {form}");
            if (!double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0) || double.IsInfinity(value))
                throw new ArgumentException($"init '{spec}' needs {what} that is a positive number, got '{argument}'");
            return new InitSpec(name, value);
        }
        if (!NamesWithoutArgument.Contains(name))
            throw new ArgumentException($"unknown init '{spec}' (expected one of: {string.Join(", ", Forms)})");
        if (argument is not null)
            throw new ArgumentException($"init '{name}' takes no argument, got '{spec}'");
        return name == "torch-default" ? TorchDefault : new InitSpec(name, null);
    }

    /// <summary>
    /// Initializes one layer's weight (and zeroes its bias; <c>torch-default</c> draws the bias from
    /// U(−1/√fan_in, 1/√fan_in) instead).
    /// </summary>
    public void Initialize(Tensor weight, Tensor? bias, Random? random = null)
    {
        switch (Name)
        {
            case "torch-default": Initializers.TorchDefault(weight, bias, random); return;
            case "xavier-uniform": Initializers.XavierUniform(weight, random: random); break;
            case "xavier-normal": Initializers.XavierNormal(weight, random: random); break;
            case "kaiming-uniform": Initializers.KaimingUniform(weight, random: random); break;
            case "kaiming-normal": Initializers.KaimingNormal(weight, random: random); break;
            case "lecun-normal": Initializers.LecunNormal(weight, random); break;
            case "orthogonal": Initializers.Orthogonal(weight, random: random); break;
            case "zeros": Initializers.Zeros(weight); break;
            case "normal": Initializers.Normal(weight, 0, Argument!.Value, random); break;
            case "uniform": Initializers.Uniform(weight, -Argument!.Value, Argument.Value, random); break;
            default: throw new InvalidOperationException($"init '{Name}' has no initializer");
        }
        if (bias is not null) Initializers.Zeros(bias);
    }

    /// <summary>
    /// Re-initializes every <see cref="Linear"/> and <see cref="Conv2d"/> of <paramref name="model"/> (in
    /// registration order, weight before bias) and returns how many layers it touched.
    /// </summary>
    public int Apply(Module model, Random? random = null)
    {
        int count = 0;
        Visit(model);
        return count;

        void Visit(Module m)
        {
            switch (m)
            {
                case Linear linear:
                    Initialize(linear.Weight, linear.Bias, random);
                    count++;
                    break;
                case Conv2d conv:
                    Initialize(conv.Weight, conv.Bias, random);
                    count++;
                    break;
            }
            foreach (var (_, child) in m.NamedChildren()) Visit(child);
        }
    }

    /// <inheritdoc />
    public override string ToString() => Argument is { } a ? $"{Name}:{a.ToString(CultureInfo.InvariantCulture)}" : Name;
}
