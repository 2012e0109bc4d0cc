using System.Runtime.CompilerServices;
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
/// The state of one parameter group of <see cref="RMSprop"/>: PyTorch's <c>step</c>, <c>square_avg</c>,
/// <c>momentum_buffer</c> (momentum only) and <c>grad_avg</c> (centered only), the buffers one value per element
/// of the group.
/// </summary>
public sealed class RMSpropState
{
    internal RMSpropState(long step, float[] squareAvg, float[]? momentumBuffer, float[]? gradAvg)
    {
        Step = step;
        SquareAvgArray = squareAvg;
        MomentumBufferArray = momentumBuffer;
        GradAvgArray = gradAvg;
    }

    /// <summary>Steps the group has taken (<c>step</c>; counted, not used by the rule).</summary>
    public long Step { get; internal set; }

    /// <summary>The running average of g², v (<c>square_avg</c>).</summary>
    public ReadOnlySpan<float> SquareAvg => SquareAvgArray;

    /// <summary>The momentum buffer b (<c>momentum_buffer</c>); empty until a step with momentum.</summary>
    public ReadOnlySpan<float> MomentumBuffer => MomentumBufferArray;

    /// <summary>The running average of g, ḡ (<c>grad_avg</c>); empty until a centered step.</summary>
    public ReadOnlySpan<float> GradAvg => GradAvgArray;

