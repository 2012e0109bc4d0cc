namespace Descent.Optim.Schedules;

/// <summary>
/// The knobs of every schedule in <see cref="Schedules"/>, with PyTorch's defaults; each schedule reads the ones it
/// has. Nullable values have no default for some schedule (the registry says which one needs it) or a default that
/// depends on the schedule.
/// </summary>
public sealed record ScheduleOptions
{
    /// <summary>step: period of the decay (<c>step_size</c>); required.</summary>
    public int? StepSize { get; init; }

    /// <summary>step, multistep: decay factor (default 0.1); exponential: decay per period (required); cyclic: exp_range base (default 1).</summary>
    public double? Gamma { get; init; }

    /// <summary>multistep: the periods where the lr is multiplied by γ (<c>milestones</c>); required.</summary>
    public IReadOnlyList<int>? Milestones { get; init; }

    /// <summary>cosine: half period (<c>T_max</c>); when null, the periods after the warm-up: TotalSteps − WarmupSteps.</summary>
    public int? TMax { get; init; }

    /// <summary>cosine, cosine-restarts: lowest lr (<c>eta_min</c>, default 0).</summary>
    public double EtaMin { get; init; }

    /// <summary>cosine-restarts: length of the first cycle (<c>T_0</c>); required.</summary>
    public int? T0 { get; init; }

    /// <summary>cosine-restarts: growth of the cycle length (<c>T_mult</c>, default 1).</summary>
    public int TMult { get; init; } = 1;

    /// <summary>linear: factor at period 0 (<c>start_factor</c>, default 1/3).</summary>
    public double StartFactor { get; init; } = 1.0 / 3;

    /// <summary>linear: factor from <see cref="TotalIters"/> on (<c>end_factor</c>, default 1).</summary>
    public double EndFactor { get; init; } = 1.0;

    /// <summary>linear, constant, polynomial: length of the change (<c>total_iters</c>, default 5).</summary>
    public int TotalIters { get; init; } = 5;

    /// <summary>polynomial: the exponent (<c>power</c>, default 1).</summary>
    public double Power { get; init; } = 1.0;

    /// <summary>constant: factor before <see cref="TotalIters"/> (default 1/3); plateau: reduction factor (default 0.1).</summary>
    public double? Factor { get; init; }

    /// <summary>inverse-time: κ in ε₀/(1 + κ·k/decay_steps) (<c>decay_rate</c>); required.</summary>
    public double? DecayRate { get; init; }

    /// <summary>inverse-time: periods per unit of decay (<c>decay_steps</c>, default 1).</summary>
    public int DecaySteps { get; init; } = 1;

    /// <summary>inverse-time: decay in whole units of <see cref="DecaySteps"/> (<c>staircase</c>, default false).</summary>
    public bool Staircase { get; init; }

    /// <summary>linear-decay: final lr as a fraction α of the base lr (default 0; the lectures suggest 0.01).</summary>
    public double FinalFactor { get; init; }

    /// <summary>
    /// Number of scheduler steps in the whole run, warm-up included. cosine (when <see cref="TMax"/> is null),
    /// linear-decay and onecycle span the steps after the warm-up: TotalSteps − WarmupSteps.
    /// </summary>
    public int? TotalSteps { get; init; }

    /// <summary>onecycle: number of epochs, with <see cref="StepsPerEpoch"/>, when <see cref="TotalSteps"/> is null (<c>epochs</c>).</summary>
    public int? Epochs { get; init; }

    /// <summary>onecycle: steps per epoch (<c>steps_per_epoch</c>).</summary>
    public int? StepsPerEpoch { get; init; }

    /// <summary>onecycle: peak lr (<c>max_lr</c>; default each group's current lr); cyclic: upper bound (required).</summary>
    public double? MaxLr { get; init; }

    /// <summary>cyclic: lower bound (<c>base_lr</c>; default each group's current lr).</summary>
    public double? BaseLr { get; init; }

