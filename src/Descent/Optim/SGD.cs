using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="SGD"/> (PyTorch names and defaults).</summary>
public sealed record SgdOptions : OptimizerOptions
{
    /// <summary>Momentum factor μ (<c>momentum</c>, default 0).</summary>
    public double Momentum { get; set; }
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
    protected override void StepGroup(int groupIndex, SgdOptions o, Span<float> param, Span<float> grad)
    {
        float lr = (float)o.Lr, wd = (float)o.WeightDecay, mu = (float)o.Momentum, damp = (float)(1 - o.Dampening);
        bool maximize = o.Maximize, nesterov = o.Nesterov, hasMomentum = o.Momentum != 0, decay = o.WeightDecay != 0;
        float[]? buffer = null;
        bool first = false;
        if (hasMomentum)
        {
            buffer = _momentumBuffers[groupIndex];
            if (buffer is null) { buffer = _momentumBuffers[groupIndex] = new float[param.Length]; first = true; }
        }
        for (int i = 0; i < param.Length; i++)
        {
            float d = maximize ? -grad[i] : grad[i];
            if (decay) d = MathF.FusedMultiplyAdd(wd, param[i], d);
            if (hasMomentum)
            {
                float b = first ? d : MathF.FusedMultiplyAdd(damp, d, buffer![i] * mu);
                buffer![i] = b;
                d = nesterov ? MathF.FusedMultiplyAdd(mu, b, d) : b;
            }
            param[i] = MathF.FusedMultiplyAdd(-lr, d, param[i]);
        }
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Name, int Group, float[]? Buffer)> StateBuffers()
    {
        for (int g = 0; g < _momentumBuffers.Length; g++) yield return ("momentum_buffer", g, _momentumBuffers[g]);
    }

    /// <inheritdoc />
    protected override void SetStateBuffer(string name, int group, float[]? buffer) => _momentumBuffers[group] = buffer;
}
