using Descent.Training;

namespace Descent.Cli;

/// <summary>Prints one aligned row per epoch: train loss/accuracy, validation loss/accuracy, seconds.</summary>
internal sealed class EpochTable(TextWriter output) : ITrainerCallback
{
    public void OnTrainBegin(Trainer trainer, int epochs, int batchesPerEpoch) =>
        output.WriteLine($"{"epoch",5}  {"train loss",10}  {"train acc",9}  {"val loss",9}  {"val acc",8}  {"lr",9}  {"seconds",7}");

    public void OnEpochEnd(EpochResult r) => output.WriteLine(FormattableString.Invariant(
        $"{r.Epoch,5}  {r.TrainLoss,10:F4}  {r.TrainAccuracy,9:F4}  {Opt(r.ValLoss),9}  {Opt(r.ValAccuracy),8}  {r.Lr,9:G4}  {r.Seconds,7:F2}"));

    private static string Opt(double? v) => v is null ? "-" : v.Value.ToString("F4", System.Globalization.CultureInfo.InvariantCulture);
}
