using System.Globalization;
using System.Text;
using Descent.Lab.Plots;
using Descent.Tuning;

namespace Descent.Lab.Tuning;

/// <summary>
/// What <c>descent tune --report</c> shows of a study: its trials ranked best first, how much each parameter matters
/// (<see cref="Importances"/>), and SVG plots — optimization history, parallel coordinates and a slice plot per
/// parameter, after Optuna's <c>optuna.visualization</c>.
/// </summary>
public static class StudyReport
{
    /// <summary>The complete trials, best first (by <paramref name="direction"/>), ties by trial number.</summary>
    public static IReadOnlyList<FrozenTrial> Ranked(IEnumerable<FrozenTrial> trials, StudyDirection direction)
    {
        var complete = trials.Where(t => t.State == TrialState.Complete && t.Value is { } v && double.IsFinite(v));
        return (direction == StudyDirection.Maximize
            ? complete.OrderByDescending(t => t.Value).ThenBy(t => t.Number)
            : complete.OrderBy(t => t.Value).ThenBy(t => t.Number)).ToList();
    }

    /// <summary>A parameter's value as text: floats with 4 significant digits, the rest as they are.</summary>
    public static string Format(object value) => value switch
    {
        double d => d.ToString("G4", CultureInfo.InvariantCulture),
        float f => f.ToString("G4", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The parameter names of the study in their first-seen order.</summary>
    public static IReadOnlyList<string> ParameterNames(IEnumerable<FrozenTrial> trials) =>
        trials.OrderBy(t => t.Number).SelectMany(t => t.Params.Keys).Distinct().ToList();

    /// <summary>
    /// The ranked table (at most <paramref name="top"/> rows): rank, trial number, value and every parameter, in
    /// aligned columns.
    /// </summary>
    public static string Table(IReadOnlyList<FrozenTrial> trials, StudyDirection direction, string valueName, int top = 20)
    {
        var names = ParameterNames(trials);
        List<string[]> rows = [["rank", "trial", valueName, .. names]];
        int rank = 1;
        foreach (var t in Ranked(trials, direction).Take(top))
            rows.Add([rank++.ToString(CultureInfo.InvariantCulture), t.Number.ToString(CultureInfo.InvariantCulture), t.Value!.Value.ToString("F4", CultureInfo.InvariantCulture),
                .. names.Select(n => t.Params.TryGetValue(n, out var v) ? Format(v) : "-")]);
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows) sb.AppendLine(string.Join("  ", r.Select((cell, c) => cell.PadLeft(widths[c]))).TrimEnd());
        return sb.ToString();
    }

    /// <summary>
    /// How much each parameter matters: the share of the variance of the complete trials' values that the parameter
    /// explains on its own (the correlation ratio η² = between-group / total sum of squares, grouping by the
    /// categorical value, or by quartile of a numeric parameter, in log space for a log one), normalized to sum to 1
    /// as Optuna's importances do. A first-order, main-effects-only cousin of fANOVA: interactions between
    /// parameters are not measured, and with few trials the shares are rough.
    /// </summary>
    /// <returns>Name → share, largest first; empty with fewer than 3 complete trials or values that do not vary.</returns>
    public static IReadOnlyList<KeyValuePair<string, double>> Importances(IReadOnlyList<FrozenTrial> trials)
    {
        var complete = trials.Where(t => t.State == TrialState.Complete && t.Value is { } v && double.IsFinite(v)).ToList();
        if (complete.Count < 3) return [];
        double mean = complete.Average(t => t.Value!.Value);
        double total = complete.Sum(t => Math.Pow(t.Value!.Value - mean, 2));
        if (!(total > 0)) return [];
        var shares = new Dictionary<string, double>();
        foreach (var name in ParameterNames(complete))
        {
            var with = complete.Where(t => t.Params.ContainsKey(name)).ToList();
            var groups = Groups(with, name);
            double between = groups.Sum(g => g.Count * Math.Pow(g.Average(t => t.Value!.Value) - mean, 2));
            shares[name] = between / total;
        }
        double sum = shares.Values.Sum();
        return shares.Select(kv => new KeyValuePair<string, double>(kv.Key, sum > 0 ? kv.Value / sum : 0))
            .OrderByDescending(kv => kv.Value).ToList();
    }

    /// <summary>The trials grouped by the parameter: by value when categorical, else into up to 4 equal-count bins by rank.</summary>
    private static List<List<FrozenTrial>> Groups(List<FrozenTrial> trials, string name)
    {
        if (trials.Count == 0) return [];
        if (trials[0].Params[name] is string) return trials.GroupBy(t => (string)t.Params[name]).Select(g => g.ToList()).ToList();
        var sorted = trials.OrderBy(t => Numeric(t.Params[name])).ToList();
        int distinct = sorted.Select(t => Numeric(t.Params[name])).Distinct().Count();
        int bins = Math.Min(4, distinct);
        // Equal values stay in one bin, so a parameter that barely varies cannot split the trials on noise.
        var groups = new List<List<FrozenTrial>>();
        for (int i = 0; i < sorted.Count; i++)
        {
            bool sameAsPrevious = i > 0 && Numeric(sorted[i].Params[name]) == Numeric(sorted[i - 1].Params[name]);
            if (groups.Count == 0 || (!sameAsPrevious && groups.Count < bins && i >= groups.Count * sorted.Count / (double)bins))
                groups.Add([]);
            groups[^1].Add(sorted[i]);
        }
        return groups;
    }

    private static double Numeric(object value) => Convert.ToDouble(value, CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes <c>history.svg</c>, <c>parallel-coordinates.svg</c> and <c>slice-NAME.svg</c> per parameter into
    /// <paramref name="folder"/> (created if missing) and returns their paths.
    /// </summary>
    public static IReadOnlyList<string> WritePlots(IReadOnlyList<FrozenTrial> trials, StudyDirection direction, string valueName, string folder)
    {
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        void Write(string file, string svg)
        {
            string path = Path.Combine(folder, file);
            File.WriteAllText(path, svg);
            written.Add(path);
        }
        var complete = trials.Where(t => t.State == TrialState.Complete && t.Value is { } v && double.IsFinite(v)).OrderBy(t => t.Number).ToList();
        Write("history.svg", HistorySvg(complete, direction, valueName));
        var names = ParameterNames(trials);
        Write("parallel-coordinates.svg", ParallelSvg(complete, names, direction, valueName));
        foreach (var name in names) Write($"slice-{SafeFileName(name)}.svg", SliceSvg(complete, name, valueName));
        return written;
    }

    private static string HistorySvg(List<FrozenTrial> complete, StudyDirection direction, string valueName)
    {
        var best = new List<(double, double)>();
        double? bestSoFar = null;
        foreach (var t in complete)
        {
            double v = t.Value!.Value;
            if (bestSoFar is not { } b || (direction == StudyDirection.Maximize ? v > b : v < b))
            {
                // A step: the best holds until the trial that improves on it.
                if (bestSoFar is { } previous) best.Add((t.Number, previous));
                bestSoFar = v;
            }
            best.Add((t.Number, bestSoFar.Value));
        }
        // A margin around the values, so that the points on the extremes are not cut by the frame.
        var points = new ScatterPoints("trial value", complete.Select(t => ((double)t.Number, t.Value!.Value)).ToList());
        if (complete.Count == 0) return ScatterFitChart.Svg("Optimization history", "trial", valueName, [points], []);
        double low = complete.Min(t => t.Value!.Value), high = complete.Max(t => t.Value!.Value), margin = 0.05 * Math.Max(high - low, 1e-12);
        return ScatterFitChart.Svg("Optimization history", "trial", valueName, [points], [new FitCurve("best so far", best)],
            yMin: low - margin, yMax: high + margin, xMin: complete[0].Number - 0.5, xMax: complete[^1].Number + 0.5);
    }

    private static string ParallelSvg(List<FrozenTrial> complete, IReadOnlyList<string> names, StudyDirection direction, string valueName)
    {
        var axes = new List<ParallelAxis>();
        var positions = complete.Select(_ => new List<double>()).ToList();
        foreach (var name in names)
        {
            var (axis, position) = Axis(complete, name);
            axes.Add(axis);
            for (int i = 0; i < complete.Count; i++) positions[i].Add(complete[i].Params.TryGetValue(name, out var v) ? position(v) : double.NaN);
        }
        var values = complete.Select(t => t.Value!.Value).ToList();
        double lo = values.Count > 0 ? values.Min() : 0, hi = values.Count > 0 ? values.Max() : 1;
        double Scale(double v) => hi > lo ? (v - lo) / (hi - lo) : 0.5;
        axes.Add(new ParallelAxis(valueName, Format(lo), Format(hi)));
        for (int i = 0; i < complete.Count; i++) positions[i].Add(Scale(values[i]));
        // The best trials are drawn darkest whichever way the study optimizes.
        var lines = complete.Select((t, i) => ((IReadOnlyList<double>)positions[i],
            direction == StudyDirection.Maximize ? Scale(values[i]) : 1 - Scale(values[i]))).ToList();
        return ParallelCoordinatesChart.Svg($"Parallel coordinates ({complete.Count} complete trials; darker is better)", axes, lines);
    }

    /// <summary>An axis for the parameter and where a value lies on it in [0, 1] (log scale for a log distribution).</summary>
    private static (ParallelAxis Axis, Func<object, double> Position) Axis(List<FrozenTrial> complete, string name)
    {
        var values = complete.Where(t => t.Params.ContainsKey(name)).Select(t => t.Params[name]).ToList();
        var distribution = complete.Select(t => t.Distributions.GetValueOrDefault(name)).FirstOrDefault(d => d is not null);
        if (distribution is CategoricalDistribution c || values.FirstOrDefault() is string)
        {
            var choices = distribution is CategoricalDistribution cd ? cd.Choices : values.Select(v => (string)v).Distinct().Order().ToList();
            return (new ParallelAxis(name, "", "", choices), v => choices.Count == 1 ? 0.5 : Math.Max(0, IndexOf(choices, (string)v)) / (double)(choices.Count - 1));
        }
        bool log = distribution is FloatDistribution { Log: true } or IntDistribution { Log: true };
        double Tr(object v) => log ? Math.Log10(Numeric(v)) : Numeric(v);
        double lo = distribution switch { FloatDistribution f => f.Low, IntDistribution i => i.Low, _ => values.Count > 0 ? values.Min(Numeric) : 0 };
        double hi = distribution switch { FloatDistribution f => f.High, IntDistribution i => i.High, _ => values.Count > 0 ? values.Max(Numeric) : 1 };
        double tLo = log ? Math.Log10(lo) : lo, tHi = log ? Math.Log10(hi) : hi;
        return (new ParallelAxis(log ? name + " (log)" : name, Format(lo), Format(hi)), v => tHi > tLo ? (Tr(v) - tLo) / (tHi - tLo) : 0.5);
    }

    private static int IndexOf(IReadOnlyList<string> choices, string value)
    {
        for (int i = 0; i < choices.Count; i++) if (choices[i] == value) return i;
        return -1;
    }

    private static string SliceSvg(List<FrozenTrial> complete, string name, string valueName)
    {
        var with = complete.Where(t => t.Params.ContainsKey(name)).ToList();
        var distribution = with.Select(t => t.Distributions.GetValueOrDefault(name)).FirstOrDefault(d => d is not null);
        if (distribution is CategoricalDistribution || with.FirstOrDefault()?.Params[name] is string)
        {
            // Categories on an index axis; the title says which index is which.
            var choices = distribution is CategoricalDistribution c ? c.Choices : with.Select(t => (string)t.Params[name]).Distinct().Order().ToList();
            string legend = string.Join(", ", choices.Select((c, i) => $"{i}={c}"));
            return ScatterFitChart.Svg($"Slice: {name} ({legend})", $"{name} (index)", valueName,
                [new ScatterPoints("trial", with.Select(t => ((double)IndexOf(choices, (string)t.Params[name]), t.Value!.Value)).ToList())], [],
                xMin: -0.5, xMax: choices.Count - 0.5);
        }
        bool log = distribution is FloatDistribution { Log: true } or IntDistribution { Log: true };
        return ScatterFitChart.Svg($"Slice: {name}", log ? $"log10 {name}" : name, valueName,
            [new ScatterPoints("trial", with.Select(t => (log ? Math.Log10(Numeric(t.Params[name])) : Numeric(t.Params[name]), t.Value!.Value)).ToList())], []);
    }

    private static string SafeFileName(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
}
