using System.Runtime.CompilerServices;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adadelta"/> (PyTorch names and defaults).</summary>
public sealed record AdadeltaOptions : OptimizerOptions
{
    /// <summary>Defaults of <c>torch.optim.Adadelta</c>: lr 1.0, rho 0.9, eps 1e-6, weight_decay 0.</summary>
    public AdadeltaOptions() => Lr = 1.0;

    /// <summary>Decay ρ of both running averages (<c>rho</c>, default 0.9), in [0, 1].</summary>
    public double Rho { get; set; } = 0.9;

    /// <summary>Term added inside both square roots (<c>eps</c>, default 1e-6).</summary>
    public double Eps { get; set; } = 1e-6;

    /// <summary>Maximize the objective instead of minimizing (<c>maximize</c>).</summary>
    public bool Maximize { get; set; }

    /// <summary>A value as Python prints a float in these messages (<c>1e-08</c>, not <c>1E-08</c>).</summary>
    private static string Py(double v) => Fmt(v).Replace('E', 'e');

    /// <inheritdoc />
    public override void Validate()
    {
        // PyTorch 1.13's order: lr, rho, eps, weight_decay.
        if (!(Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(Lr), $"Invalid learning rate: {Py(Lr)}");
        if (!(Rho >= 0 && Rho <= 1)) throw new ArgumentOutOfRangeException(nameof(Rho), $"Invalid rho value: {Py(Rho)}");
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps), $"Invalid epsilon value: {Py(Eps)}");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), $"Invalid weight_decay value: {Py(WeightDecay)}");
    }
}

/// <summary>
/// The state of one parameter group of <see cref="Adadelta"/>: PyTorch's <c>step</c>, <c>square_avg</c> and
/// <c>acc_delta</c>, the buffers one value per element of the group.
/// </summary>
public sealed class AdadeltaState
{
    internal AdadeltaState(long step, float[] squareAvg, float[] accDelta)
    {
        Step = step;
        SquareAvgArray = squareAvg;
        AccDeltaArray = accDelta;
    }

    /// <summary>Steps the group has taken (<c>step</c>; counted, not used by the rule).</summary>
    public long Step { get; internal set; }

    /// <summary>The running average of g², v (<c>square_avg</c>).</summary>
    public ReadOnlySpan<float> SquareAvg => SquareAvgArray;

    /// <summary>The running average of squared updates, u (<c>acc_delta</c>).</summary>
    public ReadOnlySpan<float> AccDelta => AccDeltaArray;

    internal float[] SquareAvgArray { get; }
    internal float[] AccDeltaArray { get; }
}

