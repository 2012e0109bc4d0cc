namespace Descent.Tuning;

/// <summary>
/// A hyperparameter search, like Optuna's <c>Study</c>: a named set of trials in an <see cref="IStudyStorage"/>, a
/// direction, and this process's sampler and pruner. Several processes (or machines, with PostgreSQL) that create the
/// study of the same name in the same storage work on it together: trial numbers are claimed atomically, and
/// <see cref="Optimize"/> counts the trials of all of them.
/// </summary>
/// <example>
/// <code>
/// using var storage = StudyStorage.Open("sqlite:///tmp/search.db");
/// var study = Study.Create("mlp", storage, StudyDirection.Minimize, new TpeSampler(seed: 1), new MedianPruner());
/// study.Optimize(trial =>
/// {
///     double lr = trial.SuggestFloat("lr", 1e-4, 1e-1, log: true);
///     string optimizer = trial.SuggestCategorical("optimizer", ["sgd", "adam"]);
///     double loss = 0;
///     for (int epoch = 0; epoch &lt; 10; epoch++)
///     {
///         loss = TrainOneEpoch(lr, optimizer);
///         trial.Report(loss, epoch);
///         if (trial.ShouldPrune()) throw new TrialPrunedException();
///     }
///     return loss;
/// }, totalTrials: 50);
/// Console.WriteLine($"{study.BestValue} {string.Join(", ", study.BestParams)}");
/// </code>
/// </example>
public sealed class Study
{
    private Study(string name, IStudyStorage storage, StudyDirection direction, ISampler sampler, IPruner pruner)
    {
        Name = name;
        Storage = storage;
        Direction = direction;
        Sampler = sampler;
        Pruner = pruner;
    }

    /// <summary>
    /// Creates the study, or loads it when <paramref name="storage"/> holds one of that name (Optuna's
    /// <c>create_study(load_if_exists=True)</c>); then the direction must match. The sampler and pruner are this process's
    /// own: null means <see cref="TpeSampler"/> with no seed and <see cref="NopPruner"/>, Optuna's defaults.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty, or the stored study has the other direction.</exception>
    public static Study Create(string name, IStudyStorage storage, StudyDirection direction,
                               ISampler? sampler = null, IPruner? pruner = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a study needs a non-empty name");
        var stored = storage.CreateStudy(name, direction);
        if (stored != direction)
            throw new ArgumentException($"study '{name}' exists with direction {stored}, not {direction}");
        return new Study(name, storage, direction, sampler ?? new TpeSampler(), pruner ?? new NopPruner());
    }

    /// <summary>Loads an existing study with its stored direction (Optuna's <c>load_study</c>), e.g. to report on it.</summary>
    /// <exception cref="ArgumentException">No study has that name.</exception>
    public static Study Load(string name, IStudyStorage storage, ISampler? sampler = null, IPruner? pruner = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var direction = storage.FindStudy(name)
            ?? throw new ArgumentException($"no study '{name}' in the storage (studies: {string.Join(", ", storage.StudyNames())})");
        return new Study(name, storage, direction, sampler ?? new TpeSampler(), pruner ?? new NopPruner());
    }

    /// <summary>The study's name, unique in its storage.</summary>
    public string Name { get; }

    /// <summary>Whether smaller or larger values are better.</summary>
    public StudyDirection Direction { get; }

    /// <summary>Where the trials are kept.</summary>
    public IStudyStorage Storage { get; }

    /// <summary>Picks the parameter values of this process's trials.</summary>
    public ISampler Sampler { get; }

    /// <summary>Decides whether this process's trials stop early.</summary>
    public IPruner Pruner { get; }

    /// <summary>
    /// Starts a new running trial, numbered atomically across workers (Optuna's <c>ask</c>). Finish it with
    /// <see cref="Tell(Trial, double)"/> or <see cref="Tell(Trial, TrialState, string?)"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A grid sampler's every cell is taken.</exception>
    public Trial Ask() =>
        TryAsk(limit: null) ?? throw new InvalidOperationException($"study '{Name}': every cell of the grid has been tried");

    private Trial? TryAsk(int? limit)
    {
        var claim = Storage.CreateTrial(Name, limit, Sampler.GridCellCount);
        return claim is null ? null : new Trial(this, claim.Number, claim.GridCell);
    }

    /// <summary>Finishes <paramref name="trial"/> as complete with <paramref name="value"/>; NaN fails it instead, as in Optuna.</summary>
    public void Tell(Trial trial, double value)
    {
        if (double.IsNaN(value)) Tell(trial, TrialState.Failed, "the objective returned NaN");
        else Finish(trial, TrialState.Complete, value, null);
    }

