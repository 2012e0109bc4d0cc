using Descent.Nn;

namespace Descent.Tests.Fixtures;

/// <summary>Default initialization of Linear and Conv2d draws from PyTorch's distribution (tests/fixtures/init.json).</summary>
public class InitFixtureTests
{
    [Fact]
    public void Default_init_statistics_match_pytorch()
    {
        Rng.ManualSeed(0);
        foreach (var m in Fixture.Load("init.json").GetProperty("modules").EnumerateArray())
        {
            Module module = m.GetProperty("kind").GetString() == "linear"
                ? new Linear(m.GetProperty("in_features").GetInt32(), m.GetProperty("out_features").GetInt32())
                : new Conv2d(m.GetProperty("in_channels").GetInt32(), m.GetProperty("out_channels").GetInt32(), m.GetProperty("kernel_size")[0].GetInt32());
            var named = module.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
            foreach (var which in new[] { "weight", "bias" })
            {
                var spec = m.GetProperty(which);
                var data = named[which].ToArray();
                double bound = spec.GetProperty("bound").GetDouble();
                Assert.Equal(Fixture.Ints(spec.GetProperty("shape")), named[which].Shape.ToArray());
                Assert.True(data.All(v => Math.Abs(v) <= bound), $"{which} leaves ±{bound}");
                double mean = data.Average(v => (double)v);
                double std = Math.Sqrt(data.Average(v => (v - mean) * (v - mean)));
                double expectedStd = spec.GetProperty("expected_std").GetDouble();
                int n = data.Length;
                // Sampling error of U(−b, b): σ/√n for the mean, about σ/√n·0.9 for the std; allow 5 of each.
                Assert.True(Math.Abs(mean) <= 5 * expectedStd / Math.Sqrt(n), $"{which} mean {mean} vs 0 (n={n})");
                Assert.True(Math.Abs(std - expectedStd) <= 5 * expectedStd / Math.Sqrt(n) + 1e-9, $"{which} std {std} vs {expectedStd}");
                // PyTorch's own sample must satisfy the same bound: the fixture is a real draw, not a formula.
                Assert.True(Math.Abs(spec.GetProperty("std").GetDouble() - expectedStd) <= 5 * expectedStd / Math.Sqrt(n) + 1e-9);
            }
        }
    }

    [Fact]
    public void Fans_of_one_dimensional_tensor_are_refused_with_pytorch_wording()
    {
        var e = Assert.Throws<ArgumentException>(() => Descent.Init.Initializers.Fans(Tensor.Zeros(5)));
        Assert.Equal("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions", e.Message);
    }
}
