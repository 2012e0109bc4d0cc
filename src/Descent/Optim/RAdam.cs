using System.Runtime.CompilerServices;
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
/// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0. State per group
/// (<see cref="AdamState"/>): <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v) and the scalar <c>step</c> (t).
/// </para>
/// <para>Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020.</para>
/// </remarks>
public sealed class RAdam : Optimizer<RAdamOptions, AdamState>
{
    /// <summary>
    /// One group, like <c>RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public RAdam(IEnumerable<Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0)
        : this([new ParamGroup<RAdamOptions>(parameters, new RAdamOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public RAdam(IEnumerable<ParamGroup<RAdamOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override AdamState NewState(ParamGroup<RAdamOptions> group) => AdamState.New(group.Length);

    /// <inheritdoc />
    protected override void StepGroup(RAdamOptions o, AdamState state, ArenaSlice slice)
    {
        double t = ++state.Step;
        var (beta1, beta2) = o.Betas;
        double biasCorrection1 = 1 - Math.Pow(beta1, t), biasCorrection2 = 1 - Math.Pow(beta2, t);
        double rhoInf = 2 / (1 - beta2) - 1;
        double rhoT = rhoInf - 2 * t * Math.Pow(beta2, t) / biasCorrection2;
        bool rectified = rhoT > 5;
        double rect = rectified ? Math.Sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 1;
        var rule = new RAdamRule(slice, state.ExpAvgArray, state.ExpAvgSqArray,
            (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2), (float)biasCorrection1, (float)Math.Sqrt(biasCorrection2),
            (float)o.Eps, (float)o.Lr, (float)rect, rectified, (float)o.WeightDecay, o.WeightDecay != 0);
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(AdamState state, GroupStateEntries entries) => state.Save(entries);

    /// <inheritdoc />
    protected override AdamState LoadState(GroupStateEntries entries) => AdamState.Load(entries);
}

/// <summary>RAdam's step over a range, rectified or not as decided for the whole group this step.</summary>
internal readonly record struct RAdamRule(ArenaSlice Slice, float[] ExpAvg, float[] ExpAvgSq, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float BiasCorrection1, float BiasCorrection2Sqrt, float Eps, float Lr, float Rect, bool Rectified, float WeightDecay, bool Decay) : IUpdateRule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        Span<float> param = Slice.Param, m = ExpAvg, v = ExpAvgSq;
        ReadOnlySpan<float> grad = Slice.Gradient;
        for (int i = start; i < end; i++)
        {
            float g = grad[i];
            if (Decay) g = UpdateRules.MultiplyAdd(param[i], WeightDecay, g);   // g + λθ
            m[i] = AdamFamily.Ema(m[i], g, Beta1, OneMinusBeta1);               // β₁m + (1 − β₁)g
            v[i] = AdamFamily.EmaOfSquare(v[i], g, Beta2, OneMinusBeta2);       // β₂v + (1 − β₂)g²
            float update = m[i] / BiasCorrection1 * Lr;                         // m̂·γ
            // ((m̂·γ)·a)·r with a = √(1 − β₂ᵗ)/(√v + ε), which PyTorch evaluates as a reciprocal times the scalar.
            if (Rectified) update = update * (1f / (MathF.Sqrt(v[i]) + Eps) * BiasCorrection2Sqrt) * Rect;
            param[i] -= update;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float p = ref UpdateRules.At(Slice.Data, Slice.Offset + start);
        ref float g = ref UpdateRules.At(Slice.Grad, Slice.Offset + start);
        ref float m = ref UpdateRules.At(ExpAvg, start);
        ref float v = ref UpdateRules.At(ExpAvgSq, start);
        var (beta1, oneMinusBeta1, beta2, oneMinusBeta2) = (TV.Create(Beta1), TV.Create(OneMinusBeta1), TV.Create(Beta2), TV.Create(OneMinusBeta2));
        var (biasCorrection1, biasCorrection2Sqrt, eps, lr, rect) = (TV.Create(BiasCorrection1), TV.Create(BiasCorrection2Sqrt), TV.Create(Eps), TV.Create(Lr), TV.Create(Rect));
        var (weightDecay, one) = (TV.Create(WeightDecay), TV.Create(1f));
        var (decay, rectified) = (Decay, Rectified);
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var pv = TV.Load(ref p, i);
            var gv = TV.Load(ref g, i);
            if (decay) gv = TV.MultiplyAdd(pv, weightDecay, gv);
            var mv = AdamFamily.Ema(TV.Load(ref m, i), gv, beta1, oneMinusBeta1);
            var vv = AdamFamily.EmaOfSquare(TV.Load(ref v, i), gv, beta2, oneMinusBeta2);
            mv.Store(ref m, i);
            vv.Store(ref v, i);
            var update = mv / biasCorrection1 * lr;
            if (rectified) update = update * (one / (TV.Sqrt(vv) + eps) * biasCorrection2Sqrt) * rect;
            (pv - update).Store(ref p, i);
        }
        return start + (int)i;
    }
}
