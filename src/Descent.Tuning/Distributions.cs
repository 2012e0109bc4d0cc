using System.Globalization;
using System.Text.Json;

namespace Descent.Tuning;

/// <summary>
/// The range a hyperparameter is drawn from, like Optuna's <c>BaseDistribution</c>. A trial's parameter value is a
/// <see cref="double"/> for <see cref="FloatDistribution"/>, an <see cref="int"/> for <see cref="IntDistribution"/> and a
/// <see cref="string"/> for <see cref="CategoricalDistribution"/>.
/// </summary>
public abstract record Distribution
{
    private protected Distribution() { }

    /// <summary>Whether <paramref name="value"/> is a value of this distribution (right type, inside the range).</summary>
    public abstract bool Contains(object value);

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="name"/> when the range is empty or invalid.</summary>
    internal abstract void Validate(string name);

    /// <summary>The value as a number the samplers work with: the value itself, or a category's index.</summary>
    internal abstract double ToInternal(object value);

    /// <summary>The inverse of <see cref="ToInternal"/>.</summary>
    internal abstract object FromInternal(double value);

    /// <summary>The value as text, round-tripping through <see cref="ParseValue"/>.</summary>
    internal string FormatValue(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        string s => s,
        _ => throw new ArgumentException($"a parameter value must be a double, an int or a string, not {value.GetType().Name}"),
    };

    /// <summary>A value stored by <see cref="FormatValue"/>, typed by this distribution.</summary>
    internal object ParseValue(string text) => this switch
    {
        FloatDistribution => double.Parse(text, CultureInfo.InvariantCulture),
        IntDistribution => int.Parse(text, CultureInfo.InvariantCulture),
        _ => text,
    };

    /// <summary>The JSON form of the search-space file: <c>{"type": "float", "low": 0.0001, "high": 0.1, "log": true}</c>.</summary>
    internal string ToJson()
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            switch (this)
            {
                case FloatDistribution f:
                    json.WriteString("type", "float");
                    json.WriteNumber("low", f.Low);
                    json.WriteNumber("high", f.High);
                    json.WriteBoolean("log", f.Log);
                    if (f.Step is double step) json.WriteNumber("step", step);
                    break;
                case IntDistribution i:
                    json.WriteString("type", "int");
                    json.WriteNumber("low", i.Low);
                    json.WriteNumber("high", i.High);
                    json.WriteBoolean("log", i.Log);
                    break;
                case CategoricalDistribution c:
                    json.WriteString("type", "categorical");
                    json.WriteStartArray("choices");
                    foreach (var choice in c.Choices) json.WriteStringValue(choice);
                    json.WriteEndArray();
                    break;
            }
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads the JSON form of <see cref="ToJson"/>; <paramref name="where"/> names the entry in messages.</summary>
    internal static Distribution FromJson(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new ArgumentException($"{where}: expected an object like {{\"type\": \"float\", \"low\": 0, \"high\": 1}}");
        string type = element.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        bool log = element.TryGetProperty("log", out var l) && l.ValueKind == JsonValueKind.True;
        double Number(string key)
        {
            if (!element.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Number)
                throw new ArgumentException($"{where}: \"{key}\" must be a number");
            return v.GetDouble();
        }
        int Integer(string key)
        {
            if (!element.TryGetProperty(key, out var v) || !v.TryGetInt32(out int i))
                throw new ArgumentException($"{where}: \"{key}\" must be an integer");
            return i;
        }
        Distribution distribution = type switch
        {
            "float" => new FloatDistribution(Number("low"), Number("high"), log,
                element.TryGetProperty("step", out var s) && s.ValueKind != JsonValueKind.Null ? Number("step") : null),
            "int" => new IntDistribution(Integer("low"), Integer("high"), log),
            "categorical" => new CategoricalDistribution(
                element.TryGetProperty("choices", out var c) && c.ValueKind == JsonValueKind.Array
                    ? c.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()).ToArray()
                    : throw new ArgumentException($"{where}: \"choices\" must be an array")),
            _ => throw new ArgumentException($"{where}: \"type\" must be \"float\", \"int\" or \"categorical\""),
        };
        distribution.Validate(where);
        return distribution;
    }
}

