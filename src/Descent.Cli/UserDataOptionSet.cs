using System.CommandLine;
using System.Globalization;
using System.Text;
using Descent.Data;
using Descent.IO;
using Descent.Training;

namespace Descent.Cli;

/// <summary>What <c>train</c> trains on: a built-in dataset, or the user's CSV table or image folder, with what was fitted on it.</summary>
/// <param name="Data">The splits.</param>
/// <param name="Name">How the header names the data: <c>digits</c>, <c>houses.csv</c>, <c>photos/</c>.</param>
/// <param name="Table">The prepared table when the data is a CSV file.</param>
/// <param name="Images">The prepared folder when the data is an image folder.</param>
internal sealed record TrainData(PreparedData Data, string Name, PreparedTable? Table = null, PreparedImages? Images = null)
{
    /// <summary>
    /// The data the options name: the user's <paramref name="source"/>, else the built-in dataset (as images when
    /// <paramref name="asImages"/>, for a cnn or augmentation); refuses a cnn on data that are not images.
    /// </summary>
    public static TrainData Load(TrainSettings settings, DataSource? source, bool asImages)
    {
        var data = source is null
            ? new TrainData(DataPreparation.Load(settings.Dataset, settings.DataDir, asImages, settings.ValFraction, settings.Seed), settings.Dataset)
            : source.Load(settings.ValFraction, settings.Seed);
        int dimensions = data.Data.Train.SampleShape.Count;
        if (settings.Model == "cnn" && dimensions != 3)
            throw new UsageException($"--model cnn needs images [C, H, W]; this data has samples of {dimensions} dimension(s)");
        return data;
    }

    /// <summary>The regression target's standardization (mean 0, std 1 when there is none).</summary>
    public (float Mean, float Std) TargetScale => Table is { } t ? (t.Preprocessing.TargetMean, t.Preprocessing.TargetStd) : (0f, 1f);

    /// <summary>
    /// The metrics a regression run reports (MSE, RMSE, MAE, R²), in the target's own units: the loss is the MSE of
    /// the standardized target.
    /// </summary>
    public IEnumerable<IMetric> RegressionMetrics()
    {
        var (mean, std) = TargetScale;
        return new IMetric[] { new MeanSquaredError(), new RootMeanSquaredError(), new MeanAbsoluteError(), new R2Score() }
            .Select(m => new RescaledMetric(m, mean, std));
    }
}

/// <summary>
/// The options of <c>train --data FILE.csv|DIR</c>: the table's target, task, features, missing cells and test split,
/// the image folder's size and channels, and predicting after training.
/// </summary>
internal sealed class UserDataOptionSet
{
    public readonly Option<string?> Target = new("--target") { Description = "CSV: the column to predict" };
    public readonly Option<string?> Task = new("--task") { Description = "CSV: classification or regression (default: inferred from the target column, and printed)" };
    public readonly Option<string?> Features = new("--features") { Description = "CSV: the columns to predict from, comma-separated (default: every other column)" };
    public readonly Option<string?> Missing = new("--missing") { Description = "CSV: impute (the training mean, plus a NAME_missing 0/1 column; text columns: no category) or refuse missing cells (default impute)" };
    public readonly Option<double?> TestFraction = new("--test-fraction") { Description = "CSV or image folder: fraction held out as the test split, stratified for classification (default 0.2)" };
    public readonly Option<string?> TestFile = new("--test") { Description = "CSV: a second file with the same columns to test on, instead of --test-fraction" };
    public readonly Option<int?> ImageSize = new("--image-size") { Description = "Image folder: resize the shorter side to S and crop the centre S×S (default: the images' own size, which must then be equal)" };
    public readonly Option<bool> Grayscale = new("--grayscale") { Description = "Image folder: read one channel (luma) instead of RGB" };
    public readonly Option<string?> Predict = new("--predict") { Description = "After training, predict every row of this CSV file (or every image under this folder)" };
    public readonly Option<string?> Out = new("--out") { Description = "Where --predict writes its CSV (default predictions.csv)" };

    public UserDataOptionSet()
    {
        Task.AcceptOnlyFromAmong("classification", "regression");
        Missing.AcceptOnlyFromAmong("impute", "refuse");
    }

    public IEnumerable<Option> All => [Target, Task, Features, Missing, TestFraction, TestFile, ImageSize, Grayscale, Predict, Out];

