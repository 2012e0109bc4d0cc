using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;
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
/// Defaults: lr 1e-4, betas (0.9, 0.99), weight_decay 0. State per group: <c>exp_avg</c> (m).
/// </para>
/// <para>Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023 (Algorithm 2).</para>
/// </remarks>
public sealed class Lion : Optimizer<LionOptions>
{
    /// <summary>
    /// One group, like <c>Lion(params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.99).
    /// </summary>
    public Lion(IEnumerable<Parameter> parameters, double lr = 1e-4, (double, double)? betas = null, double weightDecay = 0)
        : this([new ParamGroup<LionOptions>(parameters, new LionOptions { Lr = lr, Betas = betas ?? (0.9, 0.99), WeightDecay = weightDecay })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Lion(IEnumerable<ParamGroup<LionOptions>> groups) : base(groups) => DeclareState(countSteps: false, "exp_avg");

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, LionOptions o, ArenaSlice slice)
    {
        var (beta1, beta2) = o.Betas;
        var rule = new LionRule(slice, StateBuffer("exp_avg", groupIndex), (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2),
            (float)-o.Lr, (float)(1 - o.Lr * o.WeightDecay));
        RangeParallel.For(slice.Length, ref rule);
    }

}

/// <summary>Lion's fused step over a range.</summary>
internal readonly record struct LionRule(ArenaSlice Slice, float[] ExpAvg, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float NegativeLr, float DecayFactor) : IRangeBody
{
    public void Apply(int start, int end)
    {
        ref float p = ref AdamFamily.At(Slice.Data, Slice.Offset + start);
        ref float g = ref AdamFamily.At(Slice.Grad, Slice.Offset + start);
        ref float m = ref AdamFamily.At(ExpAvg, start);
        nuint n = (nuint)(end - start), i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var (b1, c1, b2, c2) = (Vector512.Create(Beta1), Vector512.Create(OneMinusBeta1), Vector512.Create(Beta2), Vector512.Create(OneMinusBeta2));
            var (lr, decay) = (Vector512.Create(NegativeLr), Vector512.Create(DecayFactor));
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                var gv = Vector512.LoadUnsafe(ref g, i);
                var mv = Vector512.LoadUnsafe(ref m, i);
                var c = AdamFamily.Ema(mv, gv, b1, c1);
                var sign = (Vector512.GreaterThan(c, Vector512<float>.Zero) & Vector512<float>.One) - (Vector512.LessThan(c, Vector512<float>.Zero) & Vector512<float>.One);
                Vector512.FusedMultiplyAdd(sign, lr, Vector512.LoadUnsafe(ref p, i) * decay).StoreUnsafe(ref p, i);
                AdamFamily.Ema(mv, gv, b2, c2).StoreUnsafe(ref m, i);
            }
        }
        for (; i < n; i++)
        {
            ref float mi = ref Unsafe.Add(ref m, i);
            float gi = Unsafe.Add(ref g, i);
            float c = AdamFamily.Ema(mi, gi, Beta1, OneMinusBeta1);
            float sign = c > 0 ? 1f : c < 0 ? -1f : 0f;
            Unsafe.Add(ref p, i) = MathF.FusedMultiplyAdd(sign, NegativeLr, Unsafe.Add(ref p, i) * DecayFactor);
            mi = AdamFamily.Ema(mi, gi, Beta2, OneMinusBeta2);
        }
    }
}
