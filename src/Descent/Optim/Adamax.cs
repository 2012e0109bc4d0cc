using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adamax"/> (PyTorch names and defaults).</summary>
public sealed record AdamaxOptions : AdamFamilyOptions
{
    /// <summary>PyTorch's defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.</summary>
    public AdamaxOptions() => Lr = 2e-3;

    /// <summary>Maximize the objective instead of minimizing (<c>maximize</c>, default false).</summary>
    public bool Maximize { get; set; }
}

/// <summary>
/// Adamax, Adam with the infinity norm in place of the second moment, exactly as <c>torch.optim.Adamax</c>
/// (PyTorch 1.13, single-tensor path), with L2 weight decay.
/// </summary>
/// <remarks>
/// <para>
/// Per element, with g the gradient, γ the group's current lr, λ weight decay, t the group's step count:
/// <code>
/// g = maximize ? −g : g
/// if λ ≠ 0: g = g + λθ
/// m = β₁m + (1 − β₁)g
/// u = max(β₂u, |g| + ε)                    (ε inside the max, so u &gt; 0 from the first step)
/// θ = θ − (γ / (1 − β₁ᵗ)) · m / u
/// </code>
/// u needs no bias correction: it is a maximum, not an average started at zero.
/// </para>
/// <para>
/// Defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, maximize false. State per group:
/// <c>exp_avg</c> (m), <c>exp_inf</c> (u) and the scalar <c>step</c> (t).
/// </para>
/// <para>Kingma &amp; Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, section 7.1.</para>
/// </remarks>
public sealed class Adamax : Optimizer<AdamaxOptions>
{
    /// <summary>
    /// One group, like <c>Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public Adamax(IEnumerable<Parameter> parameters, double lr = 2e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool maximize = false)
        : this([new ParamGroup<AdamaxOptions>(parameters, new AdamaxOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Adamax(IEnumerable<ParamGroup<AdamaxOptions>> groups) : base(groups)
    {
        DeclareState(countSteps: true, "exp_avg", "exp_inf");
    }

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, AdamaxOptions o, ArenaSlice slice)
    {
        double t = NextGroupStep(groupIndex);
        var (beta1, beta2) = o.Betas;
        var rule = new AdamaxRule(slice, StateBuffer("exp_avg", groupIndex), StateBuffer("exp_inf", groupIndex),
            (float)beta1, (float)(1 - beta1), (float)beta2, (float)o.Eps, (float)-(o.Lr / (1 - Math.Pow(beta1, t))),
            (float)o.WeightDecay, o.WeightDecay != 0, o.Maximize);
        RangeParallel.For(slice.Length, ref rule);
    }

}

/// <summary>Adamax's fused step over a range.</summary>
internal readonly record struct AdamaxRule(ArenaSlice Slice, float[] ExpAvg, float[] ExpInf, float Beta1, float OneMinusBeta1, float Beta2, float Eps,
    float NegativeStepSize, float WeightDecay, bool Decay, bool Maximize) : IRangeBody
{
    public void Apply(int start, int end)
    {
        ref float p = ref AdamFamily.At(Slice.Data, Slice.Offset + start);
        ref float g = ref AdamFamily.At(Slice.Grad, Slice.Offset + start);
        ref float m = ref AdamFamily.At(ExpAvg, start);
        ref float u = ref AdamFamily.At(ExpInf, start);
        nuint n = (nuint)(end - start), i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var (b1, c1, b2) = (Vector512.Create(Beta1), Vector512.Create(OneMinusBeta1), Vector512.Create(Beta2));
            var (eps, step, wd) = (Vector512.Create(Eps), Vector512.Create(NegativeStepSize), Vector512.Create(WeightDecay));
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                var pv = Vector512.LoadUnsafe(ref p, i);
                var gv = Vector512.LoadUnsafe(ref g, i);
                if (Maximize) gv = -gv;
                if (Decay) gv = Vector512.FusedMultiplyAdd(pv, wd, gv);
                var mv = AdamFamily.Ema(Vector512.LoadUnsafe(ref m, i), gv, b1, c1);
                var uv = Vector512.Max(Vector512.LoadUnsafe(ref u, i) * b2, Vector512.Abs(gv) + eps);
                mv.StoreUnsafe(ref m, i);
                uv.StoreUnsafe(ref u, i);
                (pv + step * mv / uv).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            ref float pi = ref Unsafe.Add(ref p, i);
            ref float mi = ref Unsafe.Add(ref m, i);
            ref float ui = ref Unsafe.Add(ref u, i);
            float gi = Unsafe.Add(ref g, i);
            if (Maximize) gi = -gi;
            if (Decay) gi = MathF.FusedMultiplyAdd(pi, WeightDecay, gi);
            mi = AdamFamily.Ema(mi, gi, Beta1, OneMinusBeta1);
            ui = MathF.Max(ui * Beta2, MathF.Abs(gi) + Eps);
            pi += NegativeStepSize * mi / ui;
        }
    }
}
