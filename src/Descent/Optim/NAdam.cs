using System.Runtime.CompilerServices;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="NAdam"/> (PyTorch names and defaults).</summary>
public sealed record NAdamOptions : AdamFamilyOptions
{
    /// <summary>PyTorch's defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8, no weight decay, momentum_decay 4e-3.</summary>
    public NAdamOptions() => Lr = 2e-3;

    /// <summary>ψ of the momentum schedule μₜ = β₁(1 − ½·0.96^(tψ)) (<c>momentum_decay</c>, default 4e-3).</summary>
    public double MomentumDecay { get; set; } = 4e-3;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (!(MomentumDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(MomentumDecay), $"Invalid momentum_decay value: {AdamFamily.PythonFloat(MomentumDecay)}");
    }
}

/// <summary>
/// The state of one parameter group of <see cref="NAdam"/>: PyTorch's <c>step</c>, <c>mu_product</c>,
/// <c>exp_avg</c> and <c>exp_avg_sq</c>, the buffers one value per element of the group.
/// </summary>
public sealed class NAdamState
{
    internal NAdamState(long step, float muProduct, float[] expAvg, float[] expAvgSq)
    {
        Step = step;
        MuProduct = muProduct;
        ExpAvgArray = expAvg;
        ExpAvgSqArray = expAvgSq;
    }

    /// <summary>Steps the group has taken, t (<c>step</c>).</summary>
    public long Step { get; internal set; }

    /// <summary>The product of the momentum schedule's μ₁…μₜ, P (<c>mu_product</c>, 1 before the first step), kept in float32 as PyTorch does.</summary>
    public float MuProduct { get; internal set; }

    /// <summary>The first moment m (<c>exp_avg</c>).</summary>
    public ReadOnlySpan<float> ExpAvg => ExpAvgArray;

    /// <summary>The second moment v (<c>exp_avg_sq</c>).</summary>
    public ReadOnlySpan<float> ExpAvgSq => ExpAvgSqArray;

    internal float[] ExpAvgArray { get; }
    internal float[] ExpAvgSqArray { get; }
}

/// <summary>
/// Adam with Nesterov momentum (NAdam), as <c>torch.optim.NAdam</c> computes it since PyTorch 2.0, with L2
/// weight decay.
/// </summary>
/// <remarks>
/// <para>
/// Per element, with g the gradient, γ the group's current lr, λ weight decay, ψ momentum_decay, t the
/// group's step count and P the running product of the μ's (1 before the first step):
/// <code>
/// if λ ≠ 0: g = g + λθ
/// μₜ = β₁(1 − ½·0.96^(tψ)),  μₜ₊₁ = β₁(1 − ½·0.96^((t+1)ψ)),  P = P·μₜ
/// m = β₁m + (1 − β₁)g
/// v = β₂v + (1 − β₂)g²
/// d = √(v / (1 − β₂ᵗ)) + ε
/// θ = θ − γ(1 − μₜ)/(1 − P) · g/d
/// θ = θ − γμₜ₊₁/(1 − P·μₜ₊₁) · m/d
/// </code>
/// P is kept in float32, as PyTorch keeps it in a float32 0-dim tensor (rounded after every multiply).
/// </para>
/// <para>
/// PyTorch 1.13's default (single-tensor) NAdam divides the momentum term by 1 − P·μₜ·μₜ₊₁, an extra μₜ
/// factor that its own foreach path and every later release do not have; this class follows the corrected
/// form. The two differ by about 1e-3 relative over the first hundred steps.
/// </para>
/// <para>
/// Defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, momentum_decay 4e-3. State per group
/// (<see cref="NAdamState"/>): <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v) and the scalars <c>step</c> (t) and
/// <c>mu_product</c> (P).
/// </para>
/// <para>Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop.</para>
/// </remarks>
public sealed class NAdam : Optimizer<NAdamOptions, NAdamState>
{
    /// <summary>
    /// One group, like <c>NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public NAdam(IEnumerable<Parameter> parameters, double lr = 2e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, double momentumDecay = 4e-3)
        : this([new ParamGroup<NAdamOptions>(parameters, new NAdamOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay, MomentumDecay = momentumDecay })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public NAdam(IEnumerable<ParamGroup<NAdamOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override NAdamState NewState(ParamGroup<NAdamOptions> group) => new(0, 1f, new float[group.Length], new float[group.Length]);

    /// <inheritdoc />
    protected override void StepGroup(NAdamOptions o, NAdamState state, ArenaSlice slice)
    {
        double t = ++state.Step;
        var (beta1, beta2) = o.Betas;
        double mu = beta1 * (1 - 0.5 * Math.Pow(0.96, t * o.MomentumDecay));
        double muNext = beta1 * (1 - 0.5 * Math.Pow(0.96, (t + 1) * o.MomentumDecay));
        double product = state.MuProduct *= (float)mu;
        var rule = new NAdamRule(slice, state.ExpAvgArray, state.ExpAvgSqArray,
            (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2), (float)(1 - Math.Pow(beta2, t)), (float)o.Eps,
            (float)(-o.Lr * (1 - mu) / (1 - product)), (float)(-o.Lr * muNext / (1 - product * muNext)),
            (float)o.WeightDecay, o.WeightDecay != 0);
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(NAdamState state, GroupStateEntries entries)
    {
        entries.Add("step", state.Step);
        entries.Add("mu_product", state.MuProduct);
        entries.Add("exp_avg", state.ExpAvgArray);
        entries.Add("exp_avg_sq", state.ExpAvgSqArray);
    }

    /// <inheritdoc />
    protected override NAdamState LoadState(GroupStateEntries entries) =>
        new((long)entries.Scalar("step"), (float)entries.Scalar("mu_product"), entries.Buffer("exp_avg"), entries.Buffer("exp_avg_sq"));
}

/// <summary>NAdam's step over a range: two successive updates of θ, from g and from m, over one denominator.</summary>
internal readonly record struct NAdamRule(ArenaSlice Slice, float[] ExpAvg, float[] ExpAvgSq, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float BiasCorrection2, float Eps, float GradientStep, float MomentumStep, float WeightDecay, bool Decay) : IUpdateRule
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
            float den = MathF.Sqrt(v[i] / BiasCorrection2) + Eps;               // √(v / (1 − β₂ᵗ)) + ε
            float p = param[i] + GradientStep * g / den;                        // θ − γ(1 − μₜ)/(1 − P) · g/d
            param[i] = p + MomentumStep * m[i] / den;                           // θ − γμₜ₊₁/(1 − P·μₜ₊₁) · m/d
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
        var (biasCorrection2, eps, weightDecay) = (TV.Create(BiasCorrection2), TV.Create(Eps), TV.Create(WeightDecay));
        var (gradientStep, momentumStep) = (TV.Create(GradientStep), TV.Create(MomentumStep));
        bool decay = Decay;
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
            var den = TV.Sqrt(vv / biasCorrection2) + eps;
            pv += gradientStep * gv / den;
            pv += momentumStep * mv / den;
            pv.Store(ref p, i);
        }
        return start + (int)i;
    }
}
