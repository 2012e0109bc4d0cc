namespace Descent.Tuning;

/// <summary>
/// Picks parameter values for a trial, like Optuna's <c>BaseSampler.sample_independent</c>: one parameter at a time,
/// seeing the study's finished trials.
/// </summary>
public interface ISampler
{
    /// <summary>
    /// For a sampler that enumerates a grid, its number of cells: each trial then claims a free cell atomically,
    /// so that workers never evaluate the same one. 0 (the default) for samplers that draw.
    /// </summary>
    int GridCellCount => 0;

    /// <summary>A value for parameter <paramref name="name"/> of <paramref name="trial"/> in <paramref name="distribution"/>.</summary>
    object Sample(Trial trial, string name, Distribution distribution);
}

/// <summary>Draws every value uniformly at random (in log space for log ranges), like Optuna's <c>RandomSampler</c>.</summary>
/// <param name="seed">Seeds the draws of this sampler; null draws a fresh seed.</param>
public sealed class RandomSampler(int? seed = null) : ISampler
{
    private readonly Random random = seed is int s ? new Random(s) : new Random();

    /// <inheritdoc/>
    public object Sample(Trial trial, string name, Distribution distribution)
    {
        lock (random) return Uniform(random, distribution);
    }

    /// <summary>A uniform draw from <paramref name="distribution"/>.</summary>
    internal static object Uniform(Random random, Distribution distribution)
    {
        switch (distribution)
        {
            case FloatDistribution { Step: double step } f:
                return Math.Min(f.Low + random.Next((int)Math.Floor((f.High - f.Low) / step + 1e-9) + 1) * step, f.High);
            case FloatDistribution f when f.Log:
                return Math.Clamp(Math.Exp(Math.Log(f.Low) + random.NextDouble() * (Math.Log(f.High) - Math.Log(f.Low))), f.Low, f.High);
            case FloatDistribution f:
                return Math.Clamp(f.Low + random.NextDouble() * (f.High - f.Low), f.Low, f.High);
            case IntDistribution i when i.Log:
                // Uniform in log space over [low − ½, high + ½], so that every integer has its share of the log range.
                double lo = Math.Log(i.Low - 0.5), hi = Math.Log(i.High + 0.5);
                return (int)Math.Clamp(Math.Round(Math.Exp(lo + random.NextDouble() * (hi - lo))), i.Low, i.High);
            case IntDistribution i:
                return (int)random.NextInt64(i.Low, (long)i.High + 1);
            case CategoricalDistribution c:
                return c.Choices[random.Next(c.Choices.Count)];
            default:
                throw new ArgumentException($"unknown distribution {distribution}");
        }
    }
}

/// <summary>
/// Tries every combination of a <see cref="SearchSpace"/>, like Optuna's <c>GridSampler</c>: each trial claims one free
/// cell of the grid, atomically across workers, so no combination is evaluated twice; the search stops when all are
/// taken. Categorical and integer ranges enumerate all their values; a float range needs a step
/// (<c>lo..hi:step</c>), or the constructor refuses it.
/// </summary>
public sealed class GridSampler : ISampler
{
    private readonly List<(string Name, object[] Values)> axes = [];

    /// <summary>A grid over every parameter of <paramref name="space"/>.</summary>
    /// <exception cref="ArgumentException">A float range has no step, or the grid has more than <see cref="int.MaxValue"/> cells.</exception>
    public GridSampler(SearchSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        long cells = 1;
        foreach (var (name, distribution) in space.Parameters)
        {
            object[] values = distribution switch
            {
                FloatDistribution f => f.GridValues(name).Cast<object>().ToArray(),
                IntDistribution i => Enumerable.Range(i.Low, i.High - i.Low + 1).Cast<object>().ToArray(),
                CategoricalDistribution c => c.Choices.Cast<object>().ToArray(),
                _ => throw new ArgumentException($"unknown distribution {distribution}"),
            };
            cells *= values.Length;
            if (cells > int.MaxValue) throw new ArgumentException($"the grid has more than {int.MaxValue} cells");
            axes.Add((name, values));
        }
        GridCellCount = (int)cells;
    }

    /// <summary>The number of combinations.</summary>
    public int GridCellCount { get; }

    /// <summary>The parameter values of <paramref name="cell"/>, the first parameter varying slowest.</summary>
    public IReadOnlyDictionary<string, object> Cell(int cell)
    {
        if (cell < 0 || cell >= GridCellCount) throw new ArgumentOutOfRangeException(nameof(cell), $"cell must be in [0, {GridCellCount})");
        var values = new Dictionary<string, object>();
        for (int a = axes.Count - 1; a >= 0; a--)
        {
            values[axes[a].Name] = axes[a].Values[cell % axes[a].Values.Length];
            cell /= axes[a].Values.Length;
        }
        return values;
    }

    /// <inheritdoc/>
    public object Sample(Trial trial, string name, Distribution distribution)
    {
        int cell = trial.GridCell ?? throw new InvalidOperationException($"trial {trial.Number} has no grid cell: its study's sampler is not this grid");
        if (!Cell(cell).TryGetValue(name, out var value))
            throw new ArgumentException($"parameter '{name}' is not in the grid's search space ({string.Join(", ", axes.Select(a => a.Name))})");
        return distribution.Contains(value) ? value
            : throw new ArgumentException($"parameter '{name}': the grid's value {value} is outside {distribution}");
    }
}