/// <summary>
/// Adadelta: steps whose size is the ratio of the root mean squares of past updates and past gradients, so no
/// learning rate is needed (lr = 1 is the original method), exactly as <c>torch.optim.Adadelta</c> (1.13).
/// </summary>
/// <remarks>
/// Per element, with g the gradient, λ weight decay, γ the group's current lr, v the running average of g²
/// (state <c>square_avg</c>) and u the running average of squared updates (state <c>acc_delta</c>), both
/// starting at 0:
/// <code>
/// g = maximize ? −g : g
/// if λ ≠ 0: g = g + λθ
/// v = ρv + (1 − ρ)g²
/// Δ = √(u + ε) / √(v + ε) · g     (ε inside both square roots)
/// u = ρu + (1 − ρ)Δ²             (the update before the learning rate)
/// θ = θ − γΔ
/// </code>
/// Defaults: lr 1.0, rho 0.9, eps 1e-6, weight_decay 0. State per group (<see cref="AdadeltaState"/>):
/// <c>square_avg</c>, <c>acc_delta</c> and the scalar <c>step</c> (counted, not used by the rule), created at the
/// first step.
/// Paper: Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701 (2012).
/// </remarks>
public sealed class Adadelta : Optimizer<AdadeltaOptions, AdadeltaState>
{
    /// <summary>One group, like <c>Adadelta(params, lr, rho, eps, weight_decay, maximize=)</c>.</summary>
    public Adadelta(IEnumerable<Parameter> parameters, double lr = 1.0, double rho = 0.9, double eps = 1e-6, double weightDecay = 0, bool maximize = false)
        : this([new ParamGroup<AdadeltaOptions>(parameters, new AdadeltaOptions { Lr = lr, Rho = rho, Eps = eps, WeightDecay = weightDecay, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Adadelta(IEnumerable<ParamGroup<AdadeltaOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override AdadeltaState NewState(ParamGroup<AdadeltaOptions> group) => new(0, new float[group.Length], new float[group.Length]);

    /// <inheritdoc />
    protected override void StepGroup(AdadeltaOptions o, AdadeltaState state, ArenaSlice slice)
    {
        state.Step++;
        var rule = new AdadeltaRule(slice, state.SquareAvgArray, state.AccDeltaArray, (float)-o.Lr, (float)o.Rho, (float)(1 - o.Rho), (float)o.Eps, (float)o.WeightDecay, o.Maximize, o.WeightDecay != 0);
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(AdadeltaState state, GroupStateEntries entries)
    {
        entries.Add("step", state.Step);
        entries.Add("square_avg", state.SquareAvgArray);
        entries.Add("acc_delta", state.AccDeltaArray);
    }

    /// <inheritdoc />
    protected override AdadeltaState LoadState(GroupStateEntries entries) =>
        new((long)entries.Scalar("step"), entries.Buffer("square_avg"), entries.Buffer("acc_delta"));
}

/// <summary>
/// The Adadelta update in PyTorch's operation order: v·ρ then one fused multiply-add of ((1 − ρ)g)·g
/// (<c>mul_</c> + <c>addcmul_</c>), Δ = √(u + ε) / √(v + ε) · g, the same for u with Δ, and θ − γΔ as one fused
/// multiply-add (<c>add_</c> with alpha).
/// </summary>
internal readonly record struct AdadeltaRule(ArenaSlice Slice, float[] SquareAvg, float[] AccDelta, float NegLr, float Rho, float OneMinusRho, float Eps, float WeightDecay, bool Maximize, bool Decay) : IUpdateRule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        Span<float> param = Slice.Param, squareAvg = SquareAvg, accDelta = AccDelta;
        ReadOnlySpan<float> grad = Slice.Gradient;
        for (int i = start; i < end; i++)
        {
            float g = Maximize ? -grad[i] : grad[i];
            if (Decay) g = UpdateRules.MultiplyAdd(WeightDecay, param[i], g);                       // g + λθ
            float v = squareAvg[i] = UpdateRules.MultiplyAdd(OneMinusRho * g, g, squareAvg[i] * Rho); // ρv + (1 − ρ)g²
            float u = accDelta[i];
            float delta = MathF.Sqrt(u + Eps) / MathF.Sqrt(v + Eps) * g;                             // √(u + ε) / √(v + ε) · g
            accDelta[i] = UpdateRules.MultiplyAdd(OneMinusRho * delta, delta, u * Rho);               // ρu + (1 − ρ)Δ²
            param[i] = UpdateRules.MultiplyAdd(NegLr, delta, param[i]);                               // θ − γΔ
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float p = ref UpdateRules.At(Slice.Data, Slice.Offset + start);
        ref float g = ref UpdateRules.At(Slice.Grad, Slice.Offset + start);
        ref float squareAvg = ref UpdateRules.At(SquareAvg, start);
        ref float accDelta = ref UpdateRules.At(AccDelta, start);
        var (negLr, rho, oneMinusRho, eps, weightDecay) = (TV.Create(NegLr), TV.Create(Rho), TV.Create(OneMinusRho), TV.Create(Eps), TV.Create(WeightDecay));
        var (maximize, decay) = (Maximize, Decay);
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var pv = TV.Load(ref p, i);
            var gv = TV.Load(ref g, i);
            if (maximize) gv = -gv;
            if (decay) gv = TV.MultiplyAdd(weightDecay, pv, gv);
            var v = TV.MultiplyAdd(oneMinusRho * gv, gv, TV.Load(ref squareAvg, i) * rho);
            v.Store(ref squareAvg, i);
            var u = TV.Load(ref accDelta, i);
            var delta = TV.Sqrt(u + eps) / TV.Sqrt(v + eps) * gv;
            TV.MultiplyAdd(oneMinusRho * delta, delta, u * rho).Store(ref accDelta, i);
            TV.MultiplyAdd(negLr, delta, pv).Store(ref p, i);
        }
        return start + (int)i;
    }
}
