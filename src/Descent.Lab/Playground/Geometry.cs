namespace Descent.Lab.Playground;

/// <summary>A point or a vector of the plane: a position of the playground's 2-D parameter, or a gradient.</summary>
public readonly record struct Vec2(double X, double Y)
{
    /// <summary>Euclidean length.</summary>
    public double Length => Math.Sqrt(X * X + Y * Y);

    /// <summary>True when both coordinates are finite.</summary>
    public bool IsFinite => double.IsFinite(X) && double.IsFinite(Y);

    /// <summary>Dot product.</summary>
    public double Dot(Vec2 other) => X * other.X + Y * other.Y;

    /// <summary>Distance between two points.</summary>
    public static double Distance(Vec2 a, Vec2 b) => (a - b).Length;

#pragma warning disable CS1591 // the arithmetic operators say what they are
    public static Vec2 operator +(Vec2 a, Vec2 b) => new(a.X + b.X, a.Y + b.Y);
    public static Vec2 operator -(Vec2 a, Vec2 b) => new(a.X - b.X, a.Y - b.Y);
    public static Vec2 operator *(double s, Vec2 v) => new(s * v.X, s * v.Y);
#pragma warning restore CS1591

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"({X:G6}, {Y:G6})");
}

/// <summary>
/// The Hessian of a function of two variables, a symmetric 2×2 matrix [[Xx, Xy], [Xy, Yy]] of second
/// derivatives, with its eigen-decomposition (curvatures and their directions).
/// </summary>
public readonly record struct Hessian2(double Xx, double Xy, double Yy)
{
    /// <summary>Determinant XxYy − Xy²: negative at a saddle point, positive at a minimum or maximum.</summary>
    public double Determinant => Xx * Yy - Xy * Xy;

    /// <summary>
    /// Eigenvalues (smallest first) with unit eigenvectors: the curvature of the surface along each principal
    /// direction. Their ratio is the condition number that makes plain gradient descent zig-zag.
    /// </summary>
    public (double Smallest, Vec2 SmallestDirection, double Largest, Vec2 LargestDirection) Eigen()
    {
        double mean = 0.5 * (Xx + Yy);
        double radius = Math.Sqrt(0.25 * (Xx - Yy) * (Xx - Yy) + Xy * Xy);
        double angle = 0.5 * Math.Atan2(2 * Xy, Xx - Yy);
        var largest = new Vec2(Math.Cos(angle), Math.Sin(angle));
        var smallest = new Vec2(-largest.Y, largest.X);
        return (mean - radius, smallest, mean + radius, largest);
    }

    /// <summary>The product H·v.</summary>
    public Vec2 Times(Vec2 v) => new(Xx * v.X + Xy * v.Y, Xy * v.X + Yy * v.Y);
}

/// <summary>The rectangle [XMin, XMax] × [YMin, YMax] a surface is drawn over.</summary>
public readonly record struct PlotWindow(double XMin, double XMax, double YMin, double YMax)
{
    /// <summary>XMax − XMin.</summary>
    public double Width => XMax - XMin;

    /// <summary>YMax − YMin.</summary>
    public double Height => YMax - YMin;

    /// <summary>True when the point lies inside (borders included).</summary>
    public bool Contains(Vec2 p) => p.X >= XMin && p.X <= XMax && p.Y >= YMin && p.Y <= YMax;
}
