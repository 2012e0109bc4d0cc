using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Every hyperparameter the command line can set, by PyTorch's name. A value left null takes the
/// optimizer's own default (or, for <see cref="Lr"/>, the optimizer's conventional learning rate).
/// </summary>
public sealed record OptimizerSettings
{
    public double? Lr { get; init; }
    public double? Momentum { get; init; }
    public double Dampening { get; init; }
    public bool Nesterov { get; init; }
    public double? WeightDecay { get; init; }
    public (double Beta1, double Beta2)? Betas { get; init; }
    public double? Eps { get; init; }
    public double? Rho { get; init; }
    public double? Alpha { get; init; }
    public bool Centered { get; init; }
    public bool Amsgrad { get; init; }
    public double LrDecay { get; init; }
    public double InitialAccumulatorValue { get; init; }
    public bool Maximize { get; init; }
    /// <summary>Put biases and normalization parameters in a second group without weight decay.</summary>
    public bool NoDecayOnBiasAndNorm { get; init; }
}

/// <summary>
/// One parameter group before the optimizer's kind is chosen, like a <c>{"params": ..., "lr": ...}</c> entry of the
/// list PyTorch optimizers accept: its parameters, and a learning rate of its own or null for the optimizer's.
/// </summary>
/// <param name="Name">What the group is, for printing (<c>backbone</c>, <c>head</c>).</param>
/// <param name="Parameters">The group's parameters.</param>
/// <param name="Lr">The group's learning rate; null for the one the settings give.</param>
public sealed record ParamGroupSpec(string Name, IReadOnlyList<Parameter> Parameters, double? Lr = null);

