using System.CommandLine;
using Descent.IO;
using Descent.Nn;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent predict --model FILE.safetensors --data FILE.csv|DIR [--out predictions.csv]</c>: rebuilds a model saved
/// by <c>train --save</c>, applies the preprocessing fitted with it, and writes one prediction per row or image.
/// </summary>
internal static class PredictCommand
{
    /// <summary>The metadata key under which <c>train --save</c> stores the fitted preprocessing as JSON.</summary>
    public const string PreprocessingKey = "descent.preprocessing";

    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("predict", "Predict a CSV file's rows or a folder's images with a model saved by train --save.");
        var model = new Option<string>("--model") { Description = "The model file written by train --save", Required = true };
        var data = new Option<string>("--data") { Description = "A CSV file with the feature columns (a table model) or a folder of images (an image model)", Required = true };
        var output = new Option<string>("--out") { Description = "The predictions CSV to write (replaced atomically)", DefaultValueFactory = _ => "predictions.csv" };
        cmd.Options.Add(model);
        cmd.Options.Add(data);
        cmd.Options.Add(output);
        cmd.SetAction(parse =>
        {
            string modelPath = parse.GetValue(model)!, input = parse.GetValue(data)!, outPath = parse.GetValue(output)!;
            if (!File.Exists(modelPath)) throw new UsageException($"--model {modelPath}: no such file");
            TrainCommand.CheckOutputFile(outPath, "--out");
            var file = ModelFile.Load(modelPath);
            if (!file.Metadata.TryGetValue(PreprocessingKey, out var json))
                throw new UsageException($"--model {modelPath} was trained on the built-in {file.Metadata.GetValueOrDefault("descent.dataset", "data")} and records no preprocessing for new files; predict reads models trained with --data FILE.csv or an image folder");
            bool table = json.Contains("\"kind\":\"table\"", StringComparison.Ordinal);
            if (table && !File.Exists(input)) throw new UsageException($"--data {input}: no such file (this model reads the rows of a CSV file)");
            if (!table && !Directory.Exists(input)) throw new UsageException($"--data {input}: no such folder (this model reads the images under a folder)");
            TablePreprocessing? tablePreprocessing;
            ImagePreprocessing? imagePreprocessing;
            try
            {
                tablePreprocessing = table ? TablePreprocessing.FromJson(json) : null;
                imagePreprocessing = table ? null : ImagePreprocessing.FromJson(json);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{modelPath}: {e.Message}", e);
            }
            int written = Predictions.Write(file.Model, tablePreprocessing, imagePreprocessing, input, outPath);
            stdout.WriteLine($"wrote {written} predictions to {outPath}");
            return 0;
        });
        return cmd;
    }
}
