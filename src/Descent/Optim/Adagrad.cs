using System.Runtime.CompilerServices;
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
/// The state of one parameter group of <see cref="Adagrad"/>: PyTorch's <c>step</c> and <c>sum</c>, the buffer one
/// value per element of the group.
/// </summary>
public sealed class AdagradState
{
    internal AdagradState(long step, float[] sum)
    {
        Step = step;
        SumArray = sum;
    }

    /// <summary>Steps the group has taken, t (<c>step</c>).</summary>
    public long Step { get; internal set; }

    /// <summary>The running sum of squared gradients s (<c>sum</c>), started at initial_accumulator_value.</summary>
    public ReadOnlySpan<float> Sum => SumArray;

    internal float[] SumArray { get; }
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
/// Defaults: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10. State per group
/// (<see cref="AdagradState"/>): <c>sum</c> and the scalar <c>step</c>, created when the optimizer is built, like
/// PyTorch's.
/// Paper: Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online Learning and Stochastic
/// Optimization", JMLR 12 (2011).
/// </remarks>
public sealed class Adagrad : Optimizer<AdagradOptions, AdagradState>
{
    /// <summary>
    /// One group, like <c>Adagrad(params, lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize=)</c>.
    /// </summary>
    public Adagrad(IEnumerable<Parameter> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : this([new ParamGroup<AdagradOptions>(parameters, new AdagradOptions { Lr = lr, LrDecay = lrDecay, WeightDecay = weightDecay, InitialAccumulatorValue = initialAccumulatorValue, Eps = eps, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Adagrad(IEnumerable<ParamGroup<AdagradOptions>> groups) : base(groups)
    {
        // PyTorch fills the state with initial_accumulator_value when the optimizer is built.
        for (int g = 0; g < ParamGroups.Count; g++) StateOf(g);
    }

    /// <inheritdoc />
    protected override AdagradState NewState(ParamGroup<AdagradOptions> group)
    {
        var sum = new float[group.Length];
        Array.Fill(sum, (float)group.Options.InitialAccumulatorValue);
        return new AdagradState(0, sum);
    }

    /// <inheritdoc />
    protected override void StepGroup(AdagradOptions o, AdagradState state, ArenaSlice slice)
    {
        double step = ++state.Step;
        double clr = o.Lr / (1 + (step - 1) * o.LrDecay);
        var rule = new AdagradRule(slice, state.SumArray, (float)-clr, (float)o.WeightDecay, (float)o.Eps, o.Maximize, o.WeightDecay != 0);
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(AdagradState state, GroupStateEntries entries)
    {
        entries.Add("step", state.Step);
        entries.Add("sum", state.SumArray);
    }

    /// <inheritdoc />
    protected override AdagradState LoadState(GroupStateEntries entries) => new((long)entries.Scalar("step"), entries.Buffer("sum"));
}

/// <summary>
/// The Adagrad update: one read of θ, g, s and one write of θ, s per element, in PyTorch's operation order
/// (s + g·g as one fused multiply-add like <c>addcmul_</c>, then θ + (−γ̃·g)/(√s + ε) like <c>addcdiv_</c>).
/// </summary>
internal readonly record struct AdagradRule(ArenaSlice Slice, float[] Sum, float NegClr, float WeightDecay, float Eps, bool Maximize, bool Decay) : IUpdateRule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        Span<float> param = Slice.Param, sum = Sum;
        ReadOnlySpan<float> grad = Slice.Gradient;
        for (int i = start; i < end; i++)
        {
            float g = Maximize ? -grad[i] : grad[i];
            if (Decay) g = UpdateRules.MultiplyAdd(WeightDecay, param[i], g);   // g + λθ
            float s = sum[i] = UpdateRules.MultiplyAdd(g, g, sum[i]);            // s + g²
            param[i] += NegClr * g / (MathF.Sqrt(s) + Eps);                     // θ − γ̃ g / (√s + ε)
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float p = ref UpdateRules.At(Slice.Data, Slice.Offset + start);
        ref float g = ref UpdateRules.At(Slice.Grad, Slice.Offset + start);
        ref float s = ref UpdateRules.At(Sum, start);
        var (negClr, weightDecay, eps) = (TV.Create(NegClr), TV.Create(WeightDecay), TV.Create(Eps));
        var (maximize, decay) = (Maximize, Decay);
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var pv = TV.Load(ref p, i);
            var gv = TV.Load(ref g, i);
            if (maximize) gv = -gv;
            if (decay) gv = TV.MultiplyAdd(weightDecay, pv, gv);
            var sv = TV.MultiplyAdd(gv, gv, TV.Load(ref s, i));
            sv.Store(ref s, i);
            (pv + negClr * gv / (TV.Sqrt(sv) + eps)).Store(ref p, i);
        }
        return start + (int)i;
    }
}
