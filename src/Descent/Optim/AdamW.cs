using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="AdamW"/> (PyTorch names and defaults).</summary>
public sealed record AdamWOptions : AdamFamilyOptions
{
    /// <summary>PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2.</summary>
    public AdamWOptions()
    {
        Lr = 1e-3;
        WeightDecay = 1e-2;
    }

    /// <summary>Use the running maximum of the second moment, AMSGrad (<c>amsgrad</c>, default false).</summary>
    public bool Amsgrad { get; set; }
    /// <summary>Maximize the objective instead of minimizing (<c>maximize</c>, default false).</summary>
    public bool Maximize { get; set; }
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
/// State per group (<see cref="AdamState"/>): <c>exp_avg</c>, <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c> (AMSGrad
/// only) and the scalar <c>step</c>.
/// </para>
/// <para>Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.</para>
/// </remarks>
public sealed class AdamW : Optimizer<AdamWOptions, AdamState>
{
    /// <summary>
    /// One group, like <c>AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : this([new ParamGroup<AdamWOptions>(parameters, new AdamWOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay, Amsgrad = amsgrad, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public AdamW(IEnumerable<ParamGroup<AdamWOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override AdamState NewState(ParamGroup<AdamWOptions> group) => AdamState.New(group.Length);

    /// <inheritdoc />
    protected override void StepGroup(AdamWOptions o, AdamState state, ArenaSlice slice)
    {
        state.Step++;
        if (o.Amsgrad) state.MaxExpAvgSqArray ??= new float[slice.Length];
        var rule = new AdamRule(slice, state, o, o.Amsgrad, o.Maximize, coupledDecay: 0f, decoupledFactor: (float)(1 - o.Lr * o.WeightDecay));
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(AdamState state, GroupStateEntries entries) => state.Save(entries);

    /// <inheritdoc />
    protected override AdamState LoadState(GroupStateEntries entries) => AdamState.Load(entries);
}
