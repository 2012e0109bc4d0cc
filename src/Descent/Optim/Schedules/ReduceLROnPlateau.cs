namespace Descent.Optim.Schedules;

/// <summary>Whether <see cref="ReduceLROnPlateau"/> watches a quantity that should fall or rise (<c>mode</c>).</summary>
public enum PlateauMode
{
    /// <summary><c>'min'</c>: a loss; improvement means lower.</summary>
    Min,
    /// <summary><c>'max'</c>: an accuracy; improvement means higher.</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> measures a significant improvement (<c>threshold_mode</c>).</summary>
public enum ThresholdMode
{
    /// <summary><c>'rel'</c>: better than best·(1 ∓ threshold).</summary>
    Rel,
    /// <summary><c>'abs'</c>: better than best ∓ threshold.</summary>
    Abs,
}

/// <summary>
/// Reduces the lr when a metric has stopped improving, like <c>torch.optim.lr_scheduler.ReduceLROnPlateau</c>.
/// Call <see cref="Step(double)"/> with the metric (e.g. the validation loss) once per period.
/// </summary>
/// <remarks>
/// <para>
/// Per call: the metric is <em>better</em> when m &lt; best·(1 − threshold) (min, rel), m &lt; best − threshold
/// (min, abs), m &gt; best·(1 + threshold) (max, rel) or m &gt; best + threshold (max, abs); then best = m and the
/// count of bad periods restarts, else it grows. During a cooldown bad periods are not counted. When the count
/// exceeds <c>patience</c>, each group's lr becomes max(lr·factor, min_lr) — skipped for a group where that changes
/// the lr by no more than eps — and a cooldown of <c>cooldown</c> periods starts.
/// </para>
/// <para>
/// Defaults: mode min, factor = 0.1, patience = 10, threshold = 1e-4, threshold_mode rel, cooldown = 0, min_lr = 0,
/// eps = 1e-8. The constructor leaves the lr alone; <see cref="LRScheduler.BaseLrs"/> are the lrs at construction (a
/// SequentialLR-style restart, as in <see cref="WarmupSchedule"/>, goes back to them).
/// </para>
/// </remarks>
public sealed class ReduceLROnPlateau : LRScheduler
{
    private readonly double[] _minLrs;
    private double _best;
    private int _numBadEpochs, _cooldownCounter;

    /// <summary>Like <c>ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8)</c>.</summary>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10, double threshold = 1e-4,
        ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0, double eps = 1e-8)
        : this(optimizer, Enumerable.Repeat(minLr, GroupsOf(optimizer)).ToArray(), mode, factor, patience, threshold, thresholdMode, cooldown, eps) { }

    /// <summary>Like <c>ReduceLROnPlateau(optimizer, ..., min_lr=[min_lr0, min_lr1, ...])</c>: one lower bound per group.</summary>
    public ReduceLROnPlateau(Optimizer optimizer, IReadOnlyList<double> minLrs, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double eps = 1e-8)
        : base(optimizer, recordsInitialLr: false)
    {
        ArgumentNullException.ThrowIfNull(minLrs);
        if (factor >= 1.0) throw new ArgumentException("Factor should be < 1.0.");
        if (!(factor >= 0)) throw new ArgumentException($"ReduceLROnPlateau factor must be in [0, 1), but got {Py(factor)}");
        if (minLrs.Count != GroupCount) throw new ArgumentException($"expected {GroupCount} min_lrs, got {minLrs.Count}");
        foreach (double m in minLrs)
            if (!(m >= 0)) throw new ArgumentException($"ReduceLROnPlateau min_lr must be ≥ 0, but got {Py(m)}");
        if (patience < 0) throw new ArgumentException($"ReduceLROnPlateau patience must be an integer ≥ 0, but got {patience}");
        if (cooldown < 0) throw new ArgumentException($"ReduceLROnPlateau cooldown must be an integer ≥ 0, but got {cooldown}");
        if (!(threshold >= 0) || double.IsInfinity(threshold)) throw new ArgumentException($"ReduceLROnPlateau threshold must be a finite number ≥ 0, but got {Py(threshold)}");
        if (!(eps >= 0)) throw new ArgumentException($"ReduceLROnPlateau eps must be ≥ 0, but got {Py(eps)}");
        if (!Enum.IsDefined(mode)) throw new ArgumentException($"mode {mode} is unknown!");
        if (!Enum.IsDefined(thresholdMode)) throw new ArgumentException($"threshold mode {thresholdMode} is unknown!");
        _minLrs = minLrs.ToArray();
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        Eps = eps;
        LastEpoch = 0;
        Reset();
    }

