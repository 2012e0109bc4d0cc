using System.Runtime.Intrinsics;
using Descent.Kernels;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="RMSprop"/> (PyTorch names and defaults).</summary>
public sealed record RMSpropOptions : OptimizerOptions, IMomentumOptions
{
    /// <summary>Defaults of <c>torch.optim.RMSprop</c>: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered false.</summary>
    public RMSpropOptions() => Lr = 1e-2;

    /// <summary>Smoothing constant α of the running averages (<c>alpha</c>, default 0.99).</summary>
    public double Alpha { get; set; } = 0.99;

    /// <summary>Term added to the denominator, outside the square root (<c>eps</c>, default 1e-8).</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>Momentum factor μ (<c>momentum</c>, default 0); the buffer starts at zero and holds no learning rate.</summary>
    public double Momentum { get; set; }

    /// <inheritdoc />
    double IMomentumOptions.MomentumCoefficient { get => Momentum; set => Momentum = value; }

    /// <summary>Normalize by an estimate of the gradient's variance instead of its second moment (<c>centered</c>).</summary>
    public bool Centered { get; set; }

    /// <summary>Maximize the objective instead of minimizing (<c>maximize</c>).</summary>
    public bool Maximize { get; set; }

    /// <summary>A value as Python prints a float in these messages (<c>1e-08</c>, not <c>1E-08</c>).</summary>
    private static string Py(double v) => Fmt(v).Replace('E', 'e');

    /// <inheritdoc />
    public override void Validate()
    {
        // PyTorch 1.13's order: lr, eps, momentum, weight_decay, alpha.
        if (!(Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(Lr), $"Invalid learning rate: {Py(Lr)}");
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps), $"Invalid epsilon value: {Py(Eps)}");
        if (!(Momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(Momentum), $"Invalid momentum value: {Py(Momentum)}");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), $"Invalid weight_decay value: {Py(WeightDecay)}");
        if (!(Alpha >= 0)) throw new ArgumentOutOfRangeException(nameof(Alpha), $"Invalid alpha value: {Py(Alpha)}");
    }
}

