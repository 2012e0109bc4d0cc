namespace Descent.Lab.Playground;

/// <summary>
/// The playground's loss surfaces by name, each a <see cref="TestFunction"/> with analytic gradient and Hessian:
/// the pictures of the lectures on optimization (convex bowls, a ravine, saddles, many local minima, a cliff, a
/// plateau). <c>descent playground --function NAME</c> takes these names.
/// </summary>
public static class TestFunctions
{
    private const double TwoPi = 2 * Math.PI;

    /// <summary>Rotation of the ill-conditioned bowl's axes (30°), so no coordinate axis lines up with the valley.</summary>
    private const double RavineAngle = Math.PI / 6;

    /// <summary>Curvatures of the ill-conditioned bowl along and across its valley: condition number 50.</summary>
    private const double RavineFlat = 1, RavineSteep = 50;

    /// <summary>The cliff: a wall of height 20 and width about 0.15 along the line x = 1, in front of a bowl centred at x = 3.</summary>
    private const double CliffHeight = 20, CliffSharpness = 30, CliffEdge = 1, CliffBowlCentre = 3;

    /// <summary>½x² + y²: a well-conditioned bowl (curvatures 1 and 2), minimum 0 at the origin.</summary>
    public static TestFunction Quadratic { get; } = new(
        "quadratic", "½x² + y²", "a well-conditioned convex bowl (curvatures 1 and 2): every method gets there",
        (x, y) => 0.5 * x * x + y * y,
        (x, y) => new(x, 2 * y),
        (x, y) => new(1, 0, 2),
        [new(0, 0)], [], new(-3, 3, -3, 3), new(-2.5, 2), gradientLr: 0.1, stepSize: 0.03);

    /// <summary>
    /// ½(u² + 50v²) with (u, v) the coordinates rotated by 30°: a narrow valley along (cos 30°, sin 30°), condition
    /// number 50. Plain gradient descent zig-zags across it; momentum averages the zig-zag away.
    /// </summary>
    public static TestFunction IllConditioned { get; } = CreateIllConditioned();

