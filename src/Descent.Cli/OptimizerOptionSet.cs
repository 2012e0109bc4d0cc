using System.CommandLine;
using System.Globalization;
using Descent.Optim;

namespace Descent.Cli;

/// <summary>
/// The optimizer options shared by <c>train</c>, <c>compare</c> and <c>playground</c>: every hyperparameter
/// under the kebab-case of its PyTorch name.
/// </summary>
internal sealed class OptimizerOptionSet
{
    public readonly Option<string> Optimizer = new("--optimizer") { Description = "sgd|momentum|nesterov|adagrad|adadelta|rmsprop|adam|adamw|nadam|radam|adamax|lion|lbfgs", DefaultValueFactory = _ => "sgd" };
    public readonly Option<double?> Lr = new("--lr") { Description = "Learning rate (default: the optimizer's conventional one)" };
    public readonly Option<double?> Momentum = new("--momentum") { Description = "Momentum factor (SGD, RMSprop)" };
    public readonly Option<double> Dampening = new("--dampening") { Description = "Dampening for SGD momentum" };
    public readonly Option<bool> Nesterov = new("--nesterov") { Description = "Nesterov momentum (SGD)" };
    public readonly Option<double?> WeightDecay = new("--weight-decay") { Description = "Weight decay (L2 for most; decoupled for AdamW and Lion)" };
    public readonly Option<string?> Betas = new("--betas") { Description = "β₁,β₂ for the Adam family and Lion, e.g. 0.9,0.999" };
    public readonly Option<double?> Eps = new("--eps") { Description = "Term added for numerical stability" };
    public readonly Option<double?> Rho = new("--rho") { Description = "Adadelta's running-average coefficient" };
    public readonly Option<double?> Alpha = new("--alpha") { Description = "RMSprop's smoothing constant" };
    public readonly Option<bool> Centered = new("--centered") { Description = "Centered RMSprop" };
    public readonly Option<bool> Amsgrad = new("--amsgrad") { Description = "AMSGrad variant of Adam/AdamW" };
    public readonly Option<double> LrDecay = new("--lr-decay") { Description = "Adagrad's learning-rate decay" };
    public readonly Option<double> InitialAccumulatorValue = new("--initial-accumulator-value") { Description = "Adagrad's initial accumulator" };
    public readonly Option<bool> Maximize = new("--maximize") { Description = "Maximize the objective" };
    public readonly Option<bool> NoDecayBiasNorm = new("--no-decay-bias-norm") { Description = "No weight decay on biases and normalization parameters" };
    public readonly Option<double?> ClipNorm = new("--clip-norm") { Description = "Clip gradients to this global L2 norm" };
    public readonly Option<int> Accumulate = new("--accumulate") { Description = "Gradient accumulation: step every N batches", DefaultValueFactory = _ => 1 };

    public IEnumerable<Option> All => [Optimizer, Lr, Momentum, Dampening, Nesterov, WeightDecay, Betas, Eps, Rho, Alpha, Centered, Amsgrad, LrDecay, InitialAccumulatorValue, Maximize, NoDecayBiasNorm, ClipNorm, Accumulate];

    public OptimizerSettings Settings(ParseResult p) => new()
    {
        Lr = p.GetValue(Lr),
        Momentum = p.GetValue(Momentum),
        Dampening = p.GetValue(Dampening),
        Nesterov = p.GetValue(Nesterov),
        WeightDecay = p.GetValue(WeightDecay),
        Betas = ParseBetas(p.GetValue(Betas)),
        Eps = p.GetValue(Eps),
        Rho = p.GetValue(Rho),
        Alpha = p.GetValue(Alpha),
        Centered = p.GetValue(Centered),
        Amsgrad = p.GetValue(Amsgrad),
        LrDecay = p.GetValue(LrDecay),
        InitialAccumulatorValue = p.GetValue(InitialAccumulatorValue),
        Maximize = p.GetValue(Maximize),
        NoDecayOnBiasAndNorm = p.GetValue(NoDecayBiasNorm),
    };

    public void CheckTraining(ParseResult p, bool accumulateAllowed = true)
    {
        if (accumulateAllowed && p.GetValue(Accumulate) < 1) throw new UsageException($"--accumulate must be a positive integer, got {p.GetValue(Accumulate)}");
        if (p.GetValue(ClipNorm) is { } c && !(c > 0)) throw new UsageException($"--clip-norm must be positive, got {c}");
    }

    private static (double, double)? ParseBetas(string? text)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double b1)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double b2))
            throw new UsageException($"--betas expects two numbers separated by a comma, e.g. 0.9,0.999; got '{text}'");
        return (b1, b2);
    }
}
