namespace Descent.Tuning;

/// <summary>
/// One evaluation of the objective, like Optuna's <c>Trial</c>: the objective asks it for parameter values
/// (<see cref="SuggestFloat"/>, <see cref="SuggestInt"/>, <see cref="SuggestCategorical"/>), reports intermediate values
/// per epoch with <see cref="Report"/> and asks <see cref="ShouldPrune"/> whether to stop early. While it runs against
/// a database, a background thread beats for it so that other workers can tell it is alive.
/// </summary>
public sealed class Trial
{
    private readonly Dictionary<string, object> parameters = [];
    private readonly Dictionary<string, Distribution> distributions = [];
    private readonly Dictionary<int, double> intermediateValues = [];
    private readonly Dictionary<string, string> systemAttrs = [];
    private readonly ManualResetEventSlim stopBeating = new();
    private IReadOnlyList<FrozenTrial>? history;
    private bool closed;

    internal Trial(Study study, int number, int? gridCell)
    {
        Study = study;
        Number = number;
        GridCell = gridCell;
        if (study.Storage.Heartbeat is TimeSpan interval)
        {
            // A thread of its own rather than a thread-pool timer: training that keeps the pool busy must not starve
            // the beats and get its trial declared dead.
            var beater = new Thread(() => { while (!stopBeating.Wait(interval)) Beat(); })
            {
                IsBackground = true,
                Name = $"trial {number} heartbeat",
            };
            beater.Start();
        }
    }

    /// <summary>The trial's number in its study.</summary>
    public int Number { get; }

    /// <summary>The study the trial belongs to.</summary>
    public Study Study { get; }

    /// <summary>The parameters suggested so far, by name.</summary>
    public IReadOnlyDictionary<string, object> Params => parameters;

    /// <summary>The intermediate values reported so far, step → value.</summary>
    public IReadOnlyDictionary<int, double> IntermediateValues => intermediateValues;

    /// <summary>The grid cell this trial claimed, for a <see cref="GridSampler"/>.</summary>
    internal int? GridCell { get; }

    /// <summary>The library's attributes on this trial (successive halving's rungs).</summary>
    internal IReadOnlyDictionary<string, string> SystemAttrs => systemAttrs;

    /// <summary>The study's complete and pruned trials when this trial first asked, what the samplers learn from.</summary>
    internal IReadOnlyList<FrozenTrial> History => history ??=
        Study.Trials.Where(t => t.State is TrialState.Complete or TrialState.Pruned).ToList();

    /// <summary>A float in [<paramref name="low"/>, <paramref name="high"/>], drawn in log space with <paramref name="log"/> (Optuna's <c>suggest_float</c>).</summary>
    public double SuggestFloat(string name, double low, double high, bool log = false) =>
        (double)Suggest(name, new FloatDistribution(low, high, log));

    /// <summary>An integer in [<paramref name="low"/>, <paramref name="high"/>], both included (Optuna's <c>suggest_int</c>).</summary>
    public int SuggestInt(string name, int low, int high, bool log = false) =>
        (int)Suggest(name, new IntDistribution(low, high, log));

    /// <summary>One of <paramref name="choices"/> (Optuna's <c>suggest_categorical</c>).</summary>
    public string SuggestCategorical(string name, IReadOnlyList<string> choices) =>
        (string)Suggest(name, new CategoricalDistribution(choices));

    /// <summary>
    /// A value of <paramref name="distribution"/>: a <see cref="double"/>, <see cref="int"/> or <see cref="string"/> by its
    /// kind. Asking again for the same name and distribution returns the same value, as in Optuna.
    /// </summary>
    /// <exception cref="ArgumentException">The range is invalid, or the name was suggested before with another distribution.</exception>
    public object Suggest(string name, Distribution distribution)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(distribution);
        ThrowIfClosed();
        distribution.Validate(name);
        if (distributions.TryGetValue(name, out var earlier))
            return earlier == distribution ? parameters[name]
                : throw new ArgumentException($"parameter '{name}' was suggested before as {earlier}, now as {distribution}");
        object value = Study.Sampler.Sample(this, name, distribution);
        if (!distribution.Contains(value))
            throw new InvalidOperationException($"the sampler gave {value} for '{name}', outside {distribution}");
        Study.Storage.SetTrialParam(Study.Name, Number, name, distribution, value);
        parameters[name] = value;
        distributions[name] = distribution;
        return value;
    }

    /// <summary>Reports the objective's value after <paramref name="step"/> (an epoch, say), for the pruner and the history (Optuna's <c>report</c>).</summary>
    public void Report(double value, int step)
    {
        if (step < 0) throw new ArgumentException($"step must be at least 0, got {step}");
        ThrowIfClosed();
        intermediateValues[step] = value;
        Study.Storage.SetIntermediateValue(Study.Name, Number, step, value);
    }

    /// <summary>Whether the study's pruner says to stop this trial now; if so, throw <see cref="TrialPrunedException"/> (Optuna's <c>should_prune</c>).</summary>
    public bool ShouldPrune()
    {
        ThrowIfClosed();
        return Study.Pruner.Prune(Study, this);
    }

    /// <summary>Sets an attribute of this trial, kept with it in the storage.</summary>
    public void SetUserAttr(string key, string value)
    {
        ThrowIfClosed();
        Study.Storage.SetTrialAttr(Study.Name, Number, key, value, system: false);
    }

    internal void SetSystemAttr(string key, string value)
    {
        systemAttrs[key] = value;
        Study.Storage.SetTrialAttr(Study.Name, Number, key, value, system: true);
    }

    /// <summary>Stops the heartbeat; the trial takes no more values.</summary>
    internal void Close()
    {
        ThrowIfClosed();
        closed = true;
        stopBeating.Set();
    }

    private void Beat()
    {
        // A missed beat is harmless (the next one follows), and the beating thread must not die of it.
        try { Study.Storage.Beat(Study.Name, Number); }
        catch (Exception) { }
    }

    private void ThrowIfClosed()
    {
        if (closed) throw new InvalidOperationException($"trial {Number} is finished");
    }
}
