using System.Runtime.Intrinsics;
using Descent.Kernels;
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
/// Defaults: lr 1.0, rho 0.9, eps 1e-6, weight_decay 0. State: <c>square_avg</c>, <c>acc_delta</c> (per group,
/// created at the first step) and the scalar <c>step</c> (counted, not used by the rule).
/// Paper: Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701 (2012).
/// </remarks>
public sealed class Adadelta : Optimizer<AdadeltaOptions>
{
    /// <summary>One group, like <c>Adadelta(params, lr, rho, eps, weight_decay, maximize=)</c>.</summary>
    public Adadelta(IEnumerable<Parameter> parameters, double lr = 1.0, double rho = 0.9, double eps = 1e-6, double weightDecay = 0, bool maximize = false)
        : this([new ParamGroup<AdadeltaOptions>(parameters, new AdadeltaOptions { Lr = lr, Rho = rho, Eps = eps, WeightDecay = weightDecay, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Adadelta(IEnumerable<ParamGroup<AdadeltaOptions>> groups) : base(groups) => DeclareState(countSteps: true, "square_avg", "acc_delta");

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, AdadeltaOptions o, ArenaSlice slice)
    {
        NextGroupStep(groupIndex);
        var rule = new AdadeltaRule(slice, StateBuffer("square_avg", groupIndex), StateBuffer("acc_delta", groupIndex), (float)-o.Lr, (float)o.Rho, (float)(1 - o.Rho), (float)o.Eps, (float)o.WeightDecay, o.Maximize, o.WeightDecay != 0);
        RangeParallel.For(slice.Length, ref rule);
    }
}

/// <summary>
/// The fused Adadelta update in PyTorch's operation order: v·ρ then one fused multiply-add of ((1 − ρ)g)·g
/// (<c>mul_</c> + <c>addcmul_</c>), Δ = √(u + ε) / √(v + ε) · g, the same for u with Δ, and θ − γΔ as one fused
/// multiply-add (<c>add_</c> with alpha).
/// </summary>
internal readonly record struct AdadeltaRule(ArenaSlice Slice, float[] SquareAvg, float[] AccDelta, float NegLr, float Rho, float OneMinusRho, float Eps, float WeightDecay, bool Maximize, bool Decay) : IRangeBody
{
    public void Apply(int start, int end)
    {
        var param = Slice.Data.AsSpan(Slice.Offset + start, end - start);
        ReadOnlySpan<float> grad = Slice.Grad.AsSpan(Slice.Offset + start, end - start);
        var squareAvg = SquareAvg.AsSpan(start, end - start);
        var accDelta = AccDelta.AsSpan(start, end - start);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var (negLr, rho, oneMinusRho, eps, wd) = (Vector512.Create(NegLr), Vector512.Create(Rho), Vector512.Create(OneMinusRho), Vector512.Create(Eps), Vector512.Create(WeightDecay));
            for (; i <= param.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var p = Vector512.Create(param.Slice(i, Vector512<float>.Count));
                var g = Vector512.Create(grad.Slice(i, Vector512<float>.Count));
                if (Maximize) g = -g;
                if (Decay) g = Vector512.FusedMultiplyAdd(wd, p, g);
                var v = Vector512.FusedMultiplyAdd(oneMinusRho * g, g, Vector512.Create(squareAvg.Slice(i, Vector512<float>.Count)) * rho);
                v.CopyTo(squareAvg.Slice(i));
                var u = Vector512.Create(accDelta.Slice(i, Vector512<float>.Count));
                var delta = Vector512.Sqrt(u + eps) / Vector512.Sqrt(v + eps) * g;
                Vector512.FusedMultiplyAdd(oneMinusRho * delta, delta, u * rho).CopyTo(accDelta.Slice(i));
                Vector512.FusedMultiplyAdd(negLr, delta, p).CopyTo(param.Slice(i));
            }
        }
        for (; i < param.Length; i++)
        {
            float g = Maximize ? -grad[i] : grad[i];
            if (Decay) g = MathF.FusedMultiplyAdd(WeightDecay, param[i], g);
            float v = MathF.FusedMultiplyAdd(OneMinusRho * g, g, squareAvg[i] * Rho);
            squareAvg[i] = v;
            float u = accDelta[i];
            float delta = MathF.Sqrt(u + Eps) / MathF.Sqrt(v + Eps) * g;
            accDelta[i] = MathF.FusedMultiplyAdd(OneMinusRho * delta, delta, u * Rho);
            param[i] = MathF.FusedMultiplyAdd(NegLr, delta, param[i]);
        }
    }
}
