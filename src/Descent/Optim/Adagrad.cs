using System.Runtime.Intrinsics;
using Descent.Kernels;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adagrad"/> (PyTorch names and defaults).</summary>
public sealed record AdagradOptions : OptimizerOptions
{
    /// <summary>Defaults of <c>torch.optim.Adagrad</c>: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10.</summary>
    public AdagradOptions() => Lr = 1e-2;

    /// <summary>Learning-rate decay η (<c>lr_decay</c>, default 0): step t uses γ / (1 + (t − 1)η).</summary>
    public double LrDecay { get; set; }

    /// <summary>
    /// Starting value of the sum of squared gradients (<c>initial_accumulator_value</c>, default 0). Read once,
    /// when the optimizer is built (PyTorch fills the state in its constructor).
    /// </summary>
    public double InitialAccumulatorValue { get; set; }

    /// <summary>Term added to the denominator, outside the square root (<c>eps</c>, default 1e-10).</summary>
    public double Eps { get; set; } = 1e-10;

    /// <summary>Maximize the objective instead of minimizing (<c>maximize</c>).</summary>
    public bool Maximize { get; set; }

    /// <summary>A value as Python prints a float in these messages (<c>1e-08</c>, not <c>1E-08</c>).</summary>
    private static string Py(double v) => Fmt(v).Replace('E', 'e');

    /// <inheritdoc />
    public override void Validate()
    {
        // PyTorch 1.13's order: lr, lr_decay, weight_decay, initial_accumulator_value, eps.
        if (!(Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(Lr), $"Invalid learning rate: {Py(Lr)}");
        if (!(LrDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(LrDecay), $"Invalid lr_decay value: {Py(LrDecay)}");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), $"Invalid weight_decay value: {Py(WeightDecay)}");
        if (!(InitialAccumulatorValue >= 0))
            throw new ArgumentOutOfRangeException(nameof(InitialAccumulatorValue), $"Invalid initial_accumulator_value value: {Py(InitialAccumulatorValue)}");
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps), $"Invalid epsilon value: {Py(Eps)}");
    }
}

/// <summary>
/// Adagrad: per-coordinate step sizes that shrink with the sum of all past squared gradients, exactly as
/// <c>torch.optim.Adagrad</c> (1.13).
/// </summary>
/// <remarks>
/// Per element, with g the gradient, λ weight decay, γ the group's current lr, η lr_decay, t the step count
/// (first step t = 1) and s the running sum (state <c>sum</c>, started at initial_accumulator_value):
/// <code>
/// g = maximize ? −g : g
/// if λ ≠ 0: g = g + λθ
/// γ̃ = γ / (1 + (t − 1)η)
/// s = s + g²                    (the current gradient counts before it is used)
/// θ = θ − γ̃ g / (√s + ε)        (ε outside the square root)
/// </code>
/// Defaults: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10. State: <c>sum</c> (one
/// buffer per group, created when the optimizer is built, like PyTorch) and the scalar <c>step</c>.
/// Paper: Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online Learning and Stochastic
/// Optimization", JMLR 12 (2011).
/// </remarks>
public sealed class Adagrad : Optimizer<AdagradOptions>
{
    // Not a declared buffer: PyTorch fills it with initial_accumulator_value when the optimizer is built.
    private readonly float[]?[] _sums;

    /// <summary>
    /// One group, like <c>Adagrad(params, lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize=)</c>.
    /// </summary>
    public Adagrad(IEnumerable<Parameter> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : this([new ParamGroup<AdagradOptions>(parameters, new AdagradOptions { Lr = lr, LrDecay = lrDecay, WeightDecay = weightDecay, InitialAccumulatorValue = initialAccumulatorValue, Eps = eps, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Adagrad(IEnumerable<ParamGroup<AdagradOptions>> groups) : base(groups)
    {
        DeclareState(countSteps: true);
        _sums = new float[ParamGroups.Count][];
        for (int g = 0; g < ParamGroups.Count; g++) _sums[g] = NewSum(ParamGroups[g]);
    }

    private static float[] NewSum(ParamGroup<AdagradOptions> group)
    {
        var sum = new float[group.Length];
        Array.Fill(sum, (float)group.Options.InitialAccumulatorValue);
        return sum;
    }

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, AdagradOptions o, ArenaSlice slice)
    {
        var sum = _sums[groupIndex] ??= NewSum(ParamGroups[groupIndex]);
        double step = NextGroupStep(groupIndex);
        double clr = o.Lr / (1 + (step - 1) * o.LrDecay);
        var rule = new AdagradRule(slice, sum, (float)-clr, (float)o.WeightDecay, (float)o.Eps, o.Maximize, o.WeightDecay != 0);
        RangeParallel.For(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Name, int Group, float[]? Buffer)> StateBuffers()
    {
        for (int g = 0; g < _sums.Length; g++) yield return ("sum", g, _sums[g]);
    }

    /// <inheritdoc />
    protected override void SetStateBuffer(string name, int group, float[]? buffer) => _sums[group] = buffer;
}

/// <summary>
/// The fused Adagrad update: one read of θ, g, s and one write of θ, s per element, in PyTorch's operation
/// order (s + g·g as one fused multiply-add like <c>addcmul_</c>, then θ + (−γ̃·g)/(√s + ε) like <c>addcdiv_</c>).
/// </summary>
internal readonly record struct AdagradRule(ArenaSlice Slice, float[] Sum, float NegClr, float WeightDecay, float Eps, bool Maximize, bool Decay) : IRangeBody
{
    public void Apply(int start, int end)
    {
        var param = Slice.Data.AsSpan(Slice.Offset + start, end - start);
        ReadOnlySpan<float> grad = Slice.Grad.AsSpan(Slice.Offset + start, end - start);
        var sum = Sum.AsSpan(start, end - start);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var (negClr, wd, eps) = (Vector512.Create(NegClr), Vector512.Create(WeightDecay), Vector512.Create(Eps));
            for (; i <= param.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var p = Vector512.Create(param.Slice(i, Vector512<float>.Count));
                var g = Vector512.Create(grad.Slice(i, Vector512<float>.Count));
                if (Maximize) g = -g;
                if (Decay) g = Vector512.FusedMultiplyAdd(wd, p, g);
                var s = Vector512.FusedMultiplyAdd(g, g, Vector512.Create(sum.Slice(i, Vector512<float>.Count)));
                s.CopyTo(sum.Slice(i));
                (p + negClr * g / (Vector512.Sqrt(s) + eps)).CopyTo(param.Slice(i));
            }
        }
        for (; i < param.Length; i++)
        {
            float g = Maximize ? -grad[i] : grad[i];
            if (Decay) g = MathF.FusedMultiplyAdd(WeightDecay, param[i], g);
            float s = MathF.FusedMultiplyAdd(g, g, sum[i]);
            sum[i] = s;
            param[i] += NegClr * g / (MathF.Sqrt(s) + Eps);
        }
    }
}
