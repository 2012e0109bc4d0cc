using System.CommandLine;
using Descent.Init;
using Descent.Training;

namespace Descent.Cli;

/// <summary>The dataset, model and loop options shared by <c>train</c> and <c>compare</c>.</summary>
internal sealed class ModelDataOptionSet
{
    public readonly Option<string> Dataset = new("--dataset") { Description = "digits (embedded UCI digits) or fashion-mnist", DefaultValueFactory = _ => "digits" };
    public readonly Option<string?> DataDir = new("--data") { Description = "train: a CSV file or an image folder (root/<class>/<image>) to train on; with --dataset fashion-mnist, the folder holding its IDX files (default: /usr/share/datasets/fashion-mnist)" };
    public readonly Option<string> Model = new("--model") { Description = "mlp, cnn or linear (one Linear layer: logistic or linear regression)", DefaultValueFactory = _ => "mlp" };
    public readonly Option<string> Hidden = new("--hidden") { Description = "Hidden layer sizes of the mlp, comma-separated", DefaultValueFactory = _ => "256,128" };
    public readonly Option<string> Activation = new("--activation") { Description = "relu, leaky-relu, elu, sigmoid, tanh or gelu", DefaultValueFactory = _ => "relu" };
    public readonly Option<string> Init = new("--init") { Description = $"Initialization of every Linear/Conv2d weight: {string.Join(", ", InitSpec.Forms)}; biases are zeroed except by torch-default", DefaultValueFactory = _ => "torch-default" };
    public readonly Option<bool> BatchNorm = new("--batch-norm") { Description = "Batch normalization after every hidden Linear/Conv2d, before its activation (mlp and cnn)" };
    public readonly Option<double> Dropout = new("--dropout") { Description = "Dropout probability P in [0, 1) after every hidden activation (mlp and cnn); 0 for none", DefaultValueFactory = _ => 0.0 };
    public readonly Option<int> Epochs = new("--epochs") { Description = "Passes over the training split", DefaultValueFactory = _ => 20 };
    public readonly Option<int> BatchSize = new("--batch-size") { Description = "Mini-batch size", DefaultValueFactory = _ => 32 };
    public readonly Option<int> Seed = new("--seed") { Description = "Seed for initialization, splits and shuffling", DefaultValueFactory = _ => 0 };
    /// <summary>Not among <see cref="All"/>: only the commands whose batches it orders (train, doctor) take it.</summary>
    public readonly Option<bool> NoShuffle = new("--no-shuffle") { Description = "Batches in the order of the training split instead of reshuffled every epoch, like DataLoader(shuffle=False)" };
    public readonly Option<double?> ValFraction = new("--val-fraction") { Description = "Fraction of the training data held out for validation (default: 0.1 for digits, 0 for fashion-mnist, which trains on its official 60k set)" };

    public ModelDataOptionSet()
    {
        Dataset.AcceptOnlyFromAmong(DataPreparation.Names);
        Model.AcceptOnlyFromAmong("mlp", "cnn", "linear");
    }

    public IEnumerable<Option> All => [Dataset, DataDir, Model, Hidden, Activation, Init, BatchNorm, Dropout, Epochs, BatchSize, Seed, ValFraction];

    /// <summary>
    /// The settings the options give. With <paramref name="userData"/> (<c>train</c>) <c>--data</c> without
    /// <c>--dataset</c> names the user's CSV file or image folder; otherwise <c>--data</c> is the Fashion-MNIST folder.
    /// </summary>
    public TrainSettings Settings(ParseResult p, double? defaultValFraction = null, bool userData = false)
    {
        var dataset = p.GetValue(Dataset)!;
        if (!userData || p.Given(Dataset)) RefuseDataDir(p, dataset, DataDir);
        string model = p.GetValue(Model)!;
        if (model == "linear" && p.Given(Hidden)) throw new UsageException("--hidden does not apply to --model linear (one Linear layer, no hidden layers); use --model mlp");
        var s = new TrainSettings
        {
            Dataset = dataset,
            DataDir = p.GetValue(DataDir),
            Model = model,
            Hidden = model == "linear" ? [] : Commands.TrainCommand.ParseIntList(p.GetValue(Hidden)!, "--hidden"),
            Activation = p.GetValue(Activation)!,
            Init = ParseInit(p.GetValue(Init)!),
            BatchNorm = p.GetValue(BatchNorm),
            Dropout = p.GetValue(Dropout),
            Epochs = p.GetValue(Epochs),
            BatchSize = p.GetValue(BatchSize),
            Seed = p.GetValue(Seed),
            Shuffle = !p.GetValue(NoShuffle),
            ValFraction = p.GetValue(ValFraction) ?? defaultValFraction ?? DataPreparation.DefaultValFraction(dataset),
        };
        s.Validate();
        return s;
    }

    private static InitSpec ParseInit(string spec)
    {
        try
        {
            return InitSpec.Parse(spec);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--init: {e.Message}");
        }
    }

    /// <summary>Refuses <c>--data</c> with the embedded digits, which read no files.</summary>
    public static void RefuseDataDir(ParseResult p, string dataset, Option dataDir)
    {
        if (dataset == "digits" && p.Given(dataDir))
            throw new UsageException("--data does not apply to --dataset digits (the digits are embedded); use it with --dataset fashion-mnist");
    }
}
