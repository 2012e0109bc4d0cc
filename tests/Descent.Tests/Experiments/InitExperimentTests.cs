using Descent.Lab.Experiments;
using Descent.Lab.Plots;

namespace Descent.Tests.Experiments;

/// <summary>
/// The lectures' claims about initialization, checked on the statistics the experiment computes. One run of
/// the default network (10 layers × 500 units, 1000 samples) without the training part is shared by the tests.
/// </summary>
public class InitExperimentTests : IClassFixture<InitExperimentTests.DefaultRun>
{
    public sealed class DefaultRun
    {
        public InitExperimentResult Result { get; } = InitExperiment.Run(new InitExperimentOptions { Train = false });
    }

    private readonly InitExperimentResult _result;

    public InitExperimentTests(DefaultRun run) => _result = run.Result;

    private IReadOnlyList<LayerActivationStats> Layers(string activation, InitScheme init) => _result.Get(activation, init).Layers;

    [Fact]
    public void Small_normal_weights_make_tanh_activations_vanish_geometrically()
    {
        var layers = Layers("tanh", InitScheme.SmallNormal);
        Assert.Equal(10, layers.Count);
        // Near 0, tanh is the identity, so each layer multiplies the std by about 0.01·√500 ≈ 0.22.
        Assert.InRange(layers[0].Std, 0.15, 0.3);
        for (int l = 1; l < layers.Count; l++)
            Assert.InRange(layers[l].Std / layers[l - 1].Std, 0.18, 0.27);
        Assert.True(layers[^1].Std < 1e-5, $"layer 10 std {layers[^1].Std}");
        Assert.True(layers[^1].Std / layers[0].Std < 1e-5);
    }

    [Fact]
    public void Unit_normal_weights_saturate_tanh_in_every_layer()
    {
        foreach (var layer in Layers("tanh", InitScheme.Normal))
        {
            Assert.True(layer.SaturatedFraction > 0.85, $"layer {layer.Layer}: only {layer.SaturatedFraction:P1} of |a| > 0.99");
            Assert.InRange(layer.Std, 0.95, 1.0);
        }
    }

    [Fact]
    public void Xavier_with_the_tanh_gain_and_he_with_relu_keep_the_std_within_25_percent_of_layer_1()
    {
        foreach (var (activation, init) in new[] { ("tanh", InitScheme.XavierGain), ("relu", InitScheme.He) })
        {
            var layers = Layers(activation, init);
            foreach (var layer in layers)
                Assert.InRange(layer.Std / layers[0].Std, 0.75, 1.25);
            if (activation == "tanh") Assert.True(layers.All(l => l.SaturatedFraction < 0.15), "Xavier×gain saturates tanh");
        }
    }

    [Fact]
    public void Plain_xavier_on_tanh_decays_slowly_not_geometrically()
    {
        // Xavier's variance 1/fan_in is right for a linear unit; tanh shrinks what passes through, so the std
        // drifts down (0.63 → 0.23 over ten layers here), far from N(0, 0.01²)'s factor 0.22 per layer.
        var layers = Layers("tanh", InitScheme.Xavier);
        Assert.InRange(layers[^1].Std / layers[0].Std, 0.25, 0.5);
        for (int l = 1; l < layers.Count; l++)
            Assert.InRange(layers[l].Std / layers[l - 1].Std, 0.7, 1.0);
        Assert.True(layers[^1].Std > 0.15);
    }

    [Fact]
    public void Relu_blows_up_with_unit_normal_weights_and_collapses_with_xavier()
    {
        var normal = Layers("relu", InitScheme.Normal);
        Assert.True(normal[^1].Std / normal[0].Std > 1e9, $"ratio {normal[^1].Std / normal[0].Std}");
        var xavier = Layers("relu", InitScheme.Xavier);
        // Xavier forgets ReLU's halving of the variance: about 1/√2 per layer.
        Assert.InRange(xavier[^1].Std / xavier[0].Std, 0.01, 0.1);
        foreach (var layer in Layers("relu", InitScheme.He))
            Assert.InRange(layer.ZeroFraction, 0.4, 0.6);
    }

