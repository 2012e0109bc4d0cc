// Overhead of `descent train --watch` (TrainingWatch): the epoch time of the default MLP with and without the watch,
// the two trainings interleaved epoch by epoch in one process, so that the load of a shared machine falls on both
// alike; prints the median epoch time of each and the overhead, and the time spent inside the watch's callbacks as
// a share of the watched epochs (the overhead itself, measured without a second run's noise). Usage (from the
// repository root):
//
//     nice -n -20 dotnet run -c Release bench/watch_overhead.cs -- [digits|fashion-mnist] [pairs]
//
#:project ../src/Descent.Lab/Descent.Lab.csproj
#:property PublishAot=false

using System.Diagnostics;
using System.Globalization;
using Descent.Lab.Doctor;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

string dataset = args.Length > 0 ? args[0] : "digits";
int pairs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var data = DataPreparation.Load(dataset, dataset == "digits" ? null : "/usr/share/datasets/fashion-mnist", asImages: false,
    valFraction: DataPreparation.DefaultValFraction(dataset), seed: 0);

var inside = new Timed(new TrainingWatch(f => Console.WriteLine($"finding: {f.Id}")));
Trainer Build(bool watch)
{
    Descent.Rng.ManualSeed(0);
    var model = Models.Mlp(data.Train.SampleSize, [256, 128], data.Outputs);
    var trainer = new Trainer(model, Optimizers.Create("sgd", model, new OptimizerSettings { Lr = 0.1 }));
    if (watch) trainer.Callbacks.Add(inside);
    return trainer;
}

var plain = Build(watch: false);
var watched = Build(watch: true);
var loader = data.TrainLoader(32, 0);
// The epoch's own time as the trainer measures it (training and validation; not the watch's set-up at the start of Fit).
double Epoch(Trainer trainer) => trainer.Fit(loader, data.Validation, epochs: 1)[0].Seconds;
// One epoch each to compile and warm up.
Epoch(plain);
Epoch(watched);
inside.Ticks = 0;
var times = (Plain: new List<double>(), Watch: new List<double>());
for (int i = 0; i < pairs; i++)
{
    // Alternating which goes first, so neither always follows the other.
    if (i % 2 == 0) { times.Plain.Add(Epoch(plain)); times.Watch.Add(Epoch(watched)); }
    else { times.Watch.Add(Epoch(watched)); times.Plain.Add(Epoch(plain)); }
    if (pairs <= 20) Console.WriteLine(FormattableString.Invariant($"pair {i + 1}: {times.Plain[^1]:F4} s plain, {times.Watch[^1]:F4} s with the watch"));
}
static double Median(List<double> v) { var s = v.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
double p = Median(times.Plain), w = Median(times.Watch);
double share = 100 * (double)inside.Ticks / Stopwatch.Frequency / times.Watch.Sum();
Console.WriteLine(FormattableString.Invariant($"{dataset} MLP 256-128, batch 32, {loader.Count} steps an epoch, {pairs} pairs: median epoch {p:F4} s plain, {w:F4} s with the watch, overhead {100 * (w - p) / p:+0.0;-0.0} %; inside the watch {share:F2} % of the watched epochs"));

/// <summary>Forwards to the watch, adding up the time spent in it.</summary>
sealed class Timed(ITrainerCallback watch) : ITrainerCallback
{
    public long Ticks;
    public void OnTrainBegin(Trainer trainer, int epochs, int batches) => watch.OnTrainBegin(trainer, epochs, batches);
    public void OnBatchEnd(int epoch, int batch, long step, float loss, float accuracy) { long t = Stopwatch.GetTimestamp(); watch.OnBatchEnd(epoch, batch, step, loss, accuracy); Ticks += Stopwatch.GetTimestamp() - t; }
    public void OnBeforeOptimizerStep(Trainer trainer) { long t = Stopwatch.GetTimestamp(); watch.OnBeforeOptimizerStep(trainer); Ticks += Stopwatch.GetTimestamp() - t; }
    public void OnOptimizerStep(long step) { long t = Stopwatch.GetTimestamp(); watch.OnOptimizerStep(step); Ticks += Stopwatch.GetTimestamp() - t; }
    public void OnTrainEnd(IReadOnlyList<EpochResult> history) => watch.OnTrainEnd(history);
}