    /// <summary>(1 − x)² + 100(y − x²)²: the banana valley, minimum 0 at (1, 1).</summary>
    public static TestFunction Rosenbrock { get; } = new(
        "rosenbrock", "(1 − x)² + 100(y − x²)²", "a curved, flat-bottomed valley: easy to find, slow to follow",
        (x, y) => (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x),
        (x, y) => new(-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)),
        (x, y) => new(2 - 400 * (y - x * x) + 800 * x * x, -400 * x, 200),
        [new(1, 1)], [], new(-2, 2, -1, 3), new(-1.2, 1), gradientLr: 0.001, stepSize: 0.01);

    /// <summary>(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)², minimum 0 at (3, 0.5).</summary>
    public static TestFunction Beale { get; } = new(
        "beale", "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²", "flat centre, steep rims, a long curved valley to (3, 0.5)",
        BealeValue, BealeGradient, BealeHessian,
        [new(3, 0.5)], [], new(-4.5, 4.5, -4.5, 4.5), new(1, 1.4), gradientLr: 0.005, stepSize: 0.02);

    /// <summary>(x + 2y − 7)² + (2x + y − 5)², minimum 0 at (1, 3).</summary>
    public static TestFunction Booth { get; } = new(
        "booth", "(x + 2y − 7)² + (2x + y − 5)²", "a convex quadratic with tilted axes (curvatures 4 and 36)",
        (x, y) => (x + 2 * y - 7) * (x + 2 * y - 7) + (2 * x + y - 5) * (2 * x + y - 5),
        (x, y) => new(2 * (x + 2 * y - 7) + 4 * (2 * x + y - 5), 4 * (x + 2 * y - 7) + 2 * (2 * x + y - 5)),
        (x, y) => new(10, 8, 10),
        [new(1, 3)], [], new(-10, 10, -10, 10), new(-6, -4), gradientLr: 0.05, stepSize: 0.1);

    /// <summary>(x² + y − 11)² + (x + y² − 7)²: four global minima of value 0, a maximum and four saddles between them.</summary>
    public static TestFunction Himmelblau { get; } = new(
        "himmelblau", "(x² + y − 11)² + (x + y² − 7)²", "four equal minima: which one a method reaches depends on its path",
        (x, y) => (x * x + y - 11) * (x * x + y - 11) + (x + y * y - 7) * (x + y * y - 7),
        (x, y) => new(4 * x * (x * x + y - 11) + 2 * (x + y * y - 7), 2 * (x * x + y - 11) + 4 * y * (x + y * y - 7)),
        (x, y) => new(12 * x * x + 4 * y - 42, 4 * (x + y), 4 * x + 12 * y * y - 26),
        [new(3, 2), new(-2.805118, 3.131312), new(-3.779310, -3.283186), new(3.584428, -1.848126)], [],
        new(-5, 5, -5, 5), new(-0.3, -0.9), gradientLr: 0.01, stepSize: 0.03);

    /// <summary>x² − y²: a saddle at the origin, a ridge along y = 0, unbounded below.</summary>
    public static TestFunction Saddle { get; } = new(
        "saddle", "x² − y²", "a saddle point: gradient methods started near the ridge y = 0 stall there; adaptive ones escape",
        (x, y) => x * x - y * y,
        (x, y) => new(2 * x, -2 * y),
        (x, y) => new(2, 0, -2),
        [], [new(0, 0)], new(-1.5, 1.5, -1.5, 1.5), new(0.3, 1e-6), gradientLr: 0.032, stepSize: 0.01);

    /// <summary>x³ − 3xy²: the monkey saddle, three valleys and three ridges meeting at a flat point (gradient and Hessian both zero).</summary>
    public static TestFunction MonkeySaddle { get; } = new(
        "monkey-saddle", "x³ − 3xy²", "a degenerate saddle: the gradient vanishes quadratically, so even the way out is flat",
        (x, y) => x * x * x - 3 * x * y * y,
        (x, y) => new(3 * x * x - 3 * y * y, -6 * x * y),
        (x, y) => new(6 * x, -6 * y, -6 * x),
        [], [new(0, 0)], new(-1.5, 1.5, -1.5, 1.5), new(1.2, 1e-4), gradientLr: 0.05, stepSize: 0.01);

    /// <summary>20 + x² − 10cos 2πx + y² − 10cos 2πy: a bowl covered in local minima near every integer point; global minimum 0 at the origin.</summary>
    public static TestFunction Rastrigin { get; } = new(
        "rastrigin", "20 + x² − 10cos 2πx + y² − 10cos 2πy", "an egg crate of local minima: gradient methods stop in the nearest one",
        (x, y) => 20 + x * x - 10 * Math.Cos(TwoPi * x) + y * y - 10 * Math.Cos(TwoPi * y),
        (x, y) => new(2 * x + 10 * TwoPi * Math.Sin(TwoPi * x), 2 * y + 10 * TwoPi * Math.Sin(TwoPi * y)),
        (x, y) => new(2 + 10 * TwoPi * TwoPi * Math.Cos(TwoPi * x), 0, 2 + 10 * TwoPi * TwoPi * Math.Cos(TwoPi * y)),
        [new(0, 0)], [], new(-5.12, 5.12, -5.12, 5.12), new(-4.4, 3.6), gradientLr: 0.002, stepSize: 0.03);

    /// <summary>
    /// −20exp(−0.2√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20: ripples on a funnel; global minimum 0 at the
    /// origin, where the funnel's tip is not differentiable (the gradient there is taken as 0, the Hessian as at
    /// radius 10⁻⁹).
    /// </summary>
    public static TestFunction Ackley { get; } = new(
        "ackley", "−20exp(−0.2√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20", "a funnel under ripples of local minima, with a sharp tip at the global minimum",
        AckleyValue, AckleyGradient, AckleyHessian,
        [new(0, 0)], [], new(-5, 5, -5, 5), new(3.5, 3), gradientLr: 0.05, stepSize: 0.03);

    /// <summary>
    /// ½((x − 3)² + y²) + 20σ(30(x − 1)) with σ the logistic function: a bowl whose far half is raised by a wall 20
    /// high and about 0.15 wide along x = 1, so the minimum (≈ 2.46 at (0.813, 0)) sits at the foot of the wall, as
    /// in the error surface of a recurrent network. The wall's gradient is up to 150: a gradient step that lands on
    /// it is thrown back by up to 15 units, again and again; clipping the gradient's norm keeps every step short.
    /// </summary>
    public static TestFunction Cliff { get; } = new(
        "cliff", "½((x − 3)² + y²) + 20σ(30(x − 1))", "a steep wall with the minimum at its foot: its gradient is up to 70× the bowl's, so a step onto it throws the parameters far back",
        CliffValue, CliffGradient, CliffHessian,
        [new(0.8130962, 0)], [], new(-8, 5, -6.5, 6.5), new(-3, 2), gradientLr: 0.1, stepSize: 0.04);

    /// <summary>1 − exp(−½(x² + y²)): a Gaussian well in a plain whose gradient is nearly zero; minimum 0 at the origin.</summary>
    public static TestFunction Plateau { get; } = new(
        "plateau", "1 − exp(−½(x² + y²))", "a plateau: far from the well the gradient is ~1e-5, so plain gradient descent does not move",
        (x, y) => 1 - Math.Exp(-0.5 * (x * x + y * y)),
        (x, y) => Math.Exp(-0.5 * (x * x + y * y)) * new Vec2(x, y),
        PlateauHessian,
        [new(0, 0)], [], new(-5, 5, -5, 5), new(4, 3), gradientLr: 1, stepSize: 0.03);

    /// <summary>Every function, in the order of <see cref="Names"/>.</summary>
    public static IReadOnlyList<TestFunction> All { get; } =
        [Quadratic, IllConditioned, Rosenbrock, Beale, Booth, Himmelblau, Saddle, MonkeySaddle, Rastrigin, Ackley, Cliff, Plateau];

    /// <summary>The names <see cref="Get"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(f => f.Name).ToList();

    /// <summary>The function called <paramref name="name"/> (case-insensitive); throws <see cref="ArgumentException"/> listing the names otherwise.</summary>
    public static TestFunction Get(string name) =>
        All.FirstOrDefault(f => string.Equals(f.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown function '{name}' (expected one of: {string.Join(", ", Names)})");

    private static TestFunction CreateIllConditioned()
    {
        double c = Math.Cos(RavineAngle), s = Math.Sin(RavineAngle);
        return new(
            "ill-conditioned", "½(u² + 50v²), (u, v) = (x, y) rotated by 30°", "a narrow rotated valley (condition number 50): SGD zig-zags across it, momentum follows it",
            (x, y) =>
            {
                double u = c * x + s * y, v = -s * x + c * y;
                return 0.5 * (RavineFlat * u * u + RavineSteep * v * v);
            },
            (x, y) =>
            {
                double u = c * x + s * y, v = -s * x + c * y;
                return new(RavineFlat * u * c - RavineSteep * v * s, RavineFlat * u * s + RavineSteep * v * c);
            },
            (x, y) => new(RavineFlat * c * c + RavineSteep * s * s, (RavineFlat - RavineSteep) * c * s, RavineFlat * s * s + RavineSteep * c * c),
            [new(0, 0)], [], new(-5, 5, -5, 5), new(-4, 1), gradientLr: 0.035, stepSize: 0.05);
    }

    private static double BealeValue(double x, double y)
    {
        double t1 = 1.5 - x + x * y, t2 = 2.25 - x + x * y * y, t3 = 2.625 - x + x * y * y * y;
        return t1 * t1 + t2 * t2 + t3 * t3;
    }

    private static Vec2 BealeGradient(double x, double y)
    {
        double t1 = 1.5 - x + x * y, t2 = 2.25 - x + x * y * y, t3 = 2.625 - x + x * y * y * y;
        return new(2 * (t1 * (y - 1) + t2 * (y * y - 1) + t3 * (y * y * y - 1)),
                   2 * (t1 * x + t2 * 2 * x * y + t3 * 3 * x * y * y));
    }

    private static Hessian2 BealeHessian(double x, double y)
    {
        double t1 = 1.5 - x + x * y, t2 = 2.25 - x + x * y * y, t3 = 2.625 - x + x * y * y * y;
        // ∂tᵢ/∂x = yⁱ − 1 and ∂tᵢ/∂y = i·x·yⁱ⁻¹; the terms tᵢ·∂²tᵢ come from the products x·yⁱ.
        double a1 = y - 1, a2 = y * y - 1, a3 = y * y * y - 1;
        double b1 = x, b2 = 2 * x * y, b3 = 3 * x * y * y;
        return new(
            2 * (a1 * a1 + a2 * a2 + a3 * a3),
            2 * (a1 * b1 + t1 + a2 * b2 + t2 * 2 * y + a3 * b3 + t3 * 3 * y * y),
            2 * (b1 * b1 + b2 * b2 + t2 * 2 * x + b3 * b3 + t3 * 6 * x * y));
    }

    private static Hessian2 PlateauHessian(double x, double y)
    {
        double e = Math.Exp(-0.5 * (x * x + y * y));
        return new(e * (1 - x * x), -e * x * y, e * (1 - y * y));
    }

    private static double AckleyValue(double x, double y) =>
        -20 * Math.Exp(-0.2 * Math.Sqrt(0.5 * (x * x + y * y))) - Math.Exp(0.5 * (Math.Cos(TwoPi * x) + Math.Cos(TwoPi * y))) + Math.E + 20;

    private static Vec2 AckleyGradient(double x, double y)
    {
        double r = Math.Sqrt(0.5 * (x * x + y * y));
        double ripple = Math.Exp(0.5 * (Math.Cos(TwoPi * x) + Math.Cos(TwoPi * y)));
        // The funnel term is a cone at the origin: its subgradient 0 is the one that keeps the minimum a fixed point.
        double funnel = r > 0 ? 2 * Math.Exp(-0.2 * r) / r : 0;
        return new(x * funnel + Math.PI * Math.Sin(TwoPi * x) * ripple, y * funnel + Math.PI * Math.Sin(TwoPi * y) * ripple);
    }

    private static Hessian2 AckleyHessian(double x, double y)
    {
        double r = Math.Max(Math.Sqrt(0.5 * (x * x + y * y)), 1e-9);
        double e1 = Math.Exp(-0.2 * r);
        double ripple = Math.Exp(0.5 * (Math.Cos(TwoPi * x) + Math.Cos(TwoPi * y)));
        double a = 2 * e1 / r, k = e1 * (0.2 * r + 1) / (r * r * r);
        double sx = Math.Sin(TwoPi * x), sy = Math.Sin(TwoPi * y), pi2 = Math.PI * Math.PI;
        return new(
            a - k * x * x + pi2 * ripple * (2 * Math.Cos(TwoPi * x) - sx * sx),
            -k * x * y - pi2 * ripple * sx * sy,
            a - k * y * y + pi2 * ripple * (2 * Math.Cos(TwoPi * y) - sy * sy));
    }

    /// <summary>σ(30(x − 1)) through tanh, which neither overflows nor loses the tail far from the wall.</summary>
    private static double CliffStep(double x) => 0.5 * (1 + Math.Tanh(0.5 * CliffSharpness * (x - CliffEdge)));

    private static double CliffValue(double x, double y) => 0.5 * ((x - CliffBowlCentre) * (x - CliffBowlCentre) + y * y) + CliffHeight * CliffStep(x);

    private static Vec2 CliffGradient(double x, double y)
    {
        double s = CliffStep(x);
        return new(x - CliffBowlCentre + CliffHeight * CliffSharpness * s * (1 - s), y);
    }

    private static Hessian2 CliffHessian(double x, double y)
    {
        double s = CliffStep(x);
        return new(1 + CliffHeight * CliffSharpness * CliffSharpness * s * (1 - s) * (1 - 2 * s), 0, 1);
    }
}
