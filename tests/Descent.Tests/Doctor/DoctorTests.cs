using System.Globalization;
using Descent.Data;
using Descent.Init;
using Descent.Lab.Doctor;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Tests.Doctor;

/// <summary>
/// Each check of <see cref="Lab.Doctor.Doctor"/> against a deliberately broken setup on the digits, and the same setup
/// repaired as the finding's fix says; healthy default setups yield no warning or error.
/// </summary>
public class DoctorTests
{
    private static readonly PreparedData Digits = DataPreparation.Load("digits", null, asImages: false, valFraction: 0.1, seed: 0);
    private static readonly PreparedData DigitImages = DataPreparation.Load("digits", null, asImages: true, valFraction: 0.1, seed: 0);

    private static DoctorSetup Mlp(string init = "torch-default", string activation = "relu", int[]? hidden = null, double lr = 0.1,
        string optimizer = "sgd", PreparedData? data = null, bool shuffle = true) => new()
    {
        Data = data ?? Digits,
        Model = () =>
        {
            Rng.ManualSeed(0);
            var d = data ?? Digits;
            var model = Models.Mlp(d.Train.SampleSize, hidden ?? [256, 128], d.Outputs, activation);
            var spec = InitSpec.Parse(init);
            if (!spec.IsTorchDefault) spec.Apply(model);
            return model;
        },
        Optimizer = m => Optimizers.Create(optimizer, m, new OptimizerSettings { Lr = lr }),
        Shuffle = shuffle,
    };

    private static DoctorSetup With(DoctorSetup setup, Func<Module> model, Func<Module, Optimizer>? optimizer = null) => new()
    {
        Data = setup.Data, Model = model, Optimizer = optimizer ?? setup.Optimizer, BatchSize = setup.BatchSize, Shuffle = setup.Shuffle, Seed = setup.Seed,
    };

    private static string Ids(DoctorReport r) => string.Join(", ", r.Findings.Select(f => $"{f.Severity} {f.Id}"));

    private static void AssertUnhealthyWith(DoctorReport report, string id)
    {
        Assert.True(report.Has(id), $"expected {id}, got: {Ids(report)}");
        Assert.False(report.Healthy);
    }

    [Fact]
    public void Default_mlp_on_digits_is_healthy_and_summarized()
    {
        var report = Lab.Doctor.Doctor.Examine(Mlp());
        Assert.True(report.Healthy, Ids(report));
        // torchinfo's numbers for nn.Sequential(Linear(64,256), ReLU, Linear(256,128), ReLU, Linear(128,10)).
        Assert.Equal([16_640L, 0, 32_896, 0, 1_290], report.Summary.Layers.Select(l => l.Parameters));
        Assert.Equal(50_826, report.Summary.Parameters);
        Assert.Equal(50_826 * 4, report.Summary.Bytes);
        Assert.Equal([-1, 128], report.Summary.Layers[3].OutputShape);
        Assert.NotNull(report.LrCurveSvg);
    }

    [Fact]
    public void Default_cnn_on_digits_is_healthy()
    {
        var setup = new DoctorSetup
        {
            Data = DigitImages,
            Model = () =>
            {
                Rng.ManualSeed(0);
                return Models.Cnn(1, 8, 8, 10);
            },
            Optimizer = m => Optimizers.Create("sgd", m, new OptimizerSettings()),
        };
        var report = Lab.Doctor.Doctor.Examine(setup);
        Assert.True(report.Healthy, Ids(report));
        // conv(1→32, 3×3, pad 1) keeps 8×8; pooling halves it: [32, 4, 4]; conv2 → [64, 4, 4] → pool [64, 2, 2] → 256.
        Assert.Equal([-1, 32, 4, 4], report.Summary.Layers[2].OutputShape);
        Assert.Equal([-1, 256], report.Summary.Layers[6].OutputShape);
        Assert.Equal(32 * 9 + 32 + 64 * 32 * 9 + 64 + 256 * 128 + 128 + 128 * 10 + 10, report.Summary.Parameters);
    }

