using System.CommandLine;
using System.Text.Json;
using Descent.Lab.Doctor;
using Descent.Training;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent summary [train's model and data options] [--json]</c>: the model train would build for that data, layer by
/// layer with output shapes, parameter counts and bytes, like torchinfo's <c>summary</c> or Keras's <c>model.summary()</c>.
/// </summary>
internal static class SummaryCommand
{
    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("summary", "Print the model train would build: each layer's output shape, parameters and bytes.");
        var data = new ModelDataOptionSet();
        var userData = new UserDataOptionSet();
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON on the last line of stdout" };
        foreach (var o in data.All.Concat(userData.All.Except([userData.Predict, userData.Out])).Append(json))
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            // Only the shapes of the data matter here; options about training or splitting would change nothing.
            parse.Refuse([data.Epochs, data.BatchSize, data.ValFraction, userData.TestFraction, userData.TestFile], "with summary (it builds the model and trains nothing)");
            var settings = data.Settings(parse, userData: true);
            var source = userData.Source(parse, data, settings);
            var loaded = source is null
                ? new TrainData(DataPreparation.Load(settings.Dataset, settings.DataDir, settings.Model == "cnn", settings.ValFraction, settings.Seed), settings.Dataset)
                : source.Load(settings.ValFraction, settings.Seed);
            var prepared = loaded.Data;
            if (settings.Model == "cnn" && prepared.Train.SampleShape.Count != 3)
                throw new UsageException($"--model cnn needs images [C, H, W]; this data has samples of {prepared.Train.SampleShape.Count} dimension(s)");
            var summary = ModelSummaries.Of(settings.BuildModel(prepared), prepared.Train.SampleShape);
            stdout.WriteLine($"{settings.Model} for {loaded.Name}");
            stdout.WriteLine(ModelSummaries.Format(summary));
            if (parse.GetValue(json)) stdout.WriteLine(JsonSerializer.Serialize(DoctorCommand.SummaryJson(summary)));
            return 0;
        });
        return cmd;
    }
}
