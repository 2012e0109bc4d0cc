using Descent.Nn;
using Descent.Optim;

namespace Descent.Tests.Optim;

/// <summary>
/// <see cref="GradientClipping.GradNorm"/>, what a callback measures in <c>OnBeforeOptimizerStep</c>: the joint
/// p-norm of every gradient of the arena, against sums taken here in double precision, leaving the gradients
/// and the following step as they were.
/// </summary>
public class GradNormTests
{
    /// <summary>An arena of two parameters, gradients of mixed signs over several orders of magnitude.</summary>
    private static ParameterArena Arena(int size)
    {
        var random = new Random(size);
        var arena = ParameterArena.Pack([new Parameter(size), new Parameter(19)]);
        for (int i = 0; i < arena.Grad.Length; i++)
            arena.Grad[i] = (float)((random.NextDouble() * 2 - 1) * Math.Exp(random.NextDouble() * 4 - 2));
        return arena;
    }

    [Theory]
    [InlineData(37, 2.0)]
    [InlineData(300_037, 2.0)] // many 4096-value blocks of float sums
    [InlineData(37, 1.0)]
    [InlineData(300_037, 1.0)]
    [InlineData(300_037, 3.0)]
    [InlineData(300_037, double.PositiveInfinity)]
    public void Is_the_p_norm_of_every_gradient(int size, double p)
    {
        var arena = Arena(size);
        var before = (float[])arena.Grad.Clone();
        double expected = double.IsPositiveInfinity(p)
            ? before.Max(g => Math.Abs((double)g))
            : Math.Pow(before.Sum(g => Math.Pow(Math.Abs((double)g), p)), 1 / p);
        double norm = GradientClipping.GradNorm(arena, p);
        Assert.InRange(norm, expected * (1 - 1e-6), expected * (1 + 1e-6));
        Assert.Equal(before, arena.Grad);
        Assert.Equal(norm, GradientClipping.ClipGradNorm(arena, maxNorm: 1e30, p));
    }

    [Fact]
    public void Measuring_before_a_step_leaves_the_step_as_it_was()
    {
        float[] Run(bool measure)
        {
            var p = new Parameter(Tensor.FromArray([1f, -2f, 3f, 0.5f], 4));
            var adam = new Adam([p], lr: 0.01, weightDecay: 0.1);
            for (int step = 0; step < 3; step++)
            {
                for (int j = 0; j < 4; j++) p.Grad!.Data[j] = p.Data[j] * p.Data[j] - 1f;
                if (measure) Assert.True(GradientClipping.GradNorm(adam.Arena) > 0);
                adam.Step();
            }
            return p.ToArray();
        }
        Assert.Equal(Run(measure: false), Run(measure: true));
    }
}
