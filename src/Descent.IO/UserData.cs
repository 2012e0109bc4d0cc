using System.Text.Json;
using System.Text.Json.Nodes;
using Descent.Data;
using Descent.Training;

namespace Descent.IO;

/// <summary>How <see cref="UserData.Table"/> turns a CSV file into training, validation and test splits.</summary>
public sealed record TableOptions
{
    /// <summary>The column to predict.</summary>
    public required string Target { get; init; }

    /// <summary>The columns to predict it from; null for every other column.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>Classification or regression; null infers it from the target column (see <see cref="TabularEncoder"/>).</summary>
    public TaskKind? Task { get; init; }

    /// <summary>What to do with missing feature cells (default: mean-impute with a missing-flag column).</summary>
    public MissingValues Missing { get; init; } = MissingValues.Impute;

    /// <summary>Fraction of the rows held out as the test split (ignored when <see cref="TestFile"/> is given); default 0.2.</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>A second CSV file with the same columns to test on, instead of a split of the first.</summary>
    public string? TestFile { get; init; }

    /// <summary>Fraction of the training rows held out for validation (0 = none).</summary>
    public double ValFraction { get; init; } = 0.1;

    /// <summary>Seed of the splits.</summary>
    public int Seed { get; init; }
}

/// <summary>
/// What training fitted on a table's training rows, to apply to any table with the same feature columns: the
/// column <see cref="Encoder"/>, the per-feature <see cref="Standardizer"/> and, for regression, the target's
/// <see cref="TargetMean"/> and <see cref="TargetStd"/> (predictions are <c>output · std + mean</c>).
/// </summary>
public sealed record TablePreprocessing(TabularEncoder Encoder, Standardizer Standardizer, float TargetMean, float TargetStd)
{
    /// <summary>
    /// The rows of <paramref name="table"/> (another file with the feature columns, with or without the target)
    /// encoded and standardized as training did: the model's inputs [rows, <see cref="TabularEncoder.Width"/>].
    /// </summary>
    public Tensor Inputs(CsvTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var rows = Enumerable.Range(0, table.RowCount).ToArray();
        var x = Encoder.Features(table, rows);
        Standardizer.TransformSamples(x, Encoder.Width);
        return Tensor.FromArray(x, table.RowCount, Encoder.Width);
    }

    /// <summary>The preprocessing as JSON (for a saved model's metadata); <see cref="FromJson"/> reads it back.</summary>
    public string ToJson() => new JsonObject
    {
        ["kind"] = "table",
        ["encoder"] = Encoder.ToJson(),
        ["mean"] = Floats(Standardizer.Mean),
        ["std"] = Floats(Standardizer.Std),
        ["target_mean"] = TargetMean,
        ["target_std"] = TargetStd,
    }.ToJsonString();

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    /// <exception cref="InvalidDataException">Not such a description.</exception>
    public static TablePreprocessing FromJson(string json) => Preprocessing.Read(json, "table", o => new TablePreprocessing(
        TabularEncoder.FromJson(o["encoder"]!.AsObject()),
        Standardizer.FromStatistics(StandardizationMode.PerFeature, Preprocessing.Floats(o["mean"]), Preprocessing.Floats(o["std"])),
        (float)o["target_mean"]!, (float)o["target_std"]!));

    private static JsonArray Floats(float[] values) => Preprocessing.Array(values);
}

/// <summary>
/// What training fitted on an image folder, to apply to new images: the class names, the image size and channels
/// and the per-channel normalization.
/// </summary>
/// <param name="ClassNames">The class (folder name) of each label.</param>
/// <param name="Standardizer">Per-channel mean/std fitted on the training images (<c>transforms.Normalize</c>).</param>
/// <param name="ImageSize">The side every image was resized and cropped to, or null when they were read as they are.</param>
/// <param name="Grayscale">Whether images were read as one channel.</param>
/// <param name="Height">The training images' height.</param>
/// <param name="Width">The training images' width.</param>
public sealed record ImagePreprocessing(IReadOnlyList<string> ClassNames, Standardizer Standardizer, int? ImageSize, bool Grayscale, int Height, int Width)
{
    /// <summary>The sample shape the model takes: [C, H, W].</summary>
    public int[] SampleShape => [Grayscale ? 1 : 3, Height, Width];

