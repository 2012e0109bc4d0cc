namespace Descent.Optim.Schedules;

/// <summary>Multiplies the lr by γ at each milestone, like <c>torch.optim.lr_scheduler.MultiStepLR</c>.</summary>
/// <remarks>
/// <code>lr_k = base_lr · γ^(number of milestones ≤ k)</code>
/// Defaults: γ = 0.1. A milestone listed twice counts twice (PyTorch keeps a <c>Counter</c>); the order of the list
/// does not matter. Chainable: at a milestone PyTorch's form multiplies the current lr by γ^count.
/// </remarks>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _sorted;
    private readonly Dictionary<int, int> _counts = [];

    /// <summary>Like <c>MultiStepLR(optimizer, milestones, gamma=0.1)</c>.</summary>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _sorted = milestones.Order().ToArray();
        if (_sorted.Length > 0 && _sorted[0] < 0) throw new ArgumentException($"MultiStepLR milestones must be non-negative integers, but got {_sorted[0]}");
        if (!(gamma > 0) || double.IsInfinity(gamma)) throw new ArgumentException($"MultiStepLR gamma must be a positive number, but got {Py(gamma)}");
        foreach (int m in _sorted) _counts[m] = _counts.GetValueOrDefault(m) + 1;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The milestones in ascending order, repeats kept.</summary>
    public IReadOnlyList<int> Milestones => _sorted;

    /// <summary>Decay factor γ (<c>gamma</c>).</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override double ClosedFormLr(int group, int epoch)
    {
        int passed = 0;
        while (passed < _sorted.Length && _sorted[passed] <= epoch) passed++;
        return BaseLrs[group] * Math.Pow(Gamma, passed);
    }

    /// <inheritdoc />
    protected override double RecursiveLr(int group, int epoch, double currentLr) =>
        _counts.TryGetValue(epoch, out int count) ? currentLr * Math.Pow(Gamma, count) : currentLr;
}