    /// <summary>Whether the metric should fall or rise (<c>mode</c>).</summary>
    public PlateauMode Mode { get; }

    /// <summary>Multiplier of the lr at a reduction (<c>factor</c>).</summary>
    public double Factor { get; }

    /// <summary>Bad periods tolerated before a reduction (<c>patience</c>).</summary>
    public int Patience { get; }

    /// <summary>Minimum improvement that counts (<c>threshold</c>).</summary>
    public double Threshold { get; }

    /// <summary>Relative or absolute threshold (<c>threshold_mode</c>).</summary>
    public ThresholdMode ThresholdMode { get; }

    /// <summary>Periods after a reduction during which bad periods are not counted (<c>cooldown</c>).</summary>
    public int Cooldown { get; }

    /// <summary>Smallest lr change that is applied (<c>eps</c>).</summary>
    public double Eps { get; }

    /// <summary>Lower bound of each group's lr (<c>min_lrs</c>).</summary>
    public IReadOnlyList<double> MinLrs => _minLrs;

    /// <summary>The best metric so far (±∞ before the first step).</summary>
    public double Best => _best;

    /// <summary>Consecutive periods without improvement (<c>num_bad_epochs</c>).</summary>
    public int NumBadEpochs => _numBadEpochs;

    /// <summary>Remaining cooldown periods (<c>cooldown_counter</c>).</summary>
    public int CooldownCounter => _cooldownCounter;

    /// <inheritdoc />
    public override bool UsesMetric => true;

    /// <summary>Not available: this schedule needs the metric.</summary>
    public override void Step() =>
        throw new InvalidOperationException("ReduceLROnPlateau steps on a metric: call Step(metric)");

    /// <summary>Takes the period's metric and reduces the lr after a plateau, like <c>scheduler.step(metrics)</c>.</summary>
    public override void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric, _best))
        {
            _best = metric;
            _numBadEpochs = 0;
        }
        else _numBadEpochs++;

        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            _numBadEpochs = 0;
        }

        if (_numBadEpochs > Patience)
        {
            ReduceLr();
            _cooldownCounter = Cooldown;
            _numBadEpochs = 0;
        }
        SyncLastLrs();
    }

    private void ReduceLr()
    {
        var groups = Optimizer.GroupOptions;
        for (int g = 0; g < GroupCount; g++)
        {
            double oldLr = groups[g].Lr;
            double newLr = Math.Max(oldLr * Factor, _minLrs[g]);
            if (oldLr - newLr > Eps) groups[g].Lr = newLr;
        }
    }

    private bool IsBetter(double a, double best) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < best * (1.0 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > best * (Threshold + 1.0),
        _ => a > best + Threshold,
    };

    private void Reset()
    {
        _best = Mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
        _cooldownCounter = 0;
        _numBadEpochs = 0;
    }

    /// <summary>Back to the base lrs with fresh counters (a restart inside <see cref="WarmupSchedule"/>).</summary>
    internal override void Restart()
    {
        LastEpoch = 0;
        Reset();
        WriteLrs(BaseLrs);
    }

    /// <summary>Fresh counters, lrs untouched (the constructor does not touch them either).</summary>
    internal override void Reinitialize()
    {
        LastEpoch = 0;
        Reset();
        SyncLastLrs();
    }

    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, double> SaveFields() => new Dictionary<string, double>
    {
        ["best"] = _best,
        ["num_bad_epochs"] = _numBadEpochs,
        ["cooldown_counter"] = _cooldownCounter,
    };

    /// <inheritdoc />
    protected override void LoadFields(IReadOnlyDictionary<string, double> fields)
    {
        _best = fields["best"];
        _numBadEpochs = (int)fields["num_bad_epochs"];
        _cooldownCounter = (int)fields["cooldown_counter"];
    }
}
