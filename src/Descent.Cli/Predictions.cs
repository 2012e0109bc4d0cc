using System.Globalization;
using System.Text;
using Descent.Data;
using Descent.IO;
using Descent.Nn;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// Predicting new data with a trained model and the preprocessing fitted with it: every row of a CSV file, or every
/// image under a folder, becomes one row of a predictions CSV.
/// </summary>
internal static class Predictions
{
    /// <summary>
    /// Predicts <paramref name="input"/> (a CSV file with <paramref name="table"/>, a folder of images with
    /// <paramref name="images"/>) and writes <paramref name="output"/>: a key (<c>row</c>, the line in the file; or
    /// <c>file</c>), then the class and each class's probability, or the predicted values in the target's units.
    /// Written to a temporary name and renamed, so that a failure leaves nothing half-written. Returns the row count.
    /// </summary>
    public static int Write(Module model, TablePreprocessing? table, ImagePreprocessing? images, string input, string output)
    {
        Tensor inputs;
        IReadOnlyList<string> keys;
        string keyName;
        if (table is not null)
        {
            var rows = CsvTable.Read(input);
            inputs = table.Inputs(rows);
            keys = Enumerable.Range(2, rows.RowCount).Select(r => r.ToString(CultureInfo.InvariantCulture)).ToList();
            keyName = "row";
        }
        else
        {
            if (!Directory.Exists(input)) throw new DirectoryNotFoundException($"{input}: no such folder");
            keys = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                .Where(f => ImageFolder.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal).ToList();
            if (keys.Count == 0) throw new InvalidDataException($"{input}: no images ({string.Join(", ", ImageFolder.Extensions)}) under this folder");
            inputs = images!.Inputs(keys);
            keyName = "file";
        }
        var sampleShape = inputs.Shape[1..].ToArray();
        var outputs = Trainer.PredictOutputs(model, new InMemoryDataset(inputs.Data.ToArray(), new int[keys.Count], sampleShape, numClasses: 1));
        int width = outputs.Numel / Math.Max(keys.Count, 1);
        var classNames = table is null ? images!.ClassNames : table.Encoder.Task == TaskKind.Classification ? table.Encoder.ClassNames : null;
        if (classNames is not null && classNames.Count != width)
            throw new InvalidDataException($"the model has {width} outputs but the preprocessing names {classNames.Count} classes");
        var text = new StringBuilder();
        if (classNames is not null)
        {
            var probabilities = Functional.Softmax(outputs, 1).Data;
            int c = classNames.Count;
            text.AppendJoin(',', new[] { keyName, "prediction" }.Concat(classNames.Select(n => "p_" + n)).Select(Quote)).Append('\n');
            for (int i = 0; i < keys.Count; i++)
            {
                var row = probabilities.Slice(i * c, c);
                int best = 0;
                for (int j = 1; j < c; j++) if (row[j] > row[best]) best = j;
                text.Append(Quote(keys[i])).Append(',').Append(Quote(classNames[best]));
                for (int j = 0; j < c; j++) text.Append(',').Append(row[j].ToString("G6", CultureInfo.InvariantCulture));
                text.Append('\n');
            }
        }
        else
        {
            var values = outputs.Data;
            string name = table!.Encoder.TargetName;
            text.AppendJoin(',', new[] { keyName }.Concat(width == 1 ? [name] : Enumerable.Range(0, width).Select(j => $"{name}_{j}")).Select(Quote)).Append('\n');
            for (int i = 0; i < keys.Count; i++)
            {
                text.Append(Quote(keys[i]));
                for (int j = 0; j < width; j++)
                    text.Append(',').Append((values[i * width + j] * table.TargetStd + table.TargetMean).ToString("R", CultureInfo.InvariantCulture));
                text.Append('\n');
            }
        }
        string temporary = output + ".tmp";
        File.WriteAllText(temporary, text.ToString());
        File.Move(temporary, output, overwrite: true);
        return keys.Count;
    }

    /// <summary>A CSV field, quoted as RFC 4180 asks when it holds a comma, quote or line break.</summary>
    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}
