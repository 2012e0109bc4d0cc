namespace Descent.Tuning;

/// <summary>Studies held in this process only (Optuna's <c>InMemoryStorage</c>): one lock guards everything.</summary>
internal sealed class InMemoryStudyStorage(TimeSpan? heartbeat) : IStudyStorage
{
    private sealed class StoredTrial(int number, int? gridCell, DateTimeOffset started)
    {
        public int Number = number;
        public int? GridCell = gridCell;
        public TrialState State = TrialState.Running;
        public double? Value;
        public DateTimeOffset Started = started, Beat = started;
        public DateTimeOffset? Finished;
        public string? Error;
        public readonly Dictionary<string, (Distribution Distribution, object Value)> Params = [];
        public readonly SortedDictionary<int, double> Intermediate = [];
        public readonly Dictionary<string, string> UserAttrs = [], SystemAttrs = [];
    }

    private sealed class StoredStudy(StudyDirection direction)
    {
        public readonly StudyDirection Direction = direction;
        public readonly List<StoredTrial> Trials = [];
        public readonly Dictionary<string, string> Attrs = [];
    }

    private readonly Dictionary<string, StoredStudy> studies = [];

    public TimeSpan? Heartbeat { get; } = heartbeat;

    public StudyDirection CreateStudy(string study, StudyDirection direction)
    {
        lock (studies)
        {
            if (!studies.TryGetValue(study, out var stored)) studies[study] = stored = new StoredStudy(direction);
            return stored.Direction;
        }
    }

    public StudyDirection? FindStudy(string study)
    {
        lock (studies) return studies.TryGetValue(study, out var stored) ? stored.Direction : null;
    }

    public IReadOnlyList<string> StudyNames()
    {
        lock (studies) return studies.Keys.Order().ToList();
    }

    public ClaimedTrial? CreateTrial(string study, int? limit, int gridCells)
    {
        lock (studies)
        {
            var s = Get(study);
            ExpireSilent(s);
            if (limit is int l && s.Trials.Count >= l) return null;
            int? cell = null;
            if (gridCells > 0)
            {
                var taken = s.Trials.Select(t => t.GridCell).OfType<int>().ToHashSet();
                var free = Enumerable.Range(0, gridCells).Where(c => !taken.Contains(c)).ToList();
                if (free.Count == 0) return null;
                cell = free[Random.Shared.Next(free.Count)];
            }
            s.Trials.Add(new StoredTrial(s.Trials.Count, cell, DateTimeOffset.UtcNow));
            return new ClaimedTrial(s.Trials.Count - 1, cell);
        }
    }

    public void SetTrialParam(string study, int number, string name, Distribution distribution, object value)
    {
        lock (studies) Trial(study, number).Params[name] = (distribution, value);
    }

    public void SetIntermediateValue(string study, int number, int step, double value)
    {
        lock (studies) Trial(study, number).Intermediate[step] = value;
    }

    public void SetTrialAttr(string study, int number, string key, string value, bool system)
    {
        lock (studies) (system ? Trial(study, number).SystemAttrs : Trial(study, number).UserAttrs)[key] = value;
    }

    public void FinishTrial(string study, int number, TrialState state, double? value, string? error)
    {
        lock (studies)
        {
            var t = Trial(study, number);
            if (t.State != TrialState.Running) return;
            (t.State, t.Value, t.Error, t.Finished) = (state, value, error, DateTimeOffset.UtcNow);
        }
    }

    public void Beat(string study, int number)
    {
        lock (studies) Trial(study, number).Beat = DateTimeOffset.UtcNow;
    }

    public FrozenTrial GetTrial(string study, int number)
    {
        lock (studies) return Freeze(Trial(study, number));
    }

    public IReadOnlyList<FrozenTrial> GetTrials(string study)
    {
        lock (studies)
        {
            var s = Get(study);
            ExpireSilent(s);
            return s.Trials.Select(Freeze).ToList();
        }
    }

    public IReadOnlyDictionary<string, string> GetStudyAttrs(string study)
    {
        lock (studies) return new Dictionary<string, string>(Get(study).Attrs);
    }

    public void SetStudyAttr(string study, string key, string value)
    {
        lock (studies) Get(study).Attrs[key] = value;
    }

    public void Dispose() { }

    private void ExpireSilent(StoredStudy s)
    {
        if (Heartbeat is not TimeSpan interval) return;
        var now = DateTimeOffset.UtcNow;
        foreach (var t in s.Trials)
            if (t.State == TrialState.Running && now - t.Beat > 2 * interval)
                (t.State, t.Error, t.Finished) = (TrialState.Failed, StudyStorage.StoppedBeating, now);
    }

    private StoredStudy Get(string study) =>
        studies.TryGetValue(study, out var s) ? s : throw new ArgumentException($"no study '{study}' in the storage");

    private StoredTrial Trial(string study, int number)
    {
        var s = Get(study);
        return number >= 0 && number < s.Trials.Count ? s.Trials[number] : throw new ArgumentException($"study '{study}' has no trial {number}");
    }

    private static FrozenTrial Freeze(StoredTrial t) =>
        new(t.Number, t.State,
            t.Params.ToDictionary(p => p.Key, p => p.Value.Value),
            t.Params.ToDictionary(p => p.Key, p => p.Value.Distribution),
            t.Value, new Dictionary<int, double>(t.Intermediate), t.Started, t.Finished, t.Error,
            new Dictionary<string, string>(t.UserAttrs))
        { SystemAttrs = new Dictionary<string, string>(t.SystemAttrs) };
}
