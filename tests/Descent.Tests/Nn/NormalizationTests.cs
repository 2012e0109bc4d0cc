using System.Text.Json;
using Descent.Autodiff;
using Descent.Kernels;
using Descent.Kernels.Reference;
using Descent.Nn;
using Descent.Optim;
using Descent.Tests.Fixtures;
using Descent.Training;

namespace Descent.Tests.Nn;

/// <summary>
/// BatchNorm1d/2d, LayerNorm and Dropout against PyTorch (tests/fixtures/norm.json, made by
/// generate_norm_fixtures.py), their train/eval behaviour and errors, and their kernels against the scalar twins.
/// </summary>
public class NormalizationTests
{
    /// <summary>
    /// Fixture tolerance: |Descent − PyTorch| ≤ 1e-5·|PyTorch| + 1e-6. The absolute term covers values that are
    /// differences of nearly equal numbers (outputs and gradients near 0), which no float32 implementation
    /// reproduces to a relative 1e-5.
    /// </summary>
    private const double Rtol = 1e-5, Atol = 1e-6;

    private static readonly JsonElement Norm = Fixture.Load("norm.json");

    public static TheoryData<string> BatchNormCases() => new(Norm.GetProperty("batch_norm").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    public static TheoryData<string> LayerNormCases() => new(Norm.GetProperty("layer_norm").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    private static JsonElement Case(string section, string name) =>
        Norm.GetProperty(section).EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static float[] Data(JsonElement tensor) => Fixture.Floats(tensor.GetProperty("data"));

    /// <summary>|actual − expected| ≤ atol + rtol·|expected| element-wise; the message is built only for a failure.</summary>
    private static void Near(float[] expected, ReadOnlySpan<float> actual, double atol, double rtol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} values, got {actual.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            if (err <= atol + rtol * Math.Abs(expected[i])) continue;
            Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (error {err:G3})");
        }
    }

    private static void Close(JsonElement expected, Tensor actual, string what)
    {
        Assert.Equal(Fixture.Ints(expected.GetProperty("shape")), actual.Shape.ToArray());
        Near(Data(expected), actual.Data, Atol, Rtol, what);
    }

    /// <summary>
    /// The input gradient against PyTorch's, with the tolerance widened by twice PyTorch's own distance from the
    /// float64 value (<c>grad_input_float64</c>). That distance is ~1e-7 and changes nothing except where the
    /// gradient is a difference of nearly equal terms (a batch of two samples, where it is O(eps/σ²)): there
    /// PyTorch's float32 result is itself 2e-4 relative off the exact one, and no other float32 order of
    /// operations can be expected to land on it.
    /// </summary>
    private static void CloseInputGradient(JsonElement step, Tensor actual, string what)
    {
        var torch = Data(step.GetProperty("grad_input"));
        var exact = step.GetProperty("grad_input_float64").GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var ours = actual.Data;
        Assert.Equal(torch.Length, ours.Length);
        for (int i = 0; i < torch.Length; i++)
        {
            double allowed = Atol + Rtol * Math.Abs(torch[i]) + 2 * Math.Abs(torch[i] - exact[i]);
            double err = Math.Abs(ours[i] - torch[i]);
            if (err > allowed) Assert.Fail($"{what}[{i}]: PyTorch {torch[i]:R}, Descent {ours[i]:R}, float64 {exact[i]:R} (error {err:G3})");
        }
    }

    [Theory]
    [MemberData(nameof(BatchNormCases))]
    public void BatchNorm_matches_pytorch_over_three_training_steps_then_eval(string name)
    {
        var c = Case("batch_norm", name);
        int features = c.GetProperty("num_features").GetInt32();
        double eps = c.GetProperty("eps").GetDouble();
        double? momentum = c.GetProperty("momentum").ValueKind == JsonValueKind.Null ? null : c.GetProperty("momentum").GetDouble();
        bool affine = c.GetProperty("affine").GetBoolean();
        bool track = c.GetProperty("track_running_stats").GetBoolean();
        BatchNorm layer = c.GetProperty("layer").GetString() == "BatchNorm1d"
            ? new BatchNorm1d(features, eps, momentum, affine, track)
            : new BatchNorm2d(features, eps, momentum, affine, track);
        if (affine)
        {
            Data(c.GetProperty("weight")).CopyTo(layer.Weight!.Data);
            Data(c.GetProperty("bias")).CopyTo(layer.Bias!.Data);
        }

        var steps = c.GetProperty("train_steps").EnumerateArray().Select(s => (s, training: true))
            .Append((c.GetProperty("eval_step"), training: false));
        int index = 0;
        foreach (var (step, training) in steps)
        {
            string at = $"{name} {(training ? $"training step {index + 1}" : "eval")}";
            layer.Train(training);
            var x = Fixture.Tensor(step.GetProperty("input")).Grad();
            layer.Weight?.Grad?.Data.Clear();
            layer.Bias?.Grad?.Data.Clear();
            var y = layer.Forward(x);
            Close(step.GetProperty("output"), y, $"{at} output");
            y.Backward(Fixture.Tensor(step.GetProperty("upstream")));
            CloseInputGradient(step, x.Grad!, $"{at} input gradient");
            if (affine)
            {
                Close(step.GetProperty("grad_weight"), layer.Weight!.Grad!, $"{at} weight gradient");
                Close(step.GetProperty("grad_bias"), layer.Bias!.Grad!, $"{at} bias gradient");
            }
            if (track)
            {
                Close(step.GetProperty("running_mean"), layer.RunningMean!, $"{at} running_mean");
                Close(step.GetProperty("running_var"), layer.RunningVar!, $"{at} running_var");
                Assert.Equal(step.GetProperty("num_batches_tracked").GetInt32(), layer.NumBatchesTracked);
            }
            index++;
        }
    }

    [Theory]
    [MemberData(nameof(LayerNormCases))]
    public void LayerNorm_matches_pytorch_and_is_the_same_in_eval(string name)
    {
        var c = Case("layer_norm", name);
        var shape = Fixture.Ints(c.GetProperty("normalized_shape"));
        bool affine = c.GetProperty("elementwise_affine").GetBoolean();
        var layer = new LayerNorm(shape, c.GetProperty("eps").GetDouble(), affine);
        if (affine)
        {
            Data(c.GetProperty("weight")).CopyTo(layer.Weight!.Data);
            Data(c.GetProperty("bias")).CopyTo(layer.Bias!.Data);
        }
        var x = Fixture.Tensor(c.GetProperty("input")).Grad();
        var y = layer.Forward(x);
        Close(c.GetProperty("output"), y, $"{name} output");
        layer.Eval();
        using (Tape.NoGrad()) Assert.Equal(y.ToArray(), layer.Forward(x).ToArray());
        y.Backward(Fixture.Tensor(c.GetProperty("upstream")));
        CloseInputGradient(c, x.Grad!, $"{name} input gradient");
        if (affine)
        {
            Close(c.GetProperty("grad_weight"), layer.Weight!.Grad!, $"{name} weight gradient");
            Close(c.GetProperty("grad_bias"), layer.Bias!.Grad!, $"{name} bias gradient");
        }
    }

    [Fact]
    public void Dropout_keeps_one_minus_p_scales_as_pytorch_and_is_the_identity_in_eval()
    {
        foreach (var c in Norm.GetProperty("dropout").EnumerateArray())
        {
            double p = c.GetProperty("p").GetDouble();
            int n = c.GetProperty("n").GetInt32();
            double sigma = c.GetProperty("kept_fraction_std").GetDouble();
            // The kept fraction of n Bernoulli(1 − p) draws has standard error √(p(1 − p)/n); allow 5 of them.
            Assert.InRange(c.GetProperty("kept_fraction").GetDouble(), 1 - p - 5 * sigma, 1 - p + 5 * sigma);
            var ones = Tensor.Full(1f, n);
            var dropped = Functional.Dropout(ones, p, training: true, new Random(11));
            double kept = dropped.ToArray().Count(v => v != 0) / (double)n;
            Assert.InRange(kept, 1 - p - 5 * sigma, 1 - p + 5 * sigma);

            // The factor is PyTorch's float32 1/(1 − p), bit for bit, and the kept values are x times it.
            float scale = c.GetProperty("scale").GetSingle();
            Assert.Equal(scale, Normalization.DropoutScale(p));
            var layer = new Dropout(p, new Random(5));
            var x = Fixture.Tensor(c.GetProperty("input")).Grad();
            var y = layer.Forward(x);
            var torchY = Data(c.GetProperty("output"));
            var xs = x.ToArray();
            var ys = y.ToArray();
            for (int i = 0; i < xs.Length; i++)
            {
                Assert.True(ys[i] == 0f || ys[i] == xs[i] * scale, $"p={p}: element {i} is {ys[i]}, neither 0 nor x/(1 − p)");
                if (ys[i] != 0f && torchY[i] != 0f) Assert.Equal(torchY[i], ys[i]);
            }
            var upstream = Fixture.Tensor(c.GetProperty("upstream"));
            y.Backward(upstream);
            var g = x.Grad!.ToArray();
            for (int i = 0; i < xs.Length; i++) Assert.Equal(ys[i] == 0f ? 0f : upstream.Data[i] * scale, g[i]);

            layer.Eval();
            Assert.Same(x, layer.Forward(x));
        }
    }

    [Fact]
    public void Dropout_masks_follow_the_seed_and_drop_under_NoGrad_too()
    {
        var x = TestData.Random(1, 8, 50);
        Rng.ManualSeed(42);
        var first = new Dropout(0.3).Forward(x).ToArray();
        Rng.ManualSeed(42);
        var again = new Dropout(0.3).Forward(x).ToArray();
        Assert.Equal(first, again);
        using (Tape.NoGrad())
            Assert.Contains(0f, new Dropout(0.3).Forward(x).ToArray());
        Assert.Same(x, new Dropout(0.0).Forward(x));
    }

    [Fact]
    public void Dropout_probability_outside_zero_one_is_refused_in_pytorch_words()
    {
        var errors = Norm.GetProperty("errors");
        Assert.Equal(errors.GetProperty("dropout_p").GetString(), Assert.Throws<ArgumentException>(() => new Dropout(1.5)).Message);
        Assert.Equal(errors.GetProperty("dropout_negative_p").GetString(), Assert.Throws<ArgumentException>(() => new Dropout(-0.1)).Message);
        Assert.StartsWith("dropout probability has to be between 0 and 1, but got 1", Assert.Throws<ArgumentException>(() => new Dropout(1)).Message);
        Assert.Throws<ArgumentException>(() => Functional.Dropout(Tensor.Zeros(3), double.NaN));
        Assert.Throws<ArgumentException>(() => Models.Mlp(4, [3], 2, dropout: 2));
    }

    [Fact]
    public void BatchNorm_eval_uses_running_statistics_and_leaves_them_alone()
    {
        var layer = new BatchNorm1d(3);
        var batch = TestData.Uniform(1, 2.0, 5.0, 16, 3);
        layer.Forward(batch);
        var mean = layer.RunningMean!.ToArray();
        var variance = layer.RunningVar!.ToArray();
        layer.Eval();
        var x = TestData.Random(2, 4, 3);
        var y = layer.Forward(x);
        Assert.Equal(mean, layer.RunningMean!.ToArray());
        Assert.Equal(variance, layer.RunningVar!.ToArray());
        Assert.Equal(1, layer.NumBatchesTracked);
        for (int i = 0; i < 4; i++)
            for (int c = 0; c < 3; c++)
                Assert.Equal((x.Data[i * 3 + c] - mean[c]) / Math.Sqrt(variance[c] + 1e-5), y.Data[i * 3 + c], 5);
        // A single sample is fine in evaluation: nothing is estimated from it.
        Assert.Equal([1, 3], layer.Forward(TestData.Random(3, 1, 3)).Shape.ToArray());
    }

    [Fact]
    public void BatchNorm_without_running_statistics_normalizes_by_the_batch_in_eval_too()
    {
        var layer = new BatchNorm2d(2, trackRunningStats: false);
        Assert.Null(layer.RunningMean);
        Assert.Empty(layer.NamedBuffers());
        var x = TestData.Uniform(4, 3.0, 7.0, 3, 2, 4, 4);
        var training = layer.Forward(x).ToArray();
        layer.Eval();
        Assert.Equal(training, layer.Forward(x).ToArray());
        Assert.Equal(0, layer.NumBatchesTracked);
    }

    [Fact]
    public void BatchNorm_with_momentum_null_keeps_the_cumulative_average()
    {
        var layer = new BatchNorm1d(2, momentum: null);
        var batchMeans = new List<float[]>();
        for (int k = 0; k < 5; k++)
        {
            var x = TestData.Uniform(10 + k, -1.0 + k, 2.0 + k, 8, 2);
            batchMeans.Add([Enumerable.Range(0, 8).Average(i => x.Data[2 * i]), Enumerable.Range(0, 8).Average(i => x.Data[2 * i + 1])]);
            layer.Forward(x);
        }
        for (int c = 0; c < 2; c++)
            Assert.Equal(batchMeans.Average(m => m[c]), layer.RunningMean!.Data[c], 5);
        Assert.Equal(5, layer.NumBatchesTracked);
    }

    [Fact]
    public void BatchNorm_batch_of_one_in_training_is_refused_naming_the_layer()
    {
        var layer = new BatchNorm1d(4);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(1, 4)));
        var pytorch = Norm.GetProperty("errors").GetProperty("batch_norm_batch_size_1").GetString()!.Replace("torch.Size([1, 4])", "[1, 4]");
        Assert.Equal($"BatchNorm1d(4): {pytorch}", e.Message);
        Assert.Equal(0, layer.NumBatchesTracked);
        Assert.Throws<ArgumentException>(() => new BatchNorm1d(4).Forward(Tensor.Zeros(1, 4, 1)));
        // One sample with several positions is a valid batch for the per-channel statistics.
        new BatchNorm2d(4).Forward(TestData.Random(5, 1, 4, 2, 2));
    }

    [Fact]
    public void BatchNorm_shape_errors_name_the_layer_and_the_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => new BatchNorm1d(4).Forward(Tensor.Zeros(2, 4, 3, 3)));
        Assert.Equal("BatchNorm1d(4): expected 2D or 3D input (got 4D input [2, 4, 3, 3])", e.Message);
        e = Assert.Throws<ArgumentException>(() => new BatchNorm2d(3, momentum: null).Forward(Tensor.Zeros(2, 3, 4)));
        Assert.Equal("BatchNorm2d(3, momentum=None): expected 4D input (got 3D input [2, 3, 4])", e.Message);
        e = Assert.Throws<ArgumentException>(() => new BatchNorm1d(4).Forward(Tensor.Zeros(8, 5)));
        Assert.Contains("BatchNorm1d(4)", e.Message);
        Assert.Contains("[8, 5]", e.Message);
        Assert.Contains("[4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Functional.BatchNorm(Tensor.Zeros(2, 3), null, null));
        Assert.Contains("running_mean and running_var must be defined in evaluation mode", e.Message);
        e = Assert.Throws<ArgumentException>(() => new LayerNorm(5).Forward(Tensor.Zeros(4, 6)));
        Assert.Equal("LayerNorm(5): Given normalized_shape=[5], expected input with shape [*, 5], but got input of size[4, 6]", e.Message);
    }

    [Fact]
    public void BatchNorm_statistics_are_buffers_not_parameters()
    {
        var layer = new BatchNorm2d(3);
        Assert.Equal(["weight", "bias"], layer.NamedParameters().Select(p => p.Name));
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], layer.NamedBuffers().Select(b => b.Name));
        Assert.Equal([1f, 1f, 1f], layer.Weight!.ToArray());
        Assert.Equal([0f, 0f, 0f], layer.RunningMean!.ToArray());
        Assert.Equal([1f, 1f, 1f], layer.RunningVar!.ToArray());
        layer.Forward(TestData.Uniform(1, 2.0, 3.0, 2, 3, 2, 2));
        Assert.Equal(1f, layer.NamedBuffers().ElementAt(2).Buffer.Item());
        var model = new Sequential(new Linear(4, 3), layer);
        var state = model.StateDict();
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"], state.Keys);
        var copy = new Sequential(new Linear(4, 3), new BatchNorm2d(3));
        copy.LoadStateDict(state);
        Assert.Equal(layer.RunningVar!.ToArray(), ((BatchNorm2d)copy[1]).RunningVar!.ToArray());
        layer.ResetRunningStats();
        Assert.Equal([0f, 0f, 0f], layer.RunningMean!.ToArray());
        Assert.Equal(0, layer.NumBatchesTracked);
        var plain = new BatchNorm1d(3, affine: false);
        Assert.Empty(plain.Parameters());
        Assert.Equal("BatchNorm1d(3, affine=False)", plain.Describe());
    }

    [Fact]
    public void Models_put_batch_norm_before_and_dropout_after_each_hidden_activation()
    {
        static string[] Kinds(Sequential s) => s.Layers.Select(l => l.GetType().Name).ToArray();
        Assert.Equal(["Linear", "ReLU", "Linear"], Kinds(Models.Mlp(4, [3], 2)));
        Assert.Equal(["Flatten", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear"],
            Kinds(Models.Mlp(4, [3, 3], 2, "tanh", flattenInput: true, batchNorm: true, dropout: 0.5)));
        Assert.Equal(["Conv2d", "BatchNorm2d", "ReLU", "Dropout", "MaxPool2d", "Conv2d", "BatchNorm2d", "ReLU", "Dropout", "MaxPool2d", "Flatten",
                "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"],
            Kinds(Models.Cnn(1, 8, 8, 10, batchNorm: true, dropout: 0.25)));
        Assert.Equal(["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear"], Kinds(Models.Cnn(1, 8, 8, 10)));

        var model = Models.Cnn(1, 8, 8, 10, batchNorm: true, dropout: 0.25);
        model.Eval();
        Assert.All(model.Layers, l => Assert.False(l.Training));
        var x = TestData.Random(3, 2, 1, 8, 8);
        using (Tape.NoGrad()) Assert.Equal(model.Forward(x).ToArray(), model.Forward(x).ToArray());
    }

    [Fact]
    public void Training_with_batch_norm_and_dropout_learns_the_digits()
    {
        Rng.ManualSeed(0);
        var data = DataPreparation.Load("digits", null, asImages: false, valFraction: 0.1, seed: 0);
        var model = Models.Mlp(64, [64], 10, batchNorm: true, dropout: 0.2);
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.1, momentum: 0.9));
        trainer.Fit(data.TrainLoader(32, 0), epochs: 3);
        Assert.True(model.Training);
        Assert.InRange(trainer.Evaluate(data.Test).Accuracy, 0.9, 1.0);
    }

    [Fact]
    public void Cli_trains_with_batch_norm_and_dropout_and_refuses_bad_values()
    {
        var (code, output, err) = RunCli("train", "--batch-norm", "--dropout", "0.2", "--epochs", "2", "--hidden", "32", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
        Assert.InRange(doc.RootElement.GetProperty("test_accuracy").GetDouble(), 0.85, 1.0);

        foreach (var args in new[] { new[] { "train", "--dropout", "1.5" }, ["train", "--dropout", "-0.1"], ["train", "--batch-norm", "--batch-size", "1"],
                     ["train", "--batch-norm", "--batch-size", "4"], ["train", "--dropout", "x"] })
        {
            var (bad, _, message) = RunCli(args);
            Assert.Equal(2, bad);
            Assert.Single(message.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("descent: error:", message);
        }
        Assert.Contains("dropout probability has to be between 0 and 1, but got 1.5", RunCli("train", "--dropout", "1.5").Err);
    }

    internal static (int Code, string Out, string Err) RunCli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Descent.Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    public static TheoryData<int, int, int> ChannelLayouts() => new()
    {
        { 2, 1, 1 }, { 3, 4, 1 }, { 7, 17, 1 }, { 128, 33, 1 }, { 2, 3, 5 }, { 4, 3, 7 }, { 3, 5, 16 }, { 5, 2, 33 }, { 1, 3, 100 },
        { 8, 16, 1024 }, { 16, 32, 196 },
    };

    [Theory]
    [MemberData(nameof(ChannelLayouts))]
    public void Batch_norm_kernels_match_their_scalar_twins(int outer, int channels, int inner)
    {
        var x = TestData.Uniform(outer * 31 + inner, 1.0, 4.0, outer * channels * inner).Data;
        var gy = TestData.Random(channels + 7, outer * channels * inner).Data;
        var weight = TestData.Uniform(3, 0.5, 1.5, channels).Data;
        var shift = TestData.Random(4, channels).Data;

        float[] mean = new float[channels], variance = new float[channels], refMean = new float[channels], refVariance = new float[channels];
        Normalization.BatchNormStatistics(x, outer, channels, inner, mean, variance);
        NormalizationReference.BatchNormStatistics(x, outer, channels, inner, refMean, refVariance);
        Near(refMean, mean, 1e-6, 1e-6, "mean");
        Near(refVariance, variance, 1e-7, 1e-5, "variance");

        float[] y = new float[x.Length], refY = new float[x.Length];
        Normalization.ChannelScaleShift(x, outer, channels, inner, weight, shift, y);
        NormalizationReference.ChannelScaleShift(x, outer, channels, inner, weight, shift, refY);
        Near(refY, y, 1e-6, 1e-6, "scale-shift");

        var invStd = variance.Select(v => (float)(1 / Math.Sqrt(v + 1e-5))).ToArray();
        foreach (bool batchStatistics in new[] { true, false })
        {
            float[] gx = Enumerable.Repeat(0.5f, x.Length).ToArray(), refGx = (float[])gx.Clone();
            float[] gw = new float[channels], refGw = new float[channels], gb = new float[channels], refGb = new float[channels];
            Normalization.BatchNormBackward(x, gy, outer, channels, inner, mean, invStd, weight, batchStatistics, gx, gw, gb);
            NormalizationReference.BatchNormBackward(x, gy, outer, channels, inner, mean, invStd, weight, batchStatistics, refGx, refGw, refGb);
            Near(refGx, gx, 2e-5, 1e-4, $"gx (batch statistics: {batchStatistics})");
            Near(refGw, gw, 1e-4, 1e-4, "gweight");
            Near(refGb, gb, 1e-4, 1e-4, "gbias");
        }
    }

    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(3, 5, true)]
    [InlineData(4, 7, false)]
    [InlineData(2, 33, true)]
    [InlineData(17, 64, true)]
    [InlineData(256, 300, true)]
    [InlineData(512, 256, false)]
    public void Layer_norm_kernels_match_their_scalar_twins(int rows, int size, bool affine)
    {
        var x = TestData.Uniform(rows + size, -2.0, 3.0, rows * size).Data;
        var gy = TestData.Random(rows * 3 + 1, rows * size).Data;
        var weight = affine ? TestData.Uniform(5, 0.5, 1.5, size).Data.ToArray() : [];
        var bias = affine ? TestData.Random(6, size).Data.ToArray() : [];
        float[] y = new float[x.Length], refY = new float[x.Length];
        float[] mean = new float[rows], invStd = new float[rows], refMean = new float[rows], refInvStd = new float[rows];
        Normalization.LayerNormForward(x, rows, size, weight, bias, 1e-5, y, mean, invStd);
        NormalizationReference.LayerNormForward(x, rows, size, weight, bias, 1e-5, refY, refMean, refInvStd);
        Near(refY, y, 1e-5, 1e-5, "y");
        Near(refMean, mean, 1e-6, 1e-6, "mean");
        Near(refInvStd, invStd, 1e-6, 1e-5, "invStd");

        float[] gx = Enumerable.Repeat(-0.25f, x.Length).ToArray(), refGx = (float[])gx.Clone();
        float[] gw = affine ? new float[size] : [], refGw = affine ? new float[size] : [];
        float[] gb = affine ? new float[size] : [], refGb = affine ? new float[size] : [];
        Normalization.LayerNormBackward(x, gy, rows, size, weight, mean, invStd, gx, gw, gb);
        NormalizationReference.LayerNormBackward(x, gy, rows, size, weight, mean, invStd, refGx, refGw, refGb);
        Near(refGx, gx, 2e-5, 1e-4, "gx");
        Near(refGw, gw, 1e-4, 1e-4, "gweight");
        Near(refGb, gb, 1e-4, 1e-4, "gbias");
    }

    [Theory]
    [InlineData(0.0, 10)]
    [InlineData(0.25, 1000)]
    [InlineData(0.9, 4097)]
    public void Dropout_mask_kernel_matches_its_scalar_twin(double p, int length)
    {
        float[] mask = new float[length], refMask = new float[length];
        Normalization.DropoutMask(new Random(9), p, mask);
        NormalizationReference.DropoutMask(new Random(9), p, refMask);
        Assert.Equal(refMask, mask);
    }
}

