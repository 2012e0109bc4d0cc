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
            parse.Refuse([data.Epochs, data.BatchSize, data.ValFraction, data.Seed, data.Init, userData.TestFraction, userData.TestFile], "with summary (it builds the model and trains nothing)");
            var settings = data.Settings(parse, userData: true);
            var source = userData.Source(parse, data, settings);
            var loaded = TrainData.Load(settings, source, asImages: settings.Model == "cnn");
            var prepared = loaded.Data;
            var summary = ModelSummaries.Of(settings.BuildModel(prepared), prepared.Train.SampleShape);
            stdout.WriteLine($"{settings.Model} for {loaded.Name}");
            stdout.WriteLine(ModelSummaries.Format(summary));
            if (parse.GetValue(json)) stdout.WriteLine(JsonSerializer.Serialize(DoctorCommand.SummaryJson(summary)));
            return 0;
        });
        return cmd;
    }
}