    /// <summary>Reads the images of <paramref name="files"/> as training read its own: resized, channels, normalized [N, C, H, W].</summary>
    /// <exception cref="InvalidDataException">An image that does not decode, or of another size than training's.</exception>
    public Tensor Inputs(IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var (pixels, height, width) = ImageFolder.LoadFiles(files, ImageSize, Grayscale);
        if (files.Count > 0 && (height != Height || width != Width))
            throw new InvalidDataException($"{files[0]}: {width}×{height} pixels, but the model was trained on {Width}×{Height} images; give the image size it was trained with");
        var shape = SampleShape;
        Standardizer.TransformSamples(pixels, shape[0] * Height * Width);
        return Tensor.FromArray(pixels, [files.Count, .. shape]);
    }

    /// <summary>The preprocessing as JSON (for a saved model's metadata); <see cref="FromJson"/> reads it back.</summary>
    public string ToJson() => new JsonObject
    {
        ["kind"] = "image_folder",
        ["classes"] = new JsonArray([.. ClassNames.Select(c => (JsonNode?)c)]),
        ["mean"] = Preprocessing.Array(Standardizer.Mean),
        ["std"] = Preprocessing.Array(Standardizer.Std),
        ["image_size"] = ImageSize,
        ["grayscale"] = Grayscale,
        ["height"] = Height,
        ["width"] = Width,
    }.ToJsonString();

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    /// <exception cref="InvalidDataException">Not such a description.</exception>
    public static ImagePreprocessing FromJson(string json) => Preprocessing.Read(json, "image_folder", o => new ImagePreprocessing(
        o["classes"]!.AsArray().Select(c => (string)c!).ToList(),
        Standardizer.FromStatistics(StandardizationMode.PerChannel, Preprocessing.Floats(o["mean"]), Preprocessing.Floats(o["std"])),
        (int?)o["image_size"], (bool)o["grayscale"]!, (int)o["height"]!, (int)o["width"]!));
}

/// <summary>The JSON plumbing the two preprocessing records share.</summary>
internal static class Preprocessing
{
    public static JsonArray Array(float[] values) => new([.. values.Select(v => (JsonNode?)v)]);

    public static float[] Floats(JsonNode? node) => node!.AsArray().Select(v => (float)v!).ToArray();

    public static T Read<T>(string json, string kind, Func<JsonObject, T> build)
    {
        try
        {
            var o = JsonNode.Parse(json)!.AsObject();
            if ((string?)o["kind"] != kind) throw new InvalidDataException($"the preprocessing is '{(string?)o["kind"]}', not '{kind}'");
            return build(o);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or ArgumentException)
        {
            throw new InvalidDataException(Printable.Escape($"the preprocessing description is malformed ({e.Message})"), e);
        }
        catch (InvalidDataException e)
        {
            // Names read from the description are in the message: escaped, it stays one line.
            throw new InvalidDataException(Printable.Escape(e.Message), e);
        }
    }
}

/// <summary>A CSV file made ready to train on: the splits, what was fitted on the training rows, and why the task is what it is.</summary>
/// <param name="Data">Training, validation and test splits (features standardized, regression targets standardized).</param>
/// <param name="Preprocessing">The encoding and standardization fitted on the training rows.</param>
/// <param name="TaskReason">Why the task is what it is, in words ("given", or the rule that inferred it).</param>
public sealed record PreparedTable(PreparedData Data, TablePreprocessing Preprocessing, string TaskReason);

/// <summary>An image folder made ready to train on: the splits and what was fitted on the training images.</summary>
public sealed record PreparedImages(PreparedData Data, ImagePreprocessing Preprocessing);

