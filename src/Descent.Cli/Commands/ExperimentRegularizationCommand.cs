using System.CommandLine;
using System.Globalization;
using Descent.Lab.Experiments;
using Descent.Training;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent experiment regularization</c>: polynomial ridge regression over degrees and a λ grid (under- and
/// overfitting, the generalization gap), then an MLP on a small training subset with no regularization, dropout,
/// an L2 penalty, augmentation and all three. Prints a table per part, writes SVG pictures under <c>--out</c> and,
/// with <c>--logdir</c>, TensorBoard runs.
/// </summary>
public static class ExperimentRegularizationCommand
{
    private const string DefaultOut = "experiments/regularization";
    private static readonly string[] Parts = ["both", "polynomial", "subset"];

    /// <summary>Builds the <c>regularization</c> subcommand; output goes to <paramref name="stdout"/>, bad input throws <see cref="UsageException"/> or <see cref="ArgumentException"/>.</summary>
    public static Command Create(TextWriter stdout)
    {
        var poly = new PolynomialExperimentOptions();
        var subset = new SubsetExperimentOptions();
        var cmd = new Command("regularization", "Under- and overfitting with polynomial ridge regression over λ, then dropout / L2 / augmentation on a small training subset.");
        var part = new Option<string>("--part") { Description = "Which part to run: " + string.Join("|", Parts), DefaultValueFactory = _ => "both" };
        var outDir = new Option<string>("--out") { Description = "Directory for the SVG pictures", DefaultValueFactory = _ => DefaultOut };
        var logdir = new Option<string?>("--logdir") { Description = "Write TensorBoard runs under this directory (polynomial/degree-D, subset/NAME)" };
        var seed = new Option<int>("--seed") { Description = "Seed of the samples, subset, initial weights, batch order, dropout and augmentation" };
        var degrees = new Option<string>("--degrees") { Description = "Polynomial degrees (comma-separated)", DefaultValueFactory = _ => string.Join(",", poly.Degrees) };
        var lambdas = new Option<string>("--lambdas") { Description = "L2 strengths λ ≥ 0 to sweep (comma-separated; objective MSE + λ/2‖w‖²)", DefaultValueFactory = _ => string.Join(",", poly.Lambdas.Select(l => l.ToString("G", CultureInfo.InvariantCulture))) };
        var points = new Option<int>("--points") { Description = "Noisy training points of the polynomial part", DefaultValueFactory = _ => poly.TrainSamples };
        var noise = new Option<double>("--noise") { Description = "Standard deviation of the noise on sin(2πx)", DefaultValueFactory = _ => poly.Noise };
        var dataset = new Option<string>("--dataset") { Description = "Dataset of the subset part: " + string.Join("|", DataPreparation.Names), DefaultValueFactory = _ => subset.Dataset };
        var dataDir = new Option<string?>("--data") { Description = "Directory with the Fashion-MNIST files" };
        var samples = new Option<int>("--samples") { Description = "Size of the small training subset", DefaultValueFactory = _ => subset.Samples };
        var validationSamples = new Option<int?>("--validation-samples") { Description = "Validation samples (default: the rest of digits, or 2000 of Fashion-MNIST's test set)" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs per subset run", DefaultValueFactory = _ => subset.Epochs };
        var batchSize = new Option<int>("--batch-size") { Description = "Mini-batch size", DefaultValueFactory = _ => subset.BatchSize };
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer sizes of the MLP (comma-separated)", DefaultValueFactory = _ => string.Join(",", subset.Hidden) };
        var lr = new Option<double>("--lr") { Description = "SGD learning rate", DefaultValueFactory = _ => subset.Lr };
        var dropout = new Option<double>("--dropout") { Description = "Dropout probability of the dropout runs", DefaultValueFactory = _ => subset.Dropout };
        var l2 = new Option<double>("--l2") { Description = "L2 penalty λ of the l2 runs (λ/2‖w‖², gradient λw)", DefaultValueFactory = _ => subset.L2 };
        var augment = new Option<string>("--augment") { Description = "Augmentation of the augment runs, e.g. translate:1,rotate:10", DefaultValueFactory = _ => subset.Augment };
        var regularizers = new Option<string>("--regularizers") { Description = "Subset runs (comma-separated): " + string.Join("|", SubsetExperimentOptions.RegularizerNames), DefaultValueFactory = _ => string.Join(",", subset.Regularizers) };
        foreach (var o in new Option[] { part, outDir, logdir, seed, degrees, lambdas, points, noise, dataset, dataDir, samples, validationSamples, epochs, batchSize, hidden, lr, dropout, l2, augment, regularizers })
            cmd.Options.Add(o);

        cmd.SetAction(parse =>
        {
            string which = parse.GetValue(part)!.Trim().ToLowerInvariant();
            if (!Parts.Contains(which)) throw new UsageException($"--part: unknown part '{parse.GetValue(part)}' (expected one of: {string.Join(", ", Parts)})");
            if (which == "polynomial")
                parse.Refuse([dataset, dataDir, samples, validationSamples, epochs, batchSize, hidden, lr, dropout, l2, augment, regularizers], "with --part polynomial (it sets the subset part)");
            if (which == "subset") parse.Refuse([degrees, lambdas, points, noise], "with --part subset (it sets the polynomial part)");
            ModelDataOptionSet.RefuseDataDir(parse, parse.GetValue(dataset)!, dataDir);
            var polyOptions = poly with
            {
                Degrees = ParseDegrees(parse.GetValue(degrees)!),
                Lambdas = ParseLambdas(parse.GetValue(lambdas)!),
                TrainSamples = parse.GetValue(points),
                Noise = parse.GetValue(noise),
                Seed = parse.GetValue(seed),
            };
            var subsetOptions = subset with
            {
                Dataset = parse.GetValue(dataset)!.Trim().ToLowerInvariant(),
                DataDir = parse.GetValue(dataDir),
                Samples = parse.GetValue(samples),
                ValidationSamples = parse.GetValue(validationSamples),
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                Hidden = TrainCommand.ParseIntList(parse.GetValue(hidden)!, "--hidden"),
                Lr = parse.GetValue(lr),
                Dropout = parse.GetValue(dropout),
                L2 = parse.GetValue(l2),
                Augment = parse.GetValue(augment)!,
                Regularizers = parse.GetValue(regularizers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToLowerInvariant()).ToList(),
                Seed = parse.GetValue(seed),
            };
            // Both parts' options are checked before either runs; only the limits that depend on the dataset's size
            // (--samples, --validation-samples) wait until it is loaded, after the polynomial part, which takes a moment.
            if (which != "subset") polyOptions.Validate();
            if (which != "polynomial") subsetOptions.Validate();
            string directory = OutputPaths.Directory(parse.GetValue(outDir)!, "--out");
            string? logDir = parse.GetValue(logdir);
            var pictures = new List<string>();
            if (which != "subset") pictures.AddRange(RunPolynomial(polyOptions, directory, logDir, stdout));
            if (which != "polynomial") pictures.AddRange(RunSubset(subsetOptions, directory, logDir, stdout));
            stdout.WriteLine($"pictures: {string.Join(", ", pictures)}");
            // Each part is an experiment of its own, with its own hparams: TensorBoard's HParams tab shows one at a time.
            if (logDir is not null)
                foreach (var shown in new[] { "polynomial", "subset" }.Where(p => which == "both" || which == p))
                    stdout.WriteLine($"tensorboard: tensorboard --logdir {Path.Combine(logDir, shown)}");
            return 0;
        });
        return cmd;
    }

    private static IReadOnlyList<string> RunPolynomial(PolynomialExperimentOptions options, string directory, string? logDir, TextWriter stdout)
    {
        var result = RegularizationExperiment.RunPolynomial(options);
        stdout.WriteLine(Inv($"Part 1: polynomial ridge regression. {options.TrainSamples} training / {options.ValidationSamples} validation samples of y = sin(2πx) + N(0, {options.Noise}²), x ~ U(0, 1)."));
        stdout.WriteLine("Exact fit (Householder QR, float64) in the Legendre basis; objective MSE + λ/2·‖w‖², bias not penalized. * = lowest validation MSE of its degree.");
        stdout.WriteLine($"{"degree",6}  {"λ",8}  {"train MSE",10}  {"val MSE",10}  {"gap",10}  {"‖w‖²",10}");
        foreach (int degree in result.Degrees)
        {
            var best = result.Best(degree);
            foreach (var r in result.OfDegree(degree))
                stdout.WriteLine(Inv($"{r.Degree,6}  {Lambda(r.Lambda),8}  {r.TrainMse,10:F4}  {Mse(r.ValidationMse),10}  {Mse(r.Gap),10}  {r.Fit.WeightNormSquared,10:G4}{(r == best ? " *" : "")}"));
        }
        foreach (var c in result.Checks)
            stdout.WriteLine(Inv($"autodiff check, degree {c.Degree} at λ = {Lambda(c.Lambda)}: L-BFGS on MseLoss + WeightPenalty.L2 reaches objective {c.DescentObjective:G6} (exact minimum {c.ExactObjective:G6}); largest curve difference {c.MaxCurveDifference:G2}"));
        if (logDir is not null) RegularizationExperiment.LogPolynomial(Path.Combine(logDir, "polynomial"), result);
        return RegularizationExperiment.WritePolynomialPictures(directory, result).Files;
    }

    private static IReadOnlyList<string> RunSubset(SubsetExperimentOptions options, string directory, string? logDir, TextWriter stdout)
    {
        stdout.WriteLine();
        var result = RegularizationExperiment.RunSubset(options,
            (name, count) => ProgressBar.ForConsole(count, name),
            logDir is null ? null : Path.Combine(logDir, "subset"));
        stdout.WriteLine($"Part 2: {result.Dataset}, {result.TrainSamples} training / {result.ValidationSamples} validation samples; {result.Model}.");
        stdout.WriteLine("After the last epoch, measured in eval mode on the clean training subset; gap = train − validation accuracy, loss gap = validation − train loss.");
        int width = Math.Max(11, result.Runs.Max(r => r.Description.Length));
        stdout.WriteLine($"{"run",-8}  {"adds".PadRight(width)}  {"train acc",9}  {"val acc",8}  {"gap",7}  {"train loss",10}  {"val loss",8}  {"loss gap",8}");
        foreach (var r in result.Runs)
        {
            var f = r.Final;
            stdout.WriteLine(Inv($"{r.Name,-8}  {r.Description.PadRight(width)}  {f.TrainAccuracy,9:F4}  {f.ValidationAccuracy,8:F4}  {f.Gap,7:F4}  {f.TrainLoss,10:F4}  {f.ValidationLoss,8:F4}  {f.LossGap,8:F4}"));
        }
        return RegularizationExperiment.WriteSubsetPictures(directory, result).Files;
    }

    private static IReadOnlyList<int> ParseDegrees(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var r = new List<int>();
        foreach (var p in parts)
        {
            if (!int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int d) || d < 0 || d > PolynomialRidge.MaxDegree)
                throw new UsageException($"--degrees expects integers 0..{PolynomialRidge.MaxDegree} separated by commas, got '{text}'");
            r.Add(d);
        }
        if (r.Count == 0) throw new UsageException("--degrees needs at least one degree");
        return r;
    }

    private static IReadOnlyList<double> ParseLambdas(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var r = new List<double>();
        foreach (var p in parts)
        {
            if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double l) || !(l >= 0) || double.IsInfinity(l))
                throw new UsageException($"--lambdas expects numbers ≥ 0 separated by commas, e.g. 0,1e-4,1e-2; got '{text}'");
            r.Add(l);
        }
        if (r.Count == 0) throw new UsageException("--lambdas needs at least one value");
        return r;
    }

    private static string Lambda(double l) => l == 0 ? "0" : l.ToString("0.#E+0", CultureInfo.InvariantCulture);

    /// <summary>Errors of a wild fit run to thousands; fixed decimals would make the column unreadable.</summary>
    private static string Mse(double v) => Math.Abs(v) < 1000 ? v.ToString("F4", CultureInfo.InvariantCulture) : v.ToString("0.###E+0", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