    [Fact]
    public void Zeros_init_is_symmetry_and_cannot_overfit_and_a_random_init_fixes_it()
    {
        var broken = Lab.Doctor.Doctor.Examine(Mlp(init: "zeros"));
        AssertUnhealthyWith(broken, "symmetry");
        Assert.True(broken.Has("cannot-overfit"), Ids(broken));
        var symmetry = broken.Findings.First(f => f.Id == "symmetry");
        Assert.Equal(Severity.Error, symmetry.Severity);
        Assert.Contains("0.weight", ((Dictionary<string, object?>)symmetry.Evidence["parameters"]!).Keys);
        Assert.Contains("kaiming-normal", symmetry.Fix);
        var fixedReport = Lab.Doctor.Doctor.Examine(Mlp(init: "kaiming-normal"));
        Assert.True(fixedReport.Healthy, Ids(fixedReport));
    }

    [Fact]
    public void Lr_50_is_non_finite_naming_op_layer_and_step()
    {
        var report = Lab.Doctor.Doctor.Examine(Mlp(lr: 50));
        AssertUnhealthyWith(report, "non-finite");
        var f = report.Findings.First(x => x.Id == "non-finite");
        Assert.Contains("op '", (string)f.Evidence["detail"]!);
        Assert.Contains("in layer", (string)f.Evidence["detail"]!);
        Assert.True((int)f.Evidence["step"]! >= 1);
        Assert.True(report.Has("lr-too-high") || report.Has("non-finite"));
    }

    [Fact]
    public void Lr_too_high_goes_away_at_the_suggested_lr()
    {
        var broken = Lab.Doctor.Doctor.Examine(Mlp(lr: 3));
        AssertUnhealthyWith(broken, "lr-too-high");
        var f = broken.Findings.First(x => x.Id == "lr-too-high");
        double suggested = (double)f.Evidence["suggested_lr"]!;
        Assert.True(suggested < 3);
        Assert.Contains(suggested.ToString("G3", CultureInfo.InvariantCulture), f.Fix);
        var fixedReport = Lab.Doctor.Doctor.Examine(Mlp(lr: suggested));
        Assert.True(fixedReport.Healthy, Ids(fixedReport));
    }

    [Fact]
    public void Lr_too_low_and_its_tiny_updates_go_away_at_the_suggested_lr()
    {
        var broken = Lab.Doctor.Doctor.Examine(Mlp(lr: 1e-6));
        AssertUnhealthyWith(broken, "lr-too-low");
        var ratio = broken.Findings.First(x => x.Id == "update-ratio");
        Assert.Equal("low", ratio.Evidence["direction"]);
        // SGD moves a weight by lr·‖g‖: at lr 1e-6 a relative change far below 1e-5.
        Assert.True((double)ratio.Evidence["median_ratio"]! < 1e-5);
        double suggested = (double)broken.Findings.First(x => x.Id == "lr-too-low").Evidence["suggested_lr"]!;
        var fixedReport = Lab.Doctor.Doctor.Examine(Mlp(lr: suggested));
        Assert.True(fixedReport.Healthy, Ids(fixedReport));
    }

    [Fact]
    public void Lr_1_makes_updates_too_large_and_lr_0_1_does_not()
    {
        var broken = Lab.Doctor.Doctor.Examine(Mlp(lr: 1));
        AssertUnhealthyWith(broken, "update-ratio");
        Assert.Equal("high", broken.Findings.First(x => x.Id == "update-ratio").Evidence["direction"]);
        Assert.False(Lab.Doctor.Doctor.Examine(Mlp(lr: 0.1)).Has("update-ratio"));
    }

    [Fact]
    public void Normal_1_init_is_loss_at_init_and_kaiming_fixes_it()
    {
        var broken = Lab.Doctor.Doctor.Examine(Mlp(init: "normal:1"));
        AssertUnhealthyWith(broken, "loss-at-init");
        var f = broken.Findings.First(x => x.Id == "loss-at-init");
        Assert.Equal(Math.Log(10), (double)f.Evidence["expected"]!, 3);
        Assert.True((double)f.Evidence["ratio"]! > 1.5);
        Assert.False(Lab.Doctor.Doctor.Examine(Mlp(init: "kaiming-normal")).Has("loss-at-init"));
    }

    private static readonly int[] EightHidden = [256, 256, 256, 256, 256, 256, 256, 256];

