using System.Globalization;
using System.Reflection;
using System.Text;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// The opening lines of <c>train</c> and <c>compare</c> in words: the model, the data and the optimizer with the
/// options that differ from PyTorch's defaults, by PyTorch's names (<c>SGD (lr 0.1, momentum 0.9, nesterov)</c>).
/// </summary>
internal static class RunHeader
{
    /// <summary><c>MLP 64-256-128-10 (gelu, dropout 0.2, 27,146 parameters)</c>: the layer widths, then what differs from the defaults.</summary>
    public static string Model(TrainSettings settings, PreparedData data, long? parameters)
    {
        var shape = data.Train.SampleShape.ToArray();
        string name = settings.Model == "cnn"
            ? $"CNN for {string.Join("×", shape)} images"
            : $"{(settings.Model == "linear" ? "Linear" : "MLP")} {string.Join("-", new[] { shape.Aggregate(1, (a, b) => a * b) }.Concat(settings.Hidden).Append(data.Outputs))}";
        var details = new List<string>();
        if (!settings.Activation.Equals("relu", StringComparison.OrdinalIgnoreCase)) details.Add(settings.Activation.ToLowerInvariant());
        if (settings.BatchNorm) details.Add("batch norm");
        if (settings.Dropout > 0) details.Add(Inv($"dropout {settings.Dropout}"));
        if (!settings.Init.IsTorchDefault) details.Add($"init {settings.Init}");
        if (parameters is { } p) details.Add(Inv($"{p:N0} parameters"));
        return details.Count == 0 ? name : $"{name} ({string.Join(", ", details)})";
    }

    /// <summary><c>digits (1,293 train / 144 val / 360 test)</c>.</summary>
    public static string Data(string dataset, PreparedData data) =>
        Inv($"{dataset} ({data.Train.Count:N0} train / ") + (data.Validation is { } v ? Inv($"{v.Count:N0} val / ") : "") + Inv($"{data.Test.Count:N0} test)");

    /// <summary>
    /// <c>SGD (lr 0.1, momentum 0.9, nesterov)</c>: the learning rate, then every option of the first parameter
    /// group that differs from the optimizer's default; further groups list what differs from the first.
    /// </summary>
    public static string Optimizer(Optimizer optimizer)
    {
        var groups = optimizer.GroupOptions;
        var first = groups[0];
        var defaults = first.GetType().GetConstructor(Type.EmptyTypes)?.Invoke(null);
        var text = new StringBuilder($"{optimizer.GetType().Name} (");
        text.AppendJoin(", ", Differences(first, defaults).Prepend($"lr {Format(first.Lr)}")).Append(')');
        for (int g = 1; g < groups.Count; g++)
            if (Differences(groups[g], first).ToList() is { Count: > 0 } differences)
                text.Append($"; group {g + 1}: ").AppendJoin(", ", differences);
        return text.ToString();
    }

    /// <summary>The options of <paramref name="options"/> (other than lr) whose values differ from <paramref name="reference"/>'s.</summary>
    private static IEnumerable<string> Differences(OptimizerOptions options, object? reference)
    {
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.Name == nameof(OptimizerOptions.Lr) || property.GetIndexParameters().Length > 0) continue;
            object? value = property.GetValue(options), referenceValue = reference is null ? null : property.GetValue(reference);
            // A null default is one the optimizer derives from the others when it is built (LBFGS's max_eval).
            if (reference is not null && (referenceValue is null || Equals(value, referenceValue))) continue;
            string name = SnakeCase(property.Name);
            yield return value is true ? name : $"{name} {Format(value)}";
        }
    }

    /// <summary>A value as Python prints it: <c>1e-08</c>, <c>False</c>, <c>None</c>, <c>(0.9, 0.999)</c>.</summary>
    private static string Format(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        double d => d.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e"),
        ValueTuple<double, double> t => $"({Format(t.Item1)}, {Format(t.Item2)})",
        Enum e => SnakeCase(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary><c>WeightDecay</c> → <c>weight_decay</c>, PyTorch's spelling of the same option.</summary>
    private static string SnakeCase(string name)
    {
        var s = new StringBuilder();
        foreach (char c in name)
        {
            if (char.IsUpper(c) && s.Length > 0) s.Append('_');
            s.Append(char.ToLowerInvariant(c));
        }
        return s.ToString();
    }

    /// <summary><c>1 epoch</c>, <c>10 epochs</c>.</summary>
    public static string Count(int n, string noun) => Inv($"{n:N0} {noun}{(n == 1 ? "" : "s")}");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