    internal float[] SquareAvgArray { get; }
    internal float[]? MomentumBufferArray { get; set; }
    internal float[]? GradAvgArray { get; set; }
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
/// eps 1e-8, weight_decay 0, momentum 0, centered false. State per group (<see cref="RMSpropState"/>): the buffers
/// above (each created when first needed) and the scalar <c>step</c> (counted, not used by the rule). <see cref="RMSpropOptions"/> implements
/// <see cref="IMomentumOptions"/>, so a momentum schedule drives μ.
/// Source: Hinton, Srivastava and Swersky, "Neural Networks for Machine Learning", lecture 6e (2012);
/// the centered form is from Graves, "Generating Sequences With Recurrent Neural Networks", arXiv:1308.0850 (2013).
/// </remarks>
public sealed class RMSprop : Optimizer<RMSpropOptions, RMSpropState>
{
    /// <summary>One group, like <c>RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered, maximize=)</c>.</summary>
    public RMSprop(IEnumerable<Parameter> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : this([new ParamGroup<RMSpropOptions>(parameters, new RMSpropOptions { Lr = lr, Alpha = alpha, Eps = eps, WeightDecay = weightDecay, Momentum = momentum, Centered = centered, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public RMSprop(IEnumerable<ParamGroup<RMSpropOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override RMSpropState NewState(ParamGroup<RMSpropOptions> group) => new(0, new float[group.Length], null, null);

    /// <inheritdoc />
    protected override void StepGroup(RMSpropOptions o, RMSpropState state, ArenaSlice slice)
    {
        bool hasMomentum = o.Momentum > 0;
        // A buffer switched on later (a momentum schedule, centered set mid-run) starts at zero.
        if (hasMomentum) state.MomentumBufferArray ??= new float[slice.Length];
        if (o.Centered) state.GradAvgArray ??= new float[slice.Length];
        state.Step++;
        var rule = new RMSpropRule(slice, state.SquareAvgArray, hasMomentum ? state.MomentumBufferArray : null, o.Centered ? state.GradAvgArray : null,
            (float)-o.Lr, (float)o.Alpha, (float)(1 - o.Alpha), (float)o.Eps, (float)o.WeightDecay, (float)o.Momentum, o.Maximize, o.WeightDecay != 0, hasMomentum, o.Centered);
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(RMSpropState state, GroupStateEntries entries)
    {
        entries.Add("step", state.Step);
        entries.Add("square_avg", state.SquareAvgArray);
        entries.Add("momentum_buffer", state.MomentumBufferArray);
        entries.Add("grad_avg", state.GradAvgArray);
    }

    /// <inheritdoc />
    protected override RMSpropState LoadState(GroupStateEntries entries) =>
        new((long)entries.Scalar("step"), entries.Buffer("square_avg"), entries.OptionalBuffer("momentum_buffer"), entries.OptionalBuffer("grad_avg"));
}

/// <summary>
/// The RMSprop update in PyTorch's operation order: v·α then one fused multiply-add of ((1 − α)g)·g;
/// ḡ·α then one fused multiply-add of (1 − α)·g; √(v − ḡ·ḡ) with the product fused; den + ε; then either
/// b·μ + g/den and θ − γb (fused) or θ + (−γg)/den.
/// </summary>
internal readonly record struct RMSpropRule(ArenaSlice Slice, float[] SquareAvg, float[]? MomentumBuffer, float[]? GradAvg, float NegLr, float Alpha, float OneMinusAlpha,
    float Eps, float WeightDecay, float Momentum, bool Maximize, bool Decay, bool HasMomentum, bool Centered) : IUpdateRule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        Span<float> param = Slice.Param, squareAvg = SquareAvg, buffer = MomentumBuffer, gradAvg = GradAvg;
        ReadOnlySpan<float> grad = Slice.Gradient;
        for (int i = start; i < end; i++)
        {
            float g = Maximize ? -grad[i] : grad[i];
            if (Decay) g = UpdateRules.MultiplyAdd(WeightDecay, param[i], g);                             // g + λθ
            float v = squareAvg[i] = UpdateRules.MultiplyAdd(OneMinusAlpha * g, g, squareAvg[i] * Alpha);   // αv + (1 − α)g²
            float den;
            if (Centered)
            {
                float ga = gradAvg[i] = UpdateRules.MultiplyAdd(OneMinusAlpha, g, gradAvg[i] * Alpha);      // αḡ + (1 − α)g
                den = MathF.Sqrt(UpdateRules.MultiplyAdd(-ga, ga, v)) + Eps;                                // √(v − ḡ²) + ε
            }
            else den = MathF.Sqrt(v) + Eps;                                                                // √v + ε
            if (HasMomentum)
            {
                float b = buffer[i] = buffer[i] * Momentum + g / den;                                      // μb + g/den
                param[i] = UpdateRules.MultiplyAdd(NegLr, b, param[i]);                                     // θ − γb
            }
            else param[i] += NegLr * g / den;                                                              // θ − γ g/den
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float p = ref UpdateRules.At(Slice.Data, Slice.Offset + start);
        ref float g = ref UpdateRules.At(Slice.Grad, Slice.Offset + start);
        ref float squareAvg = ref UpdateRules.At(SquareAvg, start);
        ref float buffer = ref HasMomentum ? ref UpdateRules.At(MomentumBuffer!, start) : ref Unsafe.NullRef<float>();
        ref float gradAvg = ref Centered ? ref UpdateRules.At(GradAvg!, start) : ref Unsafe.NullRef<float>();
        var (negLr, alpha, oneMinusAlpha, eps) = (TV.Create(NegLr), TV.Create(Alpha), TV.Create(OneMinusAlpha), TV.Create(Eps));
        var (weightDecay, momentum) = (TV.Create(WeightDecay), TV.Create(Momentum));
        var (maximize, decay, centered, hasMomentum) = (Maximize, Decay, Centered, HasMomentum);
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var pv = TV.Load(ref p, i);
            var gv = TV.Load(ref g, i);
            if (maximize) gv = -gv;
            if (decay) gv = TV.MultiplyAdd(weightDecay, pv, gv);
            var v = TV.MultiplyAdd(oneMinusAlpha * gv, gv, TV.Load(ref squareAvg, i) * alpha);
            v.Store(ref squareAvg, i);
            TV den;
            if (centered)
            {
                var ga = TV.MultiplyAdd(oneMinusAlpha, gv, TV.Load(ref gradAvg, i) * alpha);
                ga.Store(ref gradAvg, i);
                den = TV.Sqrt(TV.MultiplyAdd(-ga, ga, v)) + eps;
            }
            else den = TV.Sqrt(v) + eps;
            if (hasMomentum)
            {
                var b = TV.Load(ref buffer, i) * momentum + gv / den;
                b.Store(ref buffer, i);
                TV.MultiplyAdd(negLr, b, pv).Store(ref p, i);
            }
            else (pv + negLr * gv / den).Store(ref p, i);
        }
        return start + (int)i;
    }
}
