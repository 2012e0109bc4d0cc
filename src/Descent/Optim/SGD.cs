using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;
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
/// </remarks>
public sealed class SGD : Optimizer<SgdOptions>
{
    private readonly float[]?[] _momentumBuffers;

    /// <summary>One group with the given hyperparameters, like <c>SGD(params, lr, momentum, dampening, weight_decay, nesterov, maximize=)</c>.</summary>
    public SGD(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : this([new ParamGroup<SgdOptions>(parameters, new SgdOptions { Lr = lr, Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay, Nesterov = nesterov, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public SGD(IEnumerable<ParamGroup<SgdOptions>> groups) : base(groups) => _momentumBuffers = new float[ParamGroups.Count][];

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, SgdOptions o, ArenaSlice slice)
    {
        float lr = (float)o.Lr, wd = (float)o.WeightDecay, mu = (float)o.Momentum, damp = (float)(1 - o.Dampening);
        bool maximize = o.Maximize, nesterov = o.Nesterov, hasMomentum = o.Momentum != 0, decay = o.WeightDecay != 0;
        float[]? buffer = null;
        bool first = false;
        if (hasMomentum)
        {
            buffer = _momentumBuffers[groupIndex];
            if (buffer is null) { buffer = _momentumBuffers[groupIndex] = new float[slice.Length]; first = true; }
        }
        var rule = new SgdRule(slice, buffer, lr, wd, mu, damp, maximize, nesterov, hasMomentum, decay, first);
        ApplyRule(slice, ref rule);
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Name, int Group, float[]? Buffer)> StateBuffers()
    {
        for (int g = 0; g < _momentumBuffers.Length; g++) yield return ("momentum_buffer", g, _momentumBuffers[g]);
    }

    /// <inheritdoc />
    protected override void SetStateBuffer(string name, int group, float[]? buffer) => _momentumBuffers[group] = buffer;
}

/// <summary>
/// The fused SGD update over a span: one read of θ, g (and b), one write of θ (and b); when asked, Σg² of the
/// same loads.
/// </summary>
internal readonly record struct SgdRule(ArenaSlice Slice, float[]? MomentumBuffer, float Lr, float WeightDecay, float Momentum, float OneMinusDampening, bool Maximize, bool Nesterov, bool HasMomentum, bool Decay, bool First) : IGradSquaresRule
{
    public void Apply(int start, int end) => Run<WithoutGradSquares>(start, end);

    public float ApplySummingGradSquares(int start, int end) => Run<WithGradSquares>(start, end);

    // Fully optimized from the first call: left to tiering, an instantiation called from the worker pool
    // could stay at unoptimized code (several times slower) for a whole run.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float Run<TGradSquares>(int start, int end) where TGradSquares : struct
    {
        bool measure = typeof(TGradSquares) == typeof(WithGradSquares);
        // Two accumulators taken in turn, so that the sum is not one chain of dependent additions.
        Vector512<float> squares = default, otherSquares = default;
        float tail = 0;
        var param = Slice.Data.AsSpan(Slice.Offset + start, end - start);
        ReadOnlySpan<float> grad = Slice.Grad.AsSpan(Slice.Offset + start, end - start);
        var buffer = HasMomentum ? MomentumBuffer.AsSpan(start, end - start) : default;
        int i = 0;
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            var (lr, wd, mu, damp) = (Vector512.Create(-Lr), Vector512.Create(WeightDecay), Vector512.Create(Momentum), Vector512.Create(OneMinusDampening));
            for (; i <= param.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var p = Vector512.Create(param.Slice(i, Vector512<float>.Count));
                var d = Vector512.Create(grad.Slice(i, Vector512<float>.Count));
                if (measure) (squares, otherSquares) = (otherSquares, Vector512.FusedMultiplyAdd(d, d, squares));
                if (Maximize) d = -d;
                if (Decay) d = Vector512.FusedMultiplyAdd(wd, p, d);
                if (HasMomentum)
                {
                    var b = First ? d : Vector512.FusedMultiplyAdd(damp, d, Vector512.Create(buffer.Slice(i, Vector512<float>.Count)) * mu);
                    b.CopyTo(buffer.Slice(i));
                    d = Nesterov ? Vector512.FusedMultiplyAdd(mu, b, d) : b;
                }
                Vector512.FusedMultiplyAdd(lr, d, p).CopyTo(param.Slice(i));
            }
        }
        for (; i < param.Length; i++)
        {
            if (measure) tail = MathF.FusedMultiplyAdd(grad[i], grad[i], tail);
            float d = Maximize ? -grad[i] : grad[i];
            if (Decay) d = MathF.FusedMultiplyAdd(WeightDecay, param[i], d);
            if (HasMomentum)
            {
                float b = First ? d : MathF.FusedMultiplyAdd(OneMinusDampening, d, buffer[i] * Momentum);
                buffer[i] = b;
                d = Nesterov ? MathF.FusedMultiplyAdd(Momentum, b, d) : b;
            }
            param[i] = MathF.FusedMultiplyAdd(-Lr, d, param[i]);
        }
        return measure ? Vector512.Sum(squares + otherSquares) + tail : 0;
    }
}
