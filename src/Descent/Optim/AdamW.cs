using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="AdamW"/> (PyTorch names and defaults).</summary>
public sealed record AdamWOptions : OptimizerOptions, IMomentumOptions
{
    /// <summary>PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2.</summary>
    public AdamWOptions()
    {
        Lr = 1e-3;
        WeightDecay = 1e-2;
    }

    /// <summary>Decay rates (β₁, β₂) of the first and second moment averages (<c>betas</c>, default (0.9, 0.999)).</summary>
    public (double Beta1, double Beta2) Betas { get; set; } = (0.9, 0.999);
    /// <inheritdoc />
    double IMomentumOptions.MomentumCoefficient { get => Betas.Beta1; set => Betas = (value, Betas.Beta2); }
    /// <summary>Term added to the denominator for numerical stability (<c>eps</c>, default 1e-8).</summary>
    public double Eps { get; set; } = 1e-8;
    /// <summary>Use the running maximum of the second moment, AMSGrad (<c>amsgrad</c>, default false).</summary>
    public bool Amsgrad { get; set; }
    /// <summary>Maximize the objective instead of minimizing (<c>maximize</c>, default false).</summary>
    public bool Maximize { get; set; }

    /// <inheritdoc />
    public override void Validate()
    {
        AdamFamily.Validate(this, Eps, Betas);
        base.Validate();
    }
}

/// <summary>
/// Adam with decoupled weight decay, exactly as <c>torch.optim.AdamW</c> (PyTorch 1.13, single-tensor path).
/// </summary>
/// <remarks>
/// <para>
/// Per element, with g the gradient, γ the group's current lr, λ weight decay, t the group's step count:
/// <code>
/// g = maximize ? −g : g
/// θ = θ(1 − γλ)                            (decoupled: applied first, scaled by the current lr)
/// m = β₁m + (1 − β₁)g
/// v = β₂v + (1 − β₂)g²
/// if amsgrad: v̂ = max(v̂, v) and v̂ replaces v below
/// θ = θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// The decay never enters m or v, so every weight shrinks by the same factor whatever its gradient
/// history; with <see cref="Adam"/>'s L2 decay, weights with large past gradients are barely decayed.
/// Because PyTorch multiplies λ by the current lr, a learning-rate schedule also schedules the decay.
/// </para>
/// <para>
/// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2, amsgrad false, maximize false.
/// State per group: <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c> (AMSGrad only) and the scalar
/// <c>step</c>.
/// </para>
/// <para>Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.</para>
/// </remarks>
public sealed class AdamW : Optimizer<AdamWOptions>
{
    private readonly GroupBuffers _buffers;
    private readonly double[] _steps;

    /// <summary>
    /// One group, like <c>AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : this([new ParamGroup<AdamWOptions>(parameters, new AdamWOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay, Amsgrad = amsgrad, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public AdamW(IEnumerable<ParamGroup<AdamWOptions>> groups) : base(groups)
    {
        _buffers = new GroupBuffers(ParamGroups.Count, "exp_avg", "exp_avg_sq", "max_exp_avg_sq");
        _steps = new double[ParamGroups.Count];
    }

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, AdamWOptions o, ArenaSlice slice)
    {
        double t = ++_steps[groupIndex];
        var update = new AdamUpdate(o.Lr, o.Betas, o.Eps, t, o.Amsgrad);
        var rule = new AdamWRule(slice, _buffers.Get("exp_avg", groupIndex, slice.Length), _buffers.Get("exp_avg_sq", groupIndex, slice.Length),
            o.Amsgrad ? _buffers.Get("max_exp_avg_sq", groupIndex, slice.Length) : null, update, (float)(1 - o.Lr * o.WeightDecay), o.Maximize);
        RangeParallel.For(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Name, int Group, float[]? Buffer)> StateBuffers() => _buffers.All();

    /// <inheritdoc />
    protected override void SetStateBuffer(string name, int group, float[]? buffer) => _buffers.Set(name, group, buffer);

    /// <inheritdoc />
    protected override IEnumerable<(string Name, int Group, double Value)> StateScalars() => _steps.Select((t, g) => ("step", g, t));

    /// <inheritdoc />
    protected override void SetStateScalar(string name, int group, double value)
    {
        if (name == "step") _steps[group] = value;
    }
}

/// <summary>AdamW's fused step over a range: θ ← θ(1 − γλ), then the moment update shared with Adam.</summary>
internal readonly record struct AdamWRule(ArenaSlice Slice, float[] ExpAvg, float[] ExpAvgSq, float[]? MaxExpAvgSq, AdamUpdate Update, float DecayFactor, bool Maximize) : IRangeBody
{
    public void Apply(int start, int end)
    {
        ref float p = ref AdamFamily.At(Slice.Data, Slice.Offset + start);
        ref float g = ref AdamFamily.At(Slice.Grad, Slice.Offset + start);
        ref float m = ref AdamFamily.At(ExpAvg, start);
        ref float v = ref AdamFamily.At(ExpAvgSq, start);
        ref float vmax = ref MaxExpAvgSq is null ? ref Unsafe.NullRef<float>() : ref AdamFamily.At(MaxExpAvgSq, start);
        nuint n = (nuint)(end - start), i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var u = new AdamUpdate.Vectors(Update);
            var decay = Vector512.Create(DecayFactor);
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                var gv = Vector512.LoadUnsafe(ref g, i);
                if (Maximize) gv = -gv;
                u.Step(Vector512.LoadUnsafe(ref p, i) * decay, gv, ref m, ref v, ref vmax, i).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            float gi = Unsafe.Add(ref g, i);
            if (Maximize) gi = -gi;
            Unsafe.Add(ref p, i) = Update.Step(Unsafe.Add(ref p, i) * DecayFactor, gi, ref Unsafe.Add(ref m, i), ref Unsafe.Add(ref v, i), ref Unsafe.Add(ref vmax, i));
        }
    }
}
