using Descent.Nn;

namespace Descent.Optim;

/// <summary>Ready-made parameter groupings.</summary>
public static class ParamGroups
{
    /// <summary>
    /// Splits a model's parameters into two groups: weights (rank ≥ 2: Linear and Conv2d weights) with
    /// <paramref name="options"/>'s weight decay, and biases and normalization parameters (rank 1) with no
    /// decay — the usual "no decay on biases and norm layers" in one line:
    /// <code>new AdamW(ParamGroups.NoDecayOnBiasAndNorm(model, new AdamWOptions { Lr = 1e-3, WeightDecay = 0.05 }))</code>
    /// </summary>
    public static IReadOnlyList<ParamGroup<TOptions>> NoDecayOnBiasAndNorm<TOptions>(Module model, TOptions options) where TOptions : OptimizerOptions =>
        NoDecayOnBiasAndNorm(model.TrainableParameters(), options);

    /// <summary>The same split of <paramref name="parameters"/> (one group of a larger list, e.g. a fine-tuned backbone).</summary>
    public static IReadOnlyList<ParamGroup<TOptions>> NoDecayOnBiasAndNorm<TOptions>(IReadOnlyList<Parameter> parameters, TOptions options) where TOptions : OptimizerOptions
    {
        var decay = parameters.Where(p => p.RequiresGrad && p.Rank >= 2).ToList();
        var noDecay = parameters.Where(p => p.RequiresGrad && p.Rank < 2).ToList();
        var groups = new List<ParamGroup<TOptions>>();
        if (decay.Count > 0) groups.Add(new ParamGroup<TOptions>(decay, options));
        if (noDecay.Count > 0) groups.Add(new ParamGroup<TOptions>(noDecay, options with { WeightDecay = 0 }));
        return groups;
    }
}