    /// <summary>onecycle: fraction of the cycle spent raising the lr (<c>pct_start</c>, default 0.3).</summary>
    public double PctStart { get; init; } = 0.3;

    /// <summary>onecycle: "cos" or "linear" (<c>anneal_strategy</c>, default "cos").</summary>
    public string AnnealStrategy { get; init; } = "cos";

    /// <summary>onecycle, cyclic: cycle the momentum or β₁ inversely to the lr (<c>cycle_momentum</c>, default true).</summary>
    public bool CycleMomentum { get; init; } = true;

    /// <summary>onecycle: lowest momentum (default 0.85); cyclic: default 0.8 (<c>base_momentum</c>).</summary>
    public double? BaseMomentum { get; init; }

    /// <summary>onecycle: highest momentum (default 0.95); cyclic: default 0.9 (<c>max_momentum</c>).</summary>
    public double? MaxMomentum { get; init; }

    /// <summary>onecycle: initial lr = max_lr/div_factor (<c>div_factor</c>, default 25).</summary>
    public double DivFactor { get; init; } = 25;

    /// <summary>onecycle: final lr = initial lr/final_div_factor (<c>final_div_factor</c>, default 1e4).</summary>
    public double FinalDivFactor { get; init; } = 1e4;

    /// <summary>onecycle: use the paper's three phases (<c>three_phase</c>, default false).</summary>
    public bool ThreePhase { get; init; }

    /// <summary>cyclic: periods in the rising half (<c>step_size_up</c>, default 2000).</summary>
    public int StepSizeUp { get; init; } = 2000;

    /// <summary>cyclic: periods in the falling half (<c>step_size_down</c>, default = step_size_up).</summary>
    public int? StepSizeDown { get; init; }

    /// <summary>cyclic: "triangular", "triangular2" or "exp_range" (<c>mode</c>, default "triangular").</summary>
    public string CyclicMode { get; init; } = "triangular";

    /// <summary>plateau: "min" or "max" (<c>mode</c>, default "min").</summary>
    public string Mode { get; init; } = "min";

    /// <summary>plateau: bad periods tolerated (<c>patience</c>, default 10).</summary>
    public int Patience { get; init; } = 10;

    /// <summary>plateau: minimum improvement (<c>threshold</c>, default 1e-4).</summary>
    public double Threshold { get; init; } = 1e-4;

    /// <summary>plateau: "rel" or "abs" (<c>threshold_mode</c>, default "rel").</summary>
    public string ThresholdMode { get; init; } = "rel";

    /// <summary>plateau: periods without counting after a reduction (<c>cooldown</c>, default 0).</summary>
    public int Cooldown { get; init; }

    /// <summary>plateau: lower bound of the lr (<c>min_lr</c>, default 0).</summary>
    public double MinLr { get; init; }

    /// <summary>plateau: smallest applied change (<c>eps</c>, default 1e-8).</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>
    /// Linear warm-up in front of the schedule when &gt; 0 (see <see cref="WarmupSchedule"/>); default 0. For
    /// inverse-sqrt it is the schedule's own warm-up w instead (required, ≥ 1).
    /// </summary>
    public int WarmupSteps { get; init; }

    /// <summary>Fraction of the base lr at the first warm-up period (default 1/3, LinearLR's default start factor).</summary>
    public double WarmupStartFactor { get; init; } = 1.0 / 3;
}

