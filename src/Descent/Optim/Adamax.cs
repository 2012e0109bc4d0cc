using System.Runtime.CompilerServices;
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
/// The state of one parameter group of <see cref="Adamax"/>: PyTorch's <c>step</c>, <c>exp_avg</c> and
/// <c>exp_inf</c>, the buffers one value per element of the group.
/// </summary>
public sealed class AdamaxState
{
    internal AdamaxState(long step, float[] expAvg, float[] expInf)
    {
        Step = step;
        ExpAvgArray = expAvg;
        ExpInfArray = expInf;
    }

    /// <summary>Steps the group has taken, t (<c>step</c>).</summary>
    public long Step { get; internal set; }

    /// <summary>The first moment m (<c>exp_avg</c>).</summary>
    public ReadOnlySpan<float> ExpAvg => ExpAvgArray;

    /// <summary>The infinity norm u, a decaying maximum of |g| (<c>exp_inf</c>).</summary>
    public ReadOnlySpan<float> ExpInf => ExpInfArray;

    internal float[] ExpAvgArray { get; }
    internal float[] ExpInfArray { get; }
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
/// Defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, maximize false. State per group
/// (<see cref="AdamaxState"/>): <c>exp_avg</c> (m), <c>exp_inf</c> (u) and the scalar <c>step</c> (t).
/// </para>
/// <para>Kingma &amp; Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, section 7.1.</para>
/// </remarks>
public sealed class Adamax : Optimizer<AdamaxOptions, AdamaxState>
{
    /// <summary>
    /// One group, like <c>Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public Adamax(IEnumerable<Parameter> parameters, double lr = 2e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool maximize = false)
        : this([new ParamGroup<AdamaxOptions>(parameters, new AdamaxOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Adamax(IEnumerable<ParamGroup<AdamaxOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override AdamaxState NewState(ParamGroup<AdamaxOptions> group) => new(0, new float[group.Length], new float[group.Length]);

    /// <inheritdoc />
    protected override void StepGroup(AdamaxOptions o, AdamaxState state, ArenaSlice slice)
    {
        double t = ++state.Step;
        var (beta1, beta2) = o.Betas;
        var rule = new AdamaxRule(slice, state.ExpAvgArray, state.ExpInfArray,
            (float)beta1, (float)(1 - beta1), (float)beta2, (float)o.Eps, (float)-(o.Lr / (1 - Math.Pow(beta1, t))),
            (float)o.WeightDecay, o.WeightDecay != 0, o.Maximize);
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(AdamaxState state, GroupStateEntries entries)
    {
        entries.Add("step", state.Step);
        entries.Add("exp_avg", state.ExpAvgArray);
        entries.Add("exp_inf", state.ExpInfArray);
    }

    /// <inheritdoc />
    protected override AdamaxState LoadState(GroupStateEntries entries) =>
        new((long)entries.Scalar("step"), entries.Buffer("exp_avg"), entries.Buffer("exp_inf"));
}

/// <summary>Adamax's step over a range.</summary>
internal readonly record struct AdamaxRule(ArenaSlice Slice, float[] ExpAvg, float[] ExpInf, float Beta1, float OneMinusBeta1, float Beta2, float Eps,
    float NegativeStepSize, float WeightDecay, bool Decay, bool Maximize) : IUpdateRule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        Span<float> param = Slice.Param, m = ExpAvg, u = ExpInf;
        ReadOnlySpan<float> grad = Slice.Gradient;
        for (int i = start; i < end; i++)
        {
            float g = Maximize ? -grad[i] : grad[i];
            if (Decay) g = UpdateRules.MultiplyAdd(param[i], WeightDecay, g);   // g + λθ
            m[i] = AdamFamily.Ema(m[i], g, Beta1, OneMinusBeta1);               // β₁m + (1 − β₁)g
            u[i] = MathF.Max(u[i] * Beta2, MathF.Abs(g) + Eps);                 // max(β₂u, |g| + ε)
            param[i] += NegativeStepSize * m[i] / u[i];                         // θ − (γ / (1 − β₁ᵗ)) · m / u
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float p = ref UpdateRules.At(Slice.Data, Slice.Offset + start);
        ref float g = ref UpdateRules.At(Slice.Grad, Slice.Offset + start);
        ref float m = ref UpdateRules.At(ExpAvg, start);
        ref float u = ref UpdateRules.At(ExpInf, start);
        var (beta1, oneMinusBeta1, beta2) = (TV.Create(Beta1), TV.Create(OneMinusBeta1), TV.Create(Beta2));
        var (eps, negativeStepSize, weightDecay) = (TV.Create(Eps), TV.Create(NegativeStepSize), TV.Create(WeightDecay));
        var (maximize, decay) = (Maximize, Decay);
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var pv = TV.Load(ref p, i);
            var gv = TV.Load(ref g, i);
            if (maximize) gv = -gv;
            if (decay) gv = TV.MultiplyAdd(pv, weightDecay, gv);
            var mv = AdamFamily.Ema(TV.Load(ref m, i), gv, beta1, oneMinusBeta1);
            var uv = TV.Max(TV.Load(ref u, i) * beta2, TV.Abs(gv) + eps);
            mv.Store(ref m, i);
            uv.Store(ref u, i);
            (pv + negativeStepSize * mv / uv).Store(ref p, i);
        }
        return start + (int)i;
    }
}
