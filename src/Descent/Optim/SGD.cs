using System.Runtime.CompilerServices;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="SGD"/> (PyTorch names and defaults).</summary>
public sealed record SgdOptions : OptimizerOptions, IMomentumOptions
{
    /// <summary>Momentum factor μ (<c>momentum</c>, default 0).</summary>
    public double Momentum { get; set; }
    /// <inheritdoc />
    double IMomentumOptions.MomentumCoefficient { get => Momentum; set => Momentum = value; }
    /// <summary>Dampening τ for momentum (<c>dampening</c>, default 0).</summary>
    public double Dampening { get; set; }
    /// <summary>Nesterov momentum (<c>nesterov</c>, default false); needs momentum &gt; 0 and dampening 0.</summary>
    public bool Nesterov { get; set; }
    /// <summary>Maximize the objective instead of minimizing (<c>maximize</c>).</summary>
    public bool Maximize { get; set; }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (!(Momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(Momentum), $"Invalid momentum value: {Fmt(Momentum)}");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
    }
}

/// <summary>
/// The state of one parameter group of <see cref="SGD"/>: PyTorch's <c>momentum_buffer</c>, one value per element
/// of the group.
/// </summary>
public sealed class SgdState
{
    internal SgdState(float[]? momentumBuffer) => MomentumBufferArray = momentumBuffer;

    /// <summary>The momentum buffer b (<c>momentum_buffer</c>); empty until a step with momentum.</summary>
    public ReadOnlySpan<float> MomentumBuffer => MomentumBufferArray;

    internal float[]? MomentumBufferArray { get; set; }
}

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay, exactly as
/// <c>torch.optim.SGD</c>.
/// </summary>
/// <remarks>
/// Per element, with g the gradient, λ weight decay, μ momentum, τ dampening, γ the group's current lr:
/// <code>
/// d = maximize ? −g : g
/// if λ ≠ 0: d = d + λθ
/// if μ ≠ 0: b = (first step) ? d : μb + (1 − τ)d;  d = nesterov ? d + μb : b
/// θ = θ − γd
/// </code>
/// The buffer b holds no learning rate. The lectures' form v ← αv − εg, θ ← θ + v gives the same
/// trajectory (v = −εb) while ε is constant; when the learning rate changes, PyTorch's form reacts at once.
/// State per group (<see cref="SgdState"/>): <c>momentum_buffer</c> (b), created at the first step with momentum.
/// </remarks>
public sealed class SGD : Optimizer<SgdOptions, SgdState>
{
    /// <summary>One group with the given hyperparameters, like <c>SGD(params, lr, momentum, dampening, weight_decay, nesterov, maximize=)</c>.</summary>
    public SGD(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : this([new ParamGroup<SgdOptions>(parameters, new SgdOptions { Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay, Nesterov = nesterov, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public SGD(IEnumerable<ParamGroup<SgdOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override SgdState NewState(ParamGroup<SgdOptions> group) => new(null);

    /// <inheritdoc />
    protected override void StepGroup(SgdOptions o, SgdState state, ArenaSlice slice)
    {
        bool hasMomentum = o.Momentum != 0, first = false;
        if (hasMomentum && state.MomentumBufferArray is null)
        {
            state.MomentumBufferArray = new float[slice.Length];
            first = true;
        }
        var rule = new SgdRule(slice, hasMomentum ? state.MomentumBufferArray : null, (float)o.Lr, (float)o.WeightDecay, (float)o.Momentum, (float)(1 - o.Dampening),
            o.Maximize, o.Nesterov, hasMomentum, o.WeightDecay != 0, first);
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(SgdState state, GroupStateEntries entries) => entries.Add("momentum_buffer", state.MomentumBufferArray);

    /// <inheritdoc />
    protected override SgdState LoadState(GroupStateEntries entries) => new(entries.OptionalBuffer("momentum_buffer"));
}

/// <summary>
/// The SGD update over a range: one read of θ, g (and b), one write of θ (and b). On the group's first step
/// with momentum the buffer starts as d itself (<paramref name="First"/>).
/// </summary>
internal readonly record struct SgdRule(ArenaSlice Slice, float[]? MomentumBuffer, float Lr, float WeightDecay, float Momentum, float OneMinusDampening,
    bool Maximize, bool Nesterov, bool HasMomentum, bool Decay, bool First) : IUpdateRule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        Span<float> param = Slice.Param, buffer = MomentumBuffer;
        ReadOnlySpan<float> grad = Slice.Gradient;
        for (int i = start; i < end; i++)
        {
            float d = Maximize ? -grad[i] : grad[i];
            if (Decay) d = UpdateRules.MultiplyAdd(WeightDecay, param[i], d);                                  // d + λθ
            if (HasMomentum)
            {
                float b = buffer[i] = First ? d : UpdateRules.MultiplyAdd(OneMinusDampening, d, buffer[i] * Momentum); // μb + (1 − τ)d
                d = Nesterov ? UpdateRules.MultiplyAdd(Momentum, b, d) : b;                                       // d + μb, or b
            }
            param[i] = UpdateRules.MultiplyAdd(-Lr, d, param[i]);                                                  // θ − γd
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float p = ref UpdateRules.At(Slice.Data, Slice.Offset + start);
        ref float g = ref UpdateRules.At(Slice.Grad, Slice.Offset + start);
        ref float b = ref HasMomentum ? ref UpdateRules.At(MomentumBuffer!, start) : ref Unsafe.NullRef<float>();
        var (negativeLr, weightDecay, momentum, oneMinusDampening) = (TV.Create(-Lr), TV.Create(WeightDecay), TV.Create(Momentum), TV.Create(OneMinusDampening));
        var (maximize, decay, hasMomentum, first, nesterov) = (Maximize, Decay, HasMomentum, First, Nesterov);
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var pv = TV.Load(ref p, i);
            var d = TV.Load(ref g, i);
            if (maximize) d = -d;
            if (decay) d = TV.MultiplyAdd(weightDecay, pv, d);
            if (hasMomentum)
            {
                var bv = first ? d : TV.MultiplyAdd(oneMinusDampening, d, TV.Load(ref b, i) * momentum);
                bv.Store(ref b, i);
                d = nesterov ? TV.MultiplyAdd(momentum, bv, d) : bv;
            }
            TV.MultiplyAdd(negativeLr, d, pv).Store(ref p, i);
        }
        return start + (int)i;
    }
}
