namespace Descent.Tuning;

/// <summary>Whether the objective is to be made small (a loss) or large (an accuracy), like Optuna's <c>direction</c>.</summary>
public enum StudyDirection
{
    /// <summary>Smaller values are better (losses, errors).</summary>
    Minimize,

    /// <summary>Larger values are better (accuracies, R²).</summary>
    Maximize,
}

/// <summary>Where a trial stands, like Optuna's <c>TrialState</c> (without <c>WAITING</c>).</summary>
public enum TrialState
{
    /// <summary>A worker is evaluating it (and beating, for a database study).</summary>
    Running,

    /// <summary>Finished with a value.</summary>
    Complete,

    /// <summary>Stopped early by the pruner; its value, if any, is the last intermediate value reported.</summary>
    Pruned,

    /// <summary>The objective threw, returned NaN, or its worker stopped beating; <see cref="FrozenTrial.Error"/> says which.</summary>
    Failed,
}

/// <summary>
/// A snapshot of one trial as stored, like Optuna's <c>FrozenTrial</c>: parameters typed by their distributions
/// (<see cref="double"/>, <see cref="int"/> or <see cref="string"/>), the final value, and the intermediate values reported
/// per step.
/// </summary>
/// <param name="Number">The trial's number in its study: 0, 1, 2, … in the order trials were started, across all workers.</param>
/// <param name="State">Running, complete, pruned or failed.</param>
/// <param name="Params">Parameter values by name.</param>
/// <param name="Distributions">The distribution each parameter was drawn from.</param>
/// <param name="Value">The objective's value for a complete trial, the last intermediate value for a pruned one.</param>
/// <param name="IntermediateValues">Step → value, as reported with <see cref="Trial.Report"/>.</param>
/// <param name="Started">When the trial was started.</param>
/// <param name="Finished">When it finished; null while running.</param>
/// <param name="Error">For a failed trial, the one-line reason (the exception's message, or "worker stopped beating").</param>
/// <param name="UserAttrs">Attributes set with <see cref="Trial.SetUserAttr"/>.</param>
public sealed record FrozenTrial(
    int Number, TrialState State,
    IReadOnlyDictionary<string, object> Params,
    IReadOnlyDictionary<string, Distribution> Distributions,
    double? Value,
    IReadOnlyDictionary<int, double> IntermediateValues,
    DateTimeOffset Started, DateTimeOffset? Finished,
    string? Error,
    IReadOnlyDictionary<string, string> UserAttrs)
{
    /// <summary>Attributes the library's samplers and pruners keep on a trial (Optuna's <c>system_attrs</c>), e.g. the rungs a successive-halving trial passed.</summary>
    public IReadOnlyDictionary<string, string> SystemAttrs { get; init; } = new Dictionary<string, string>();

    /// <summary>The last step with an intermediate value, or null (Optuna's <c>last_step</c>).</summary>
    public int? LastStep => IntermediateValues.Count == 0 ? null : IntermediateValues.Keys.Max();
}

/// <summary>
/// Thrown by an objective to say that its trial should stop early, typically right after
/// <see cref="Trial.ShouldPrune"/> returned true (Optuna's <c>TrialPruned</c>). <see cref="Study.Optimize"/> records the trial as
/// <see cref="TrialState.Pruned"/>.
/// </summary>
public sealed class TrialPrunedException : Exception
{
    /// <summary>A pruned-trial signal.</summary>
    public TrialPrunedException() : base("the trial was pruned") { }

    /// <summary>A pruned-trial signal with a reason.</summary>
    public TrialPrunedException(string message) : base(message) { }

    /// <summary>A pruned-trial signal with a reason and a cause.</summary>
    public TrialPrunedException(string message, Exception inner) : base(message, inner) { }
}
