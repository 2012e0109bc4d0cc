using Descent.Nn;
using Descent.Optim;
using Descent.Tests.Logging;
using Descent.Training;

namespace Descent.Tests.Nn;

/// <summary>Starting from a trained model: <see cref="Module.LoadMatching(string)"/>, <see cref="Module.Freeze()"/>, <see cref="FreezeSpec"/>.</summary>
public sealed class TransferTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static PreparedData Digits() => DataPreparation.Load("digits", null, asImages: false, valFraction: 0, seed: 0);

    private static Sequential TrainedMlp(PreparedData data, int outputs, int seed)
    {
        Rng.ManualSeed(seed);
        var model = Models.Mlp(64, [32], outputs);
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.05, 0.9));
        trainer.Fit(data.TrainLoader(32, seed), epochs: 2);
        return model;
    }

    [Fact]
    public void A_file_with_another_output_layer_loads_everything_but_that_layer()
    {
        var data = Digits();
        var source = TrainedMlp(data, 10, seed: 1);
        var path = _dir.Sub("ten-classes.safetensors");
        source.Save(path);

        Rng.ManualSeed(2);
        var target = Models.Mlp(64, [32], 5);
        var headBefore = target.StateDict()["2.weight"].Data.ToArray();
        var report = target.LoadMatching(path);

        Assert.Equal(["0.weight", "0.bias"], report.Loaded);
        Assert.Equal(["2.weight", "2.bias"], report.Skipped.Select(s => s.Name));
        Assert.Equal([10, 32], report.Skipped[0].FileShape);
        Assert.Equal([5, 32], report.Skipped[0].ModelShape);
        Assert.Empty(report.Left);
        Assert.Empty(report.Unused);
        var sourceState = source.StateDict();
        var targetState = target.StateDict();
        Assert.Equal(sourceState["0.weight"].Data.ToArray(), targetState["0.weight"].Data.ToArray());
        Assert.Equal(sourceState["0.bias"].Data.ToArray(), targetState["0.bias"].Data.ToArray());
        Assert.Equal(headBefore, targetState["2.weight"].Data.ToArray());
    }

    [Fact]
    public void Names_the_file_lacks_are_left_and_names_the_model_lacks_are_reported_unused()
    {
        Rng.ManualSeed(3);
        var model = Models.Mlp(4, [3], 2);
        var state = new Dictionary<string, Tensor>
        {
            ["0.weight"] = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 3, 4),
            ["9.weight"] = Tensor.FromArray([1f], 1),
        };
        var report = model.LoadMatching(state);
        Assert.Equal(["0.weight"], report.Loaded);
        Assert.Equal(["0.bias", "2.weight", "2.bias"], report.Left);
        Assert.Equal(["9.weight"], report.Unused);
        Assert.Equal(11f, model.StateDict()["0.weight"].Data[11]);
    }

    [Fact]
    public void A_loaded_model_evaluates_to_the_saved_models_accuracy_exactly()
    {
        var data = Digits();
        var source = TrainedMlp(data, 10, seed: 4);
        var expected = new Trainer(source, new SGD(source.Parameters(), 0.1)).Evaluate(data.Test);
        var path = _dir.Sub("digits.safetensors");
        source.Save(path);

        Rng.ManualSeed(5);
        var fresh = Models.Mlp(64, [32], 10);
        var before = new Trainer(fresh, new SGD(fresh.Parameters(), 0.1)).Evaluate(data.Test);
        var report = fresh.LoadMatching(path);
        var after = new Trainer(fresh, new SGD(fresh.Parameters(), 0.1)).Evaluate(data.Test);

        Assert.Equal(4, report.Loaded.Count);
        Assert.True(expected.Accuracy > 0.9, $"the trained model reaches {expected.Accuracy}");
        Assert.True(before.Accuracy < 0.5, $"the untrained model reaches {before.Accuracy}");
        Assert.Equal(expected.Accuracy, after.Accuracy);
        Assert.Equal(expected.Loss, after.Loss);
    }

    [Fact]
    public void A_frozen_layers_tensors_are_bit_identical_after_training_and_get_no_gradient()
    {
        var data = Digits();
        Rng.ManualSeed(6);
        var model = Models.Mlp(64, [32, 16], 10);
        Assert.Equal(["0.weight", "0.bias"], model.Freeze("0"));
        var frozenBefore = model.StateDict();
        // Weight decay and momentum would move a parameter whose gradient is merely zero: a frozen one must not be stepped at all.
        var optimizer = new SGD(model.Parameters(), 0.05, 0.9, weightDecay: 0.01);
        Assert.Equal(model.ParameterCount - 64 * 32 - 32, optimizer.Arena.Length);
        new Trainer(model, optimizer).Fit(data.TrainLoader(32, 6), epochs: 2);

        var after = model.StateDict();
        foreach (var name in new[] { "0.weight", "0.bias" })
            Assert.Equal(frozenBefore[name].Data.ToArray().Select(BitConverter.SingleToInt32Bits), after[name].Data.ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.NotEqual(frozenBefore["2.weight"].Data.ToArray(), after["2.weight"].Data.ToArray());
        var frozen = model.NamedParameters().Where(p => p.Name.StartsWith("0.", StringComparison.Ordinal)).Select(p => p.Parameter);
        Assert.All(frozen, p => Assert.Null(p.Grad));
    }

    [Fact]
    public void Freeze_and_unfreeze_set_requires_grad_like_pytorch()
    {
        var model = Models.Mlp(4, [3], 2);
        model.Freeze();
        Assert.Empty(model.TrainableParameters());
        Assert.Equal(["2.weight", "2.bias"], model.Unfreeze("2"));
        Assert.Equal(2, model.TrainableParameters().Count);
        model.Unfreeze();
        Assert.Equal(4, model.TrainableParameters().Count);
        var error = Assert.Throws<ArgumentException>(() => model.Freeze("0", "7"));
        Assert.Contains("'7' names no parameter", error.Message);
        Assert.Equal(4, model.TrainableParameters().Count);
    }

    [Fact]
    public void Freeze_spec_takes_indices_names_and_until()
    {
        var model = Models.Mlp(4, [3, 3], 2);   // 0 Linear, 1 ReLU, 2 Linear, 3 ReLU, 4 Linear
        Assert.Equal(["0", "2"], FreezeSpec.Parse("0,2", model));
        Assert.Equal(["0", "2"], FreezeSpec.Parse("until:4", model));
        Assert.Equal(["0"], FreezeSpec.Parse("until:1", model));
        Assert.Equal(["4.bias"], FreezeSpec.Parse(" 4.bias ", model));
        Assert.Contains("until:K needs K in 1…5", Assert.Throws<ArgumentException>(() => FreezeSpec.Parse("until:6", model)).Message);
        Assert.Throws<ArgumentException>(() => FreezeSpec.Parse("until:x", model));
        Assert.Throws<ArgumentException>(() => FreezeSpec.Parse(",", model));
    }

    [Fact]
    public void Parameter_groups_get_their_own_learning_rate_and_leave_frozen_parameters_out()
    {
        var model = Models.Mlp(4, [3, 3], 2);
        model.Freeze("0");
        var body = model.NamedParameters().Where(p => p.Name.StartsWith("2.", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
        var head = model.NamedParameters().Where(p => p.Name.StartsWith("4.", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
        var optimizer = (SGD)Optimizers.Create("momentum", [new ParamGroupSpec("backbone", body, 0.001), new ParamGroupSpec("head", head)], new OptimizerSettings { Lr = 0.1 });
        Assert.Equal([0.001, 0.1], optimizer.GroupOptions.Select(o => o.Lr));
        Assert.Equal(3 * 3 + 3 + 2 * 3 + 2, optimizer.Arena.Length);
        var all = Optimizers.Create("adam", model, new OptimizerSettings());
        Assert.Equal(3 * 3 + 3 + 2 * 3 + 2, all.Arena.Length);
    }
}
