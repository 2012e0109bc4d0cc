namespace Descent.Optim.Schedules;

/// <summary>Sets the lr to the base lr times a function of the period, like <c>torch.optim.lr_scheduler.LambdaLR</c>.</summary>
/// <remarks>
/// <code>lr_k = base_lr · f(k)</code>
/// One function for every group, or one per group. Not chainable (it overwrites the lr, as PyTorch). The functions
/// are not part of the saved state: a resumed schedule is rebuilt with the same functions.
/// </remarks>
public sealed class LambdaLR : LRScheduler
{
    private readonly Func<int, double>[] _lambdas;

    /// <summary>Like <c>LambdaLR(optimizer, lr_lambda)</c> with one function for every group.</summary>
    public LambdaLR(Optimizer optimizer, Func<int, double> lrLambda) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(lrLambda);
        _lambdas = Enumerable.Repeat(lrLambda, GroupCount).ToArray();
        InitialStep();
    }

    /// <summary>Like <c>LambdaLR(optimizer, [f0, f1, ...])</c>: one function per group.</summary>
    public LambdaLR(Optimizer optimizer, IReadOnlyList<Func<int, double>> lrLambdas) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(lrLambdas);
        if (lrLambdas.Count != GroupCount) throw new ArgumentException($"Expected {GroupCount} lr_lambdas, but got {lrLambdas.Count}");
        _lambdas = lrLambdas.ToArray();
        InitialStep();
    }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch) => BaseLrs[group] * _lambdas[group](epoch);
}
