using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Descent.Optim;
using Descent.Training;

namespace Descent.Cli.Commands;

/// <summary><c>descent train</c>: train a model on digits or Fashion-MNIST and report test accuracy.</summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("train", "Train a model and report per-epoch metrics and the final test accuracy.");
        var dataset = new Option<string>("--dataset") { Description = "digits (embedded UCI digits) or fashion-mnist", DefaultValueFactory = _ => "digits" };
        dataset.AcceptOnlyFromAmong("digits", "fashion-mnist");
        var dataDir = new Option<string?>("--data") { Description = "Directory holding the IDX files (default: /usr/share/datasets/fashion-mnist)" };
        var model = new Option<string>("--model") { Description = "mlp or cnn", DefaultValueFactory = _ => "mlp" };
        model.AcceptOnlyFromAmong("mlp", "cnn");
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer sizes of the mlp, comma-separated", DefaultValueFactory = _ => "256,128" };
        var activation = new Option<string>("--activation") { Description = "relu, leaky-relu, elu, sigmoid, tanh or gelu", DefaultValueFactory = _ => "relu" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training split", DefaultValueFactory = _ => 20 };
        var batchSize = new Option<int>("--batch-size") { Description = "Mini-batch size", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "Learning rate", DefaultValueFactory = _ => 0.05 };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => 0.9 };
        var nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "L2 weight decay", DefaultValueFactory = _ => 0.0 };
        var seed = new Option<int>("--seed") { Description = "Seed for initialization, splits and shuffling", DefaultValueFactory = _ => 0 };
        var valFraction = new Option<double?>("--val-fraction") { Description = "Fraction of the training data held out for validation (default: 0.1 for digits, 0 for fashion-mnist, which trains on its official 60k set)" };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary as the last line of stdout" };
        foreach (var o in new Option[] { dataset, dataDir, model, hidden, activation, epochs, batchSize, lr, momentum, nesterov, weightDecay, seed, valFraction, json })
            cmd.Options.Add(o);

        cmd.SetAction(parse =>
        {
            var settings = new TrainSettings
            {
                Dataset = parse.GetValue(dataset)!,
                DataDir = parse.GetValue(dataDir),
                Model = parse.GetValue(model)!,
                Hidden = ParseIntList(parse.GetValue(hidden)!, "--hidden"),
                Activation = parse.GetValue(activation)!,
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                Seed = parse.GetValue(seed),
                ValFraction = parse.GetValue(valFraction) ?? DataPreparation.DefaultValFraction(parse.GetValue(dataset)!),
            };
            var sgd = new SgdOptions
            {
                Lr = parse.GetValue(lr),
                Momentum = parse.GetValue(momentum),
                Nesterov = parse.GetValue(nesterov),
                WeightDecay = parse.GetValue(weightDecay),
            };
            return Run(settings, sgd, parse.GetValue(json), stdout);
        });
        return cmd;
    }

    private static int Run(TrainSettings settings, SgdOptions sgd, bool json, TextWriter stdout)
    {
        settings.Validate();
        sgd.Validate();
        var total = Stopwatch.StartNew();
        var data = DataPreparation.Load(settings.Dataset, settings.DataDir, settings.Model == "cnn", settings.ValFraction, settings.Seed);
        var model = settings.BuildModel(data);
        var optimizer = new SGD([new ParamGroup<SgdOptions>(model.Parameters(), sgd)]);
        var trainer = new Trainer(model, optimizer);
        stdout.WriteLine($"dataset {settings.Dataset}: {data.Train.Count} train / {data.Validation?.Count ?? 0} validation / {data.Test.Count} test; model {settings.Model} ({model.ParameterCount:N0} parameters); SGD lr={sgd.Lr} momentum={sgd.Momentum}{(sgd.Nesterov ? " nesterov" : "")} weight_decay={sgd.WeightDecay}");
        var table = new EpochTable(stdout);
        trainer.Callbacks.Add(table);
        using var progress = ProgressBar.ForConsole(data.Train.Count);
        if (progress is not null) trainer.Callbacks.Add(progress);
        trainer.Fit(data.TrainLoader(settings.BatchSize, settings.Seed), data.Validation, settings.Epochs);
        var test = trainer.Evaluate(data.Test);
        double seconds = total.Elapsed.TotalSeconds;
        stdout.WriteLine(FormattableString.Invariant($"test accuracy {test.Accuracy:F4}  test loss {test.Loss:F4}  ({seconds:F1} s)"));
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["test_accuracy"] = Math.Round(test.Accuracy, 6),
                ["test_loss"] = Math.Round(test.Loss, 6),
                ["epochs"] = settings.Epochs,
                ["seconds"] = Math.Round(seconds, 3),
                ["dataset"] = settings.Dataset,
                ["model"] = settings.Model,
                ["optimizer"] = "sgd",
                ["seed"] = settings.Seed,
            }));
        }
        return 0;
    }

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