    [Fact]
    public void Zero_weights_give_the_same_output_for_every_unit()
    {
        foreach (var activation in new[] { "tanh", "relu" })
            foreach (var layer in Layers(activation, InitScheme.Zeros))
                Assert.Equal(0, layer.Std, 6);
    }

    [Fact]
    public void Histograms_count_every_value_on_the_row_range()
    {
        foreach (var run in _result.Runs)
            foreach (var layer in run.Layers)
            {
                long expected = run.Activation == "relu" ? (long)Math.Round(1000 * 500 * (1 - layer.ZeroFraction)) : 1000 * 500;
                Assert.Equal(expected, layer.Histogram.Total);
                Assert.Equal(40, layer.Histogram.Counts.Count);
                if (run.Activation == "tanh") Assert.Equal((-1.0, 1.0), (layer.Histogram.Low, layer.Histogram.High));
            }
    }

    [Fact]
    public void Pictures_are_svg_grids_with_one_panel_per_layer_and_init()
    {
        var dir = Path.Combine(Path.GetTempPath(), "descent-init-" + Guid.NewGuid().ToString("N"));
        try
        {
            var files = InitExperiment.WritePictures(_result, dir);
            Assert.Equal(4, files.Count);
            var histograms = File.ReadAllText(Path.Combine(dir, "init-tanh-histograms.svg"));
            Assert.StartsWith("<svg", histograms);
            Assert.EndsWith("</svg>\n", histograms);
            var texts = System.Xml.Linq.XDocument.Parse(histograms).Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
            Assert.Contains("layer 10", texts);
            Assert.Contains("N(0, 0.01²)", texts);
            Assert.Contains("Xavier×gain", texts);
            // One bar chart frame per (init, layer).
            Assert.Equal(6 * 10, texts.Count(t => t.StartsWith("σ ")));
            System.Xml.Linq.XDocument.Parse(File.ReadAllText(Path.Combine(dir, "init-relu-std.svg")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void One_epoch_on_digits_trains_xavier_and_he_but_not_zeros_or_tiny_weights()
    {
        var result = InitExperiment.Run(new InitExperimentOptions
        {
            Depth = 6, Width = 50, Samples = 100,
            Inits = [InitScheme.Zeros, InitScheme.SmallNormal, InitScheme.Xavier, InitScheme.He],
        });
        Assert.True(result.Get("tanh", InitScheme.Xavier).Training!.Learns);
        Assert.True(result.Get("relu", InitScheme.He).Training!.Learns);
        foreach (var activation in new[] { "tanh", "relu" })
        {
            Assert.False(result.Get(activation, InitScheme.Zeros).Training!.Learns);
            Assert.InRange(result.Get(activation, InitScheme.SmallNormal).Training!.ValAccuracy, 0, 0.3);
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_statistics()
    {
        var options = new InitExperimentOptions { Depth = 3, Width = 20, Samples = 50, Train = false, Inits = [InitScheme.Xavier] };
        var a = InitExperiment.Run(options).Runs[0].Layers.Select(l => l.Std);
        var b = InitExperiment.Run(options).Runs[0].Layers.Select(l => l.Std);
        Assert.Equal(a, b);
        var other = InitExperiment.Run(options with { Seed = 1 }).Runs[0].Layers.Select(l => l.Std);
        Assert.NotEqual(a, other);
    }

    [Theory]
    [InlineData(0, 10, 10)]
    [InlineData(3, 0, 10)]
    [InlineData(3, 10, 1)]
    public void Bad_sizes_are_refused(int depth, int width, int samples) =>
        Assert.Throws<ArgumentException>(() => InitExperiment.Run(new InitExperimentOptions { Depth = depth, Width = width, Samples = samples, Train = false }));

    [Fact]
    public void Histogram_puts_values_out_of_range_into_the_edge_bins()
    {
        var h = Histogram.Of([-5f, -1f, 0f, 0.5f, 0.99f, 1f, 7f, float.NaN], -1, 1, 4);
        Assert.Equal([2L, 0, 1, 4], h.Counts);
        Assert.Equal([2L, 0, 0, 4], Histogram.Of([-5f, -1f, 0f, 0.5f, 0.99f, 1f, 7f], -1, 1, 4, skipZeros: true).Counts);
    }
}
