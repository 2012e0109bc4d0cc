using System.Runtime.CompilerServices;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Lion"/> (the paper's names and defaults, PyTorch casing).</summary>
public sealed record LionOptions : OptimizerOptions, IMomentumOptions
{
    /// <summary>The paper's defaults: lr 1e-4, betas (0.9, 0.99), no weight decay.</summary>
    public LionOptions() => Lr = 1e-4;

    /// <summary>
    /// (β₁, β₂): β₁ mixes momentum and gradient for the update's sign, β₂ is the momentum's decay rate
    /// (<c>betas</c>, default (0.9, 0.99)).
    /// </summary>
    public (double Beta1, double Beta2) Betas { get; set; } = (0.9, 0.99);
    /// <inheritdoc />
    double IMomentumOptions.MomentumCoefficient { get => Betas.Beta1; set => Betas = (value, Betas.Beta2); }

    /// <inheritdoc />
    public override void Validate()
    {
        AdamFamily.Validate(this, null, Betas);
        base.Validate();
    }
}

/// <summary>The state of one parameter group of <see cref="Lion"/>: <c>exp_avg</c>, one value per element of the group.</summary>
public sealed class LionState
{
    internal LionState(float[] expAvg) => ExpAvgArray = expAvg;

    /// <summary>The momentum m (<c>exp_avg</c>).</summary>
    public ReadOnlySpan<float> ExpAvg => ExpAvgArray;

    internal float[] ExpAvgArray { get; }
}

/// <summary>
/// Lion (EvoLved Sign Momentum), an update of constant magnitude per element: the sign of an interpolation
/// between momentum and gradient, with decoupled weight decay. Not part of PyTorch 1.13; follows the paper.
/// </summary>
/// <remarks>
/// <para>
/// Per element, with g the gradient, γ the group's current lr, λ weight decay:
/// <code>
/// θ = θ(1 − γλ)                            (decoupled, as AdamW)
/// c = β₁m + (1 − β₁)g
/// θ = θ − γ·sign(c)                        (sign(0) = 0)
/// m = β₂m + (1 − β₂)g
/// </code>
/// Every element moves by exactly γ (before decay), so Lion wants a learning rate 3–10× smaller than AdamW's
/// and a weight decay 3–10× larger, to keep γλ about the same.
/// </para>
/// <para>
/// Defaults: lr 1e-4, betas (0.9, 0.99), weight_decay 0. State per group (<see cref="LionState"/>): <c>exp_avg</c> (m).
/// </para>
/// <para>Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023 (Algorithm 2).</para>
/// </remarks>
public sealed class Lion : Optimizer<LionOptions, LionState>
{
    /// <summary>
    /// One group, like <c>Lion(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.99).
    /// </summary>
    public Lion(IEnumerable<Parameter> parameters, double lr = 1e-4, (double, double)? betas = null, double weightDecay = 0)
        : this([new ParamGroup<LionOptions>(parameters, new LionOptions { Lr = lr, Betas = betas ?? (0.9, 0.99), WeightDecay = weightDecay })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Lion(IEnumerable<ParamGroup<LionOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override LionState NewState(ParamGroup<LionOptions> group) => new(new float[group.Length]);

    /// <inheritdoc />
    protected override void StepGroup(LionOptions o, LionState state, ArenaSlice slice)
    {
        var (beta1, beta2) = o.Betas;
        var rule = new LionRule(slice, state.ExpAvgArray, (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2),
            (float)-o.Lr, (float)(1 - o.Lr * o.WeightDecay));
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(LionState state, GroupStateEntries entries) => entries.Add("exp_avg", state.ExpAvgArray);

    /// <inheritdoc />
    protected override LionState LoadState(GroupStateEntries entries) => new(entries.Buffer("exp_avg"));
}

/// <summary>Lion's step over a range.</summary>
internal readonly record struct LionRule(ArenaSlice Slice, float[] ExpAvg, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float NegativeLr, float DecayFactor) : IUpdateRule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        Span<float> param = Slice.Param, m = ExpAvg;
        ReadOnlySpan<float> grad = Slice.Gradient;
        for (int i = start; i < end; i++)
        {
            float c = AdamFamily.Ema(m[i], grad[i], Beta1, OneMinusBeta1);                     // β₁m + (1 − β₁)g
            float sign = c > 0 ? 1f : c < 0 ? -1f : 0f;
            param[i] = UpdateRules.MultiplyAdd(sign, NegativeLr, param[i] * DecayFactor);       // θ(1 − γλ) − γ·sign(c)
            m[i] = AdamFamily.Ema(m[i], grad[i], Beta2, OneMinusBeta2);                        // β₂m + (1 − β₂)g
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float p = ref UpdateRules.At(Slice.Data, Slice.Offset + start);
        ref float g = ref UpdateRules.At(Slice.Grad, Slice.Offset + start);
        ref float m = ref UpdateRules.At(ExpAvg, start);
        var (beta1, oneMinusBeta1, beta2, oneMinusBeta2) = (TV.Create(Beta1), TV.Create(OneMinusBeta1), TV.Create(Beta2), TV.Create(OneMinusBeta2));
        var (negativeLr, decayFactor) = (TV.Create(NegativeLr), TV.Create(DecayFactor));
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var gv = TV.Load(ref g, i);
            var mv = TV.Load(ref m, i);
            var c = AdamFamily.Ema(mv, gv, beta1, oneMinusBeta1);
            TV.MultiplyAdd(TV.Sign(c), negativeLr, TV.Load(ref p, i) * decayFactor).Store(ref p, i);
            AdamFamily.Ema(mv, gv, beta2, oneMinusBeta2).Store(ref m, i);
        }
        return start + (int)i;
    }
}