    [Fact]
    public void Eight_sigmoid_layers_have_vanishing_gradients()
    {
        var report = Lab.Doctor.Doctor.Examine(Mlp(activation: "sigmoid", hidden: EightHidden));
        AssertUnhealthyWith(report, "vanishing-gradients");
        // Each sigmoid layer scales the gradient by at most 1/4: eight of them leave well under 1e-3.
        Assert.True((double)report.Findings.First(x => x.Id == "vanishing-gradients").Evidence["first_over_last"]! < 1e-3);
    }

    [Fact]
    public void Eight_sigmoid_layers_with_normal_1_init_saturate()
    {
        var report = Lab.Doctor.Doctor.Examine(Mlp(init: "normal:1", activation: "sigmoid", hidden: EightHidden));
        AssertUnhealthyWith(report, "saturation");
        Assert.True((double)report.Findings.First(x => x.Id == "saturation").Evidence["saturated_fraction"]! > 0.3);
    }

    [Fact]
    public void Eight_tanh_layers_with_normal_1_init_have_exploding_gradients()
    {
        var report = Lab.Doctor.Doctor.Examine(Mlp(init: "normal:1", activation: "tanh", hidden: EightHidden));
        AssertUnhealthyWith(report, "exploding-gradients");
        Assert.True((double)report.Findings.First(x => x.Id == "exploding-gradients").Evidence["first_over_last"]! > 1e3);
    }

    [Fact]
    public void Eight_relu_layers_with_tiny_weights_collapse_and_kaiming_keeps_the_scale()
    {
        // Each layer scales the spread by about 0.01·√(256/2) ≈ 0.11: seven layers on, about 2e-7.
        var broken = Lab.Doctor.Doctor.Examine(Mlp(init: "normal:0.01", hidden: EightHidden));
        AssertUnhealthyWith(broken, "activation-drift");
        Assert.True((double)broken.Findings.First(x => x.Id == "activation-drift").Evidence["last_over_first_std"]! < 1e-4);
        Assert.False(Lab.Doctor.Doctor.Examine(Mlp(init: "kaiming-normal", hidden: EightHidden)).Has("activation-drift"));
    }

    /// <summary>A layer that cuts the graph: its output carries no gradient back to the layers before it.</summary>
    private sealed class Detached : Module
    {
        public override Tensor Forward(Tensor input) => input.Detach();
    }

    [Fact]
    public void A_detached_layer_fails_the_gradient_check()
    {
        var setup = With(Mlp(), () =>
        {
            Rng.ManualSeed(0);
            return new Sequential(new Linear(64, 256), new ReLU(), new Detached(), new Linear(256, 10));
        });
        var report = Lab.Doctor.Doctor.Examine(setup);
        AssertUnhealthyWith(report, "gradient-check");
        var failed = (Dictionary<string, object?>)report.Findings.First(x => x.Id == "gradient-check").Evidence["parameters"]!;
        // Backward gives the first layer zero; the loss does change with its weights.
        Assert.Contains("0.weight", failed.Keys);
        Assert.DoesNotContain("3.weight", failed.Keys);
    }

    /// <summary>A layer computing log(x − x) = log(0): the planted bug anomaly mode must name.</summary>
    private sealed class LogOfZero : Module
    {
        public override Tensor Forward(Tensor input) => Functional.Log(input - input);
    }

    [Fact]
    public void A_planted_log_of_zero_is_non_finite_naming_the_log_op_at_step_1()
    {
        var setup = With(Mlp(), () =>
        {
            Rng.ManualSeed(0);
            return new Sequential(new Linear(64, 10), new LogOfZero());
        });
        var report = Lab.Doctor.Doctor.Examine(setup);
        AssertUnhealthyWith(report, "non-finite");
        var f = report.Findings.First(x => x.Id == "non-finite");
        Assert.Contains("op 'log'", (string)f.Evidence["detail"]!);
        Assert.Contains("layer 1 (LogOfZero)", (string)f.Evidence["detail"]!);
        Assert.Equal(1, f.Evidence["step"]);
    }

