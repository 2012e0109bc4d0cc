namespace Descent.Optim.Schedules;

/// <summary>Multiplies the lr by a function of the period at every step, like <c>torch.optim.lr_scheduler.MultiplicativeLR</c>.</summary>
/// <remarks>
/// <code>lr_0 = lr (unchanged);   lr_k = lr_{k−1} · f(k)  (k ≥ 1),   so   lr_k = base_lr · Π_{j=1..k} f(j)</code>
/// One function for every group, or one per group. Always PyTorch's recursive form (the product is the recursion),
/// chainable. Restarted at a SequentialLR milestone it keeps the current lr, as PyTorch's <c>step(0)</c> does.
/// </remarks>
public sealed class MultiplicativeLR : LRScheduler
{
    private readonly Func<int, double>[] _lambdas;

    /// <summary>Like <c>MultiplicativeLR(optimizer, lr_lambda)</c> with one function for every group.</summary>
    public MultiplicativeLR(Optimizer optimizer, Func<int, double> lrLambda) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(lrLambda);
        _lambdas = Enumerable.Repeat(lrLambda, GroupCount).ToArray();
        InitialStep();
    }

    /// <summary>Like <c>MultiplicativeLR(optimizer, [f0, f1, ...])</c>: one function per group.</summary>
    public MultiplicativeLR(Optimizer optimizer, IReadOnlyList<Func<int, double>> lrLambdas) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(lrLambdas);
        if (lrLambdas.Count != GroupCount) throw new ArgumentException($"Expected {GroupCount} lr_lambdas, but got {lrLambdas.Count}");
        _lambdas = lrLambdas.ToArray();
        InitialStep();
    }

    /// <inheritdoc />
    protected override bool FollowsRecursion => true;

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch)
    {
        double lr = BaseLrs[group];
        for (int j = 1; j <= epoch; j++) lr *= _lambdas[group](j);
        return lr;
    }

    /// <inheritdoc />
    protected override double RecursiveLr(int group, int epoch, double currentLr) =>
        epoch > 0 ? currentLr * _lambdas[group](epoch) : currentLr;

    /// <inheritdoc />
    protected override double RestartLr(int group, double currentLr) => currentLr;
}
