using System.CommandLine;
using Descent.Optim;
using Descent.Optim.Schedules;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// <c>--schedule NAME</c> and its knobs, each under the kebab-case of PyTorch's argument name
/// (<c>--step-size</c>, <c>--gamma</c>, <c>--milestones</c>, <c>--t-max</c>, <c>--warmup-steps</c>, …).
/// </summary>
internal sealed class ScheduleOptionSet
{
    public readonly Option<string?> Schedule = new("--schedule") { Description = "Learning-rate schedule: " + string.Join("|", Schedules.Names) };
    public readonly Option<string> Every = new("--schedule-every") { Description = "Advance the schedule every optimizer step or every epoch", DefaultValueFactory = _ => "epoch" };
    public readonly Option<int?> StepSize = new("--step-size") { Description = "StepLR: period of the decay" };
    public readonly Option<double?> Gamma = new("--gamma") { Description = "Decay factor (step, multistep, exponential, cyclic exp_range)" };
    public readonly Option<string?> Milestones = new("--milestones") { Description = "MultiStepLR: comma-separated periods" };
    public readonly Option<int?> TMax = new("--t-max") { Description = "Cosine annealing: half period (default: the whole run)" };
    public readonly Option<double> EtaMin = new("--eta-min") { Description = "Cosine annealing: minimum lr" };
    public readonly Option<int?> T0 = new("--t0") { Description = "Warm restarts: first period" };
    public readonly Option<int> TMult = new("--t-mult") { Description = "Warm restarts: period multiplier", DefaultValueFactory = _ => 1 };
    public readonly Option<double> StartFactor = new("--start-factor") { Description = "LinearLR: start factor", DefaultValueFactory = _ => 1.0 / 3 };
    public readonly Option<double> EndFactor = new("--end-factor") { Description = "LinearLR: end factor", DefaultValueFactory = _ => 1.0 };
    public readonly Option<int> TotalIters = new("--total-iters") { Description = "LinearLR/ConstantLR/PolynomialLR length", DefaultValueFactory = _ => 5 };
    public readonly Option<double> Power = new("--power") { Description = "PolynomialLR power", DefaultValueFactory = _ => 1.0 };
    public readonly Option<double?> Factor = new("--factor") { Description = "ConstantLR factor / ReduceLROnPlateau factor" };
    public readonly Option<double?> DecayRate = new("--decay-rate") { Description = "Inverse-time decay k in lr0/(1 + k t)" };
    public readonly Option<double> FinalFactor = new("--final-factor") { Description = "Linear decay: final lr as a fraction of the initial one" };
    public readonly Option<double?> MaxLr = new("--max-lr") { Description = "OneCycleLR/CyclicLR peak lr" };
    public readonly Option<double> PctStart = new("--pct-start") { Description = "OneCycleLR: fraction of the cycle spent increasing", DefaultValueFactory = _ => 0.3 };
    public readonly Option<string> AnnealStrategy = new("--anneal-strategy") { Description = "OneCycleLR: cos or linear", DefaultValueFactory = _ => "cos" };
    public readonly Option<int> StepSizeUp = new("--step-size-up") { Description = "CyclicLR: steps in the increasing half", DefaultValueFactory = _ => 2000 };
    public readonly Option<string> CyclicMode = new("--cyclic-mode") { Description = "CyclicLR: triangular, triangular2 or exp_range", DefaultValueFactory = _ => "triangular" };
    public readonly Option<int> Patience = new("--patience") { Description = "ReduceLROnPlateau: epochs without improvement", DefaultValueFactory = _ => 10 };
    public readonly Option<int> Cooldown = new("--cooldown") { Description = "ReduceLROnPlateau: epochs to wait after a reduction" };
    public readonly Option<double> MinLr = new("--min-lr") { Description = "ReduceLROnPlateau: lower bound" };
    public readonly Option<int> WarmupSteps = new("--warmup-steps") { Description = "Linear warm-up in front of the schedule (in schedule periods)" };

    public IEnumerable<Option> All => [Schedule, Every, StepSize, Gamma, Milestones, TMax, EtaMin, T0, TMult, StartFactor, EndFactor, TotalIters, Power, Factor, DecayRate, FinalFactor, MaxLr, PctStart, AnnealStrategy, StepSizeUp, CyclicMode, Patience, Cooldown, MinLr, WarmupSteps];

    public ScheduleOptionSet() => Every.AcceptOnlyFromAmong("step", "epoch");

    /// <summary>A callback that builds the named schedule on the trainer's optimizer, or null without <c>--schedule</c>.</summary>
    public ScheduleCallback? Create(ParseResult p, Optimizer optimizer, int epochs, int stepsPerEpoch)
    {
        var name = p.GetValue(Schedule);
        if (name is null) return null;
        bool perStep = p.GetValue(Every) == "step";
        var options = new ScheduleOptions
        {
            StepSize = p.GetValue(StepSize),
            Gamma = p.GetValue(Gamma),
            Milestones = p.GetValue(Milestones) is { } m ? Commands.TrainCommand.ParseIntList(m, "--milestones") : null,
            TMax = p.GetValue(TMax),
            EtaMin = p.GetValue(EtaMin),
            T0 = p.GetValue(T0),
            TMult = p.GetValue(TMult),
            StartFactor = p.GetValue(StartFactor),
            EndFactor = p.GetValue(EndFactor),
            TotalIters = p.GetValue(TotalIters),
            Power = p.GetValue(Power),
            Factor = p.GetValue(Factor),
            DecayRate = p.GetValue(DecayRate),
            FinalFactor = p.GetValue(FinalFactor),
            MaxLr = p.GetValue(MaxLr),
            PctStart = p.GetValue(PctStart),
            AnnealStrategy = p.GetValue(AnnealStrategy)!,
            StepSizeUp = p.GetValue(StepSizeUp),
            CyclicMode = p.GetValue(CyclicMode)!,
            Patience = p.GetValue(Patience),
            Cooldown = p.GetValue(Cooldown),
            MinLr = p.GetValue(MinLr),
            WarmupSteps = p.GetValue(WarmupSteps),
            TotalSteps = perStep ? epochs * stepsPerEpoch : epochs,
            Epochs = perStep ? epochs : null,
            StepsPerEpoch = perStep ? stepsPerEpoch : null,
        };
        return new ScheduleCallback(Schedules.Create(name, optimizer, options), perStep);
    }
}
