using Descent.Nn;
using Descent.Optim;

namespace Descent.Lab.Playground;

/// <summary>
/// The optimizers the playground runs: every one of <see cref="Optimizers.Names"/> (Descent's own classes, built by
/// <see cref="Optimizers.Create(string, Nn.Module, OptimizerSettings)"/>), plus <c>gd</c>, plain full-batch gradient descent (Descent's
/// <see cref="SGD"/> with momentum, dampening and Nesterov off, always on the exact gradient even when noise is on), and <c>newton</c>
/// (<see cref="Newton"/>).
/// </summary>
public static class PlaygroundOptimizers
{
    /// <summary>The names <see cref="TrajectoryRunner"/> accepts: <c>gd</c>, <c>newton</c> and the registry's.</summary>
    public static IReadOnlyList<string> Names { get; } = ["gd", "newton", .. Optimizers.Names];

    /// <summary>
    /// The learning rate an optimizer gets on <paramref name="function"/> when none is given, from the function's two
    /// scales: gd and sgd take <see cref="TestFunction.GradientLr"/>; momentum and nesterov a third of it (with
    /// μ = 0.9 their steady step is lr/(1 − μ), about three times SGD's); rmsprop, the Adam family and lion take
    /// <see cref="TestFunction.StepSize"/>, the length of their typical step; radam three times it, since its
    /// rectification scales the first few hundred steps down, but no more than GradientLr, as its first steps are
    /// plain momentum steps of lr·∇f; adagrad ten times it (its steps shrink as 1/√t); adadelta 250 times it (its
    /// steps start at about √ε·lr and grow); lbfgs and newton 1.
    /// </summary>
    public static double DefaultLr(string optimizer, TestFunction function) => Normalize(optimizer) switch
    {
        "gd" or "sgd" => function.GradientLr,
        "momentum" or "nesterov" => function.GradientLr / 3,
        "rmsprop" or "adam" or "adamw" or "nadam" or "adamax" or "lion" => function.StepSize,
        "radam" => Math.Min(3 * function.StepSize, function.GradientLr),
        "adagrad" => 10 * function.StepSize,
        "adadelta" => 250 * function.StepSize,
        "lbfgs" or "newton" => 1,
        var n => throw Unknown(n),
    };

    /// <summary>The name in lower case; throws <see cref="ArgumentException"/> listing <see cref="Names"/> unless it is one of them.</summary>
    public static string Check(string name)
    {
        string n = Normalize(name);
        return Names.Contains(n) ? n : throw Unknown(name);
    }

    /// <summary>
    /// Builds the named optimizer over <paramref name="point"/>'s single parameter. <paramref name="settings"/>.Lr
    /// must be set (the runner fills in <see cref="DefaultLr"/>).
    /// </summary>
    internal static Optimizer Create(string name, PointModule point, OptimizerSettings settings, TestFunction function, double newtonDamping) =>
        Check(name) switch
        {
            "gd" => Optimizers.Create("sgd", point, settings with { Momentum = 0, Nesterov = false, Dampening = 0 }),
            "newton" => new Newton(point.Position, function.Hessian, new NewtonOptions
            {
                Lr = settings.Lr ?? 1,
                Damping = newtonDamping,
                WeightDecay = settings.Maximize ? throw new ArgumentException("newton has no maximize option")
                    : settings.WeightDecay is > 0 ? throw new ArgumentException("newton has no weight_decay option") : 0,
            }),
            var n => Optimizers.Create(n, point, settings),
        };

    private static string Normalize(string name) => name.Trim().ToLowerInvariant();

    private static ArgumentException Unknown(string name) =>
        new($"unknown optimizer '{name}' (expected one of: {string.Join(", ", Names)})");
}

/// <summary>
/// A module whose only parameter is the playground's point (x, y), so that Descent's real optimizer classes
/// update it exactly as they update a network's weights.
/// </summary>
internal sealed class PointModule : Module
{
    public PointModule(Vec2 start) => Position = RegisterParameter("position", new Parameter(Tensor.FromArray([(float)start.X, (float)start.Y], 2)));

    /// <summary>The parameter [x, y].</summary>
    public Parameter Position { get; }

    public override Tensor Forward(Tensor input) => Position;
}