/// <summary>
/// The optimizers by the names the CLI, <c>descent compare</c> and the playground use. "momentum" and
/// "nesterov" are SGD with momentum 0.9 (and Nesterov), as the lectures name them.
/// </summary>
public static class Optimizers
{
    /// <summary>Names accepted by <c>Create</c>.</summary>
    public static readonly string[] Names = ["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "nadam", "radam", "adamax", "lion", "lbfgs"];

    /// <summary>Builds the named optimizer over <paramref name="model"/>'s parameters (frozen ones are left out).</summary>
    public static Optimizer Create(string name, Module model, OptimizerSettings settings) =>
        Create(name, [new ParamGroupSpec("all", model.Parameters())], settings);

    /// <summary>
    /// Builds the named optimizer over several parameter groups, each with the settings' hyperparameters and its own
    /// learning rate where it has one — <c>optim.SGD([{"params": body, "lr": 1e-3}, {"params": head}], lr=0.1)</c>.
    /// </summary>
    public static Optimizer Create(string name, IReadOnlyList<ParamGroupSpec> groups, OptimizerSettings settings)
    {
        string n = Normalize(name);
        double lr = settings.Lr ?? ConventionalLr(n);
        if (n == "lbfgs" && groups.Count != 1) throw new ArgumentException($"lbfgs takes one parameter group, got {groups.Count}");
        return n switch
        {
            "sgd" => Sgd(groups, settings, lr, 0, settings.Nesterov),
            "momentum" => Sgd(groups, settings, lr, 0.9, settings.Nesterov),
            "nesterov" => Sgd(groups, settings, lr, 0.9, true),
            "adagrad" => new Adagrad(Groups(groups, Common(new AdagradOptions { LrDecay = settings.LrDecay, InitialAccumulatorValue = settings.InitialAccumulatorValue, Maximize = settings.Maximize }, settings, lr) with
            {
                Eps = settings.Eps ?? new AdagradOptions().Eps,
            }, settings.NoDecayOnBiasAndNorm)),
            "adadelta" => new Adadelta(Groups(groups, Common(new AdadeltaOptions { Maximize = settings.Maximize }, settings, lr) with
            {
                Rho = settings.Rho ?? new AdadeltaOptions().Rho,
                Eps = settings.Eps ?? new AdadeltaOptions().Eps,
            }, settings.NoDecayOnBiasAndNorm)),
            "rmsprop" => new RMSprop(Groups(groups, Common(new RMSpropOptions { Centered = settings.Centered, Maximize = settings.Maximize }, settings, lr) with
            {
                Alpha = settings.Alpha ?? new RMSpropOptions().Alpha,
                Eps = settings.Eps ?? new RMSpropOptions().Eps,
                Momentum = settings.Momentum ?? 0,
            }, settings.NoDecayOnBiasAndNorm)),
            "adam" => new Adam(Groups(groups, AdamCommon(new AdamOptions { Amsgrad = settings.Amsgrad, Maximize = settings.Maximize }, settings, lr), settings.NoDecayOnBiasAndNorm)),
            "adamw" => new AdamW(Groups(groups, AdamCommon(new AdamWOptions { Amsgrad = settings.Amsgrad, Maximize = settings.Maximize }, settings, lr), settings.NoDecayOnBiasAndNorm)),
            "nadam" => new NAdam(Groups(groups, AdamCommon(new NAdamOptions(), Unsupported(settings, n, maximize: true), lr), settings.NoDecayOnBiasAndNorm)),
            "radam" => new RAdam(Groups(groups, AdamCommon(new RAdamOptions(), Unsupported(settings, n, maximize: true), lr), settings.NoDecayOnBiasAndNorm)),
            "adamax" => new Adamax(Groups(groups, AdamCommon(new AdamaxOptions { Maximize = settings.Maximize }, settings, lr), settings.NoDecayOnBiasAndNorm)),
            "lion" => new Lion(Groups(groups, Common(new LionOptions(), Unsupported(settings, n, maximize: true), lr) with
            {
                Betas = settings.Betas ?? new LionOptions().Betas,
            }, settings.NoDecayOnBiasAndNorm)),
            "lbfgs" => new LBFGS([new ParamGroup<LBFGSOptions>(groups[0].Parameters, Common(new LBFGSOptions(), Unsupported(settings, n, maximize: true, decay: true), lr))]),
            _ => throw Unknown(name),
        };
    }

    /// <summary>Fills the options every optimizer has; weight decay keeps the optimizer's own default when not given.</summary>
    private static T Common<T>(T defaults, OptimizerSettings s, double lr) where T : OptimizerOptions =>
        defaults with { Lr = lr, WeightDecay = s.WeightDecay ?? defaults.WeightDecay };

    /// <summary><see cref="Common"/> plus <c>betas</c> and <c>eps</c>, each keeping the optimizer's default when not given.</summary>
    private static T AdamCommon<T>(T defaults, OptimizerSettings s, double lr) where T : AdamFamilyOptions =>
        Common(defaults, s, lr) with { Betas = s.Betas ?? defaults.Betas, Eps = s.Eps ?? defaults.Eps };

    /// <summary>Refuses settings the named optimizer does not have, rather than ignoring them silently.</summary>
    private static OptimizerSettings Unsupported(OptimizerSettings s, string name, bool maximize = false, bool decay = false)
    {
        if (maximize && s.Maximize) throw new ArgumentException($"{name} has no maximize option");
        if (decay && s.WeightDecay is > 0) throw new ArgumentException($"{name} has no weight_decay option");
        return s;
    }

    /// <summary>
    /// The learning rate each optimizer is conventionally run with when none is given: the values a
    /// textbook or the optimizer's paper starts from (SGD 0.1, momentum methods 0.01 with μ = 0.9,
    /// AdaGrad 0.01, AdaDelta 1.0, RMSProp 0.001, the Adam family 0.001).
    /// </summary>
    public static double ConventionalLr(string name) => Normalize(name) switch
    {
        "sgd" => 0.1,
        "momentum" or "nesterov" => 0.01,
        "adagrad" => 0.01,
        "adadelta" => 1.0,
        "rmsprop" => 0.001,
        "adam" or "adamw" or "radam" => 0.001,
        "nadam" or "adamax" => 0.002,
        "lion" => 1e-4,
        "lbfgs" => 1.0,
        var n => throw Unknown(n),
    };

    private static string Normalize(string name) => name.Trim().ToLowerInvariant();

    private static ArgumentException Unknown(string name) =>
        new($"unknown optimizer '{name}' (expected one of: {string.Join(", ", Names)})");

    private static IReadOnlyList<ParamGroup<T>> Groups<T>(IReadOnlyList<ParamGroupSpec> groups, T options, bool noDecayOnBiasAndNorm) where T : OptimizerOptions =>
        groups.SelectMany(g =>
        {
            var groupOptions = g.Lr is { } lr ? options with { Lr = lr } : options;
            return noDecayOnBiasAndNorm ? ParamGroups.NoDecayOnBiasAndNorm(g.Parameters, groupOptions) : [new ParamGroup<T>(g.Parameters, groupOptions)];
        }).ToList();

    private static SGD Sgd(IReadOnlyList<ParamGroupSpec> groups, OptimizerSettings s, double lr, double defaultMomentum, bool nesterov) =>
        new(Groups(groups, new SgdOptions
        {
            Lr = lr,
            Momentum = s.Momentum ?? defaultMomentum,
            Dampening = s.Dampening,
            Nesterov = nesterov,
            WeightDecay = s.WeightDecay ?? 0,
            Maximize = s.Maximize,
        }, s.NoDecayOnBiasAndNorm));
}
