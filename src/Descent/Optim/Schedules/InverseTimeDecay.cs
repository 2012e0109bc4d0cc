namespace Descent.Optim.Schedules;

/// <summary>Inverse-time decay ε_k = ε₀ / (1 + decay_rate · k / decay_steps), like Keras's <c>InverseTimeDecay</c>.</summary>
/// <remarks>
/// <code>
/// lr_k = base_lr / (1 + decay_rate · k / decay_steps)            (staircase = false)
/// lr_k = base_lr / (1 + decay_rate · ⌊k / decay_steps⌋)          (staircase = true)
/// </code>
/// With decay_steps = 1 this is the lectures' ε₀/(1 + κt), the 1/t decay that satisfies the stochastic-approximation
/// conditions Σε_k = ∞, Σε_k² &lt; ∞. Defaults: decay_steps = 1, staircase = false. In PyTorch terms:
/// <c>LambdaLR(optimizer, lambda k: 1 / (1 + decay_rate * k / decay_steps))</c> (the formula here divides base_lr
/// directly). Not chainable.
/// </remarks>
public sealed class InverseTimeDecay : LRScheduler
{
    /// <summary>Like Keras's <c>InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase)</c> over the optimizer's lr.</summary>
    public InverseTimeDecay(Optimizer optimizer, double decayRate, int decaySteps = 1, bool staircase = false) : base(optimizer)
    {
        if (!(decayRate >= 0) || double.IsInfinity(decayRate)) throw new ArgumentException($"InverseTimeDecay decay_rate must be a finite number ≥ 0, but got {Py(decayRate)}");
        if (decaySteps < 1) throw new ArgumentException($"InverseTimeDecay decay_steps must be a positive integer, but got {decaySteps}");
        DecayRate = decayRate;
        DecaySteps = decaySteps;
        Staircase = staircase;
        InitialStep();
    }

    /// <summary>The decay rate κ (<c>decay_rate</c>).</summary>
    public double DecayRate { get; }

    /// <summary>Periods per unit of decay (<c>decay_steps</c>).</summary>
    public int DecaySteps { get; }

    /// <summary>Whether the decay happens in whole units of <see cref="DecaySteps"/> (<c>staircase</c>).</summary>
    public bool Staircase { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch)
    {
        double p = Staircase ? epoch / DecaySteps : (double)epoch / DecaySteps;
        return BaseLrs[group] / (1 + DecayRate * p);
    }
}
