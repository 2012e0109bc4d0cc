using Descent.Optim;

namespace Descent.Lab.Playground;

/// <summary>One picture of a preset: several runs on one function.</summary>
/// <param name="Function">The surface drawn.</param>
/// <param name="Title">The picture's title.</param>
/// <param name="Runs">The runs overlaid on it.</param>
public sealed record PresetPanel(TestFunction Function, string Title, IReadOnlyList<PlaygroundRun> Runs);

/// <summary>A lecture picture as runs: <c>descent playground --preset NAME</c>.</summary>
/// <param name="Name">The preset's name.</param>
/// <param name="Claim">What the picture shows, in one sentence (the tests assert it on the numbers).</param>
/// <param name="Panels">One or more pictures.</param>
public sealed record Preset(string Name, string Claim, IReadOnlyList<PresetPanel> Panels);

/// <summary>
/// The pictures of the lectures on optimization, each reproduced by one preset. Learning rates are fixed here
/// rather than taken from <see cref="PlaygroundOptimizers.DefaultLr"/>, so each claim holds whatever the defaults
/// become.
/// </summary>
public static class Presets
{
    /// <summary>The names <see cref="Get"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["saddle", "ravine", "cliff", "lr", "newton"];

    /// <summary>The start of the saddle preset: on the ridge y = 0 but for 1e-6, so only a method that amplifies tiny gradients leaves it.</summary>
    public static Vec2 SaddleStart { get; } = new(0.3, 1e-6);

    /// <summary>
    /// The preset called <paramref name="name"/>; <paramref name="clipNorm"/> is the clip of the cliff preset's
    /// clipped runs. Throws <see cref="ArgumentException"/> listing the names otherwise.
    /// </summary>
    public static Preset Get(string name, double clipNorm = 1) => name.Trim().ToLowerInvariant() switch
    {
        "saddle" => Saddle(),
        "ravine" => Ravine(),
        "cliff" => Cliff(clipNorm),
        "lr" => LearningRates(),
        "newton" => NewtonVersusGradientDescent(),
        _ => throw new ArgumentException($"unknown preset '{name}' (expected one of: {string.Join(", ", Names)})"),
    };

    private static PlaygroundRun Run(TestFunction f, string optimizer, double lr, Vec2 start, int steps, string? label = null, double? clip = null) => new()
    {
        Function = f,
        Optimizer = optimizer,
        Settings = new OptimizerSettings { Lr = lr },
        Start = start,
        Steps = steps,
        ClipNorm = clip,
        Label = label ?? optimizer,
    };

    private static Preset Saddle()
    {
        var f = TestFunctions.Saddle;
        var s = SaddleStart;
        return new("saddle",
            "Started 1e-6 off the ridge of x² − y², SGD slides down to the saddle and stays; AdaGrad, AdaDelta, RMSProp and Adam leave it at once, "
            + "since they divide the tiny gradient by its own size; momentum and NAG linger, then accelerate away and overtake them.",
            [new(f, "Saddle point x² − y², start 1e-6 off the ridge",
            [
                Run(f, "sgd", 0.032, s, 200), Run(f, "momentum", 0.01, s, 200), Run(f, "nesterov", 0.01, s, 200),
                Run(f, "adagrad", 0.1, s, 200), Run(f, "adadelta", 1.0, s, 200), Run(f, "rmsprop", 0.01, s, 200), Run(f, "adam", 0.01, s, 200),
            ])]);
    }

    private static Preset Ravine()
    {
        var f = TestFunctions.IllConditioned;
        var s = f.DefaultStart;
        return new("ravine",
            "In a narrow valley (condition number 50) SGD at a large stable learning rate zig-zags across the valley on nearly every step; "
            + "momentum and NAG with the same effective step (lr/(1 − μ)) average the zig-zag away and follow the valley floor.",
            [new(f, "Ravine: ill-conditioned quadratic (condition number 50)",
            [
                Run(f, "sgd", 0.036, s, 100, "sgd lr 0.036"), Run(f, "momentum", 0.0036, s, 100, "momentum lr 0.0036"), Run(f, "nesterov", 0.0036, s, 100, "nesterov lr 0.0036"),
            ])]);
    }

    private static Preset Cliff(double clipNorm)
    {
        var f = TestFunctions.Cliff;
        var s = f.DefaultStart;
        string clip = $"clip-norm {clipNorm.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}";
        return new("cliff",
            "Walking down the bowl into the wall at whose foot the minimum lies, SGD steps onto the wall, meets a gradient up to 70× the bowl's "
            + $"and is thrown back several units, again and again; with the gradient's norm clipped ({clip}) no step is longer than lr × {clipNorm.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)} and it settles at the foot of the wall.",
            [new(f, "Cliff: a wall 20 high along x = 1, the minimum at its foot",
            [
                Run(f, "sgd", 0.1, s, 100, "sgd"), Run(f, "sgd", 0.1, s, 100, $"sgd, {clip}", clipNorm),
            ])]);
    }

    private static Preset LearningRates()
    {
        var f = TestFunctions.Quadratic;
        var s = f.DefaultStart;
        return new("lr",
            "On the bowl ½x² + y² (largest curvature 2, so gradient descent is stable for lr < 1): lr 0.002 barely moves in 50 steps, "
            + "lr 0.6 converges, lr 1.05 diverges.",
            [new(f, "Learning rate: too small, about right, too large",
            [
                Run(f, "sgd", 0.002, s, 50, "lr 0.002 (too small)"), Run(f, "sgd", 0.6, s, 50, "lr 0.6 (about right)"), Run(f, "sgd", 1.05, s, 50, "lr 1.05 (too large)"),
            ])]);
    }

    private static Preset NewtonVersusGradientDescent()
    {
        var q = TestFunctions.Quadratic;
        var r = TestFunctions.Rosenbrock;
        return new("newton",
            "Newton's step H⁻¹∇f lands on a quadratic's minimum in one step and follows Rosenbrock's curved valley to (1, 1) in a handful of steps, "
            + "where gradient descent needs thousands.",
            [
                new(q, "Newton vs gradient descent on ½x² + y²", [Run(q, "gd", 0.1, q.DefaultStart, 100, "gd lr 0.1"), Run(q, "newton", 1, q.DefaultStart, 100)]),
                new(r, "Newton vs gradient descent on Rosenbrock", [Run(r, "gd", 0.001, r.DefaultStart, 100, "gd lr 0.001"), Run(r, "newton", 1, r.DefaultStart, 100)]),
            ]);
    }
}