    /// <summary>
    /// Finishes <paramref name="trial"/> as <see cref="TrialState.Pruned"/> (its value becomes the last intermediate value)
    /// or <see cref="TrialState.Failed"/> with <paramref name="error"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The state is not pruned or failed.</exception>
    public void Tell(Trial trial, TrialState state, string? error = null)
    {
        if (state is not (TrialState.Pruned or TrialState.Failed))
            throw new ArgumentException($"Tell with a state takes Pruned or Failed, not {state} (a complete trial needs its value)");
        double? value = state == TrialState.Pruned && trial.IntermediateValues.Count > 0
            ? trial.IntermediateValues[trial.IntermediateValues.Keys.Max()] : null;
        Finish(trial, state, value, state == TrialState.Failed ? error ?? "failed" : null);
    }

    private void Finish(Trial trial, TrialState state, double? value, string? error)
    {
        ArgumentNullException.ThrowIfNull(trial);
        if (trial.Study != this) throw new ArgumentException($"trial {trial.Number} belongs to study '{trial.Study.Name}', not '{Name}'");
        trial.Close();
        Storage.FinishTrial(Name, trial.Number, state, value, error);
    }

    /// <summary>
    /// Runs trials until the study holds <paramref name="totalTrials"/> trials that are finished or running, counted over
    /// all workers and earlier runs, so that rerunning a killed search does only the trials that are missing (unlike
    /// Optuna's <c>n_trials</c>, which counts this call's trials). A <see cref="TrialPrunedException"/> from the objective
    /// records the trial as pruned; any other exception records it as failed with the exception's message, and the
    /// search goes on. A grid search also stops when every cell is taken. Returns how many trials this call ran;
    /// <paramref name="onTrialEnd"/> sees each of them as stored. <paramref name="cancellation"/> stops the loop before
    /// the next trial; an objective that throws on it records its trial as failed.
    /// </summary>
    public int Optimize(Func<Trial, double> objective, int totalTrials,
                        Action<FrozenTrial>? onTrialEnd = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (totalTrials < 0) throw new ArgumentException($"totalTrials must be at least 0, got {totalTrials}");
        int ran = 0;
        while (!cancellation.IsCancellationRequested && TryAsk(totalTrials) is Trial trial)
        {
            try
            {
                Tell(trial, objective(trial));
            }
            catch (TrialPrunedException)
            {
                Tell(trial, TrialState.Pruned);
            }
            catch (Exception e)
            {
                Tell(trial, TrialState.Failed, OneLine(e));
            }
            ran++;
            onTrialEnd?.Invoke(Storage.GetTrial(Name, trial.Number));
        }
        return ran;
    }

    private static string OneLine(Exception e)
    {
        string message = e.Message.ReplaceLineEndings(" ").Trim();
        return message.Length == 0 ? e.GetType().Name : $"{e.GetType().Name}: {message}";
    }

    /// <summary>All trials, fresh from the storage, by number (Optuna's <c>trials</c>).</summary>
    public IReadOnlyList<FrozenTrial> Trials => Storage.GetTrials(Name);

    /// <summary>The best complete trial (the earliest among equals).</summary>
    /// <exception cref="InvalidOperationException">No trial is complete yet.</exception>
    public FrozenTrial BestTrial
    {
        get
        {
            FrozenTrial? best = null;
            foreach (var trial in Trials)
                if (trial.State == TrialState.Complete && (best is null || IsBetter(trial.Value!.Value, best.Value!.Value)))
                    best = trial;
            return best ?? throw new InvalidOperationException($"study '{Name}' has no complete trial yet");
        }
    }

    /// <summary>The value of <see cref="BestTrial"/>.</summary>
    public double BestValue => BestTrial.Value!.Value;

    /// <summary>The parameters of <see cref="BestTrial"/>.</summary>
    public IReadOnlyDictionary<string, object> BestParams => BestTrial.Params;

    /// <summary>The study's attributes (Optuna's <c>user_attrs</c>).</summary>
    public IReadOnlyDictionary<string, string> UserAttrs => Storage.GetStudyAttrs(Name);

    /// <summary>Sets a study attribute, e.g. the test result of the chosen configuration.</summary>
    public void SetUserAttr(string key, string value) => Storage.SetStudyAttr(Name, key, value);

    /// <summary>Whether <paramref name="a"/> is strictly better than <paramref name="b"/> in this study's direction.</summary>
    internal bool IsBetter(double a, double b) => Direction == StudyDirection.Minimize ? a < b : a > b;
}