    [Fact]
    public void A_frozen_layer_and_a_layer_left_out_of_the_optimizer_are_frozen_parameters()
    {
        var frozen = With(Mlp(), () =>
        {
            var model = Mlp().Model();
            foreach (var p in ((Sequential)model)[2].Parameters()) p.RequiresGrad = false;
            return model;
        });
        var report = Lab.Doctor.Doctor.Examine(frozen);
        AssertUnhealthyWith(report, "frozen-parameters");
        var parameters = (Dictionary<string, object?>)report.Findings.First(x => x.Id == "frozen-parameters").Evidence["parameters"]!;
        Assert.Equal(["2.weight", "2.bias"], parameters.Keys);

        var leftOut = With(Mlp(), Mlp().Model, m => new SGD(m.Parameters().Skip(2), 0.1));
        var second = Lab.Doctor.Doctor.Examine(leftOut);
        var reasons = (Dictionary<string, object?>)second.Findings.First(x => x.Id == "frozen-parameters").Evidence["parameters"]!;
        Assert.Equal("not in the optimizer", reasons["0.weight"]);
        Assert.Equal(["0.weight", "0.bias"], reasons.Keys);
    }

    [Fact]
    public void Large_negative_biases_leave_dead_units()
    {
        var setup = With(Mlp(), () =>
        {
            var model = (Sequential)Mlp().Model();
            ((Linear)model[0]).Bias!.Data.Fill(-100f);
            return model;
        });
        var report = Lab.Doctor.Doctor.Examine(setup);
        AssertUnhealthyWith(report, "dead-units");
        var f = report.Findings.First(x => x.Id == "dead-units");
        Assert.Equal("1", f.Evidence["layer"]);
        Assert.Equal(256, f.Evidence["dead"]);
    }

    // Data checks.

    private static PreparedData Replace(PreparedData d, Dataset? train = null, Dataset? test = null) =>
        new(train ?? d.Train, d.Validation, test ?? d.Test, d.NumClasses);

    private static InMemoryDataset TrainSet => (InMemoryDataset)Digits.Train;

    [Fact]
    public void Inputs_times_255_are_unnormalized_and_standardizing_fixes_it()
    {
        var scaled = TrainSet.WithFeatures([.. TrainSet.Features.Select(v => v * 255 + 1000)]);
        var report = Lab.Doctor.Doctor.Examine(Mlp(data: Replace(Digits, train: scaled)));
        AssertUnhealthyWith(report, "unnormalized-inputs");
        Assert.True((double)report.Findings.First(x => x.Id == "unnormalized-inputs").Evidence["median_feature_std"]! > 100);
        var restandardized = Standardizer.FitPerFeature(scaled).Transform(scaled);
        Assert.False(Lab.Doctor.Doctor.Examine(Mlp(data: Replace(Digits, train: restandardized))).Has("unnormalized-inputs"));
    }

    [Fact]
    public void Sorted_labels_without_shuffling_make_single_label_batches_and_shuffling_fixes_it()
    {
        var order = Enumerable.Range(0, TrainSet.Count).OrderBy(i => TrainSet.Labels[i]).ToArray();
        var sorted = Replace(Digits, train: TrainSet.Subset(order));
        var report = Lab.Doctor.Doctor.Examine(Mlp(data: sorted, shuffle: false));
        AssertUnhealthyWith(report, "single-label-batches");
        Assert.False(Lab.Doctor.Doctor.Examine(Mlp(data: sorted, shuffle: true)).Has("single-label-batches"));
    }

    [Fact]
    public void Duplicated_test_rows_are_train_test_overlap()
    {
        var test = (InMemoryDataset)Digits.Test;
        // The test split plus 40 training rows: 40 of 400 test samples are duplicates.
        var features = test.Features.Concat(TrainSet.Features.Take(40 * 64)).ToArray();
        var labels = test.Labels.Concat(TrainSet.Labels.Take(40)).ToArray();
        var report = Lab.Doctor.Doctor.Examine(Mlp(data: Replace(Digits, test: new InMemoryDataset(features, labels, [64], (int?)10))));
        AssertUnhealthyWith(report, "train-test-overlap");
        Assert.True((int)report.Findings.First(x => x.Id == "train-test-overlap").Evidence["duplicates"]! >= 40);
    }

