namespace Descent.Lab.Playground;

/// <summary>
/// A loss surface of two variables for the optimizer playground: value, analytic gradient and Hessian,
/// its global minima, the saddle points it is built around, where to draw it and where to start.
/// The instances live in <see cref="TestFunctions"/>.
/// </summary>
/// <remarks>
/// Values are computed in double from the (float32) position the optimizer holds. The default learning rates
/// come in two units, because optimizers come in two kinds: <see cref="GradientLr"/> multiplies the gradient
/// (plain and momentum SGD, whose step is lr·∇f), <see cref="StepSize"/> is a distance in parameter units (the
/// adaptive methods, whose step is about lr whatever the gradient's size); see
/// <see cref="PlaygroundOptimizers.DefaultLr"/>.
/// </remarks>
public sealed class TestFunction
{
    private readonly Func<double, double, double> _value;
    private readonly Func<double, double, Vec2> _gradient;
    private readonly Func<double, double, Hessian2> _hessian;

    /// <summary>Defines a surface; <paramref name="approximateMinima"/> are polished by Newton's method on the analytic derivatives.</summary>
    public TestFunction(string name, string formula, string description,
        Func<double, double, double> value, Func<double, double, Vec2> gradient, Func<double, double, Hessian2> hessian,
        IReadOnlyList<Vec2> approximateMinima, IReadOnlyList<Vec2> saddlePoints, PlotWindow window, Vec2 defaultStart,
        double gradientLr, double stepSize)
    {
        Name = name;
        Formula = formula;
        Description = description;
        _value = value;
        _gradient = gradient;
        _hessian = hessian;
        Minima = approximateMinima.Select(Polish).ToList();
        SaddlePoints = saddlePoints;
        Window = window;
        DefaultStart = defaultStart;
        GradientLr = gradientLr;
        StepSize = stepSize;
    }

    /// <summary>The name <c>descent playground --function</c> takes, e.g. <c>rosenbrock</c>.</summary>
    public string Name { get; }

    /// <summary>The formula in plain text, e.g. <c>(1 − x)² + 100(y − x²)²</c>.</summary>
    public string Formula { get; }

    /// <summary>What the surface shows about optimizers.</summary>
    public string Description { get; }

    /// <summary>The global minima (all of them where there are several, like Himmelblau's four); empty for surfaces unbounded below.</summary>
    public IReadOnlyList<Vec2> Minima { get; }

    /// <summary>The lowest value, or null for a surface unbounded below.</summary>
    public double? MinimumValue => Minima.Count > 0 ? Value(Minima[0]) : null;

    /// <summary>The saddle points the surface is built around (only <c>saddle</c> and <c>monkey-saddle</c> list one).</summary>
    public IReadOnlyList<Vec2> SaddlePoints { get; }

    /// <summary>The region the contour plot shows.</summary>
    public PlotWindow Window { get; }

    /// <summary>The start point when none is given.</summary>
    public Vec2 DefaultStart { get; }

    /// <summary>Learning rate for plain gradient descent here: below 2/(largest curvature) along the usual paths.</summary>
    public double GradientLr { get; }

    /// <summary>A step length in parameter units that crosses the window in a couple of hundred steps: the adaptive methods' learning rate.</summary>
    public double StepSize { get; }

    /// <summary>f(x, y).</summary>
    public double Value(double x, double y) => _value(x, y);

    /// <summary>f at <paramref name="p"/>.</summary>
    public double Value(Vec2 p) => _value(p.X, p.Y);

    /// <summary>∇f(x, y) = (∂f/∂x, ∂f/∂y), from the analytic formula.</summary>
    public Vec2 Gradient(double x, double y) => _gradient(x, y);

    /// <summary>∇f at <paramref name="p"/>.</summary>
    public Vec2 Gradient(Vec2 p) => _gradient(p.X, p.Y);

    /// <summary>The Hessian ∇²f(x, y), from the analytic formula.</summary>
    public Hessian2 Hessian(double x, double y) => _hessian(x, y);

    /// <summary>∇²f at <paramref name="p"/>.</summary>
    public Hessian2 Hessian(Vec2 p) => _hessian(p.X, p.Y);

    /// <summary>Distance from <paramref name="p"/> to the nearest global minimum, or null when there is none.</summary>
    public double? DistanceToNearestMinimum(Vec2 p) => Minima.Count == 0 ? null : Minima.Min(m => Vec2.Distance(p, m));

    /// <summary>Distance from <paramref name="p"/> to the nearest listed saddle point, or null when none is listed.</summary>
    public double? DistanceToNearestSaddle(Vec2 p) => SaddlePoints.Count == 0 ? null : SaddlePoints.Min(s => Vec2.Distance(p, s));

    /// <summary>The minimum nearest to <paramref name="p"/>, or null when there is none.</summary>
    public Vec2? NearestMinimum(Vec2 p) => Minima.Count == 0 ? null : Minima.MinBy(m => Vec2.Distance(p, m));

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Formula}";

    /// <summary>
    /// Newton iterations from a hand-written approximation, so that a minimum is exact to double precision
    /// (Himmelblau's three irrational minima, the cliff's minimum nudged by the wall's tail).
    /// </summary>
    private Vec2 Polish(Vec2 p)
    {
        for (int i = 0; i < 50; i++)
        {
            var g = Gradient(p);
            var h = Hessian(p);
            double det = h.Determinant;
            if (g.Length == 0 || !(Math.Abs(det) > 0) || !double.IsFinite(det)) break;
            var step = new Vec2((h.Yy * g.X - h.Xy * g.Y) / det, (h.Xx * g.Y - h.Xy * g.X) / det);
            var next = p - step;
            if (!next.IsFinite || Vec2.Distance(next, p) > 0.1) break;
            p = next;
            if (step.Length < 1e-16) break;
        }
        return p;
    }
}
