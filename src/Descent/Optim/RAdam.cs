using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="RAdam"/> (PyTorch names and defaults).</summary>
public sealed record RAdamOptions : AdamFamilyOptions
{
    /// <summary>PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.</summary>
    public RAdamOptions() => Lr = 1e-3;
}

/// <summary>
/// Rectified Adam, exactly as <c>torch.optim.RAdam</c> (PyTorch 1.13, single-tensor path), with L2 weight
/// decay.
/// </summary>
/// <remarks>
/// <para>
/// Per element, with g the gradient, γ the group's current lr, λ weight decay, t the group's step count:
/// <code>
/// if λ ≠ 0: g = g + λθ
/// m = β₁m + (1 − β₁)g
/// v = β₂v + (1 − β₂)g²
/// m̂ = m / (1 − β₁ᵗ)
/// ρ∞ = 2/(1 − β₂) − 1,  ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ)
/// if ρₜ &gt; 5:  r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ)),  a = √(1 − β₂ᵗ) / (√v + ε)
///              θ = θ − ((m̂·γ)·a)·r
/// else:        θ = θ − m̂·γ                 (plain bias-corrected momentum while v is unreliable)
/// </code>
/// ε is added to √v before the bias correction, unlike Adam. With β₂ = 0.999 the first five steps are
/// not rectified; they move by γ·|m̂|, so a stiff problem needs a small lr.
/// </para>
/// <para>
/// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0. State per group: <c>exp_avg</c> (m),
/// <c>exp_avg_sq</c> (v) and the scalar <c>step</c> (t).
/// </para>
/// <para>Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020.</para>
/// </remarks>
public sealed class RAdam : Optimizer<RAdamOptions>
{
    /// <summary>
    /// One group, like <c>RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public RAdam(IEnumerable<Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0)
        : this([new ParamGroup<RAdamOptions>(parameters, new RAdamOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public RAdam(IEnumerable<ParamGroup<RAdamOptions>> groups) : base(groups)
    {
        DeclareState(countSteps: true, "exp_avg", "exp_avg_sq");
    }

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, RAdamOptions o, ArenaSlice slice)
    {
        double t = NextGroupStep(groupIndex);
        var (beta1, beta2) = o.Betas;
        double biasCorrection1 = 1 - Math.Pow(beta1, t), biasCorrection2 = 1 - Math.Pow(beta2, t);
        double rhoInf = 2 / (1 - beta2) - 1;
        double rhoT = rhoInf - 2 * t * Math.Pow(beta2, t) / biasCorrection2;
        bool rectified = rhoT > 5;
        double rect = rectified ? Math.Sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 1;
        var rule = new RAdamRule(slice, StateBuffer("exp_avg", groupIndex), StateBuffer("exp_avg_sq", groupIndex),
            (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2), (float)biasCorrection1, (float)Math.Sqrt(biasCorrection2),
            (float)o.Eps, (float)o.Lr, (float)rect, rectified, (float)o.WeightDecay, o.WeightDecay != 0);
        RangeParallel.For(slice.Length, ref rule);
    }

}

/// <summary>RAdam's fused step over a range, rectified or not as decided for the whole group this step.</summary>
internal readonly record struct RAdamRule(ArenaSlice Slice, float[] ExpAvg, float[] ExpAvgSq, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float BiasCorrection1, float BiasCorrection2Sqrt, float Eps, float Lr, float Rect, bool Rectified, float WeightDecay, bool Decay) : IRangeBody
{
    public void Apply(int start, int end)
    {
        ref float p = ref AdamFamily.At(Slice.Data, Slice.Offset + start);
        ref float g = ref AdamFamily.At(Slice.Grad, Slice.Offset + start);
        ref float m = ref AdamFamily.At(ExpAvg, start);
        ref float v = ref AdamFamily.At(ExpAvgSq, start);
        nuint n = (nuint)(end - start), i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var (b1, c1, b2, c2) = (Vector512.Create(Beta1), Vector512.Create(OneMinusBeta1), Vector512.Create(Beta2), Vector512.Create(OneMinusBeta2));
            var (bc1, bc2Sqrt, eps, lr, rect) = (Vector512.Create(BiasCorrection1), Vector512.Create(BiasCorrection2Sqrt), Vector512.Create(Eps), Vector512.Create(Lr), Vector512.Create(Rect));
            var wd = Vector512.Create(WeightDecay);
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                var pv = Vector512.LoadUnsafe(ref p, i);
                var gv = Vector512.LoadUnsafe(ref g, i);
                if (Decay) gv = Vector512.FusedMultiplyAdd(pv, wd, gv);
                var mv = AdamFamily.Ema(Vector512.LoadUnsafe(ref m, i), gv, b1, c1);
                var vv = AdamFamily.EmaOfSquare(Vector512.LoadUnsafe(ref v, i), gv, b2, c2);
                mv.StoreUnsafe(ref m, i);
                vv.StoreUnsafe(ref v, i);
                var update = mv / bc1 * lr;
                // PyTorch evaluates √(1 − β₂ᵗ) / (√v + ε) as a reciprocal times the scalar.
                if (Rectified) update = update * (Vector512<float>.One / (Vector512.Sqrt(vv) + eps) * bc2Sqrt) * rect;
                (pv - update).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            ref float pi = ref Unsafe.Add(ref p, i);
            ref float mi = ref Unsafe.Add(ref m, i);
            ref float vi = ref Unsafe.Add(ref v, i);
            float gi = Unsafe.Add(ref g, i);
            if (Decay) gi = MathF.FusedMultiplyAdd(pi, WeightDecay, gi);
            mi = AdamFamily.Ema(mi, gi, Beta1, OneMinusBeta1);
            vi = AdamFamily.EmaOfSquare(vi, gi, Beta2, OneMinusBeta2);
            float update = mi / BiasCorrection1 * Lr;
            if (Rectified) update = update * (1f / (MathF.Sqrt(vi) + Eps) * BiasCorrection2Sqrt) * Rect;
            pi -= update;
        }
    }
}