    [Fact]
    public void Shuffled_labels_are_not_learnable()
    {
        var labels = TrainSet.Labels.ToArray();
        new Random(1).Shuffle(labels);
        var shuffled = new InMemoryDataset(TrainSet.Features, labels, [64], (int?)10);
        var report = Lab.Doctor.Doctor.Examine(Mlp(data: Replace(Digits, train: shuffled)));
        AssertUnhealthyWith(report, "labels-not-learnable");
        var f = report.Findings.First(x => x.Id == "labels-not-learnable");
        Assert.True((double)f.Evidence["real_accuracy"]! < 0.3);
    }

    [Fact]
    public void Rare_classes_are_class_imbalance_and_a_few_samples_a_tiny_dataset()
    {
        // Keep 5 samples of class 0 and all of the others: 5 against about 130.
        int zeros = 0;
        var keep = Enumerable.Range(0, TrainSet.Count).Where(i => TrainSet.Labels[i] != 0 || zeros++ < 5).ToArray();
        var imbalanced = Lab.Doctor.Doctor.Examine(Mlp(data: Replace(Digits, train: TrainSet.Subset(keep))));
        AssertUnhealthyWith(imbalanced, "class-imbalance");
        Assert.Equal(5, ((int[])imbalanced.Findings.First(x => x.Id == "class-imbalance").Evidence["class_counts"]!)[0]);

        var tiny = Lab.Doctor.Doctor.Examine(Mlp(data: Replace(Digits, train: TrainSet.Subset([.. Enumerable.Range(0, 100)]))));
        AssertUnhealthyWith(tiny, "tiny-dataset");
        Assert.Equal(100, tiny.Findings.First(x => x.Id == "tiny-dataset").Evidence["train_samples"]);
    }

    [Fact]
    public void Constant_features_are_info_and_all_constant_features_an_error()
    {
        // Three pixels of the digits are 0 in every training image: worth knowing, not unhealthy.
        var report = Lab.Doctor.Doctor.Examine(Mlp());
        var f = report.Findings.First(x => x.Id == "constant-features");
        Assert.Equal(Severity.Info, f.Severity);
        Assert.Equal(3, f.Evidence["constant"]);
        var blank = TrainSet.WithFeatures(new float[TrainSet.Features.Length]);
        var all = Lab.Doctor.Doctor.Examine(Mlp(data: Replace(Digits, train: blank)));
        Assert.Equal(Severity.Error, all.Findings.First(x => x.Id == "constant-features").Severity);
    }

    /// <summary>600 samples of 4 standard-normal features; the target is 3x₀ − 2x₁ + 0.1·noise, or pure noise.</summary>
    private static PreparedData Regression(bool noiseOnly)
    {
        var rng = new Random(5);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        InMemoryDataset Make(int n)
        {
            var x = new float[n * 4];
            var y = new float[n];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < 4; j++) x[i * 4 + j] = (float)Normal();
                y[i] = noiseOnly ? (float)Normal() : (float)((3 * x[i * 4] - 2 * x[i * 4 + 1]) / Math.Sqrt(13) + 0.1 * Normal());
            }
            return new InMemoryDataset(x, y, [4], 1);
        }
        return new PreparedData(Make(600), Make(100), Make(200), 0);
    }

    [Fact]
    public void A_noise_target_is_not_learnable_and_a_linear_one_is_healthy()
    {
        var noise = Lab.Doctor.Doctor.Examine(Mlp(data: Regression(noiseOnly: true), lr: 0.01));
        AssertUnhealthyWith(noise, "labels-not-learnable");
        var f = noise.Findings.First(x => x.Id == "labels-not-learnable");
        Assert.True((double)f.Evidence["real_loss"]! > 0.9 * (double)f.Evidence["permuted_loss"]!);
        var linear = Lab.Doctor.Doctor.Examine(Mlp(data: Regression(noiseOnly: false), lr: 0.01));
        Assert.True(linear.Healthy, Ids(linear));
    }

    [Fact]
    public void A_budget_skips_the_checks_that_would_start_after_it()
    {
        var report = Lab.Doctor.Doctor.Examine(new DoctorSetup { Data = Digits, Model = Mlp().Model, Optimizer = Mlp().Optimizer, BudgetSeconds = 1e-9 });
        Assert.Contains("lr-too-high", report.Skipped);
        Assert.Contains("unnormalized-inputs", report.Skipped);
        Assert.Null(report.LrCurveSvg);
    }
}
