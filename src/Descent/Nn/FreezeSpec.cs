using System.Globalization;

namespace Descent.Nn;

/// <summary>
/// Which layers to freeze, written on a command line: comma-separated layer indices or names (<c>0,2</c>,
/// <c>0.weight</c>) and <c>until:K</c>, every layer before index K (Python's <c>model[:K]</c>). Indices are a
/// <see cref="Sequential"/>'s, the first component of the state-dict names, so <c>0</c> is the first Linear of an
/// MLP and <c>2</c> the second (a ReLU sits at 1).
/// </summary>
public static class FreezeSpec
{
    /// <summary>
    /// The names to pass to <see cref="Module.Freeze(IEnumerable{string})"/>: the items as written, and for <c>until:K</c>
    /// the children before index K that have parameters.
    /// </summary>
    /// <exception cref="ArgumentException">An empty spec, or <c>until:</c> without an index in 1…the number of layers.</exception>
    public static IReadOnlyList<string> Parse(string spec, Module model)
    {
        var items = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0) throw new ArgumentException($"freeze spec '{spec}' names no layer (expected e.g. 0,2 or until:4)");
        var children = model.NamedChildren().ToList();
        var names = new List<string>();
        foreach (var item in items)
        {
            if (!item.StartsWith("until:", StringComparison.Ordinal))
            {
                names.Add(item);
                continue;
            }
            string count = item["until:".Length..];
            if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k < 1 || k > children.Count)
                throw new ArgumentException($"freeze spec item '{item}': until:K needs K in 1…{children.Count} (the model has {children.Count} layers)");
            names.AddRange(children.Take(k).Where(c => c.Module.Parameters().Count > 0).Select(c => c.Name));
        }
        if (names.Count == 0) throw new ArgumentException($"freeze spec '{spec}' selects no layer with parameters");
        return names.Distinct().ToList();
    }
}
