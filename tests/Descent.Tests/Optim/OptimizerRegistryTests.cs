using Descent.Nn;
using Descent.Optim;

namespace Descent.Tests.Optim;

/// <summary>
/// The registry table: every optimizer the CLI can name converges on a convex quadratic and on Rosenbrock,
/// resumes bit for bit from a state dict, and refuses nonsense. Adding an optimizer to
/// <see cref="Optimizers.Names"/> adds a row here.
/// </summary>
public class OptimizerRegistryTests
{
    public static TheoryData<string> Names() => new(Optimizers.Names);

    /// <summary>A module that is just a point: its parameter is the optimization variable.</summary>
    private sealed class Point : Module
    {
        public Point(params float[] start) => X = RegisterParameter("x", new Parameter(Tensor.FromArray(start, start.Length)));
        public Parameter X { get; }
        public override Tensor Forward(Tensor input) => X;
    }

    // f = ½ Σ aᵢ (xᵢ − cᵢ)², condition number 10.
    private static readonly float[] A = [1f, 3f, 10f];
    private static readonly float[] C = [1f, -2f, 0.5f];

    private static float Quadratic(Parameter p)
    {
        float f = 0;
        for (int i = 0; i < 3; i++)
        {
            float d = p.Data[i] - C[i];
            p.Grad!.Data[i] = A[i] * d;
            f += 0.5f * A[i] * d * d;
        }
        return f;
    }

    private static float Rosenbrock(Parameter p)
    {
        float x = p.Data[0], y = p.Data[1];
        p.Grad!.Data[0] = -2f * (1f - x) - 400f * x * (y - x * x);
        p.Grad!.Data[1] = 200f * (y - x * x);
        return (1f - x) * (1f - x) + 100f * (y - x * x) * (y - x * x);
    }

    private static float Run(Optimizer opt, Parameter p, Func<Parameter, float> f, int steps)
    {
        float loss = 0;
        for (int i = 0; i < steps; i++)
        {
            if (opt.RequiresClosure) loss = opt.Step(() => f(p));
            else { loss = f(p); opt.Step(); }
        }
        return f(p);
    }

    /// <summary>Learning rates and step counts for which each rule reaches the minimum (values from the rules' usual ranges).</summary>
    private static (double Lr, int Steps) QuadraticSetting(string name) => name switch
    {
        "sgd" => (0.1, 300), "momentum" or "nesterov" => (0.02, 500), "adagrad" => (0.5, 2000), "adadelta" => (1.0, 3000),
        "rmsprop" => (0.01, 2000), "adam" or "adamw" or "nadam" or "radam" or "adamax" => (0.05, 2000), "lion" => (0.002, 5000), "lbfgs" => (1.0, 10),
        _ => throw new ArgumentException(name),
    };

    private static (double Lr, int Steps) RosenbrockSetting(string name) => name switch
    {
        "sgd" => (0.001, 50_000), "momentum" or "nesterov" => (0.0002, 40_000), "adagrad" => (0.1, 50_000), "adadelta" => (0.01, 200_000),
        "rmsprop" => (0.001, 40_000), "radam" => (0.002, 60_000), "adam" or "adamw" or "nadam" or "adamax" => (0.01, 30_000), "lion" => (0.0005, 40_000), "lbfgs" => (1.0, 60),
        _ => throw new ArgumentException(name),
    };

    private static OptimizerSettings Settings(string name, double lr) =>
        new() { Lr = lr, WeightDecay = 0 };

    [Theory]
    [MemberData(nameof(Names))]
    public void Converges_on_a_convex_quadratic(string name)
    {
        var (lr, steps) = QuadraticSetting(name);
        var model = new Point(-3f, 4f, 2f);
        var opt = Optimizers.Create(name, model, Settings(name, lr));
        float loss = Run(opt, model.X, Quadratic, steps);
        Assert.True(loss < 1e-4, $"{name}: loss {loss} after {steps} steps, x = [{string.Join(", ", model.X.ToArray())}]");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Converges_on_rosenbrock(string name)
    {
        var (lr, steps) = RosenbrockSetting(name);
        var model = new Point(-1.2f, 1f);
        var opt = Optimizers.Create(name, model, Settings(name, lr));
        float loss = Run(opt, model.X, Rosenbrock, steps);
        var x = model.X.ToArray();
        Assert.True(loss < 1e-2 && Math.Abs(x[0] - 1) < 0.1 && Math.Abs(x[1] - 1) < 0.2, $"{name}: loss {loss} at ({x[0]}, {x[1]}) after {steps} steps");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void State_dict_resumes_bit_for_bit(string name)
    {
        var (lr, _) = QuadraticSetting(name);
        float[] Trajectory(bool resume)
        {
            var model = new Point(-3f, 4f, 2f);
            var opt = Optimizers.Create(name, model, Settings(name, lr));
            Run(opt, model.X, Quadratic, 7);
            if (resume)
            {
                var state = opt.StateDict();
                var copy = new Point(model.X.ToArray());
                var fresh = Optimizers.Create(name, copy, Settings(name, lr * 3));
                fresh.LoadStateDict(state);
                Run(fresh, copy.X, Quadratic, 7);
                return copy.X.ToArray();
            }
            Run(opt, model.X, Quadratic, 7);
            return model.X.ToArray();
        }
        Assert.Equal(Trajectory(false), Trajectory(true));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Negative_learning_rate_is_refused_with_pytorch_wording(string name)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Optimizers.Create(name, new Point(1f), new OptimizerSettings { Lr = -1 }));
        Assert.StartsWith("Invalid learning rate: -1", e.Message);
    }

    [Fact]
    public void State_dict_of_another_optimizer_or_size_is_refused()
    {
        var adam = Optimizers.Create("adam", new Point(1f, 2f), new OptimizerSettings());
        var sgd = Optimizers.Create("sgd", new Point(1f, 2f), new OptimizerSettings());
        Assert.Contains("Adam", Assert.ThrowsAny<ArgumentException>(() => sgd.LoadStateDict(adam.StateDict())).Message);
        var bigger = Optimizers.Create("adam", new Point(1f, 2f, 3f), new OptimizerSettings());
        Assert.Contains("holds 3 values", Assert.ThrowsAny<ArgumentException>(() => adam.LoadStateDict(bigger.StateDict())).Message);
    }
}
