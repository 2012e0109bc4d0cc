using Descent.Lab.Playground;

namespace Descent.Tests.Playground;

/// <summary>
/// Every playground surface: its analytic gradient and Hessian against central finite differences at points spread
/// over its window, its minima (stationary, positive curvature, lowest value on the window), its saddle points.
/// </summary>
public class TestFunctionTests
{
    public static TheoryData<string> Names() => new(TestFunctions.Names);

    /// <summary>A 7×7 grid over the window plus seeded random points, avoiding Ackley's non-differentiable tip.</summary>
    private static IEnumerable<Vec2> Probes(TestFunction f)
    {
        var w = f.Window;
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++)
                yield return new Vec2(w.XMin + (i + 0.37) / 7 * w.Width, w.YMin + (j + 0.61) / 7 * w.Height);
        var random = new Random(17);
        for (int k = 0; k < 30; k++)
            yield return new Vec2(w.XMin + random.NextDouble() * w.Width, w.YMin + random.NextDouble() * w.Height);
        yield return f.DefaultStart;
        foreach (var m in f.Minima) yield return m + new Vec2(0.013, -0.021);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_central_differences(string name)
    {
        var f = TestFunctions.Get(name);
        foreach (var p in Probes(f))
        {
            double hx = 1e-6 * Math.Max(1, Math.Abs(p.X)), hy = 1e-6 * Math.Max(1, Math.Abs(p.Y));
            var numeric = new Vec2((f.Value(p.X + hx, p.Y) - f.Value(p.X - hx, p.Y)) / (2 * hx), (f.Value(p.X, p.Y + hy) - f.Value(p.X, p.Y - hy)) / (2 * hy));
            var analytic = f.Gradient(p);
            // Differences of values of size |f| lose about 1e-16·|f|/h to rounding.
            double slack = 1e-6 * (1 + analytic.Length) + 1e-9 * Math.Abs(f.Value(p));
            Assert.True((numeric - analytic).Length <= slack, $"{name} at {p}: analytic ∇f {analytic}, central differences {numeric}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Hessian_matches_central_differences_of_the_gradient(string name)
    {
        var f = TestFunctions.Get(name);
        foreach (var p in Probes(f))
        {
            double hx = 1e-6 * Math.Max(1, Math.Abs(p.X)), hy = 1e-6 * Math.Max(1, Math.Abs(p.Y));
            var dx = (1 / (2 * hx)) * (f.Gradient(p.X + hx, p.Y) - f.Gradient(p.X - hx, p.Y));
            var dy = (1 / (2 * hy)) * (f.Gradient(p.X, p.Y + hy) - f.Gradient(p.X, p.Y - hy));
            var h = f.Hessian(p);
            double scale = 1 + Math.Abs(h.Xx) + Math.Abs(h.Xy) + Math.Abs(h.Yy);
            double slack = 1e-6 * scale + 1e-9 * f.Gradient(p).Length;
            Assert.True(Math.Abs(dx.X - h.Xx) <= slack, $"{name} at {p}: ∂²f/∂x² analytic {h.Xx}, numeric {dx.X}");
            Assert.True(Math.Abs(dx.Y - h.Xy) <= slack, $"{name} at {p}: ∂²f/∂x∂y analytic {h.Xy}, numeric (from ∂/∂x of ∂f/∂y) {dx.Y}");
            Assert.True(Math.Abs(dy.X - h.Xy) <= slack, $"{name} at {p}: ∂²f/∂y∂x analytic {h.Xy}, numeric (from ∂/∂y of ∂f/∂x) {dy.X}");
            Assert.True(Math.Abs(dy.Y - h.Yy) <= slack, $"{name} at {p}: ∂²f/∂y² analytic {h.Yy}, numeric {dy.Y}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Minima_are_stationary_curved_upward_and_lowest_on_the_window(string name)
    {
        var f = TestFunctions.Get(name);
        foreach (var m in f.Minima)
        {
            Assert.True(f.Gradient(m).Length < 1e-8, $"{name}: ∇f at the minimum {m} is {f.Gradient(m)}");
            Assert.True(f.Hessian(m).Eigen().Smallest > 0, $"{name}: the Hessian at the minimum {m} is not positive definite");
            Assert.Equal(f.MinimumValue!.Value, f.Value(m), 9);
        }
        var w = f.Window;
        for (int i = 0; i <= 100; i++)
            for (int j = 0; j <= 100; j++)
            {
                double v = f.Value(w.XMin + i / 100.0 * w.Width, w.YMin + j / 100.0 * w.Height);
                if (f.MinimumValue is { } lowest) Assert.True(v >= lowest - 1e-12, $"{name}: f = {v} on the grid is below the listed minimum {lowest}");
            }
        Assert.True(w.Contains(f.DefaultStart), $"{name}: the default start {f.DefaultStart} is outside the window");
        Assert.True(f.GradientLr > 0 && f.StepSize > 0);
    }

    [Fact]
    public void Himmelblau_has_four_minima_of_value_zero()
    {
        var f = TestFunctions.Himmelblau;
        Assert.Equal(4, f.Minima.Count);
        foreach (var m in f.Minima) Assert.True(f.Value(m) < 1e-20, $"f{m} = {f.Value(m)}");
        Assert.Equal(4, f.Minima.Select(m => (Math.Round(m.X, 3), Math.Round(m.Y, 3))).Distinct().Count());
    }

    [Fact]
    public void Saddle_points_are_stationary_without_being_minima()
    {
        var saddle = TestFunctions.Saddle;
        Assert.Empty(saddle.Minima);
        Assert.Equal(new Vec2(0, 0), saddle.Gradient(saddle.SaddlePoints[0]));
        Assert.True(saddle.Hessian(saddle.SaddlePoints[0]).Determinant < 0, "x² − y² curves up along x and down along y");
        var monkey = TestFunctions.MonkeySaddle;
        Assert.Equal(new Vec2(0, 0), monkey.Gradient(monkey.SaddlePoints[0]));
        Assert.Equal(new Hessian2(0, 0, 0), monkey.Hessian(monkey.SaddlePoints[0]));
        Assert.True(monkey.Value(-0.1, 0) < 0 && monkey.Value(0.1, 0) > 0, "the monkey saddle falls on one side and rises on the other");
    }

    [Fact]
    public void Ill_conditioned_bowl_has_condition_number_50_along_a_rotated_valley()
    {
        var (small, smallDirection, large, _) = TestFunctions.IllConditioned.Hessian(0, 0).Eigen();
        Assert.Equal(50, large / small, 9);
        Assert.Equal(Math.PI / 6, Math.Atan2(Math.Abs(smallDirection.Y), Math.Abs(smallDirection.X)), 9);
    }

    [Fact]
    public void Cliff_wall_is_far_steeper_than_the_bowl_and_the_plateau_is_flat()
    {
        var cliff = TestFunctions.Cliff;
        Assert.True(cliff.Gradient(1, 0).Length > 50 * cliff.Gradient(0.5, 0).Length, $"wall gradient {cliff.Gradient(1, 0)}, bowl gradient next to it {cliff.Gradient(0.5, 0)}");
        Assert.Equal(0.813096, cliff.Minima[0].X, 5);
        var plateau = TestFunctions.Plateau;
        Assert.True(plateau.Gradient(plateau.DefaultStart).Length < 1e-4, "the plateau's default start must lie where the gradient has all but vanished");
    }

    [Fact]
    public void Names_are_looked_up_case_insensitively_and_unknown_names_list_the_choices()
    {
        Assert.Same(TestFunctions.Rosenbrock, TestFunctions.Get(" Rosenbrock "));
        Assert.Equal(["quadratic", "ill-conditioned", "rosenbrock", "beale", "booth", "himmelblau", "saddle", "monkey-saddle", "rastrigin", "ackley", "cliff", "plateau"], TestFunctions.Names);
        var e = Assert.Throws<ArgumentException>(() => TestFunctions.Get("banana"));
        Assert.Contains("unknown function 'banana'", e.Message);
        Assert.Contains("monkey-saddle", e.Message);
    }
}