/// <summary>A steady-state training step with batch normalization and dropout allocates no large arrays.</summary>
[Collection("AllocationTests")]
public class NormalizationAllocationTests
{
    private static long MeasurePerStep(Module model, Tensor x, int[] labels, int steps)
    {
        var y = Tensor.FromArray(labels.Select(v => (float)v).ToArray(), labels.Length);
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.01, momentum: 0.9));
        for (int i = 0; i < 30; i++) trainer.TrainStep(x, y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++) trainer.TrainStep(x, y);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
    }

    [Fact]
    public void Steady_state_mlp_step_with_batch_norm_and_dropout_allocates_no_large_arrays()
    {
        Rng.ManualSeed(0);
        var model = Models.Mlp(784, [512, 256], 10, batchNorm: true, dropout: 0.2);
        var x = TestData.Random(1, 64, 784);
        var y = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();
        long perStep = MeasurePerStep(model, x, y, 30);
        // One activation is 64×512×4 = 128 KB and the dropout mask as much again; what remains is graph
        // bookkeeping (nodes, closures, tensor headers), the same budget as the plain models.
        Assert.True(perStep < 24 * 1024, $"a training step allocated {perStep:N0} bytes after warm-up");
    }

    [Fact]
    public void Steady_state_cnn_step_with_batch_norm_and_dropout_allocates_no_large_arrays()
    {
        Rng.ManualSeed(0);
        var model = Models.Cnn(1, 16, 16, 10, batchNorm: true, dropout: 0.2);
        var x = TestData.Random(1, 16, 1, 16, 16);
        var y = Enumerable.Range(0, 16).Select(i => i % 10).ToArray();
        // The first activation is 16×32×16×16×4 = 512 KB.
        long perStep = MeasurePerStep(model, x, y, 10);
        Assert.True(perStep < 24 * 1024, $"a training step allocated {perStep:N0} bytes after warm-up");
    }
}