/// <summary>
/// A real-valued hyperparameter in [<paramref name="Low"/>, <paramref name="High"/>] (Optuna's <c>FloatDistribution</c>).
/// With <paramref name="Log"/> it is drawn uniformly in log space (learning rates, weight decay); <paramref name="Step"/>
/// restricts it to <c>Low + k·Step</c>, which is what lets a grid search enumerate it.
/// </summary>
public sealed record FloatDistribution(double Low, double High, bool Log = false, double? Step = null) : Distribution
{
    /// <inheritdoc/>
    public override bool Contains(object value) =>
        value is double d && d >= Low && d <= High
        && (Step is not double step || Math.Abs((d - Low) / step - Math.Round((d - Low) / step)) < 1e-6);

    internal override void Validate(string name)
    {
        if (!double.IsFinite(Low) || !double.IsFinite(High) || Low > High)
            throw new ArgumentException($"parameter '{name}': the range {Low}..{High} is empty (low must be at most high)");
        if (Log && Low <= 0)
            throw new ArgumentException($"parameter '{name}': a log range needs low > 0, got {Low}");
        if (Step is double step && (!(step > 0) || Log))
            throw new ArgumentException($"parameter '{name}': a step must be positive and cannot go with log, got {step}");
    }

    internal override double ToInternal(object value) => (double)value;

    internal override object FromInternal(double value) => value;

    /// <summary>The values a grid enumerates: every <c>Low + k·Step</c> up to <see cref="High"/>.</summary>
    internal double[] GridValues(string name)
    {
        if (Low == High) return [Low];
        if (Step is not double step)
            throw new ArgumentException($"parameter '{name}': a grid needs every float range to have a step (write {Low.ToString(CultureInfo.InvariantCulture)}..{High.ToString(CultureInfo.InvariantCulture)}:STEP) or to be a list a|b|c");
        int count = (int)Math.Floor((High - Low) / step + 1e-9) + 1;
        return Enumerable.Range(0, count).Select(k => Math.Min(Low + k * step, High)).ToArray();
    }
}

/// <summary>
/// An integer hyperparameter in [<paramref name="Low"/>, <paramref name="High"/>], both included (Optuna's
/// <c>IntDistribution</c>); with <paramref name="Log"/> small values are as likely as large ones (hidden units).
/// </summary>
public sealed record IntDistribution(int Low, int High, bool Log = false) : Distribution
{
    /// <inheritdoc/>
    public override bool Contains(object value) => value is int i && i >= Low && i <= High;

    internal override void Validate(string name)
    {
        if (Low > High)
            throw new ArgumentException($"parameter '{name}': the range {Low}..{High} is empty (low must be at most high)");
        if (Log && Low < 1)
            throw new ArgumentException($"parameter '{name}': a log range needs low >= 1, got {Low}");
    }

    internal override double ToInternal(object value) => (int)value;

    internal override object FromInternal(double value) => (int)Math.Clamp(Math.Round(value), Low, High);
}

/// <summary>
/// One of a list of choices, kept as strings (Optuna's <c>CategoricalDistribution</c>): <c>sgd|adam</c>, or hidden
/// sizes such as <c>"128,64"</c> that the objective parses itself. Two distributions are equal when their choices are.
/// </summary>
public sealed record CategoricalDistribution(IReadOnlyList<string> Choices) : Distribution
{
    /// <inheritdoc/>
    public override bool Contains(object value) => value is string s && Choices.Contains(s);

    /// <summary>Equal when the choices are the same, in the same order.</summary>
    public bool Equals(CategoricalDistribution? other) => other is not null && Choices.SequenceEqual(other.Choices);

    /// <inheritdoc/>
    public override int GetHashCode() => Choices.Aggregate(17, (hash, c) => hash * 31 + c.GetHashCode());

    internal override void Validate(string name)
    {
        if (Choices.Count == 0)
            throw new ArgumentException($"parameter '{name}': a categorical needs at least one choice");
        var repeated = Choices.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"parameter '{name}': the choice '{repeated.Key}' is listed twice");
    }

    internal override double ToInternal(object value)
    {
        for (int index = 0; index < Choices.Count; index++)
            if (Choices[index] == (string)value) return index;
        throw new ArgumentException($"'{value}' is not one of {string.Join("|", Choices)}");
    }

    internal override object FromInternal(double value) => Choices[(int)value];
}