/// <summary>
/// The user's own data — a CSV table or an image folder — split into training, validation and test parts and
/// preprocessed with statistics of the training part alone, the way <see cref="DataPreparation"/> prepares the
/// built-in datasets.
/// </summary>
public static class UserData
{
    /// <summary>
    /// Reads a CSV file and prepares it: the task is <see cref="TableOptions.Task"/> or inferred; the test split is
    /// <see cref="TableOptions.TestFile"/> or a seeded <see cref="TableOptions.TestFraction"/> of the rows, then a
    /// <see cref="TableOptions.ValFraction"/> of the rest is held out for validation (both stratified for
    /// classification); the encoding and the per-feature standardization are fitted on the training rows; a
    /// regression target is standardized with the training rows' mean and standard deviation (so that one learning
    /// rate suits targets of any scale; predictions are mapped back with <see cref="TablePreprocessing.TargetMean"/> and
    /// <see cref="TablePreprocessing.TargetStd"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">Bad data; the message names file, row and column.</exception>
    /// <exception cref="ArgumentException">An unknown column or a bad option.</exception>
    public static PreparedTable Table(string path, TableOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var table = CsvTable.Read(path);
        var testTable = options.TestFile is { } testFile ? CsvTable.Read(testFile) : null;
        var all = Enumerable.Range(0, table.RowCount).ToArray();
        // The task and the class of every row decide the stratification; no feature statistic is used yet.
        var survey = TabularEncoder.ForTarget(table, options.Target, all, options.Task);
        var task = survey.Task;
        Dataset rows = task == TaskKind.Classification
            ? new InMemoryDataset(new float[table.RowCount], survey.Classes(table, all), [1], survey.ClassNames.Count)
            : new InMemoryDataset(new float[table.RowCount], new float[table.RowCount], [1]);
        int[] trainRows, testRows;
        if (testTable is null) (trainRows, testRows) = Splits.SplitIndices(rows, options.TestFraction, options.Seed);
        else (trainRows, testRows) = (all, []);
        int[] validationRows = [];
        if (options.ValFraction > 0)
        {
            var (fit, held) = Splits.SplitIndices(Subset(rows, trainRows), options.ValFraction, options.Seed + 1);
            (trainRows, validationRows) = (fit.Select(i => trainRows[i]).ToArray(), held.Select(i => trainRows[i]).ToArray());
        }

        var encoder = TabularEncoder.Fit(table, options.Target, options.Features, trainRows, task, options.Missing, classes: survey.ClassNames);
        var train = Encode(encoder, table, trainRows);
        var standardizer = Standardizer.FitPerFeature(train);
        float targetMean = 0, targetStd = 1;
        if (task == TaskKind.Regression) (targetMean, targetStd) = MeanStd(train.Targets);
        InMemoryDataset Prepare(InMemoryDataset d)
        {
            // The encoded arrays are this method's own: standardized in place, not copied.
            standardizer.TransformInPlace(d);
            if (task == TaskKind.Regression)
                foreach (ref float y in d.Targets.AsSpan()) y = (y - targetMean) / targetStd;
            return d;
        }
        var test = testTable is null
            ? Encode(encoder, table, testRows)
            : Encode(encoder, testTable, Enumerable.Range(0, testTable.RowCount).ToArray());
        var validation = validationRows.Length > 0 ? Prepare(Encode(encoder, table, validationRows)) : null;
        var prepared = new PreparedData(Prepare(train), validation, Prepare(test), task == TaskKind.Classification ? encoder.ClassNames.Count : 0);
        return new PreparedTable(prepared, new TablePreprocessing(encoder, standardizer, targetMean, targetStd), survey.TaskReason);
    }

    /// <summary>
    /// Reads an image folder (<see cref="ImageFolder"/>) and prepares it: a stratified <paramref name="testFraction"/>
    /// of the images is held out for testing and <paramref name="valFraction"/> of the rest for validation; every
    /// channel is normalized with the training images' mean and standard deviation.
    /// </summary>
    public static PreparedImages Images(string root, int? imageSize, bool grayscale, double testFraction, double valFraction, int seed)
    {
        var folder = ImageFolder.Load(root, imageSize, grayscale);
        var (train, test) = Splits.TrainTestSplit(folder.Data, testFraction, seed);
        InMemoryDataset? validation = null;
        if (valFraction > 0) (train, validation) = Splits.TrainValidationSplit(train, valFraction, seed + 1);
        var standardizer = Standardizer.FitPerChannel(train);
        var prepared = new PreparedData(standardizer.Transform(train), validation is null ? null : standardizer.Transform(validation),
            standardizer.Transform(test), folder.ClassNames.Count);
        return new PreparedImages(prepared, new ImagePreprocessing(folder.ClassNames, standardizer, imageSize, grayscale, train.SampleShape[1], train.SampleShape[2]));
    }

    private static InMemoryDataset Encode(TabularEncoder encoder, CsvTable table, int[] rows)
    {
        var x = encoder.Features(table, rows);
        return encoder.Task == TaskKind.Classification
            ? new InMemoryDataset(x, encoder.Classes(table, rows), [encoder.Width], encoder.ClassNames.Count)
            : new InMemoryDataset(x, encoder.Targets(table, rows), [encoder.Width]);
    }

    private static InMemoryDataset Subset(Dataset rows, int[] indices) => ((InMemoryDataset)rows).Subset(indices);

    private static (float Mean, float Std) MeanStd(float[] values)
    {
        double mean = 0;
        foreach (float v in values) mean += v;
        mean /= Math.Max(values.Length, 1);
        double squares = 0;
        foreach (float v in values) squares += (v - mean) * (v - mean);
        double std = Math.Sqrt(squares / Math.Max(values.Length, 1));
        return ((float)mean, std > 0 ? (float)std : 1f);
    }
}
