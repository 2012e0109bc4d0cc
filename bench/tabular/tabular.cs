#:project ../../src/Descent.IO/Descent.IO.csproj
#:property PublishAot=false
#:property Nullable=enable
#:property TieredPGO=false

// What reading the user's own table costs: writes a CSV of ROWS rows × 12 columns (11 numeric features with
// 6 significant digits, one integer target of 10 classes; ~100 MB at one million rows), then times
//   read     CsvTable.Read (CsvHelper parsing, typed columns),
//   prepare  UserData.Table end to end (read, task inference, stratified splits, encoding, standardization),
// and one training epoch of an MLP (11-256-128-10, SGD, batch 32) over the prepared training split against the
// same epoch over the same numbers handed over as a tensor dataset (InMemoryDataset built from raw arrays).
// Usage: dotnet run -c Release bench/tabular/tabular.cs -- [ROWS] [REPEATS]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Descent;
using Descent.Data;
using Descent.IO;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

int rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
int repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
string path = Path.Combine(Path.GetTempPath(), $"descent-bench-{rows}.csv");
if (!File.Exists(path))
{
    var random = new Random(0);
    using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
    writer.Write(string.Join(",", Enumerable.Range(0, 11).Select(i => $"f{i}")) + ",label\n");
    var x = new double[11];
    for (int r = 0; r < rows; r++)
    {
        double s = 0;
        for (int j = 0; j < 11; j++) { x[j] = random.NextDouble() * 200 - 100; s += x[j] * (j % 3 - 1); writer.Write(x[j].ToString("G6", CultureInfo.InvariantCulture)); writer.Write(','); }
        writer.Write(((int)Math.Abs(s) % 10).ToString(CultureInfo.InvariantCulture));
        writer.Write('\n');
    }
}
Console.WriteLine($"{path}: {rows:N0} rows × 12 columns, {new FileInfo(path).Length / 1e6:F1} MB; {Environment.ProcessorCount} cores");

var read = new List<double>();
var prepare = new List<double>();
PreparedTable? table = null;
for (int i = 0; i < repeats; i++)
{
    var clock = Stopwatch.StartNew();
    var t = CsvTable.Read(path);
    read.Add(clock.Elapsed.TotalSeconds);
    clock.Restart();
    table = UserData.Table(path, new TableOptions { Target = "label", ValFraction = 0 });
    prepare.Add(clock.Elapsed.TotalSeconds);
    GC.KeepAlive(t);
}
Console.WriteLine(FormattableString.Invariant($"read     median {Median(read):F2} s  (runs {string.Join(", ", read.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))})"));
Console.WriteLine(FormattableString.Invariant($"prepare  median {Median(prepare):F2} s  (runs {string.Join(", ", prepare.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))})"));

var tabular = (InMemoryDataset)table!.Data.Train;
var tensor = new InMemoryDataset((float[])tabular.Features.Clone(), (int[])tabular.Labels.Clone(), [tabular.SampleSize], tabular.NumClasses);
var epochs = new Dictionary<string, List<double>> { ["tabular"] = [], ["tensor"] = [] };
for (int i = 0; i < repeats; i++)
    foreach (var (name, data) in i % 2 == 0 ? new[] { ("tabular", tabular), ("tensor", tensor) } : [("tensor", tensor), ("tabular", tabular)])
    {
        Rng.ManualSeed(0);
        var model = Models.Mlp(data.SampleSize, [256, 128], data.NumClasses);
        var trainer = new Trainer(model, new SGD(model.Parameters(), lr: 0.01));
        var clock = Stopwatch.StartNew();
        trainer.Fit(new DataLoader(data, 32, shuffle: true, seed: 0), null, 1);
        epochs[name].Add(clock.Elapsed.TotalSeconds);
    }
double ratio = Median(epochs["tabular"]) / Median(epochs["tensor"]);
Console.WriteLine(FormattableString.Invariant($"epoch    tabular median {Median(epochs["tabular"]):F2} s, tensor median {Median(epochs["tensor"]):F2} s, ratio {ratio:F3} ({tabular.Count:N0} training rows)"));

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}
