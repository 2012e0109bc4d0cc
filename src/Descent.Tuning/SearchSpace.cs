using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Descent.Tuning;

/// <summary>
/// Named hyperparameter ranges, in the order given: the search space of <c>descent tune --space</c>, and the grid of a
/// <see cref="GridSampler"/>. Optuna defines the space by running the objective; this is the same space written down
/// ahead of time, and <see cref="Suggest"/> asks a trial for every parameter of it.
/// </summary>
public sealed partial class SearchSpace
{
    private const string Allowed = "allowed: a|b|c, lo..hi, lo..hi:step, log:lo..hi, int:lo..hi, int:log:lo..hi, or one fixed value";

    private SearchSpace(List<KeyValuePair<string, Distribution>> parameters) => Parameters = parameters;

    /// <summary>The parameters and their distributions, in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, Distribution>> Parameters { get; }

    /// <summary>
    /// Reads the text form: entries <c>name=range</c> separated by commas, e.g.
    /// <c>"lr=log:1e-4..1e-1, batch-size=32|64|128, hidden=128,64|256,128, dropout=0..0.5, layers=int:1..4"</c>.
    /// <c>a|b|c</c> is categorical (choices kept as strings, so <c>128,64</c> is one choice: a new entry starts only
    /// at a comma followed by <c>name=</c>); <c>lo..hi</c> a float, <c>lo..hi:step</c> a float on a step (what a grid
    /// needs), <c>log:lo..hi</c> a float drawn in log space, <c>int:lo..hi</c> and <c>int:log:lo..hi</c> integers, and a
    /// single value a categorical with one choice.
    /// </summary>
    /// <exception cref="ArgumentException">The text is not of this form; the message names the entry and what is allowed.</exception>
    public static SearchSpace Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec))
            throw new ArgumentException($"search space is empty; write entries like \"lr=log:1e-4..1e-1, optimizer=sgd|adam\" ({Allowed})");
        var parameters = new List<KeyValuePair<string, Distribution>>();
        foreach (string raw in EntryBoundary().Split(spec))
        {
            string entry = raw.Trim();
            int equals = entry.IndexOf('=');
            string name = equals > 0 ? entry[..equals].Trim() : "";
            if (!ParameterName().IsMatch(name))
                throw new ArgumentException($"search space entry '{entry}': expected name=range with a name of letters, digits, '-', '_' or '.' ({Allowed})");
            string range = entry[(equals + 1)..].Trim();
            Distribution distribution = ParseRange(entry, range);
            distribution.Validate(name);
            Add(parameters, name, distribution, $"search space entry '{entry}'");
        }
        return new SearchSpace(parameters);
    }

    /// <summary>
    /// Reads the JSON form: an object from parameter name to distribution, e.g.
    /// <c>{"lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": true}, "layers": {"type": "int", "low": 1, "high": 4},
    /// "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]}}</c>; a float may have a <c>"step"</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The file is missing, not JSON, or an entry is malformed; the message names the file and entry.</exception>
    public static SearchSpace FromJsonFile(string path)
    {
        if (!File.Exists(path)) throw new ArgumentException($"search space file '{path}' does not exist");
        JsonDocument document;
        try { document = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new ArgumentException($"search space file '{path}' is not JSON: {e.Message}"); }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.EnumerateObject().Any())
                throw new ArgumentException($"search space file '{path}': expected a non-empty object from parameter name to {{\"type\": ...}}");
            var parameters = new List<KeyValuePair<string, Distribution>>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                string where = $"search space file '{path}', parameter '{property.Name}'";
                Add(parameters, property.Name, Distribution.FromJson(property.Value, where), where);
            }
            return new SearchSpace(parameters);
        }
    }

    /// <summary>
    /// Asks <paramref name="trial"/> for every parameter of the space, in order, and returns the values by name
    /// (what an Optuna objective does with one <c>trial.suggest_*</c> call per parameter).
    /// </summary>
    public IReadOnlyDictionary<string, object> Suggest(Trial trial)
    {
        var values = new Dictionary<string, object>();
        foreach (var (name, distribution) in Parameters) values[name] = trial.Suggest(name, distribution);
        return values;
    }

    private static void Add(List<KeyValuePair<string, Distribution>> parameters, string name, Distribution distribution, string where)
    {
        if (parameters.Any(p => p.Key == name)) throw new ArgumentException($"{where}: the parameter '{name}' is given twice");
        parameters.Add(new(name, distribution));
    }

    private static Distribution ParseRange(string entry, string range)
    {
        string Bad(string why) => $"search space entry '{entry}': {why} ({Allowed})";
        if (range.Length == 0) throw new ArgumentException(Bad("the range is empty"));
        if (range.Contains('|'))
        {
            var choices = range.Split('|').Select(c => c.Trim()).ToArray();
            if (choices.Any(c => c.Length == 0)) throw new ArgumentException(Bad("a choice is empty"));
            return new CategoricalDistribution(choices);
        }
        if (range.StartsWith("int:", StringComparison.Ordinal))
        {
            string rest = range[4..];
            bool log = rest.StartsWith("log:", StringComparison.Ordinal);
            var (low, high) = Bounds(log ? rest[4..] : rest, Bad);
            if (!int.TryParse(low, NumberStyles.Integer, CultureInfo.InvariantCulture, out int lo)
                || !int.TryParse(high, NumberStyles.Integer, CultureInfo.InvariantCulture, out int hi))
                throw new ArgumentException(Bad($"'{low}' and '{high}' must be integers"));
            return new IntDistribution(lo, hi, log);
        }
        if (range.StartsWith("log:", StringComparison.Ordinal))
        {
            var (low, high) = Bounds(range[4..], Bad);
            return new FloatDistribution(Number(low, Bad), Number(high, Bad), Log: true);
        }
        if (range.Contains(".."))
        {
            int colon = range.IndexOf(':');
            var (low, high) = Bounds(colon < 0 ? range : range[..colon], Bad);
            double? step = colon < 0 ? null : Number(range[(colon + 1)..], Bad);
            return new FloatDistribution(Number(low, Bad), Number(high, Bad), Step: step);
        }
        if (range.Contains(':')) throw new ArgumentException(Bad($"'{range}' is not a range"));
        return new CategoricalDistribution([range]);
    }

    private static (string Low, string High) Bounds(string text, Func<string, string> bad)
    {
        int dots = text.IndexOf("..", StringComparison.Ordinal);
        if (dots < 0) throw new ArgumentException(bad($"'{text}' is not lo..hi"));
        return (text[..dots].Trim(), text[(dots + 2)..].Trim());
    }

    private static double Number(string text, Func<string, string> bad) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value)
            ? value : throw new ArgumentException(bad($"'{text}' is not a number"));

    [GeneratedRegex(@",\s*(?=[A-Za-z_][A-Za-z0-9_.\-]*\s*=)")]
    private static partial Regex EntryBoundary();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_.\-]*$")]
    private static partial Regex ParameterName();
}