/// <summary>The schedules by name, for the command line: <c>Schedules.Create("cosine", optimizer, options)</c>.</summary>
public static class Schedules
{
    /// <summary>The schedule names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["step", "multistep", "exponential", "inverse-time", "cosine", "cosine-restarts", "linear", "linear-decay",
         "inverse-sqrt", "onecycle", "cyclic", "polynomial", "constant", "plateau"];

    /// <summary>
    /// Builds the schedule <paramref name="name"/> on <paramref name="optimizer"/> (which it immediately sets to the lr
    /// of period 0), wrapped in a <see cref="WarmupSchedule"/> when <see cref="ScheduleOptions.WarmupSteps"/> &gt; 0.
    /// </summary>
    /// <remarks>
    /// step → <see cref="StepLR"/>, multistep → <see cref="MultiStepLR"/>, exponential → <see cref="ExponentialLR"/>,
    /// inverse-time → <see cref="InverseTimeDecay"/>, cosine → <see cref="CosineAnnealingLR"/>, cosine-restarts →
    /// <see cref="CosineAnnealingWarmRestarts"/>, linear → <see cref="LinearLR"/>, linear-decay →
    /// <see cref="LinearDecayToZero"/>, inverse-sqrt → <see cref="InverseSqrtLR"/> (its warm-up is built in, so it is
    /// not wrapped), onecycle → <see cref="OneCycleLR"/>, cyclic → <see cref="CyclicLR"/>, polynomial →
    /// <see cref="PolynomialLR"/>, constant → <see cref="ConstantLR"/>, plateau → <see cref="ReduceLROnPlateau"/>
    /// (step it with the metric: <see cref="LRScheduler.UsesMetric"/> is true). Invalid values throw
    /// <see cref="ArgumentException"/> with PyTorch's message where PyTorch has one.
    /// </remarks>
    public static LRScheduler Create(string name, Optimizer optimizer, ScheduleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(optimizer);
        var o = options ?? new ScheduleOptions();
        string key = name.Trim().ToLowerInvariant().Replace('_', '-');
        if (!Names.Contains(key)) throw new ArgumentException($"unknown schedule '{name}'; expected one of: {string.Join(", ", Names)}");
        if (o.WarmupSteps < 0) throw new ArgumentException($"WarmupSteps (warmup_steps) must be an integer ≥ 0, but got {o.WarmupSteps}");
        int warmup = key == "inverse-sqrt" ? 0 : o.WarmupSteps;

        LRScheduler schedule = key switch
        {
            "step" => new StepLR(optimizer, Required(o.StepSize, key, "StepSize (step_size), a positive integer"), o.Gamma ?? 0.1),
            "multistep" => new MultiStepLR(optimizer, Required(o.Milestones, key, "Milestones (milestones), a list of periods"), o.Gamma ?? 0.1),
            "exponential" => new ExponentialLR(optimizer, Required(o.Gamma, key, "Gamma (gamma), the decay per period")),
            "inverse-time" => new InverseTimeDecay(optimizer, Required(o.DecayRate, key, "DecayRate (decay_rate), a number ≥ 0"), o.DecaySteps, o.Staircase),
            "cosine" => new CosineAnnealingLR(optimizer, o.TMax ?? RunLength(o, key, "TMax (T_max) or TotalSteps"), o.EtaMin),
            "cosine-restarts" => new CosineAnnealingWarmRestarts(optimizer, Required(o.T0, key, "T0 (T_0), a positive integer"), o.TMult, o.EtaMin),
            "linear" => new LinearLR(optimizer, o.StartFactor, o.EndFactor, o.TotalIters),
            "linear-decay" => new LinearDecayToZero(optimizer, RunLength(o, key, "TotalSteps"), o.FinalFactor),
            "inverse-sqrt" => new InverseSqrtLR(optimizer, o.WarmupSteps >= 1 ? o.WarmupSteps
                : throw new ArgumentException($"the inverse-sqrt schedule needs WarmupSteps (warmup_steps) ≥ 1, its built-in warm-up, but got {o.WarmupSteps}")),
            "onecycle" => CreateOneCycle(optimizer, o),
            "cyclic" => new CyclicLR(optimizer, o.BaseLr is { } b ? Same(optimizer, b) : Lrs(optimizer),
                Same(optimizer, Required(o.MaxLr, key, "MaxLr (max_lr), the upper lr bound")), o.StepSizeUp, o.StepSizeDown,
                ParseCyclicMode(o.CyclicMode), o.Gamma ?? 1.0, o.CycleMomentum, o.BaseMomentum ?? 0.8, o.MaxMomentum ?? 0.9),
            "polynomial" => new PolynomialLR(optimizer, o.TotalIters, o.Power),
            "constant" => new ConstantLR(optimizer, o.Factor ?? 1.0 / 3, o.TotalIters),
            _ => new ReduceLROnPlateau(optimizer, ParsePlateauMode(o.Mode), o.Factor ?? 0.1, o.Patience, o.Threshold,
                ParseThresholdMode(o.ThresholdMode), o.Cooldown, o.MinLr, o.Eps),
        };
        return warmup > 0 ? new WarmupSchedule(optimizer, warmup, schedule, o.WarmupStartFactor) : schedule;
    }

    private static LRScheduler CreateOneCycle(Optimizer optimizer, ScheduleOptions o)
    {
        var maxLr = o.MaxLr is { } m ? Same(optimizer, m) : Lrs(optimizer);
        int? totalSteps = o.TotalSteps is not null ? RunLength(o, "onecycle", "TotalSteps")
            : o.WarmupSteps > 0 && o.Epochs is { } e && o.StepsPerEpoch is { } s ? e * s - o.WarmupSteps
            : null;
        return new OneCycleLR(optimizer, maxLr, totalSteps, o.Epochs, o.StepsPerEpoch, o.PctStart, ParseAnnealStrategy(o.AnnealStrategy),
            o.CycleMomentum, o.BaseMomentum ?? 0.85, o.MaxMomentum ?? 0.95, o.DivFactor, o.FinalDivFactor, o.ThreePhase);
    }

    /// <summary>The periods after the warm-up, TotalSteps − WarmupSteps.</summary>
    private static int RunLength(ScheduleOptions o, string key, string what)
    {
        int total = Required(o.TotalSteps, key, $"{what}, a positive integer");
        int span = total - o.WarmupSteps;
        if (span < 1)
            throw new ArgumentException($"the {key} schedule runs for TotalSteps − WarmupSteps = {total} − {o.WarmupSteps} periods, which must be at least 1");
        return span;
    }

    private static T Required<T>(T? value, string key, string what) where T : struct =>
        value ?? throw new ArgumentException($"the {key} schedule needs {what}");

    private static T Required<T>(T? value, string key, string what) where T : class =>
        value ?? throw new ArgumentException($"the {key} schedule needs {what}");

    private static double[] Lrs(Optimizer optimizer) => optimizer.GroupOptions.Select(g => g.Lr).ToArray();

    private static double[] Same(Optimizer optimizer, double value) => Enumerable.Repeat(value, optimizer.GroupOptions.Count).ToArray();

    private static AnnealStrategy ParseAnnealStrategy(string value) => value switch
    {
        "cos" => AnnealStrategy.Cos,
        "linear" => AnnealStrategy.Linear,
        // PyTorch's wording, typo included, so messages match torch's.
        _ => throw new ArgumentException($"anneal_strategy must by one of 'cos' or 'linear', instead got {value}"),
    };

    private static CyclicMode ParseCyclicMode(string value) => value switch
    {
        "triangular" => CyclicMode.Triangular,
        "triangular2" => CyclicMode.Triangular2,
        "exp_range" or "exp-range" => CyclicMode.ExpRange,
        _ => throw new ArgumentException("mode is invalid and scale_fn is None"),
    };

    private static PlateauMode ParsePlateauMode(string value) => value switch
    {
        "min" => PlateauMode.Min,
        "max" => PlateauMode.Max,
        _ => throw new ArgumentException($"mode {value} is unknown!"),
    };

    private static ThresholdMode ParseThresholdMode(string value) => value switch
    {
        "rel" => ThresholdMode.Rel,
        "abs" => ThresholdMode.Abs,
        _ => throw new ArgumentException($"threshold mode {value} is unknown!"),
    };
}