    private Option[] TableOnly => [Target, Task, Features, Missing, TestFile];

    private Option[] ImagesOnly => [ImageSize, Grayscale];

    /// <summary>
    /// Checks which data <c>--data</c> names and that only its options are given; returns null for the built-in
    /// datasets. A file is a CSV table; a folder is an image folder, unless <c>--dataset fashion-mnist</c> says it
    /// holds the IDX files.
    /// </summary>
    public DataSource? Source(ParseResult p, ModelDataOptionSet data, TrainSettings settings)
    {
        string? path = p.GetValue(data.DataDir);
        bool builtIn = path is null || p.Given(data.Dataset);
        if (builtIn)
        {
            p.Refuse([.. TableOnly, .. ImagesOnly, TestFraction, Predict], $"with the built-in {settings.Dataset} dataset (they apply to --data FILE.csv or an image folder)");
            if (p.Given(Out)) throw new UsageException("--out applies only with --predict");
            return null;
        }
        bool table = File.Exists(path);
        if (!table && !Directory.Exists(path)) throw new UsageException($"--data {path}: no such file or folder");
        if (table)
        {
            p.Refuse(ImagesOnly, "with a CSV file (they apply to an image folder)");
            if (p.GetValue(Target) is null) throw new UsageException($"--data {path} is a table: name the column to predict with --target COLUMN");
            if (settings.Model == "cnn") throw new UsageException("--model cnn needs images; a table trains an mlp or a linear model");
            if (p.Given(TestFile) && p.Given(TestFraction)) throw new UsageException("--test and --test-fraction exclude each other: the test split is either a second file or a fraction of the first");
        }
        else p.Refuse(TableOnly, "with an image folder (they apply to --data FILE.csv)");
        if (!p.Given(Predict) && p.Given(Out)) throw new UsageException("--out applies only with --predict");
        double testFraction = p.GetValue(TestFraction) ?? 0.2;
        if (!(testFraction > 0 && testFraction < 1)) throw new UsageException($"--test-fraction must be in (0, 1), got {testFraction}");
        if (p.GetValue(ImageSize) is < 1 and var size) throw new UsageException($"--image-size must be a positive number of pixels, got {size}");
        if (p.GetValue(Predict) is { } predict && (table ? !File.Exists(predict) : !Directory.Exists(predict)))
            throw new UsageException($"--predict {predict}: no such {(table ? "file" : "folder")} (a model trained on a {(table ? "table predicts rows of a CSV file" : "image folder predicts the images under a folder")})");
        return new DataSource(path!, table, p.GetValue(Target), ParseTask(p.GetValue(Task)), ParseFeatures(p.GetValue(Features)),
            p.GetValue(Missing) == "refuse" ? MissingValues.Refuse : MissingValues.Impute, testFraction, p.GetValue(TestFile),
            p.GetValue(ImageSize), p.GetValue(Grayscale), p.GetValue(Predict), p.GetValue(Out) ?? "predictions.csv");
    }

    private static TaskKind? ParseTask(string? task) => task switch
    {
        "classification" => TaskKind.Classification,
        "regression" => TaskKind.Regression,
        _ => null,
    };

    private static string[]? ParseFeatures(string? features)
    {
        if (features is null) return null;
        var names = features.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return names.Length > 0 ? names : throw new UsageException("--features expects column names separated by commas");
    }
}

/// <summary>The user's data as the options describe it.</summary>
internal sealed record DataSource(string Path, bool IsTable, string? Target, TaskKind? Task, string[]? Features, MissingValues Missing,
    double TestFraction, string? TestFile, int? ImageSize, bool Grayscale, string? Predict, string Out)
{
    /// <summary>Reads and prepares the data; <paramref name="valFraction"/> of the training part is held out for validation.</summary>
    public TrainData Load(double valFraction, int seed)
    {
        if (IsTable)
        {
            var table = UserData.Table(Path, new TableOptions
            {
                Target = Target!, Features = Features, Task = Task, Missing = Missing,
                TestFraction = TestFraction, TestFile = TestFile, ValFraction = valFraction, Seed = seed,
            });
            return new TrainData(table.Data, System.IO.Path.GetFileName(Path), Table: table);
        }
        var images = UserData.Images(Path, ImageSize, Grayscale, TestFraction, valFraction, seed);
        return new TrainData(images.Data, System.IO.Path.GetFileName(Path.TrimEnd('/')) + "/", Images: images);
    }
}
