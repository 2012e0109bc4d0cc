using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// Prints one aligned row per epoch: train loss and metric, validation loss and metric, learning rate, seconds. The
/// metric is accuracy for classification, or the named <see cref="Trainer.Metrics"/> entry (e.g. <c>rmse</c>).
/// </summary>
internal sealed class EpochTable(TextWriter output, string metric = "accuracy") : ITrainerCallback
{
    private readonly string _short = metric == "accuracy" ? "acc" : metric;

    public void OnTrainBegin(Trainer trainer, int epochs, int batchesPerEpoch) =>
        output.WriteLine($"{"epoch",5}  {"train loss",10}  {"train " + _short,9}  {"val loss",9}  {"val " + _short,8}  {"lr",9}  {"seconds",7}");

    public void OnEpochEnd(EpochResult r) => output.WriteLine(FormattableString.Invariant(
        $"{r.Epoch,5}  {r.TrainLoss,10:F4}  {Opt(TrainValue(r)),9}  {Opt(r.ValLoss),9}  {Opt(ValValue(r)),8}  {r.Lr,9:G4}  {r.Seconds,7:F2}"));

    private double? TrainValue(EpochResult r) => metric == "accuracy" ? r.TrainAccuracy : r.TrainMetrics?.GetValueOrDefault(metric);

    private double? ValValue(EpochResult r) => metric == "accuracy" ? r.ValAccuracy : r.ValMetrics?.GetValueOrDefault(metric);

    private static string Opt(double? v) => v is null ? "-" : v.Value.ToString("F4", System.Globalization.CultureInfo.InvariantCulture);
}