/// <summary>
/// RMSprop: gradient steps divided by the root of a running average of squared gradients, with optional
/// momentum and centering, exactly as <c>torch.optim.RMSprop</c> (1.13).
/// </summary>
/// <remarks>
/// Per element, with g the gradient, λ weight decay, γ the group's current lr, μ momentum, v the running average
/// of g² (state <c>square_avg</c>), ḡ the running average of g (state <c>grad_avg</c>, centered only) and b the
/// momentum buffer (state <c>momentum_buffer</c>, momentum &gt; 0 only), all starting at 0:
/// <code>
/// g = maximize ? −g : g
/// if λ ≠ 0: g = g + λθ
/// v = αv + (1 − α)g²
/// centered: ḡ = αḡ + (1 − α)g;  den = √(v − ḡ²) + ε
/// otherwise: den = √v + ε
/// if μ &gt; 0: b = μb + g/den;  θ = θ − γb
/// else:       θ = θ − γ g/den
/// </code>
/// No bias correction; ε is outside the square root (TensorFlow puts it inside). Defaults: lr 1e-2, alpha 0.99,
/// eps 1e-8, weight_decay 0, momentum 0, centered false. State: the buffers above (created when first needed)
/// and the scalar <c>step</c> (counted, not used by the rule). <see cref="RMSpropOptions"/> implements
/// <see cref="IMomentumOptions"/>, so a momentum schedule drives μ.
/// Source: Hinton, Srivastava and Swersky, "Neural Networks for Machine Learning", lecture 6e (2012);
/// the centered form is from Graves, "Generating Sequences With Recurrent Neural Networks", arXiv:1308.0850 (2013).
/// </remarks>
public sealed class RMSprop : Optimizer<RMSpropOptions>
{
    /// <summary>One group, like <c>RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered, maximize=)</c>.</summary>
    public RMSprop(IEnumerable<Parameter> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : this([new ParamGroup<RMSpropOptions>(parameters, new RMSpropOptions { Lr = lr, Alpha = alpha, Eps = eps, WeightDecay = weightDecay, Momentum = momentum, Centered = centered, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public RMSprop(IEnumerable<ParamGroup<RMSpropOptions>> groups) : base(groups) => DeclareState(countSteps: true, "square_avg", "momentum_buffer", "grad_avg");

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, RMSpropOptions o, ArenaSlice slice)
    {
        bool hasMomentum = o.Momentum > 0;
        // A buffer switched on later (a momentum schedule, centered set mid-run) starts at zero.
        var momentumBuffer = hasMomentum ? StateBuffer("momentum_buffer", groupIndex) : null;
        var gradAvg = o.Centered ? StateBuffer("grad_avg", groupIndex) : null;
        NextGroupStep(groupIndex);
        var rule = new RMSpropRule(slice, StateBuffer("square_avg", groupIndex), momentumBuffer, gradAvg, (float)-o.Lr, (float)o.Alpha, (float)(1 - o.Alpha), (float)o.Eps,
            (float)o.WeightDecay, (float)o.Momentum, o.Maximize, o.WeightDecay != 0, hasMomentum, o.Centered);
        RangeParallel.For(slice.Length, ref rule);
    }
}

/// <summary>
/// The fused RMSprop update in PyTorch's operation order: v·α then one fused multiply-add of ((1 − α)g)·g;
/// ḡ·α then one fused multiply-add of (1 − α)·g; √(v − ḡ·ḡ) with the product fused; den + ε; then either
/// b·μ + g/den and θ − γb (fused) or θ + (−γg)/den.
/// </summary>
internal readonly record struct RMSpropRule(ArenaSlice Slice, float[] SquareAvg, float[]? MomentumBuffer, float[]? GradAvg, float NegLr, float Alpha, float OneMinusAlpha, float Eps, float WeightDecay, float Momentum, bool Maximize, bool Decay, bool HasMomentum, bool Centered) : IRangeBody
{
    public void Apply(int start, int end)
    {
        var param = Slice.Data.AsSpan(Slice.Offset + start, end - start);
        ReadOnlySpan<float> grad = Slice.Grad.AsSpan(Slice.Offset + start, end - start);
        var squareAvg = SquareAvg.AsSpan(start, end - start);
        var buffer = HasMomentum ? MomentumBuffer.AsSpan(start, end - start) : default;
        var gradAvg = Centered ? GradAvg.AsSpan(start, end - start) : default;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var (negLr, alpha, oneMinusAlpha, eps, wd, mu) = (Vector512.Create(NegLr), Vector512.Create(Alpha), Vector512.Create(OneMinusAlpha), Vector512.Create(Eps), Vector512.Create(WeightDecay), Vector512.Create(Momentum));
            for (; i <= param.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var p = Vector512.Create(param.Slice(i, Vector512<float>.Count));
                var g = Vector512.Create(grad.Slice(i, Vector512<float>.Count));
                if (Maximize) g = -g;
                if (Decay) g = Vector512.FusedMultiplyAdd(wd, p, g);
                var v = Vector512.FusedMultiplyAdd(oneMinusAlpha * g, g, Vector512.Create(squareAvg.Slice(i, Vector512<float>.Count)) * alpha);
                v.CopyTo(squareAvg.Slice(i));
                Vector512<float> den;
                if (Centered)
                {
                    var ga = Vector512.FusedMultiplyAdd(oneMinusAlpha, g, Vector512.Create(gradAvg.Slice(i, Vector512<float>.Count)) * alpha);
                    ga.CopyTo(gradAvg.Slice(i));
                    den = Vector512.Sqrt(Vector512.FusedMultiplyAdd(-ga, ga, v)) + eps;
                }
                else den = Vector512.Sqrt(v) + eps;
                if (HasMomentum)
                {
                    var b = Vector512.Create(buffer.Slice(i, Vector512<float>.Count)) * mu + g / den;
                    b.CopyTo(buffer.Slice(i));
                    Vector512.FusedMultiplyAdd(negLr, b, p).CopyTo(param.Slice(i));
                }
                else (p + negLr * g / den).CopyTo(param.Slice(i));
            }
        }
        for (; i < param.Length; i++)
        {
            float g = Maximize ? -grad[i] : grad[i];
            if (Decay) g = MathF.FusedMultiplyAdd(WeightDecay, param[i], g);
            float v = MathF.FusedMultiplyAdd(OneMinusAlpha * g, g, squareAvg[i] * Alpha);
            squareAvg[i] = v;
            float den;
            if (Centered)
            {
                float ga = MathF.FusedMultiplyAdd(OneMinusAlpha, g, gradAvg[i] * Alpha);
                gradAvg[i] = ga;
                den = MathF.Sqrt(MathF.FusedMultiplyAdd(-ga, ga, v)) + Eps;
            }
            else den = MathF.Sqrt(v) + Eps;
            if (HasMomentum)
            {
                float b = buffer[i] * Momentum + g / den;
                buffer[i] = b;
                param[i] = MathF.FusedMultiplyAdd(NegLr, b, param[i]);
            }
            else param[i] += NegLr * g / den;
        }
    }
}
