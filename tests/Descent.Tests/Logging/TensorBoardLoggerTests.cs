using Descent.Data;
using Descent.Lab;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Tests.Logging;

public class TensorBoardLoggerTests
{
    /// <summary>64 noisy samples of 16 features in 4 classes: learnable, but not perfectly in two epochs.</summary>
    private static InMemoryDataset Blobs(int seed, int count = 64)
    {
        var rng = new Random(seed);
        var labels = Enumerable.Range(0, count).Select(i => i % 4).ToArray();
        var features = new float[count * 16];
        for (int i = 0; i < count; i++)
            for (int j = 0; j < 16; j++) features[i * 16 + j] = (j % 4 == labels[i] ? 1f : 0f) + (float)(rng.NextDouble() * 2 - 1);
        return new InMemoryDataset(features, labels, [16]);
    }

    private static (Trainer Trainer, Sequential Model, SGD Optimizer) Setup()
    {
        Rng.ManualSeed(0);
        var model = Models.Mlp(16, [8], 4);
        var optimizer = new SGD(model.Parameters(), lr: 0.1, momentum: 0.9);
        return (new Trainer(model, optimizer), model, optimizer);
    }

    [Fact]
    public void A_training_run_logs_steps_epochs_histograms_ratios_images_and_hparams()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        var validation = Blobs(2, 40);
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer, logEvery: 5, hparams: new Dictionary<string, object?> { ["batch_size"] = 8, ["lr"] = 0.1 })
        {
            Misclassified = new MisclassifiedImages(validation, imageShape: [4, 4], maxImages: 6, everyEpochs: 1),
        })
        {
            trainer.Callbacks.Add(logger);
            trainer.Fit(new DataLoader(Blobs(1), 8, shuffle: true, seed: 0), validation, epochs: 2);
            logger.AddFinalMetric("hparam/test_accuracy", 0.75);
        }

        var run = EventFileReader.ReadRun(dir.Path);
        Assert.Equal(16, run.Scalars["train/loss"].Count);
        Assert.Equal(Enumerable.Range(1, 16).Select(i => (long)i), run.Scalars["train/loss"].Select(s => s.Step));
        Assert.All(run.Scalars["train/lr"], s => Assert.Equal((float)0.1, s.Value));
        // 8 equal batches an epoch: the mean of the per-step accuracies is the epoch's accuracy, counted apart.
        var stepAccuracy = run.Scalars["train/accuracy"];
        Assert.Equal(Enumerable.Range(1, 16).Select(i => (long)i), stepAccuracy.Select(s => s.Step));
        Assert.All(stepAccuracy, s => Assert.True(s.Value is >= 0 and <= 1 && Math.Abs(s.Value * 8 - Math.Round(s.Value * 8)) < 1e-6, $"accuracy {s.Value} of a batch of 8"));
        var epochAccuracy = run.Scalars["epoch/train_accuracy"];
        for (int e = 0; e < 2; e++)
            Assert.Equal(epochAccuracy[e].Value, stepAccuracy.Skip(8 * e).Take(8).Average(s => s.Value), 5);
        Assert.All(run.Scalars["train/grad_norm"], s => Assert.True(s.Value > 0));
        Assert.Equal([8L, 16L], run.Scalars["epoch/val_accuracy"].Select(s => s.Step));
        foreach (var tag in new[] { "epoch/train_loss", "epoch/train_accuracy", "epoch/val_loss", "epoch/seconds" })
            Assert.Equal(2, run.Scalars[tag].Count);

        var names = model.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], names);
        // Every 5 steps and at the end of each 8-step epoch.
        foreach (var name in names)
        {
            Assert.Equal([5L, 8L, 10L, 15L, 16L], run.Histograms["weights/" + name].Select(h => h.Step));
            Assert.Equal([5L, 8L, 10L, 15L, 16L], run.Histograms["grads/" + name].Select(h => h.Step));
            var ratios = run.Scalars["update_ratio/" + name];
            Assert.Equal([5L, 8L, 10L, 15L, 16L], ratios.Select(r => r.Step));
            Assert.All(ratios, r => Assert.InRange(r.Value, 1e-6, 10));
        }
        Assert.Equal(8 * 16, run.Histograms["weights/0.weight"][0].Count);

        var grid = run.Images["val/misclassified"];
        Assert.Equal(2, grid.Count);
        var decoded = PngDecoding.Decode(grid[0].Encoded);
        Assert.Equal((0, 0), (decoded.Width % 4, decoded.Height % 4));
        Assert.Contains("| label | predicted |", run.Texts["val/misclassified/text_summary"][0].Text);

        var hp = run.HParams!;
        Assert.Equal(SessionStatus.StatusSuccess, hp.SessionEnd!.Status);
        Assert.Equal("SGD", hp.HParams["optimizer"]);
        Assert.Equal(0.9, hp.HParams["momentum"]);
        Assert.Equal(8.0, hp.HParams["batch_size"]);
        Assert.Equal((double)model.ParameterCount, hp.HParams["parameters"]);
        Assert.Equal(["hparam/train_loss", "hparam/train_accuracy", "hparam/val_loss", "hparam/val_accuracy", "hparam/test_accuracy"],
            hp.Experiment!.MetricInfos.Select(m => m.Name.Tag));
        Assert.Equal((float)0.75, run.Scalars["hparam/test_accuracy"].Single().Value);
        Assert.Equal(16, run.Tags.Single(t => t.Tag == "_hparams_/session_end_info").LastStep);
    }

    [Fact]
    public void By_default_histograms_and_update_ratios_come_at_every_epoch_end()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer))
        {
            trainer.Callbacks.Add(logger);
            // 64 samples in batches of 16: epochs end at steps 4, 8 and 12.
            trainer.Fit(new DataLoader(Blobs(1), 16), epochs: 3);
        }
        var run = EventFileReader.ReadRun(dir.Path);
        foreach (var name in model.NamedParameters().Select(p => p.Name))
        {
            Assert.Equal([4L, 8L, 12L], run.Histograms["weights/" + name].Select(h => h.Step));
            Assert.Equal([4L, 8L, 12L], run.Histograms["grads/" + name].Select(h => h.Step));
            Assert.Equal([4L, 8L, 12L], run.Scalars["update_ratio/" + name].Select(r => r.Step));
        }
        // The last step's weights, bucketed: as many values as the layer has.
        var last = run.Histograms["weights/0.weight"][^1];
        Assert.Equal(8 * 16, last.Count);
        var weights = model.NamedParameters().First().Parameter.Data.ToArray();
        Assert.Equal(weights.Min(), last.Min);
        Assert.Equal(weights.Max(), last.Max);
    }

    [Fact]
    public void Under_gradient_accumulation_the_epoch_end_is_the_epochs_last_step()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        // 5 batches an epoch, 2 per step: steps of batches (1, 2), (3, 4), (5); epochs end at steps 3 and 6.
        trainer.AccumulationSteps = 2;
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer))
        {
            trainer.Callbacks.Add(logger);
            trainer.Fit(new DataLoader(Blobs(1, 80), 16), epochs: 2);
        }
        Assert.Equal(6, trainer.GlobalStep);
        Assert.Equal([3L, 6L], EventFileReader.ReadRun(dir.Path).Histograms["weights/0.weight"].Select(h => h.Step));
    }

    [Fact]
    public void By_default_the_misclassified_grid_comes_once_when_training_ends()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        var validation = Blobs(2, 40);
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer) { Misclassified = new MisclassifiedImages(validation, [1, 4, 4]) })
        {
            trainer.Callbacks.Add(logger);
            trainer.Fit(new DataLoader(Blobs(1), 16), validation, epochs: 3);
        }
        var run = EventFileReader.ReadRun(dir.Path);
        Assert.Equal(12, (run.Images.GetValueOrDefault("val/misclassified")?.Single().Step ?? run.Texts["val/misclassified/text_summary"].Single().Step));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_misclassified_table_lists_the_first_samples_the_trained_model_gets_wrong(bool fitValidatesTheSameSet)
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        var shown = Blobs(2, 40);
        // Either the grid's set is the one Fit validates on (its predictions are reused), or Fit validates on
        // another set and the logger predicts the grid's set itself.
        var validated = fitValidatesTheSameSet ? shown : Blobs(3, 24);
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer) { Misclassified = new MisclassifiedImages(shown, [1, 4, 4], maxImages: 5) })
        {
            trainer.Callbacks.Add(logger);
            trainer.Fit(new DataLoader(Blobs(1), 16), validated, epochs: 1);
        }
        // Independently: Trainer.Predict's arg-max over the trained model.
        var predicted = trainer.Predict(shown);
        var expected = Enumerable.Range(0, shown.Count).Where(i => predicted[i] != shown.GetLabel(i)).Take(5)
            .Select(i => $"{i} | {shown.GetLabel(i)} | {predicted[i]}").ToList();
        Assert.NotEmpty(expected);
        var table = EventFileReader.ReadRun(dir.Path).Texts["val/misclassified/text_summary"].Single().Text;
        var rows = table.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(2)
            .Select(row => string.Join(" | ", row.Trim('|', ' ').Split('|').Skip(1).Select(cell => cell.Trim()))).ToList();
        Assert.Equal(expected, rows);
    }

    [Fact]
    public void The_update_ratio_is_the_step_size_relative_to_the_weights()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        var weights = new List<float[]>();
        var recorder = new WeightRecorder(model, weights);
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer, logEvery: 3))
        {
            trainer.Callbacks.Add(recorder);
            trainer.Callbacks.Add(logger);
            trainer.Fit(new DataLoader(Blobs(1), 16), epochs: 1);
        }
        // Step 3 (every 3 steps) and step 4 (the epoch's end); weights[k] are the weights after step k + 1.
        var ratios = EventFileReader.ReadRun(dir.Path).Scalars["update_ratio/0.weight"];
        Assert.Equal([3L, 4L], ratios.Select(r => r.Step));
        for (int k = 0; k < 2; k++)
        {
            var before = weights[k + 1];
            var after = weights[k + 2];
            double delta = Math.Sqrt(before.Zip(after, (b, a) => (double)(a - b) * (a - b)).Sum());
            double norm = Math.Sqrt(before.Sum(b => (double)b * b));
            Assert.Equal((float)(delta / norm), ratios[k].Value, 4);
        }
    }

    private sealed class WeightRecorder(Module model, List<float[]> weights) : ITrainerCallback
    {
        public void OnOptimizerStep(long globalStep) => weights.Add(model.NamedParameters().First().Parameter.Data.ToArray());
    }

    [Fact]
    public void Accumulated_batches_make_one_loss_point_per_step()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        trainer.AccumulationSteps = 2;
        var losses = new List<float>();
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer))
        {
            trainer.Callbacks.Add(new LossRecorder(losses));
            trainer.Callbacks.Add(logger);
            trainer.Fit(new DataLoader(Blobs(1), 8), epochs: 1);
        }
        var logged = EventFileReader.ReadRun(dir.Path).Scalars["train/loss"];
        Assert.Equal([1L, 2L, 3L, 4L], logged.Select(s => s.Step));
        Assert.Equal((float)((losses[0] + losses[1]) / 2.0), logged[0].Value, 5);
    }

    private sealed class LossRecorder(List<float> losses) : ITrainerCallback
    {
        public void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy) => losses.Add(loss);
    }

    [Fact]
    public void Without_a_model_the_logger_follows_the_trainer_it_is_added_to()
    {
        using var dir = new TempDirectory();
        var data = new PreparedData(Blobs(1), Blobs(2, 40), Blobs(3, 40), 4);
        var comparison = new OptimizerComparison { ModelFactory = () => Models.Mlp(16, [8], 4), Data = data, Epochs = 1, BatchSize = 16 };
        foreach (var name in new[] { "sgd", "adam" })
            using (var logger = new TensorBoardLogger(dir.Sub(name), logEvery: 2))
                comparison.Run(name, logger);
        var runs = EventFileReader.ReadLogDir(dir.Path).ToDictionary(r => r.Name);
        Assert.Equal(["adam", "sgd"], runs.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("Adam", runs["adam"].HParams!.HParams["optimizer"]);
        // Every 2 steps; the epoch's end, step 4, is one of them.
        Assert.Equal([2L, 4L], runs["sgd"].Histograms["weights/0.weight"].Select(h => h.Step));
        using var unbound = new TensorBoardLogger(dir.Sub("unbound"));
        Assert.Contains("add it to Trainer.Callbacks", Assert.Throws<InvalidOperationException>(() => unbound.OnOptimizerStep(1)).Message);
    }

    [Fact]
    public void A_run_that_never_finished_is_a_failed_session()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer))
        {
            logger.OnTrainBegin(trainer, 3, 8);
            logger.OnOptimizerStep(1);
        }
        var run = EventFileReader.ReadRun(dir.Path);
        var hp = run.HParams!;
        Assert.Equal(SessionStatus.StatusFailure, hp.SessionEnd!.Status);
        // The metrics are declared, as in every run, but have no values.
        Assert.Equal(["hparam/train_loss", "hparam/train_accuracy", "hparam/val_loss", "hparam/val_accuracy"], hp.Experiment!.MetricInfos.Select(m => m.Name.Tag));
        Assert.DoesNotContain(run.Scalars.Keys, tag => tag.StartsWith("hparam/", StringComparison.Ordinal));
    }

    [Fact]
    public void A_run_that_diverged_is_a_failed_session()
    {
        using var dir = new TempDirectory();
        Rng.ManualSeed(0);
        var model = Models.Mlp(16, [8], 4);
        // A learning rate this large sends the weights to infinity within a few steps.
        var optimizer = new SGD(model.Parameters(), lr: 1e12);
        // Trained on to the end on NaN, the logger itself tells the run diverged.
        var trainer = new Trainer(model, optimizer) { StopOnNonFiniteLoss = false };
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer))
        {
            trainer.Callbacks.Add(logger);
            trainer.Fit(new DataLoader(Blobs(1), 8), epochs: 2);
        }
        var run = EventFileReader.ReadRun(dir.Path);
        Assert.Contains(run.Scalars["train/loss"], s => !double.IsFinite(s.Value));
        Assert.Equal(SessionStatus.StatusFailure, run.HParams!.SessionEnd!.Status);

        // Stopped by the trainer (the default), the session is failed too.
        using var stopped = new TempDirectory();
        Rng.ManualSeed(0);
        model = Models.Mlp(16, [8], 4);
        optimizer = new SGD(model.Parameters(), lr: 1e12);
        trainer = new Trainer(model, optimizer);
        using (var logger = new TensorBoardLogger(stopped.Path, model, optimizer))
        {
            trainer.Callbacks.Add(logger);
            Assert.Throws<TrainingDivergedException>(() => trainer.Fit(new DataLoader(Blobs(1), 8), epochs: 2));
        }
        Assert.Equal(SessionStatus.StatusFailure, EventFileReader.ReadRun(stopped.Path).HParams!.SessionEnd!.Status);
    }

    [Fact]
    public void A_run_stopped_before_its_last_epoch_is_a_failed_session()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer))
        {
            trainer.Callbacks.Add(new StopAfterFirstEpoch(trainer));
            trainer.Callbacks.Add(logger);
            trainer.Fit(new DataLoader(Blobs(1), 16), epochs: 3);
        }
        var run = EventFileReader.ReadRun(dir.Path);
        Assert.Single(run.Scalars["epoch/train_loss"]);
        Assert.Equal(SessionStatus.StatusFailure, run.HParams!.SessionEnd!.Status);
    }

    private sealed class StopAfterFirstEpoch(Trainer trainer) : ITrainerCallback
    {
        public void OnEpochEnd(EpochResult result) => trainer.StopRequested = true;
    }

    [Fact]
    public void Runs_of_optimizers_with_and_without_momentum_declare_the_same_hparams()
    {
        using var dir = new TempDirectory();
        var data = new PreparedData(Blobs(1), null, Blobs(3, 40), 4);
        var comparison = new OptimizerComparison { ModelFactory = () => Models.Mlp(16, [8], 4), Data = data, Epochs = 1, BatchSize = 16 };
        foreach (var name in new[] { "momentum", "adagrad" })
            using (var logger = new TensorBoardLogger(dir.Sub(name), hparams: new Dictionary<string, object?> { ["batch_size"] = 16 }))
                comparison.Run(name, logger);
        var runs = EventFileReader.ReadLogDir(dir.Path).ToDictionary(r => r.Name, r => r.HParams!);
        string[] declared = ["optimizer", "lr", "weight_decay", "momentum", "parameters", "batch_size"];
        Assert.Equal(declared.Order(), runs["adagrad"].Experiment!.HparamInfos.Select(h => h.Name).Order());
        Assert.Equal(declared.Order(), runs["momentum"].Experiment!.HparamInfos.Select(h => h.Name).Order());
        Assert.Equal(0.9, runs["momentum"].HParams["momentum"]);
        // Adagrad has no momentum: declared as a number, with no value in its session.
        Assert.False(runs["adagrad"].HParams.ContainsKey("momentum"));
        Assert.Equal(HParamDataType.DataTypeFloat64, runs["adagrad"].Experiment!.HparamInfos.Single(h => h.Name == "momentum").Type);
    }

    [Fact]
    public void Steps_without_a_batch_end_and_batch_ends_without_a_step_are_logged_in_step_order()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer))
        {
            var batch = new DataLoader(Blobs(1), 8).Epoch(1).First();
            // The trainer (without the logger) steps up to just before the given step, then the logger sees a
            // gradient with one non-zero entry, whose global norm is that entry's size.
            void GradientBefore(long step, float size)
            {
                while (trainer.GlobalStep < step - 1) trainer.TrainStep(batch.X, batch.Target);
                Array.Clear(optimizer.Arena.Grad);
                optimizer.Arena.Grad[0] = size;
                logger.OnBeforeOptimizerStep(trainer);
            }
            logger.OnTrainBegin(trainer, 1, 40);
            GradientBefore(10, 0.5f);
            logger.OnOptimizerStep(10);
            logger.OnBatchEnd(1, 0, 10, 2.0f, 0.25f);
            // Step 20 has no batch end: its norm and learning rate are written without a loss.
            GradientBefore(20, 0.7f);
            logger.OnOptimizerStep(20);
            // Step 30 has no gradient hook (a closure optimizer): no norm.
            logger.OnOptimizerStep(30);
            logger.OnBatchEnd(1, 1, 30, 1.5f, 0.5f);
            // A batch end that no optimizer step announced (a loop calling the callbacks itself).
            logger.OnBatchEnd(1, 2, 40, 1.0f, 0.75f);
        }
        var scalars = EventFileReader.ReadRun(dir.Path).Scalars;
        Assert.Equal([(10L, 2.0f), (30L, 1.5f), (40L, 1.0f)], scalars["train/loss"].Select(s => (s.Step, s.Value)));
        Assert.Equal([(10L, 0.5f), (20L, 0.7f)], scalars["train/grad_norm"].Select(s => (s.Step, s.Value)));
        Assert.Equal([10L, 20L, 30L], scalars["train/lr"].Select(s => s.Step));
        Assert.Equal([10L, 30L, 40L], scalars["train/accuracy"].Select(s => s.Step));
    }

    [Fact]
    public void A_shared_writer_stays_open_and_bad_settings_are_refused()
    {
        using var dir = new TempDirectory();
        var (_, model, optimizer) = Setup();
        using var writer = new SummaryWriter(dir.Path);
        using (new TensorBoardLogger(writer, model, optimizer)) { }
        writer.AddScalar("after", 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorBoardLogger(writer, model, optimizer, logEvery: 0));
        Assert.Throws<ArgumentException>(() => new MisclassifiedImages(Blobs(1), imageShape: [3, 3]));
        Assert.Throws<ArgumentException>(() => new MisclassifiedImages(Blobs(1), imageShape: [2, 2, 4]));
        Assert.Throws<ArgumentException>(() => new MisclassifiedImages(Blobs(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MisclassifiedImages(Blobs(1), [4, 4], maxImages: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MisclassifiedImages(Blobs(1), [4, 4], everyEpochs: -1));
    }
}
