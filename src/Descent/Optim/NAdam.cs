using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;
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
/// Defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, momentum_decay 4e-3. State per group:
/// <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v) and the scalars <c>step</c> (t) and <c>mu_product</c> (P).
/// </para>
/// <para>Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop.</para>
/// </remarks>
public sealed class NAdam : Optimizer<NAdamOptions>
{
    private readonly double[] _muProducts;

    /// <summary>
    /// One group, like <c>NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public NAdam(IEnumerable<Parameter> parameters, double lr = 2e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, double momentumDecay = 4e-3)
        : this([new ParamGroup<NAdamOptions>(parameters, new NAdamOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay, MomentumDecay = momentumDecay })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public NAdam(IEnumerable<ParamGroup<NAdamOptions>> groups) : base(groups)
    {
        DeclareState(countSteps: true, "exp_avg", "exp_avg_sq");
        _muProducts = Enumerable.Repeat(1.0, ParamGroups.Count).ToArray();
    }

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, NAdamOptions o, ArenaSlice slice)
    {
        double t = NextGroupStep(groupIndex);
        var (beta1, beta2) = o.Betas;
        double mu = beta1 * (1 - 0.5 * Math.Pow(0.96, t * o.MomentumDecay));
        double muNext = beta1 * (1 - 0.5 * Math.Pow(0.96, (t + 1) * o.MomentumDecay));
        double product = _muProducts[groupIndex] = (float)_muProducts[groupIndex] * (float)mu;
        var rule = new NAdamRule(slice, StateBuffer("exp_avg", groupIndex), StateBuffer("exp_avg_sq", groupIndex),
            (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2), (float)(1 - Math.Pow(beta2, t)), (float)o.Eps,
            (float)(-o.Lr * (1 - mu) / (1 - product)), (float)(-o.Lr * muNext / (1 - product * muNext)),
            (float)o.WeightDecay, o.WeightDecay != 0);
        RangeParallel.For(slice.Length, ref rule);
    }


    /// <inheritdoc />
    protected override IEnumerable<(string Name, int Group, double Value)> StateScalars() =>
        base.StateScalars().Concat(_muProducts.Select((p, g) => ("mu_product", g, p)));

    /// <inheritdoc />
    protected override void SetStateScalar(string name, int group, double value)
    {
        if (name == "mu_product") _muProducts[group] = value;
        else base.SetStateScalar(name, group, value);
    }
}

/// <summary>NAdam's fused step over a range: two successive updates of θ from g and from m, over one denominator.</summary>
internal readonly record struct NAdamRule(ArenaSlice Slice, float[] ExpAvg, float[] ExpAvgSq, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float BiasCorrection2, float Eps, float GradientStep, float MomentumStep, float WeightDecay, bool Decay) : IRangeBody
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
            var (bc2, eps, wd) = (Vector512.Create(BiasCorrection2), Vector512.Create(Eps), Vector512.Create(WeightDecay));
            var (gradientStep, momentumStep) = (Vector512.Create(GradientStep), Vector512.Create(MomentumStep));
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                var pv = Vector512.LoadUnsafe(ref p, i);
                var gv = Vector512.LoadUnsafe(ref g, i);
                if (Decay) gv = Vector512.FusedMultiplyAdd(pv, wd, gv);
                var mv = AdamFamily.Ema(Vector512.LoadUnsafe(ref m, i), gv, b1, c1);
                var vv = AdamFamily.EmaOfSquare(Vector512.LoadUnsafe(ref v, i), gv, b2, c2);
                mv.StoreUnsafe(ref m, i);
                vv.StoreUnsafe(ref v, i);
                var den = Vector512.Sqrt(vv / bc2) + eps;
                pv += gradientStep * gv / den;
                pv += momentumStep * mv / den;
                pv.StoreUnsafe(ref p, i);
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
            float den = MathF.Sqrt(vi / BiasCorrection2) + Eps;
            float q = pi + GradientStep * gi / den;
            pi = q + MomentumStep * mi / den;
        }
    }
}
