using System.Globalization;
using System.Text;
using System.Text.Json;
using Descent.Data;
using Descent.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Descent.Tests.Cli;

/// <summary>
/// <c>train --data FILE.csv|DIR</c> end to end: the user's own table or image folder trains to the figures an
/// independent reference sets (the built-in digits run, the closed-form least-squares fit, the noise level, chance),
/// and bad data ends in one line naming file, row and column, with exit code 2 and nothing written.
/// </summary>
public sealed class UserDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-userdata-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => Descent.Tests.Cli.CliRunner.Run(args);

    private static JsonElement Json(string output) => JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The embedded digits as a CSV file: a <c>label</c> column, then the 64 pixels.</summary>
    private string DigitsCsv()
    {
        var digits = Datasets.Digits();
        var text = new StringBuilder("label," + string.Join(",", Enumerable.Range(0, 64).Select(i => $"p{i}")) + "\n");
        for (int i = 0; i < digits.Count; i++)
            text.Append(digits.GetLabel(i)).Append(',').AppendJoin(',', digits.GetFeatures(i).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        return Write("digits.csv", text.ToString());
    }

    [Fact]
    public void The_digits_as_a_csv_file_train_to_the_accuracy_of_the_built_in_digits()
    {
        string csv = DigitsCsv();
        var (code, output, err) = Run("train", "--data", csv, "--target", "label", "--epochs", "10", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("Task: classification (the target 'label' holds 10 distinct integers", output);
        var fromCsv = Json(output);
        var builtIn = Json(Run("train", "--dataset", "digits", "--epochs", "10", "--json").Out);
        Assert.Equal("classification", fromCsv.GetProperty("task").GetString());
        Assert.Equal(builtIn.GetProperty("test_samples").GetInt32(), fromCsv.GetProperty("test_samples").GetInt32());
        Assert.InRange(fromCsv.GetProperty("test_accuracy").GetDouble() - builtIn.GetProperty("test_accuracy").GetDouble(), -0.01, 0.01);
        Assert.True(fromCsv.GetProperty("test_accuracy").GetDouble() > 0.95);
    }

    [Fact]
    public void A_second_file_is_the_test_split()
    {
        var lines = File.ReadAllLines(DigitsCsv());
        string train = Write("train.csv", string.Join("\n", lines.Take(1401)) + "\n");
        string test = Write("test.csv", string.Join("\n", lines.Skip(1401).Prepend(lines[0])) + "\n");
        var (code, output, err) = Run("train", "--data", train, "--target", "label", "--test", test, "--epochs", "5", "--json");
        Assert.True(code == 0, err);
        var json = Json(output);
        Assert.Equal(lines.Length - 1401, json.GetProperty("test_samples").GetInt32());
        Assert.Equal(1400 - 140, json.GetProperty("train_samples").GetInt32());   // 10 % of the rows held out for validation
        Assert.True(json.GetProperty("test_accuracy").GetDouble() > 0.85, output);
    }

    /// <summary>y = a smooth nonlinear function of 8 standard-normal features + Gaussian noise of standard deviation <paramref name="sigma"/>.</summary>
    private string RegressionCsv(int rows, double sigma, int seed = 1)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var text = new StringBuilder("x0,x1,x2,x3,x4,x5,x6,x7,y\n");
        var x = new double[8];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < 8; j++) x[j] = Normal();
            double y = Math.Sin(x[0]) + 0.5 * x[1] * x[1] - x[2] * x[3] + 0.3 * x[4] + Math.Tanh(x[5]) + 0.2 * x[6] - 0.1 * x[7] + sigma * Normal();
            text.AppendJoin(',', x.Select(v => v.ToString("F6", CultureInfo.InvariantCulture))).Append(',').Append(y.ToString("F6", CultureInfo.InvariantCulture)).Append('\n');
        }
        return Write("regression.csv", text.ToString());
    }

    [Fact]
    public void A_regression_table_trains_to_the_noise_level_and_a_linear_model_to_the_least_squares_fit()
    {
        const double sigma = 0.3;
        string csv = RegressionCsv(20000, sigma);
        var (code, output, err) = Run("train", "--data", csv, "--target", "y", "--optimizer", "adam", "--lr", "0.001", "--epochs", "30", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("Task: regression (the target 'y' holds real numbers)", output);
        var mlp = Json(output);
        foreach (var key in new[] { "test_mse", "test_rmse", "test_mae", "test_r2", "test_loss", "train_samples", "test_samples" })
            Assert.True(mlp.TryGetProperty(key, out _), $"--json lacks {key}");
        Assert.Equal("regression", mlp.GetProperty("task").GetString());
        double rmse = mlp.GetProperty("test_rmse").GetDouble();
        Assert.True(rmse <= 1.2 * sigma, $"test RMSE {rmse} is above 1.2 σ = {1.2 * sigma}");
        Assert.Equal(rmse * rmse, mlp.GetProperty("test_mse").GetDouble(), 4);

        var (linearCode, linearOutput, linearErr) = Run("train", "--data", csv, "--target", "y", "--model", "linear", "--lr", "0.01", "--json");
        Assert.True(linearCode == 0, linearErr);
        double linear = Json(linearOutput).GetProperty("test_rmse").GetDouble();
        double leastSquares = LeastSquaresTestRmse(csv);
        Assert.True(Math.Abs(linear / leastSquares - 1) <= 0.02, $"linear model test RMSE {linear} vs closed-form least squares {leastSquares}");
    }

    /// <summary>
    /// The test RMSE of the closed-form least-squares fit (normal equations with an intercept, in double precision)
    /// on the same training rows the command trains on.
    /// </summary>
    private static double LeastSquaresTestRmse(string csv)
    {
        var table = UserData.Table(csv, new TableOptions { Target = "y", ValFraction = 0.1 });
        var train = (InMemoryDataset)table.Data.Train;
        var test = (InMemoryDataset)table.Data.Test;
        int d = train.SampleSize + 1;
        var a = new double[d, d];
        var b = new double[d];
        var row = new double[d];
        for (int i = 0; i < train.Count; i++)
        {
            Fill(train, i, row);
            for (int p = 0; p < d; p++)
            {
                b[p] += row[p] * train.Targets[i];
                for (int q = 0; q < d; q++) a[p, q] += row[p] * row[q];
            }
        }
        var w = Solve(a, b);
        double squares = 0;
        for (int i = 0; i < test.Count; i++)
        {
            Fill(test, i, row);
            double prediction = 0;
            for (int p = 0; p < d; p++) prediction += w[p] * row[p];
            // Targets are standardized with the training mean and std: errors scale back by the std.
            double error = (prediction - test.Targets[i]) * table.Preprocessing.TargetStd;
            squares += error * error;
        }
        return Math.Sqrt(squares / test.Count);

        static void Fill(InMemoryDataset data, int i, double[] row)
        {
            var x = data.GetFeatures(i);
            for (int j = 0; j < x.Length; j++) row[j] = x[j];
            row[^1] = 1;
        }
    }

    /// <summary>Gaussian elimination with partial pivoting.</summary>
    private static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        for (int k = 0; k < n; k++)
        {
            int pivot = k;
            for (int r = k + 1; r < n; r++) if (Math.Abs(a[r, k]) > Math.Abs(a[pivot, k])) pivot = r;
            for (int c = 0; c < n; c++) (a[k, c], a[pivot, c]) = (a[pivot, c], a[k, c]);
            (b[k], b[pivot]) = (b[pivot], b[k]);
            for (int r = k + 1; r < n; r++)
            {
                double f = a[r, k] / a[k, k];
                for (int c = k; c < n; c++) a[r, c] -= f * a[k, c];
                b[r] -= f * b[k];
            }
        }
        var x = new double[n];
        for (int k = n - 1; k >= 0; k--)
        {
            double s = b[k];
            for (int c = k + 1; c < n; c++) s -= a[k, c] * x[c];
            x[k] = s / a[k, k];
        }
        return x;
    }

    /// <summary>
    /// Three classes decided by a text column and a numeric one, with missing cells in both (and a quoted text with
    /// a comma); <paramref name="shuffleTarget"/> permutes the target column so that nothing predicts it.
    /// </summary>
    private string MixedCsv(bool shuffleTarget)
    {
        var random = new Random(7);
        string[] colours = ["red", "green", "\"blue, dark\""];
        int rows = 3000;
        var cells = new List<(string Colour, string Size, string Noise, int Label)>();
        for (int r = 0; r < rows; r++)
        {
            int colour = random.Next(3);
            double size = random.NextDouble() * 10;
            int label = (colour + (size > 5 ? 1 : 0)) % 3;
            bool missingColour = random.NextDouble() < 0.05, missingSize = random.NextDouble() < 0.05;
            cells.Add((missingColour ? "" : colours[colour], missingSize ? "NA" : Inv($"{size:F3}"), Inv($"{random.NextDouble():F3}"), label));
        }
        var labels = cells.Select(c => c.Label).ToArray();
        if (shuffleTarget) random.Shuffle(labels);
        string[] names = ["low", "mid", "high"];
        var text = new StringBuilder("colour,size,noise,grade\n");
        for (int r = 0; r < rows; r++) text.Append(Inv($"{cells[r].Colour},{cells[r].Size},{cells[r].Noise},{names[labels[r]]}\n"));
        return Write(shuffleTarget ? "mixed-shuffled.csv" : "mixed.csv", text.ToString());
    }

    [Fact]
    public void Text_categories_and_missing_cells_train_and_a_shuffled_target_scores_at_chance()
    {
        var (code, output, err) = Run("train", "--data", MixedCsv(shuffleTarget: false), "--target", "grade", "--epochs", "30", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("Task: classification (the target 'grade' holds text (3 classes))", output);
        // colour=red, colour=green, colour=blue, dark, colour_missing; size, size_missing; noise
        Assert.Contains("7 input features from 3 columns", output.Split('\n')[0]);
        Assert.True(Json(output).GetProperty("test_accuracy").GetDouble() > 0.85, output);

        var (shuffledCode, shuffledOutput, shuffledErr) = Run("train", "--data", MixedCsv(shuffleTarget: true), "--target", "grade", "--epochs", "30", "--json");
        Assert.True(shuffledCode == 0, shuffledErr);
        // 600 test rows: chance is 1/3 with a standard deviation of about 0.02.
        Assert.InRange(Json(shuffledOutput).GetProperty("test_accuracy").GetDouble(), 0.25, 0.42);
    }

    [Fact]
    public void An_image_folder_of_the_digits_trains_a_cnn_and_predicts_every_image()
    {
        string root = Path.Combine(_dir, "digits");
        var digits = Datasets.Digits();
        for (int i = 0; i < digits.Count; i++)
        {
            using var image = new Image<L8>(8, 8);
            var x = digits.GetFeatures(i);
            for (int p = 0; p < 64; p++) image[p % 8, p / 8] = new L8((byte)Math.Round(x[p] / 16 * 255));
            string folder = Path.Combine(root, digits.GetLabel(i).ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(folder);
            image.SaveAsPng(Path.Combine(folder, $"{i:D4}.png"));
        }
        string predictions = Path.Combine(_dir, "predictions.csv");
        var (code, output, err) = Run("train", "--data", root, "--model", "cnn", "--grayscale", "--epochs", "15", "--json", "--predict", root, "--out", predictions);
        Assert.True(code == 0, err);
        Assert.True(Json(output).GetProperty("test_accuracy").GetDouble() >= 0.95, output);

        var lines = File.ReadAllLines(predictions);
        Assert.Equal("file,prediction,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9", lines[0]);
        Assert.Equal(digits.Count, lines.Length - 1);
        int correct = 0;
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(',');
            double sum = fields.Skip(2).Sum(f => double.Parse(f, CultureInfo.InvariantCulture));
            Assert.Equal(1.0, sum, 4);
            if (Path.GetFileName(Path.GetDirectoryName(fields[0])) == fields[1]) correct++;
        }
        Assert.True(correct >= 0.95 * digits.Count, $"{correct} of {digits.Count} predictions name the image's folder");
    }

    [Fact]
    public void Predictions_of_a_regression_come_in_the_targets_units()
    {
        // y = 1000 + 50 x exactly: a linear model's predictions on new rows must be close to it, in those units.
        var random = new Random(3);
        var text = new StringBuilder("x,y\n");
        for (int i = 0; i < 500; i++)
        {
            double x = random.NextDouble() * 4 - 2;
            text.Append(Inv($"{x:F5},{1000 + 50 * x:F5}\n"));
        }
        string csv = Write("line.csv", text.ToString());
        string newRows = Write("new.csv", "x\n-1\n0\n1.5\n");
        string predictions = Path.Combine(_dir, "line-predictions.csv");
        string model = Path.Combine(_dir, "line.safetensors");
        var (code, output, err) = Run("train", "--data", csv, "--target", "y", "--model", "linear", "--epochs", "40", "--predict", newRows, "--out", predictions, "--save", model);
        Assert.True(code == 0, err);
        Assert.Contains("wrote 3 predictions", output);

        // The saved model with its preprocessing predicts the same values in a later process.
        string again = Path.Combine(_dir, "again.csv");
        var (predictCode, predictOutput, predictErr) = Run("predict", "--model", model, "--data", newRows, "--out", again);
        Assert.True(predictCode == 0, predictErr);
        Assert.Equal("wrote 3 predictions to " + again + "\n", predictOutput);
        Assert.Equal(File.ReadAllText(predictions), File.ReadAllText(again));
        var lines = File.ReadAllLines(predictions);
        Assert.Equal("row,y", lines[0]);
        double[] expected = [950, 1000, 1075];
        for (int i = 0; i < 3; i++)
        {
            var fields = lines[i + 1].Split(',');
            Assert.Equal((i + 2).ToString(CultureInfo.InvariantCulture), fields[0]);
            Assert.Equal(expected[i], double.Parse(fields[1], CultureInfo.InvariantCulture), 0.5);
        }
    }

    [Fact]
    public void Predict_refuses_a_model_without_preprocessing_and_data_of_the_wrong_kind()
    {
        string model = Path.Combine(_dir, "digits.safetensors");
        Assert.Equal(0, Run("train", "--epochs", "1", "--save", model).Code);
        // A built-in dataset's model records its input standardization: 64 per-pixel means and stds for the digits.
        var metadata = Descent.Nn.Safetensors.Read(model).Metadata;
        Assert.Equal(64, metadata["descent.input_mean"].Split(',').Length);
        Assert.All(metadata["descent.input_std"].Split(','), v => Assert.True(double.Parse(v, CultureInfo.InvariantCulture) > 0));
        var (code, _, err) = Run("predict", "--model", model, "--data", Write("x.csv", "a\n1\n"));
        Assert.Equal(2, code);
        Assert.Contains("built-in digits", err);

        string table = Write("t.csv", "a,y\n1,0.5\n2,1.5\n3,2.5\n4,3.5\n5,4.5\n6,5.5\n7,6.5\n8,7.5\n9,8.5\n10,9.5\n");
        string tableModel = Path.Combine(_dir, "t.safetensors");
        Assert.Equal(0, Run("train", "--data", table, "--target", "y", "--epochs", "1", "--save", tableModel).Code);
        (code, _, err) = Run("predict", "--model", tableModel, "--data", _dir);
        Assert.Equal(2, code);
        Assert.Contains("no such file (this model reads the rows of a CSV file)", err);
        (code, _, err) = Run("train", "--epochs", "1", "--save", _dir);
        Assert.Equal(2, code);
        Assert.Contains("is a folder", err);
    }

    public static TheoryData<string, string, string> BadTables() => new()
    {
        { "text.csv", "a,b,y\n1,2,0\n3,x,1\n", "text.csv: row 3, column 'b': 'x' is not a number" },
        { "ragged.csv", "a,b,y\n1,2,0\n3,4\n", "ragged.csv: row 3" },
        { "empty.csv", "", "empty.csv" },
        { "target.csv", "a,b,c\n1,2,0\n3,4,1\n", "no column 'y'" },
    };

    [Theory]
    [MemberData(nameof(BadTables))]
    public void Bad_tables_end_in_one_line_naming_file_row_and_column(string name, string content, string expected)
    {
        string csv = Write(name, content);
        string predictions = Path.Combine(_dir, "never.csv");
        var (code, output, err) = Run("train", "--data", csv, "--target", "y", "--predict", csv, "--out", predictions);
        Assert.Equal(2, code);
        Assert.StartsWith("descent: error: ", err);
        Assert.Contains(expected, err);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.Equal("", output);
        Assert.False(File.Exists(predictions));
    }

    [Fact]
    public void Bad_image_folders_end_in_one_line_naming_the_folder_or_file()
    {
        string root = Path.Combine(_dir, "images");
        Directory.CreateDirectory(Path.Combine(root, "cat"));
        Directory.CreateDirectory(Path.Combine(root, "dog"));
        using (var image = new Image<L8>(4, 4)) image.SaveAsPng(Path.Combine(root, "cat", "a.png"));
        var (code, _, err) = Run("train", "--data", root, "--model", "cnn");
        Assert.Equal(2, code);
        Assert.Contains("dog: no images", err);

        File.WriteAllText(Path.Combine(root, "dog", "b.png"), "not a png");
        (code, _, err) = Run("train", "--data", root, "--model", "cnn");
        Assert.Equal(2, code);
        Assert.Contains("b.png: cannot decode the image", err);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Options_of_another_kind_of_data_are_refused()
    {
        string csv = Write("small.csv", "a,y\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n7,0\n8,1\n9,0\n10,1\n");
        (string[] Args, string Mention)[] cases =
        [
            (["train", "--data", csv], "--target COLUMN"),
            (["train", "--data", csv, "--target", "y", "--image-size", "8"], "--image-size"),
            (["train", "--data", csv, "--target", "y", "--model", "cnn"], "--model cnn needs images"),
            (["train", "--data", csv, "--target", "y", "--augment", "flip"], "--augment"),
            (["train", "--data", csv, "--target", "y", "--folds", "3"], "--folds"),
            (["train", "--data", csv, "--target", "y", "--test", csv, "--test-fraction", "0.3"], "--test and --test-fraction"),
            (["train", "--data", csv, "--target", "y", "--out", "x.csv"], "--out applies only with --predict"),
            (["train", "--target", "y"], "--target"),
            (["train", "--test-fraction", "0.3"], "--test-fraction"),
            (["train", "--data", _dir, "--target", "y"], "--target"),
            (["train", "--data", Path.Combine(_dir, "absent.csv"), "--target", "y"], "no such file or folder"),
            (["train", "--model", "linear", "--hidden", "32"], "--hidden does not apply to --model linear"),
        ];
        foreach (var (args, mention) in cases)
        {
            var (code, output, err) = Run(args);
            Assert.True(code == 2, $"{string.Join(' ', args)} exited {code}: {err}");
            Assert.Contains(mention, err);
            Assert.Equal("", output);
        }
    }
}
