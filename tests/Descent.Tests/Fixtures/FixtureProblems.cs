using System.Text.Json;

namespace Descent.Tests.Fixtures;

/// <summary>The optimization problems of tests/fixtures/sgd.json, shared by every optimizer's fixture tests.</summary>
internal static class FixtureProblems
{
    /// <summary>The problem definitions (quadratic: A, c, x0; rosenbrock: x0).</summary>
    public static JsonElement Problems => Fixture.Load("sgd.json").GetProperty("problems");

    /// <summary>The fixture's float32 gradient formulas, evaluated in the same order.</summary>
    public static float[] Gradient(JsonElement problem, string name, float[] x)
    {
        if (name == "rosenbrock")
        {
            float u = 1f - x[0], v = x[1] - x[0] * x[0];
            float gx = (-2f * u) - ((400f * x[0]) * v);
            return [gx, 200f * v];
        }
        var a = Fixture.Floats(problem.GetProperty("A").GetProperty("data"));
        var c = Fixture.Floats(problem.GetProperty("c"));
        int n = c.Length;
        var d = new float[n];
        for (int i = 0; i < n; i++) d[i] = x[i] - c[i];
        var g = new float[n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                float prod = a[i * n + j] * d[j];
                g[i] = g[i] + prod;
            }
        return g;
    }

}
