namespace Descent.Optim.Schedules;

/// <summary>
/// The lectures' linear decay: the lr falls linearly from ε₀ to ε_τ = α·ε₀ over τ periods, then stays at ε_τ
/// (α = 0 by default: decay to zero).
/// </summary>
/// <remarks>
/// <code>lr_k = (1 − t/τ)·ε₀ + (t/τ)·α·ε₀,   t = min(k, τ)</code>
/// (Goodfellow, Bengio &amp; Courville, "Deep Learning", §8.3.1, which suggests ε_τ ≈ 0.01·ε₀.) This is exactly
/// PyTorch's <c>LinearLR(optimizer, start_factor=1.0, end_factor=α, total_iters=τ)</c>, whose closed form
/// base_lr·(1 + (α − 1)·t/τ) it computes; chainable like LinearLR.
/// </remarks>
public sealed class LinearDecayToZero : LinearLR
{
    /// <summary>Decays over <paramref name="totalSteps"/> periods to <paramref name="finalFactor"/>·ε₀ (default 0).</summary>
    public LinearDecayToZero(Optimizer optimizer, int totalSteps, double finalFactor = 0)
        : base(optimizer, 1.0, CheckFinalFactor(finalFactor), CheckTotalSteps(totalSteps)) { }

    private static double CheckFinalFactor(double finalFactor) => finalFactor >= 0 && finalFactor <= 1
        ? finalFactor
        : throw new ArgumentException($"LinearDecayToZero final_factor must be in [0, 1], but got {Py(finalFactor)}");

    private static int CheckTotalSteps(int totalSteps) => totalSteps >= 1
        ? totalSteps
        : throw new ArgumentException($"LinearDecayToZero total_steps must be a positive integer, but got {totalSteps}");
}
