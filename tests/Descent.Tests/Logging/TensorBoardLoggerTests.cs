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
    public void The_warm_up_rehearsal_succeeds_once_and_leaves_no_directory_behind()
    {
        var first = TensorBoardLogger.WarmUp();
        Assert.Same(first, TensorBoardLogger.WarmUp());
        Assert.True(first.Wait(TimeSpan.FromSeconds(60)), "the rehearsal did not end within a minute");
        Assert.True(first.IsCompletedSuccessfully, first.Exception?.ToString());
        Assert.Empty(Directory.EnumerateDirectories(Path.GetTempPath(), $"descent-warm-up-{Environment.ProcessId}-*"));
        // The rehearsal's generator is its own thread's: this thread's stream is as seeded.
        Rng.ManualSeed(3);
        double expected = new Random(3).NextDouble();
        TensorBoardLogger.WarmUp().Wait();
        Assert.Equal(expected, Rng.Default.NextDouble());
    }

    [Fact]
    public void Files_of_the_warm_up_rehearsal_leave_the_file_counter_alone()
    {
        using var dir = new TempDirectory();
        static int Counter(SummaryWriter w) => int.Parse(w.FilePath[(w.FilePath.LastIndexOf('.') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        // A counted file made first: any counted file after it ends in 1 or more.
        using (var first = new SummaryWriter(Path.Combine(dir.Path, "a"))) Assert.True(Counter(first) >= 0);
        int rehearsalCounter;
        using (var rehearsal = new SummaryWriter(Path.Combine(dir.Path, "b"), "", 5, 10_000, "", false, countedFile: false)) rehearsalCounter = Counter(rehearsal);
        Assert.Equal(0, rehearsalCounter);
    }

    [Fact]
    public void Records_reach_the_file_during_training_every_2048_steps()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        // A flush timer that never fires during the test: only the logger's hand-overs write.
        using var writer = new SummaryWriter(dir.Path, flushSecs: 3600);
        using var logger = new TensorBoardLogger(writer, model, optimizer, logEvery: 100_000);
        trainer.Callbacks.Add(logger);
        trainer.Fit(new DataLoader(Blobs(1), 8, shuffle: true, seed: 0), null, epochs: 257);
        Assert.Equal(2056, trainer.GlobalStep);
        var losses = EventFileReader.ReadRun(dir.Path).Scalars["train/loss"];
        // At step 2048 the steps before it are on disk; the step's own loss comes after its optimizer step.
        Assert.Equal(Enumerable.Range(1, 2047).Select(i => (long)i), losses.Select(s => s.Step).Take(2047));
        Assert.Equal(2047, losses.Count);
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
        foreach (var name in names)
        {
            Assert.Equal([5L, 10L, 15L], run.Histograms["weights/" + name].Select(h => h.Step));
            Assert.Equal([5L, 10L, 15L], run.Histograms["grads/" + name].Select(h => h.Step));
            var ratios = run.Scalars["update_ratio/" + name];
            Assert.Equal([5L, 10L, 15L], ratios.Select(r => r.Step));
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
        var ratio = EventFileReader.ReadRun(dir.Path).Scalars["update_ratio/0.weight"].Single();
        Assert.Equal(3, ratio.Step);
        var before = weights[1];
        var after = weights[2];
        double delta = Math.Sqrt(before.Zip(after, (b, a) => (double)(a - b) * (a - b)).Sum());
        double norm = Math.Sqrt(before.Sum(b => (double)b * b));
        Assert.Equal((float)(delta / norm), ratio.Value, 4);
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
        var hp = EventFileReader.ReadRun(dir.Path).HParams!;
        Assert.Equal(SessionStatus.StatusFailure, hp.SessionEnd!.Status);
        Assert.Empty(hp.Experiment!.MetricInfos);
    }

    [Fact]
    public void Steps_without_a_batch_end_and_batch_ends_without_a_step_are_logged_in_step_order()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        using (var logger = new TensorBoardLogger(dir.Path, model, optimizer))
        {
            logger.OnTrainBegin(trainer, 1, 4);
            logger.OnOptimizerStep(1);
            logger.OnBatchEnd(1, 0, 1, 2.0f, 0.25f);
            // Step 2 has no batch end: its norm and learning rate are written without a loss.
            logger.OnOptimizerStep(2);
            logger.OnOptimizerStep(3);
            logger.OnBatchEnd(1, 1, 3, 1.5f, 0.5f);
            // A batch end that no optimizer step announced (a loop calling the callbacks itself).
            logger.OnBatchEnd(1, 2, 4, 1.0f, 0.75f);
        }
        var scalars = EventFileReader.ReadRun(dir.Path).Scalars;
        Assert.Equal([(1L, 2.0f), (3L, 1.5f), (4L, 1.0f)], scalars["train/loss"].Select(s => (s.Step, s.Value)));
        Assert.Equal([(1L, 0.5f), (2L, 0.7f), (3L, 0.9f)], scalars["train/grad_norm"].Select(s => (s.Step, s.Value)));
        Assert.Equal([1L, 2L, 3L], scalars["train/lr"].Select(s => s.Step));
        Assert.Equal([1L, 3L, 4L], scalars["train/accuracy"].Select(s => s.Step));
    }

    [Fact]
    public void An_epoch_longer_than_a_second_hands_its_rows_over_when_it_ends()
    {
        using var dir = new TempDirectory();
        var (trainer, model, optimizer) = Setup();
        using var writer = new SummaryWriter(dir.Path, flushSecs: 3600);
        using var logger = new TensorBoardLogger(writer, model, optimizer);
        logger.OnTrainBegin(trainer, 3, 2);
        logger.OnOptimizerStep(1);
        logger.OnBatchEnd(1, 0, 1, 2.0f, 0.25f);
        Thread.Sleep(1100);
        logger.OnEpochEnd(new EpochResult(1, 2.0, 0.25, null, null, 1.1, 0.1));
        // No flush of the logger's own: what reaches the file here was handed over when the epoch ended.
        writer.Flush();
        var scalars = EventFileReader.ReadRun(dir.Path).Scalars;
        Assert.Equal([1L], scalars["train/loss"].Select(s => s.Step));
        Assert.Equal([2.0f], scalars["epoch/train_loss"].Select(s => s.Value));
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
