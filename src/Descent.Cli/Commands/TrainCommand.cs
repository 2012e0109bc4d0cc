using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Descent.TensorBoard;
using Descent.Lab;
using Descent.Optim;
using Descent.Training;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent train</c>: train a model on digits, Fashion-MNIST, a CSV table or an image folder and report the test
/// metrics (accuracy for classification; MSE, RMSE, MAE and R² for regression).
/// </summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("train", "Train a model and report per-epoch metrics and the final test accuracy.");
        var data = new ModelDataOptionSet();
        var userData = new UserDataOptionSet();
        var optim = new OptimizerOptionSet();
        var schedule = new ScheduleOptionSet();
        var transfer = new TransferOptionSet();
        var distributed = new DistributedOptionSet();
        var folds = new Option<int?>("--folds") { Description = "k-fold cross-validation on the training split: train k models, report mean and std of the validation metrics" };
        var augment = new Option<string?>("--augment") { Description = "Image augmentation, e.g. flip,translate:2,rotate:10,crop:4,noise:0.1" };
        var l1 = new Option<double>("--l1") { Description = "L1 penalty λ on the weights (λ‖w‖₁ added to the loss)" };
        var l2 = new Option<double>("--l2") { Description = "L2 penalty λ on the weights (λ/2‖w‖² added to the loss; gradient λw)" };
        var logdir = new Option<string?>("--logdir") { Description = "Write TensorBoard event files under this directory" };
        var logEvery = new Option<int?>("--log-every") { Description = "Weight and gradient histograms and update ratios every N steps too (they come at every epoch's end)" };
        var flushSecs = new Option<double?>("--flush-secs") { Description = "Flush event files at least this often, in seconds (default 5; with --logdir)" };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary as the last line of stdout" };
        var checkpointDir = new Option<string?>("--checkpoint-dir") { Description = "Save a checkpoint (model, optimizer, schedule, counters, random state) into DIR every --checkpoint-every epochs, at the end, and on Ctrl+C" };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Epochs between checkpoints (default 1; with --checkpoint-dir)" };
        var keep = new Option<int?>("--keep") { Description = "Keep only the newest K checkpoints (default: all; with --checkpoint-dir)" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run whose checkpoints are in DIR (same options; --epochs may be larger); checkpoints keep going there" };
        var detectAnomaly = new Option<bool>("--detect-anomaly") { Description = "Check every op's output and gradient and stop at the first NaN or infinity, naming the op and the layer (like torch.autograd.detect_anomaly; slow)" };
        var watch = new Option<bool>("--watch") { Description = $"Run the doctor's cheap checks (non-finite, update-ratio, dead-units, exploding-gradients) every {Lab.Doctor.TrainingWatch.Every} steps and print a warning with its fix the first time one fires" };
        var save = new Option<string?>("--save") { Description = "Write the trained model to this .safetensors file: weights under PyTorch's state_dict names, the architecture and the fitted preprocessing in its metadata (for predict and export)" };
        foreach (var o in data.All.Concat(userData.All).Concat(optim.All).Concat(schedule.All).Concat([folds, augment, l1, l2, logdir, logEvery, flushSecs, checkpointDir, checkpointEvery, keep, resume, detectAnomaly, save, watch, data.NoShuffle]).Concat(transfer.All).Concat(distributed.All).Append(json))
            cmd.Options.Add(o);

        cmd.SetAction(parse =>
        {
            var settings = data.Settings(parse, userData: true);
            var source = userData.Source(parse, data, settings);
            optim.CheckTraining(parse);
            var logging = new LoggingSettings(parse.GetValue(logdir), parse.GetValue(logEvery), parse.GetValue(flushSecs));
            logging.Check();
            if (source is { IsTable: true } && parse.Given(augment)) throw new UsageException("--augment transforms images; it does not apply to a table");
            if (parse.GetValue(save) is { } savePath) CheckOutputFile(savePath, "--save");
            if (Distributed.ProcessGroup.LaunchedByMpi) parse.Refuse([folds], "under mpiexec (cross-validation runs in one process)");
            var group = distributed.Start(parse);
            var checkpoints = CheckpointSettings.From(parse, checkpointDir, checkpointEvery, keep, resume, settings.BatchSize * (group?.WorldSize ?? 1));
            if (parse.GetValue(folds) is { } k)
            {
                if (k < 2) throw new UsageException($"--folds must be at least 2, got {k}");
                if (source is not null) throw new UsageException("--folds applies to the built-in datasets; with --data FILE.csv or an image folder use --val-fraction");
                // Cross-validation trains k plain models; these would change the run without being reported.
                parse.Refuse([augment, l1, l2, optim.Accumulate, distributed.DropLast, data.ValFraction, logdir, logEvery, flushSecs, json, save, checkpointDir, checkpointEvery, keep, resume, detectAnomaly, watch, data.NoShuffle, .. schedule.All, .. transfer.All], "with --folds (k-fold cross-validation trains plain models and prints a table)");
                return RunFolds(settings, k, parse.GetValue(optim.Optimizer)!, optim.Settings(parse), parse.GetValue(optim.ClipNorm), stdout);
            }
            return Run(settings, source, transfer.Settings(parse), checkpoints, group, (model, optimizer) => distributed.Wrap(parse, group!, model, optimizer),
                (d, augmentation) => distributed.Loader(parse, d, settings.BatchSize, settings.Seed, augmentation, group, settings.Shuffle), parse.GetValue(detectAnomaly), parse.GetValue(watch), parse.GetValue(save), parse.GetValue(optim.Optimizer)!, optim.Settings(parse), parse.GetValue(optim.ClipNorm), parse.GetValue(optim.Accumulate), parse.GetValue(json), stdout,
                (opt, batches) => schedule.Create(parse, opt, settings.Epochs, batches),
                logging,
                parse.GetValue(l1) == 0 && parse.GetValue(l2) == 0 ? null : new Regularization.WeightPenalty(parse.GetValue(l1), parse.GetValue(l2)),
                parse.GetValue(augment) is { } spec ? Data.Transforms.Augmentation.Parse(spec, settings.Seed) : null);
        });
        return cmd;
    }

    private static int Run(TrainSettings settings, DataSource? source, TransferSettings transfer, CheckpointSettings? checkpoints,
        Distributed.ProcessGroup? group, Func<Nn.Module, Optimizer, DistributedDataParallel> dataParallel, Func<PreparedData, Data.Transforms.Augmentation?, Data.DataLoader> trainLoader, bool detectAnomaly, bool watch, string? savePath, string optimizerName, OptimizerSettings optimizerSettings, double? clipNorm, int accumulate, bool json, TextWriter stdout, Func<Optimizer, int, ScheduleCallback?> scheduleFactory, LoggingSettings logging, Regularization.WeightPenalty? penalty, Data.Transforms.Augmentation? augmentation)
    {
        // Data-parallel: rank 0 alone prints, logs and saves.
        bool main = group is null || group.IsMain;
        if (!main) stdout = TextWriter.Null;
        // Build the optimizer on a throwaway model first so that bad hyperparameters fail before data loads.
        Optimizers.Create(optimizerName, new Nn.Linear(1, 1), optimizerSettings);
        var total = Stopwatch.StartNew();
        // Augmentation works on [C, H, W] images, so the data is loaded as images (the mlp flattens them).
        var data = TrainData.Load(settings, source, asImages: settings.Model == "cnn" || augmentation is not null);
        var prepared = data.Data;
        bool regression = prepared.Task == Data.TaskKind.Regression;
        var model = settings.BuildModel(prepared);
        var optimizer = Optimizers.Create(optimizerName, transfer.ParameterGroups(model, stdout), optimizerSettings);
        var trainer = new Trainer(model, optimizer) { ClipGradNorm = clipNorm, AccumulationSteps = accumulate, Penalty = penalty };
        if (regression) trainer.Metrics.AddRange(data.RegressionMetrics());
        if (data.Table is { } table)
            stdout.WriteLine($"Task: {(regression ? "regression" : "classification")} ({table.TaskReason}); {table.Preprocessing.Encoder.Width} input features from {table.Preprocessing.Encoder.SourceColumns.Count} columns");
        stdout.WriteLine($"Training {RunHeader.Model(settings, prepared, model.ParameterCount)} on {RunHeader.Data(data.Name, prepared)} for {RunHeader.Count(settings.Epochs, "epoch")}, batch {settings.BatchSize}");
        stdout.WriteLine($"Optimizer: {RunHeader.Optimizer(optimizer)}");
        var loader = trainLoader(prepared, augmentation);
        var scheduleCallback = scheduleFactory(optimizer, loader.Count);
        if (scheduleCallback is not null) trainer.Callbacks.Add(scheduleCallback);
        TrainingPosition? resumeFrom = null;
        CheckpointCallback? checkpointCallback = null;
        if (checkpoints is not null)
        {
            resumeFrom = checkpoints.Resume(model, optimizer, scheduleCallback?.Scheduler, trainer, stdout);
            checkpointCallback = new CheckpointCallback(checkpoints.Directory, checkpoints.Every, checkpoints.Keep, scheduleCallback?.Scheduler, checkpoints.Metadata);
        }
        using var ddp = group is null ? null : dataParallel(model, optimizer);
        if (ddp is not null)
        {
            trainer.Distributed = ddp;
            stdout.WriteLine($"Data parallel: {group!.WorldSize} ranks ({Distributed.ProcessGroup.LibraryVersion()}), batch {settings.BatchSize} per rank (global {settings.BatchSize * group.WorldSize}), gradients all-reduced in {RunHeader.Count(ddp.BucketCount, "bucket")}");
        }
        // The bar erases itself at the end of an epoch, before the table prints the epoch's row.
        using var progress = main ? ProgressBar.ForConsole(prepared.Train.Count) : null;
        if (progress is not null) trainer.Callbacks.Add(progress);
        trainer.Callbacks.Add(new EpochTable(stdout, regression ? "rmse" : "accuracy"));
        using var tensorBoard = !main ? null : logging.Create(model, optimizer, new Dictionary<string, object?>
        {
            ["dataset"] = data.Name, ["model"] = settings.Model, ["optimizer"] = optimizerName,
            ["batch_size"] = settings.BatchSize, ["epochs"] = settings.Epochs, ["seed"] = settings.Seed,
        }, misclassified: prepared.Validation is null || regression || source is { IsTable: true } ? null
            : new MisclassifiedImages(prepared.Validation, prepared.Train.SampleShape.Count == 1 ? ImageShape(settings.Dataset) : null));
        if (tensorBoard is not null) trainer.Callbacks.Add(tensorBoard);
        // A finding comes mid-epoch: the progress bar's line goes first (it redraws at the next batch).
        // The ranks of a data-parallel job hold the same averaged gradients: rank 0's watch sees what all would.
        var trainingWatch = watch && main ? new Lab.Doctor.TrainingWatch(f =>
        {
            if (progress is not null) Console.Error.Write(ProgressLine.Erase);
            DoctorCommand.PrintFinding(f, stdout);
        }) : null;
        if (trainingWatch is not null) trainer.Callbacks.Add(trainingWatch);
        // After the schedule's callback, so that a checkpoint holds the schedule as the next epoch starts it.
        if (checkpointCallback is not null && main) trainer.Callbacks.Add(checkpointCallback);
        using (Interruption.OnCtrlC(trainer))
        using (detectAnomaly ? Autodiff.Tape.DetectAnomaly() : default)
            trainer.Fit(loader, prepared.Validation, settings.Epochs, resumeFrom);
        if (trainer.Interrupted)
        {
            var at = trainer.Position!;
            string saved = checkpointCallback is null || !main ? "" : $"; checkpoint {checkpointCallback.Save(at)} (continue with --resume {checkpoints!.Directory})";
            stdout.WriteLine($"interrupted in epoch {at.Epoch} after step {trainer.GlobalStep}{saved}");
            return Interruption.ExitCode;
        }
        var test = trainer.Evaluate(prepared.Test);
        double seconds = total.Elapsed.TotalSeconds;
        var summary = new Dictionary<string, object?>();
        if (regression)
        {
            foreach (var name in new[] { "mse", "rmse", "mae", "r2" })
            {
                tensorBoard?.AddFinalMetric($"hparam/test_{name}", test.Values[name]);
                summary[$"test_{name}"] = Finite(test.Values[name]);
            }
            stdout.WriteLine(FormattableString.Invariant(
                $"test rmse {test.Values["rmse"]:G6}  mae {test.Values["mae"]:G6}  r2 {test.Values["r2"]:F4}  test loss {test.Loss:F4}  ({seconds:F1} s)"));
        }
        else
        {
            tensorBoard?.AddFinalMetric("hparam/test_accuracy", test.Accuracy);
            summary["test_accuracy"] = Finite(test.Accuracy);
            stdout.WriteLine(FormattableString.Invariant($"test accuracy {test.Accuracy:F4}  test loss {test.Loss:F4}  ({seconds:F1} s)"));
        }
        tensorBoard?.AddFinalMetric("hparam/test_loss", test.Loss);
        if (savePath is not null && main)
        {
            var spec = new Nn.ModelSpec
            {
                Kind = settings.Model, InputShape = [.. prepared.Train.SampleShape], Hidden = settings.Model == "mlp" ? settings.Hidden : [],
                Outputs = prepared.Outputs, Activation = settings.Activation.ToLowerInvariant(), BatchNorm = settings.BatchNorm, Dropout = settings.Dropout,
            };
            var metadata = new Dictionary<string, string> { ["descent.dataset"] = data.Name };
            if (prepared.Standardizer is { } inputs)
            {
                // The built-in datasets' input standardization, as transforms.Normalize(mean, std) would take it.
                metadata["descent.input_mean"] = string.Join(",", inputs.Mean.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
                metadata["descent.input_std"] = string.Join(",", inputs.Std.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
            }
            if ((data.Table?.Preprocessing.ToJson() ?? data.Images?.Preprocessing.ToJson()) is { } preprocessing) metadata[PredictCommand.PreprocessingKey] = preprocessing;
            Nn.ModelFile.Save(savePath, model, spec, metadata);
            stdout.WriteLine($"saved the model to {savePath}");
        }
        if (source?.Predict is not null && main)
        {
            int written = Predictions.Write(model, data.Table?.Preprocessing, data.Images?.Preprocessing, source.Predict, source.Out);
            stdout.WriteLine($"wrote {written} predictions to {source.Out}");
        }
        if (json)
        {
            summary["test_loss"] = Finite(test.Loss);
            summary["task"] = regression ? "regression" : "classification";
            summary["train_samples"] = prepared.Train.Count;
            summary["test_samples"] = prepared.Test.Count;
            summary["epochs"] = settings.Epochs;
            summary["seconds"] = Math.Round(seconds, 3);
            summary["dataset"] = data.Name;
            summary["model"] = settings.Model;
            summary["optimizer"] = optimizerName;
            summary["seed"] = settings.Seed;
            if (trainingWatch is not null) summary["watch_findings"] = trainingWatch.Findings.Select(f => f.Id).ToArray();
            if (ddp is not null)
            {
                summary["ranks"] = group!.WorldSize;
                summary["buckets"] = ddp.BucketCount;
                summary["bucket_launches"] = ddp.BucketsStarted;
                summary["bucket_launches_during_backward"] = ddp.BucketsStartedDuringBackward;
            }
            stdout.WriteLine(JsonSerializer.Serialize(summary));
        }
        return 0;
    }

    /// <summary><c>--folds K</c>: k-fold cross-validation over the training split; the test split stays unseen.</summary>
    private static int RunFolds(TrainSettings settings, int k, string optimizerName, OptimizerSettings optimizerSettings, double? clipNorm, TextWriter stdout)
    {
        Optimizers.Create(optimizerName, new Nn.Linear(1, 1), optimizerSettings);
        var prepared = DataPreparation.Load(settings.Dataset, settings.DataDir, settings.Model == "cnn", 0, settings.Seed);
        stdout.WriteLine($"{k}-fold cross-validation on {prepared.Train.Count} {settings.Dataset} training samples; model {settings.Model}, {optimizerName}");
        var result = CrossValidation.Run((Data.InMemoryDataset)prepared.Train,
            _ => settings.BuildModel(prepared),
            model => Optimizers.Create(optimizerName, model, optimizerSettings),
            new CrossValidationOptions
            {
                Folds = k,
                Epochs = settings.Epochs,
                BatchSize = settings.BatchSize,
                Seed = settings.Seed,
                Preprocessing = settings.FoldPreprocessing,
                ConfigureTrainer = (t, _) => t.ClipGradNorm = clipNorm,
                OnFoldEnd = r => stdout.WriteLine(FormattableString.Invariant(
                    $"fold {r.Fold + 1}: {r.TrainSamples} train / {r.ValidationSamples} validation  val loss {r.Validation.Loss:F4}  val acc {r.Validation.Accuracy:F4}  ({r.Seconds:F1} s)")),
            });
        stdout.WriteLine(result.ToString());
        return 0;
    }

    /// <summary>A figure for the JSON summary: rounded, and null when not finite (JSON has no NaN).</summary>
    private static double? Finite(double value) => double.IsFinite(value) ? Math.Round(value, 6) : null;

    /// <summary>Refuses an output path that is a folder or whose folder does not exist, before anything trains.</summary>
    internal static void CheckOutputFile(string path, string option)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} {path} is a folder; name the file to write");
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder)) throw new UsageException($"{option} {path}: the folder {folder} does not exist");
    }

    private static int[] ImageShape(string dataset) => dataset == "digits" ? [1, 8, 8] : [1, 28, 28];

    internal static int[] ParseIntList(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var r = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out r[i]) || r[i] < 1)
                throw new UsageException($"{option} expects positive integers separated by commas, got '{text}'");
        return r;
    }
}
