using System.Globalization;

namespace Descent.Lab.Playground;

/// <summary>One row of a trace: the point after <see cref="Step"/> optimizer steps and the loss there.</summary>
public readonly record struct TracePoint(int Step, float X, float Y, float Loss)
{
    /// <summary>The point as a vector.</summary>
    public Vec2 Position => new(X, Y);

    /// <summary>True when x, y and the loss are all finite.</summary>
    public bool IsFinite => float.IsFinite(X) && float.IsFinite(Y) && float.IsFinite(Loss);
}

/// <summary>The path one optimizer took on a test function, with the measurements the playground reports.</summary>
public sealed class Trajectory
{
    /// <summary>The CSV header <see cref="WriteCsv"/> writes.</summary>
    public const string CsvHeader = "step,x,y,loss";

    /// <summary>A recorded path; <paramref name="points"/> starts with step 0, the start point.</summary>
    public Trajectory(string label, string optimizer, TestFunction function, double lr, IReadOnlyList<TracePoint> points)
    {
        if (points.Count == 0) throw new ArgumentException("a trajectory needs at least its start point");
        Label = label;
        Optimizer = optimizer;
        Function = function;
        Lr = lr;
        Points = points;
    }

    /// <summary>The name in legends and tables.</summary>
    public string Label { get; }

    /// <summary>The optimizer's name.</summary>
    public string Optimizer { get; }

    /// <summary>The surface it ran on.</summary>
    public TestFunction Function { get; }

    /// <summary>The learning rate it started with.</summary>
    public double Lr { get; }

    /// <summary>Rows for steps 0 … N.</summary>
    public IReadOnlyList<TracePoint> Points { get; }

    /// <summary>Number of steps taken (N).</summary>
    public int Steps => Points.Count - 1;

    /// <summary>The start point.</summary>
    public TracePoint Start => Points[0];

    /// <summary>The last point.</summary>
    public TracePoint Final => Points[^1];

    /// <summary>Length of step <paramref name="step"/>: the distance from point step − 1 to point step.</summary>
    public double StepLength(int step) => Vec2.Distance(Points[step - 1].Position, Points[step].Position);

    /// <summary>
    /// How often the path turns back along <paramref name="direction"/>: the number of steps whose displacement
    /// along it has the opposite sign of the previous step's. Across a valley, plain gradient descent reverses on
    /// nearly every step (it zig-zags); momentum rarely does.
    /// </summary>
    public int Reversals(Vec2 direction)
    {
        int count = 0;
        double previous = 0;
        for (int k = 1; k < Points.Count && Points[k].IsFinite; k++)
        {
            double along = (Points[k].Position - Points[k - 1].Position).Dot(direction);
            if (along == 0) continue;
            if (previous != 0 && Math.Sign(along) != Math.Sign(previous)) count++;
            previous = along;
        }
        return count;
    }

    /// <summary>The playground's measurements of this path (see <see cref="TrajectoryMetrics"/>).</summary>
    /// <param name="tolerance">Distance to a minimum that counts as reached (default 1e-3).</param>
    public TrajectoryMetrics Metrics(double tolerance = TrajectoryMetrics.DefaultTolerance)
    {
        var f = Function;
        var final = Final;
        int? reached = null;
        if (f.Minima.Count > 0)
            for (int k = 0; k < Points.Count && reached is null; k++)
                if (Points[k].IsFinite && f.DistanceToNearestMinimum(Points[k].Position) <= tolerance) reached = k;

        bool? escaped = null;
        if (f.SaddlePoints.Count > 0)
        {
            double startDistance = f.DistanceToNearestSaddle(Start.Position)!.Value;
            double finalDistance = final.IsFinite ? f.DistanceToNearestSaddle(final.Position)!.Value : double.PositiveInfinity;
            escaped = finalDistance > Math.Max(startDistance, 1e-3 * f.Window.Width);
        }

        bool diverged = Points.Any(p => !p.IsFinite) || (final.Loss > Start.Loss && !f.Window.Contains(final.Position));
        double largest = 0;
        for (int k = 1; k < Points.Count && Points[k].IsFinite; k++) largest = Math.Max(largest, StepLength(k));

        int? zigZags = null;
        var anchor = final.IsFinite ? final.Position : Start.Position;
        if (f.NearestMinimum(anchor) is { } minimum) zigZags = Reversals(f.Hessian(minimum).Eigen().LargestDirection);

        return new TrajectoryMetrics(final.Loss, final.IsFinite ? f.DistanceToNearestMinimum(final.Position) : null, reached, escaped, diverged, largest, zigZags);
    }

    /// <summary>
    /// Writes the trace as CSV: the header <c>step,x,y,loss</c> and one row per step from 0 to N, every number with
    /// round-trip precision (the shortest text that reads back to the same float32, at most 9 significant digits).
    /// </summary>
    public void WriteCsv(TextWriter writer)
    {
        writer.Write(CsvHeader);
        writer.Write('\n');
        foreach (var p in Points)
        {
            writer.Write(p.Step.ToString(CultureInfo.InvariantCulture));
            writer.Write(',');
            writer.Write(p.X.ToString("R", CultureInfo.InvariantCulture));
            writer.Write(',');
            writer.Write(p.Y.ToString("R", CultureInfo.InvariantCulture));
            writer.Write(',');
            writer.Write(p.Loss.ToString("R", CultureInfo.InvariantCulture));
            writer.Write('\n');
        }
    }
}

/// <summary>
/// What the playground's table reports for one path.
/// </summary>
/// <param name="FinalLoss">f at the last point (NaN once diverged).</param>
/// <param name="DistanceToNearestMinimum">Distance from the last point to the nearest global minimum; null when the function has none or the run diverged.</param>
/// <param name="StepsToTolerance">First step at which the point was within the tolerance of a global minimum; null if never.</param>
/// <param name="EscapedSaddle">
/// For functions built around a saddle point (<c>saddle</c>, <c>monkey-saddle</c>): whether the path ended farther from
/// it than it started (and at least 0.1 % of the window's width away); null for the others.
/// </param>
/// <param name="Diverged">A coordinate or the loss stopped being finite, or the path ended outside the plotted window with a higher loss than it started with.</param>
/// <param name="LargestStep">The longest single step: the catapult on the cliff.</param>
/// <param name="ZigZags">
/// <see cref="Trajectory.Reversals"/> across the steepest direction at the nearest minimum (the eigenvector of the
/// Hessian's largest eigenvalue there): how often the path turned back across the valley; null without minima.
/// </param>
public sealed record TrajectoryMetrics(double FinalLoss, double? DistanceToNearestMinimum, int? StepsToTolerance, bool? EscapedSaddle, bool Diverged, double LargestStep, int? ZigZags)
{
    /// <summary>The default distance to a minimum that counts as reached.</summary>
    public const double DefaultTolerance = 1e-3;
}
