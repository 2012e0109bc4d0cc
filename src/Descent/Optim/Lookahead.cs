using System.Globalization;
using System.Runtime.CompilerServices;

namespace Descent.Optim;

/// <summary>
/// Lookahead: wraps any optimizer (the "fast" one) and every k of its steps pulls a set of slow weights part of
/// the way toward the fast weights, then restarts the fast weights from there.
/// </summary>
/// <remarks>
/// <para>
/// With φ the slow weights (a flat copy of the parameters, taken just before the first step) and θ the
/// parameters the inner optimizer updates:
/// </para>
/// <code>
/// every step:        θ = inner.step(θ)
/// every k-th step:   φ = φ + α(θ − φ);  θ = φ
/// </code>
/// <para>
/// Defaults k = 5, α = 0.5. The inner optimizer's state (momentum, moments) is kept across synchronisations.
/// Hyperparameters are the inner optimizer's (<see cref="GroupOptions"/>), so a learning-rate schedule attached to
/// this optimizer drives the inner learning rate. <see cref="Optimizer.ZeroGrad"/> and the arena are the inner
/// optimizer's. Not part of PyTorch; some libraries (timm) copy the slow weights at the first synchronisation,
/// which makes it a no-op, where here φ starts at the parameters before the first step, as in the paper.
/// The state dict holds the inner state (keys prefixed <c>inner.</c>), the buffer <c>slow_weights</c> and the
/// scalar <c>lookahead_step</c> (fast steps since the last synchronisation).
/// Paper: Zhang, Lucas, Hinton and Ba, "Lookahead Optimizer: k steps forward, 1 step back", NeurIPS 2019
/// (arXiv:1907.08610).
/// </para>
/// </remarks>
public sealed class Lookahead : Optimizer
{
    private const string InnerPrefix = "inner.";
    private float[]? _slowWeights;
    private int _lookaheadStep;

    /// <summary>Wraps <paramref name="inner"/>: synchronise every <paramref name="k"/> steps with slow step size <paramref name="alpha"/>.</summary>
    /// <param name="inner">The fast optimizer; it keeps its own parameters, groups and state.</param>
    /// <param name="k">Fast steps between synchronisations (≥ 1, default 5).</param>
    /// <param name="alpha">Slow weights step size α in [0, 1] (default 0.5).</param>
    public Lookahead(Optimizer inner, int k = 5, double alpha = 0.5)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), $"Invalid slow update rate: {alpha.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e')}");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"Invalid lookahead steps: {k}");
        Inner = inner;
        K = k;
        Alpha = alpha;
        Arena = inner.Arena;
        StepCount = inner.StepCount;
    }

    /// <summary>The wrapped (fast) optimizer.</summary>
    public Optimizer Inner { get; }

    /// <summary>Fast steps between synchronisations.</summary>
    public int K { get; }

    /// <summary>Slow weights step size α.</summary>
    public double Alpha { get; }

    /// <summary>Fast steps taken since the last synchronisation (0 right after one).</summary>
    public int StepsSinceSync => _lookaheadStep;

    /// <summary>The slow weights φ, aligned with the arena; empty before the first step.</summary>
    public ReadOnlySpan<float> SlowWeights => _slowWeights;

    /// <inheritdoc />
    public override IReadOnlyList<OptimizerOptions> GroupOptions => Inner.GroupOptions;

    /// <summary>The inner optimizer's: true when it needs <see cref="Step(Func{float})"/> (<see cref="LBFGS"/>).</summary>
    public override bool RequiresClosure => Inner.RequiresClosure;

    /// <summary>One inner step, then a synchronisation when it is the k-th since the last.</summary>
    public override void Step()
    {
        _slowWeights ??= (float[])Arena.Data.Clone();
        Inner.Step();
        AfterInnerStep();
    }

    /// <summary>One inner step with <paramref name="closure"/> (for inner optimizers such as <see cref="LBFGS"/>), then a synchronisation when due.</summary>
    public override float Step(Func<float> closure)
    {
        _slowWeights ??= (float[])Arena.Data.Clone();
        float loss = Inner.Step(closure);
        AfterInnerStep();
        return loss;
    }

    private void AfterInnerStep()
    {
        StepCount = Inner.StepCount;
        if (++_lookaheadStep < K) return;
        _lookaheadStep = 0;
        var rule = new LookaheadRule(Arena.Data, _slowWeights!, (float)Alpha);
        ApplyRule(Arena.Length, ref rule);
    }

    /// <inheritdoc />
    public override OptimizerStateDict StateDict()
    {
        var inner = Inner.StateDict();
        var buffers = inner.Buffers.ToDictionary(kv => InnerPrefix + kv.Key, kv => kv.Value);
        if (_slowWeights is not null) buffers["slow_weights"] = (float[])_slowWeights.Clone();
        var scalars = inner.Scalars.ToDictionary(kv => InnerPrefix + kv.Key, kv => kv.Value);
        scalars["lookahead_step"] = _lookaheadStep;
        return new OptimizerStateDict($"{nameof(Lookahead)}({inner.Optimizer})", inner.Step, inner.ParamGroups, inner.GroupLengths, buffers, scalars);
    }

    /// <inheritdoc />
    public override void LoadStateDict(OptimizerStateDict state)
    {
        string prefix = nameof(Lookahead) + "(";
        if (!state.Optimizer.StartsWith(prefix, StringComparison.Ordinal) || !state.Optimizer.EndsWith(')'))
            throw new ArgumentException($"cannot load a {state.Optimizer} state dict into {nameof(Lookahead)}");
        float[]? slow = null;
        if (state.Buffers.TryGetValue("slow_weights", out var saved))
        {
            if (saved.Length != Arena.Length)
                throw new ArgumentException($"loaded slow weights hold {saved.Length} values but the arena holds {Arena.Length}");
            slow = (float[])saved.Clone();
        }
        var inner = new OptimizerStateDict(state.Optimizer[prefix.Length..^1], state.Step, state.ParamGroups, state.GroupLengths,
            Unprefixed(state.Buffers), Unprefixed(state.Scalars));
        Inner.LoadStateDict(inner);
        _slowWeights = slow;
        _lookaheadStep = state.Scalars.TryGetValue("lookahead_step", out var step) ? (int)step : 0;
        StepCount = Inner.StepCount;
    }

    private static Dictionary<string, T> Unprefixed<T>(IReadOnlyDictionary<string, T> entries) =>
        entries.Where(kv => kv.Key.StartsWith(InnerPrefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[InnerPrefix.Length..], kv => kv.Value);
}

/// <summary>The synchronisation φ = φ + α(θ − φ) (one fused multiply-add), θ = φ, in one pass.</summary>
internal readonly record struct LookaheadRule(float[] Fast, float[] Slow, float Alpha) : IUpdateRule
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        for (int i = start; i < end; i++)
            Fast[i] = Slow[i] = UpdateRules.MultiplyAdd(Alpha, Fast[i] - Slow[i], Slow[i]); // φ + α(θ − φ)
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float fast = ref UpdateRules.At(Fast, start);
        ref float slow = ref UpdateRules.At(Slow, start);
        var alpha = TV.Create(Alpha);
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var s = TV.Load(ref slow, i);
            s = TV.MultiplyAdd(alpha, TV.Load(ref fast, i) - s, s);
            s.Store(ref slow, i);
            s.Store(ref fast, i);
        }
        return start + (int)i;
    }
}
