using System.Numerics.Tensors;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>The line search of <see cref="LBFGS"/> (PyTorch's <c>line_search_fn</c>).</summary>
public enum LineSearch
{
    /// <summary>No line search (<c>line_search_fn=None</c>): every iteration moves by the step length lr.</summary>
    None,

    /// <summary>
    /// A line search that ends at a step satisfying the strong Wolfe conditions (<c>line_search_fn="strong_wolfe"</c>):
    /// sufficient decrease with c₁ = 1e-4 and curvature |φ'(t)| ≤ c₂|φ'(0)| with c₂ = 0.9.
    /// </summary>
    StrongWolfe,
}

/// <summary>Hyperparameters of <see cref="LBFGS"/> (PyTorch names and defaults).</summary>
public sealed record LBFGSOptions : OptimizerOptions
{
    /// <summary>Defaults of <c>torch.optim.LBFGS</c>: lr 1, max_iter 20, max_eval max_iter·5/4, tolerance_grad 1e-7, tolerance_change 1e-9, history_size 100, no line search.</summary>
    public LBFGSOptions() => Lr = 1;

    /// <summary>Most inner iterations per <see cref="LBFGS.Step(Func{float})"/> call (<c>max_iter</c>, default 20).</summary>
    public int MaxIter { get; set; } = 20;

    /// <summary>
    /// Most closure evaluations per step (<c>max_eval</c>); null means max_iter·5/4 (integer division), resolved
    /// when the optimizer is built, as PyTorch does. Checked after each iteration: the strong-Wolfe search of
    /// an iteration is not cut short by it (PyTorch 1.13 behaves the same way).
    /// </summary>
    public int? MaxEval { get; set; }

    /// <summary>Stop when max |∇f| ≤ this (<c>tolerance_grad</c>, default 1e-7).</summary>
    public double ToleranceGrad { get; set; } = 1e-7;

    /// <summary>Stop when the step or the change of the loss is below this (<c>tolerance_change</c>, default 1e-9).</summary>
    public double ToleranceChange { get; set; } = 1e-9;

    /// <summary>Number of curvature pairs (s, y) kept (<c>history_size</c>, default 100).</summary>
    public int HistorySize { get; set; } = 100;

    /// <summary>The line search (<c>line_search_fn</c>): <see cref="LineSearch.None"/> (default) or <see cref="LineSearch.StrongWolfe"/>.</summary>
    public LineSearch LineSearchFn { get; set; }

    /// <summary>A value as Python prints a float in these messages (<c>1e-08</c>, not <c>1E-08</c>).</summary>
    private static string Py(double v) => Fmt(v).Replace('E', 'e');

    /// <inheritdoc />
    /// <remarks>
    /// PyTorch 1.13 checks none of these; the bounds here are the ones its step needs (history_size 0 fails
    /// there at the first update of the history, max_iter 0 never moves).
    /// </remarks>
    public override void Validate()
    {
        if (!(Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(Lr), $"Invalid learning rate: {Py(Lr)}");
        if (WeightDecay != 0) throw new ArgumentException($"LBFGS has no weight_decay (got {Py(WeightDecay)})", nameof(WeightDecay));
        if (MaxIter < 1) throw new ArgumentOutOfRangeException(nameof(MaxIter), $"Invalid max_iter value: {MaxIter}");
        if (MaxEval is < 1) throw new ArgumentOutOfRangeException(nameof(MaxEval), $"Invalid max_eval value: {MaxEval}");
        if (!(ToleranceGrad >= 0)) throw new ArgumentOutOfRangeException(nameof(ToleranceGrad), $"Invalid tolerance_grad value: {Py(ToleranceGrad)}");
        if (!(ToleranceChange >= 0)) throw new ArgumentOutOfRangeException(nameof(ToleranceChange), $"Invalid tolerance_change value: {Py(ToleranceChange)}");
        if (HistorySize < 1) throw new ArgumentOutOfRangeException(nameof(HistorySize), $"Invalid history_size value: {HistorySize}");
        if (!Enum.IsDefined(LineSearchFn)) throw new ArgumentOutOfRangeException(nameof(LineSearchFn), "only 'strong_wolfe' is supported");
    }
}

/// <summary>
/// L-BFGS, a quasi-Newton method, exactly as <c>torch.optim.LBFGS</c> (1.13): each iteration moves along
/// d = −H∇f, where H approximates the inverse Hessian from the last history_size steps and gradient changes.
/// Needs a closure: call <see cref="Step(Func{float})"/>.
/// </summary>
/// <remarks>
/// <para>
/// An approximate second-order method: instead of forming or inverting the Hessian, it keeps the pairs
/// sₖ = θₖ₊₁ − θₖ, yₖ = ∇fₖ₊₁ − ∇fₖ and applies the BFGS inverse-Hessian approximation to a vector with the
/// two-loop recursion (Nocedal 1980; Liu and Nocedal, "On the limited memory BFGS method for large scale
/// optimization", Mathematical Programming 45, 1989). One call of <see cref="Step(Func{float})"/>:
/// </para>
/// <code>
/// f, g = closure();  stop if max|g| ≤ tolerance_grad
/// repeat up to max_iter times:
///   first iteration ever: d = −g, history cleared, H₀ = 1
///   otherwise: y = g − g_prev, s = t·d;  if y·s &gt; 1e-10: keep (s, y, ρ = 1/(y·s)), dropping the oldest
///              beyond history_size, and H₀ = (y·s)/(y·y)
///     two-loop recursion: q = −g;  for i newest → oldest: aᵢ = ρᵢ(sᵢ·q), q = q − aᵢyᵢ
///                         r = H₀q;  for i oldest → newest: bᵢ = ρᵢ(yᵢ·r), r = r + (aᵢ − bᵢ)sᵢ;  d = r
///   t = first iteration ever ? min(1, 1/‖g‖₁)·lr : lr
///   stop if g·d &gt; −tolerance_change (not a descent direction)
///   no line search: θ = θ + t·d, then f, g = closure() (except after the last iteration)
///   strong Wolfe:   t from the search below, θ = θ + t·d, f and g from the search
///   stop after max_iter iterations, max_eval closure calls, max|g| ≤ tolerance_grad,
///        max|t·d| ≤ tolerance_change or |f − f_prev| &lt; tolerance_change
/// return the first f
/// </code>
/// <para>
/// The strong-Wolfe search (<see cref="LineSearch.StrongWolfe"/>, ported from 1.13's <c>_strong_wolfe</c>
/// and <c>_cubic_interpolate</c>, themselves from minFunc) brackets a step by extrapolation with the minimiser of
/// the cubic through the last two trials (clamped to [t + 0.01(t − t_prev), 10t]), then zooms into the bracket
/// with safeguarded cubic interpolation, at most 25 evaluations; c₁ = 1e-4, c₂ = 0.9. Each trial sets
/// θ + t·d, calls the closure and restores θ.
/// </para>
/// <para>
/// Defaults: lr 1, max_iter 20, max_eval max_iter·5/4, tolerance_grad 1e-7, tolerance_change 1e-9,
/// history_size 100, no line search. Exactly one parameter group; all parameters form one flat vector (the
/// arena). State (<see cref="LBFGSState"/>; in the state dict, group 0): buffers <c>d</c>, <c>prev_flat_grad</c>,
/// <c>ro</c>, <c>old_dirs</c> and <c>old_stps</c> (the history, concatenated oldest first), scalars
/// <c>func_evals</c>, <c>n_iter</c> (both cumulative, as in PyTorch), <c>t</c>, <c>t_float32</c>, <c>H_diag</c>,
/// <c>prev_loss</c>.
/// </para>
/// <para>
/// Scalars follow PyTorch's types, because the trajectory depends on them: dot products, ρ, H₀, ‖g‖₁ and the
/// step lengths the cubic interpolation produces are 0-d float32 tensors in PyTorch, while lr, the losses and
/// the Wolfe constants are Python floats; an expression mixing the two is evaluated in float32, comparisons
/// included. Dot products accumulate the float32 products in double (what PyTorch's BLAS sdot does).
/// Vector updates θ + t·d and q − aᵢyᵢ are one fused multiply-add per element, like PyTorch's <c>add_</c>.
/// </para>
/// </remarks>
public sealed class LBFGS : Optimizer<LBFGSOptions, LBFGSState>
{
    private const string NeedsClosure = "LBFGS needs a closure: call Step(closure) with a closure that zeroes the gradients, computes the loss and its gradients (forward and backward), and returns the loss";

    private readonly int _n;

    /// <summary>
    /// Like <c>LBFGS(params, lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size, line_search_fn)</c>;
    /// <paramref name="maxEval"/> null means <paramref name="maxIter"/>·5/4.
    /// </summary>
    public LBFGS(IEnumerable<Parameter> parameters, double lr = 1, int maxIter = 20, int? maxEval = null, double toleranceGrad = 1e-7, double toleranceChange = 1e-9, int historySize = 100, LineSearch lineSearchFn = LineSearch.None)
        : this([new ParamGroup<LBFGSOptions>(parameters, new LBFGSOptions { Lr = lr, MaxIter = maxIter, MaxEval = maxEval, ToleranceGrad = toleranceGrad, ToleranceChange = toleranceChange, HistorySize = historySize, LineSearchFn = lineSearchFn })]) { }

    /// <summary>From a list holding exactly one parameter group (PyTorch accepts no more).</summary>
    public LBFGS(IEnumerable<ParamGroup<LBFGSOptions>> groups) : base(groups)
    {
        if (ParamGroups.Count != 1) throw new ArgumentException("LBFGS doesn't support per-parameter options (parameter groups)");
        var o = ParamGroups[0].Options;
        o.MaxEval ??= o.MaxIter * 5 / 4;
        _n = ParamGroups[0].Length;
    }

    /// <summary>Closure calls so far, over all steps (PyTorch's <c>state['func_evals']</c>).</summary>
    public long FunctionEvaluations => State(0)?.FunctionEvaluations ?? 0;

    /// <summary>Inner iterations so far, over all steps (PyTorch's <c>state['n_iter']</c>).</summary>
    public long Iterations => State(0)?.Iterations ?? 0;

    /// <inheritdoc />
    public override bool RequiresClosure => true;

    /// <summary>Always throws: L-BFGS re-evaluates the objective, so it needs <see cref="Step(Func{float})"/>.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override void Step() => throw new InvalidOperationException(NeedsClosure);

    /// <inheritdoc cref="Step()" />
    protected override void StepGroup(LBFGSOptions options, LBFGSState state, ArenaSlice slice) => throw new InvalidOperationException(NeedsClosure);

    /// <inheritdoc />
    protected override LBFGSState NewState(ParamGroup<LBFGSOptions> group) => new();

    /// <summary>
    /// Runs up to max_iter L-BFGS iterations, like <c>optimizer.step(closure)</c>, and returns the loss of the
    /// first closure call (at the parameters the step started from).
    /// </summary>
    /// <param name="closure">Zeroes the gradients, runs forward and backward, returns the loss; called several times.</param>
    public override float Step(Func<float> closure)
    {
        ArgumentNullException.ThrowIfNull(closure);
        var o = ParamGroups[0].Options;
        double lr = o.Lr, toleranceChange = o.ToleranceChange, toleranceGrad = o.ToleranceGrad;
        int maxIter = o.MaxIter, maxEval = o.MaxEval ?? maxIter * 5 / 4;
        StepCount++;
        var state = StateOf(0);

        float origLoss = closure();
        double loss = origLoss;
        int currentEvals = 1;
        state.FunctionEvaluations++;
        var flatGrad = GatherFlatGrad();
        bool optCond = AbsMax(flatGrad) <= toleranceGrad;
        if (optCond) return origLoss;

        var d = state.DirectionArray;
        var t = state.StepLengthScalar;
        var prevFlatGrad = state.PreviousGradientArray;
        double prevLoss = state.PreviousLoss;
        var al = new float[o.HistorySize];
        int nIter = 0;
        while (nIter < maxIter)
        {
            nIter++;
            state.Iterations++;

            if (state.Iterations == 1)
            {
                d = new float[_n];
                TensorPrimitives.Negate(flatGrad, d);
                state.GradientChanges.Clear();
                state.StepChanges.Clear();
                state.Rhos.Clear();
                state.HessianDiagonal = 1;
            }
            else
            {
                var y = new float[_n];
                TensorPrimitives.Subtract(flatGrad, prevFlatGrad!, y);
                var s = new float[_n];
                TensorPrimitives.Multiply(d!, (float)t.Value, s);
                var ys = Dot(y, s);
                if (ys > 1e-10)
                {
                    if (state.GradientChanges.Count == o.HistorySize)
                    {
                        state.GradientChanges.RemoveAt(0);
                        state.StepChanges.RemoveAt(0);
                        state.Rhos.RemoveAt(0);
                    }
                    state.GradientChanges.Add(y);
                    state.StepChanges.Add(s);
                    state.Rhos.Add(1f / (float)ys.Value);
                    state.HessianDiagonal = (float)ys.Value / (float)Dot(y, y).Value;
                }

                int numOld = state.GradientChanges.Count;
                if (al.Length < numOld) al = new float[numOld];
                var q = new float[_n];
                TensorPrimitives.Negate(flatGrad, q);
                for (int i = numOld - 1; i >= 0; i--)
                {
                    al[i] = (float)Dot(state.StepChanges[i], q).Value * state.Rhos[i];
                    Axpy(-al[i], state.GradientChanges[i], q);
                }
                var r = new float[_n];
                TensorPrimitives.Multiply(q, state.HessianDiagonal, r);
                for (int i = 0; i < numOld; i++)
                {
                    float be = (float)Dot(state.GradientChanges[i], r).Value * state.Rhos[i];
                    Axpy(al[i] - be, state.StepChanges[i], r);
                }
                d = r;
            }

            prevFlatGrad ??= new float[_n];
            flatGrad.AsSpan().CopyTo(prevFlatGrad);
            prevLoss = loss;

            t = state.Iterations == 1
                ? TorchScalar.Min(1.0, 1.0 / TorchScalar.Float32(AbsSum(flatGrad))) * lr
                : lr;

            var gtd = Dot(flatGrad, d);
            if (gtd > -toleranceChange) break;

            int lsFuncEvals = 0;
            if (o.LineSearchFn == LineSearch.StrongWolfe)
            {
                var xInit = Arena.Data.AsSpan(0, _n).ToArray();
                (loss, flatGrad, t, lsFuncEvals) = StrongWolfe(closure, xInit, t, d, loss, flatGrad, gtd, toleranceChange);
                AddGrad(t, d);
                optCond = AbsMax(flatGrad) <= toleranceGrad;
            }
            else
            {
                AddGrad(t, d);
                if (nIter != maxIter)
                {
                    loss = closure();
                    flatGrad = GatherFlatGrad();
                    optCond = AbsMax(flatGrad) <= toleranceGrad;
                    lsFuncEvals = 1;
                }
            }
            currentEvals += lsFuncEvals;
            state.FunctionEvaluations += lsFuncEvals;

            if (nIter == maxIter) break;
            if (currentEvals >= maxEval) break;
            if (optCond) break;
            if (AbsMaxScaled(d, (float)t.Value) <= toleranceChange) break;
            if (Math.Abs(loss - prevLoss) < toleranceChange) break;
        }

        state.DirectionArray = d;
        state.StepLengthScalar = t;
        state.PreviousGradientArray = prevFlatGrad;
        state.PreviousLoss = prevLoss;
        return origLoss;
    }

    private float[] GatherFlatGrad() => Arena.Grad.AsSpan(0, _n).ToArray();

    /// <summary>θ = θ + t·d, one fused multiply-add per element (t rounded to float32, like <c>add_(d, alpha=t)</c>).</summary>
    private void AddGrad(TorchScalar t, float[] d) => Axpy((float)t.Value, d, Arena.Data.AsSpan(0, _n));

    private static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.FusedMultiplyAdd(x, alpha, y, y);

    /// <summary>A float32 dot product with the products accumulated in double, as BLAS sdot does.</summary>
    private static TorchScalar Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (float)(a[i] * b[i]);
        return TorchScalar.Float32(sum);
    }

    private static TorchScalar AbsMax(ReadOnlySpan<float> a) => TorchScalar.Float32(a.Length == 0 ? 0 : MathF.Abs(TensorPrimitives.MaxMagnitude(a)));

    private static TorchScalar AbsMaxScaled(ReadOnlySpan<float> d, float t)
    {
        float max = 0;
        for (int i = 0; i < d.Length; i++) max = MathF.Max(max, MathF.Abs(d[i] * t));
        return TorchScalar.Float32(max);
    }

    private static double AbsSum(ReadOnlySpan<float> a)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += MathF.Abs(a[i]);
        return sum;
    }

    /// <summary>Sets θ + t·d, evaluates the closure, reads the gradient and restores θ = x.</summary>
    private (double Loss, float[] Grad) DirectionalEvaluate(Func<float> closure, float[] x, TorchScalar t, float[] d)
    {
        AddGrad(t, d);
        double loss = closure();
        var grad = GatherFlatGrad();
        x.AsSpan().CopyTo(Arena.Data.AsSpan(0, _n));
        return (loss, grad);
    }

    /// <summary>PyTorch 1.13's <c>_cubic_interpolate</c>: the minimiser of the cubic through (x₁, f₁, g₁) and (x₂, f₂, g₂), clamped to the bounds.</summary>
    private static TorchScalar CubicInterpolate(TorchScalar x1, double f1, TorchScalar g1, TorchScalar x2, double f2, TorchScalar g2, (TorchScalar Min, TorchScalar Max)? bounds = null)
    {
        var (xminBound, xmaxBound) = bounds ?? (x1 <= x2 ? (x1, x2) : (x2, x1));
        var d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
        var d2Square = d1 * d1 - g1 * g2;
        if (d2Square >= 0)
        {
            var d2 = TorchScalar.Sqrt(d2Square);
            var minPos = x1 <= x2
                ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
            return TorchScalar.Min(TorchScalar.Max(minPos, xminBound), xmaxBound);
        }
        return (xminBound + xmaxBound) / 2.0;
    }

    /// <summary>PyTorch 1.13's <c>_strong_wolfe</c>: returns the loss, gradient and step length it accepts and its closure calls.</summary>
    private (double Loss, float[] Grad, TorchScalar T, int Evals) StrongWolfe(Func<float> closure, float[] x, TorchScalar t, float[] d, double f, float[] g, TorchScalar gtd, double toleranceChange)
    {
        const double c1 = 1e-4, c2 = 0.9;
        const int maxLs = 25;
        var dNorm = AbsMax(d);
        var (fNew, gNew) = DirectionalEvaluate(closure, x, t, d);
        int lsFuncEvals = 1;
        var gtdNew = Dot(gNew, d);

        TorchScalar tPrev = 0.0;
        double fPrev = f;
        float[] gPrev = g;
        var gtdPrev = gtd;
        bool done = false;
        int lsIter = 0;
        var bracket = new TorchScalar[2];
        var bracketF = new double[2];
        var bracketG = new float[2][];
        var bracketGtd = new TorchScalar[2];
        int bracketCount = 0;
        while (lsIter < maxLs)
        {
            if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev))
            {
                (bracket[0], bracket[1], bracketF[0], bracketF[1]) = (tPrev, t, fPrev, fNew);
                (bracketG[0], bracketG[1], bracketGtd[0], bracketGtd[1]) = (gPrev, gNew, gtdPrev, gtdNew);
                bracketCount = 2;
                break;
            }
            if (TorchScalar.Abs(gtdNew) <= -c2 * gtd)
            {
                (bracket[0], bracketF[0], bracketG[0]) = (t, fNew, gNew);
                bracketCount = 1;
                done = true;
                break;
            }
            if (gtdNew >= 0)
            {
                (bracket[0], bracket[1], bracketF[0], bracketF[1]) = (tPrev, t, fPrev, fNew);
                (bracketG[0], bracketG[1], bracketGtd[0], bracketGtd[1]) = (gPrev, gNew, gtdPrev, gtdNew);
                bracketCount = 2;
                break;
            }

            var minStep = t + 0.01 * (t - tPrev);
            var maxStep = t * 10.0;
            var tmp = t;
            t = CubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, (minStep, maxStep));

            (tPrev, fPrev, gPrev, gtdPrev) = (tmp, fNew, gNew, gtdNew);
            (fNew, gNew) = DirectionalEvaluate(closure, x, t, d);
            lsFuncEvals++;
            gtdNew = Dot(gNew, d);
            lsIter++;
        }

        if (lsIter == maxLs)
        {
            (bracket[0], bracket[1], bracketF[0], bracketF[1]) = (0.0, t, f, fNew);
            (bracketG[0], bracketG[1]) = (g, gNew);
            bracketCount = 2;
        }

        // Zoom: shrink the bracket until a trial satisfies both conditions.
        bool insufProgress = false;
        var (lowPos, highPos) = bracketF[0] <= bracketF[bracketCount - 1] ? (0, 1) : (1, 0);
        while (!done && lsIter < maxLs)
        {
            if (TorchScalar.Abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;

            t = CubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);

            // A trial too close to an end makes little progress: after two such trials in a row (or one at or
            // outside the bracket), move it 10% of the bracket width inside from the nearer end.
            var bracketMax = TorchScalar.Max(bracket[0], bracket[1]);
            var bracketMin = TorchScalar.Min(bracket[0], bracket[1]);
            var eps = 0.1 * (bracketMax - bracketMin);
            if (TorchScalar.Min(bracketMax - t, t - bracketMin) < eps)
            {
                if (insufProgress || t >= bracketMax || t <= bracketMin)
                {
                    t = TorchScalar.Abs(t - bracketMax) < TorchScalar.Abs(t - bracketMin) ? bracketMax - eps : bracketMin + eps;
                    insufProgress = false;
                }
                else insufProgress = true;
            }
            else insufProgress = false;

            (fNew, gNew) = DirectionalEvaluate(closure, x, t, d);
            lsFuncEvals++;
            gtdNew = Dot(gNew, d);
            lsIter++;

            if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos])
            {
                (bracket[highPos], bracketF[highPos], bracketG[highPos], bracketGtd[highPos]) = (t, fNew, gNew, gtdNew);
                (lowPos, highPos) = bracketF[0] <= bracketF[1] ? (0, 1) : (1, 0);
            }
            else
            {
                if (TorchScalar.Abs(gtdNew) <= -c2 * gtd) done = true;
                else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0)
                    (bracket[highPos], bracketF[highPos], bracketG[highPos], bracketGtd[highPos]) = (bracket[lowPos], bracketF[lowPos], bracketG[lowPos], bracketGtd[lowPos]);
                (bracket[lowPos], bracketF[lowPos], bracketG[lowPos], bracketGtd[lowPos]) = (t, fNew, gNew, gtdNew);
            }
        }

        return (bracketF[lowPos], bracketG[lowPos], bracket[lowPos], lsFuncEvals);
    }

    /// <inheritdoc />
    protected override void SaveState(LBFGSState state, GroupStateEntries entries)
    {
        entries.Add("d", state.DirectionArray);
        entries.Add("prev_flat_grad", state.PreviousGradientArray);
        if (state.DirectionArray is not null)
        {
            entries.Add("ro", [.. state.Rhos]);
            entries.Add("old_dirs", Concat(state.GradientChanges));
            entries.Add("old_stps", Concat(state.StepChanges));
        }
        entries.Add("func_evals", state.FunctionEvaluations);
        entries.Add("n_iter", state.Iterations);
        entries.Add("t", state.StepLengthScalar.Value);
        entries.Add("t_float32", state.StepLengthScalar.IsFloat32 ? 1 : 0);
        entries.Add("H_diag", state.HessianDiagonal);
        entries.Add("prev_loss", state.PreviousLoss);
    }

    /// <inheritdoc />
    protected override LBFGSState LoadState(GroupStateEntries entries)
    {
        var rhos = entries.OptionalBuffer("ro", perElement: false) ?? [];
        var gradientChanges = entries.OptionalBuffer("old_dirs", perElement: false) ?? [];
        var stepChanges = entries.OptionalBuffer("old_stps", perElement: false) ?? [];
        if (gradientChanges.Length != rhos.Length * _n || stepChanges.Length != rhos.Length * _n)
            throw new ArgumentException($"loaded state dict's history holds {gradientChanges.Length} and {stepChanges.Length} values but {rhos.Length} pairs of {_n} need {rhos.Length * _n}");
        double t = entries.Scalar("t");
        var state = new LBFGSState
        {
            FunctionEvaluations = (long)entries.Scalar("func_evals"),
            Iterations = (long)entries.Scalar("n_iter"),
            DirectionArray = entries.OptionalBuffer("d"),
            StepLengthScalar = entries.Scalar("t_float32") != 0 ? TorchScalar.Float32(t) : t,
            HessianDiagonal = (float)entries.Scalar("H_diag"),
            PreviousGradientArray = entries.OptionalBuffer("prev_flat_grad"),
            PreviousLoss = entries.Scalar("prev_loss"),
        };
        state.Rhos.AddRange(rhos);
        state.GradientChanges.AddRange(Split(gradientChanges));
        state.StepChanges.AddRange(Split(stepChanges));
        return state;
    }

    private static float[] Concat(List<float[]> vectors)
    {
        var flat = new float[vectors.Sum(v => v.Length)];
        int offset = 0;
        foreach (var v in vectors)
        {
            v.CopyTo(flat, offset);
            offset += v.Length;
        }
        return flat;
    }

    private List<float[]> Split(float[] flat)
    {
        var list = new List<float[]>();
        for (int offset = 0; offset < flat.Length; offset += _n) list.Add(flat.AsSpan(offset, _n).ToArray());
        return list;
    }
}

/// <summary>
/// The state of <see cref="LBFGS"/> (its one parameter group), PyTorch's <c>state</c> of L-BFGS: counters, the
/// last direction and step length, and the curvature history.
/// </summary>
public sealed class LBFGSState
{
    internal LBFGSState() { }

    /// <summary>Closure calls so far, over all steps (<c>func_evals</c>).</summary>
    public long FunctionEvaluations { get; internal set; }

    /// <summary>Inner iterations so far, over all steps (<c>n_iter</c>).</summary>
    public long Iterations { get; internal set; }

    /// <summary>The last search direction d (<c>d</c>); empty before the first iteration.</summary>
    public ReadOnlySpan<float> Direction => DirectionArray;

    /// <summary>The last step length t (<c>t</c>).</summary>
    public double StepLength => StepLengthScalar.Value;

    /// <summary>The scale H₀ = (y·s)/(y·y) of the initial inverse Hessian (<c>H_diag</c>).</summary>
    public float HessianDiagonal { get; internal set; } = 1;

    /// <summary>The gradient at the start of the last iteration (<c>prev_flat_grad</c>); empty before the first.</summary>
    public ReadOnlySpan<float> PreviousGradient => PreviousGradientArray;

    /// <summary>The loss at the start of the last iteration (<c>prev_loss</c>).</summary>
    public double PreviousLoss { get; internal set; }

    /// <summary>Curvature pairs kept, at most history_size.</summary>
    public int HistoryCount => Rhos.Count;

    /// <summary>Gradient change yᵢ of pair <paramref name="index"/>, oldest first (<c>old_dirs[i]</c>).</summary>
    public ReadOnlySpan<float> GradientChange(int index) => GradientChanges[index];

    /// <summary>Step sᵢ of pair <paramref name="index"/>, oldest first (<c>old_stps[i]</c>).</summary>
    public ReadOnlySpan<float> StepChange(int index) => StepChanges[index];

    /// <summary>ρᵢ = 1/(yᵢ·sᵢ) of pair <paramref name="index"/>, oldest first (<c>ro[i]</c>).</summary>
    public float Rho(int index) => Rhos[index];

    internal float[]? DirectionArray { get; set; }

    /// <summary>t with its PyTorch type: a Python float, or a float32 tensor once a line search or the first iteration made it one.</summary>
    internal TorchScalar StepLengthScalar { get; set; }

    internal float[]? PreviousGradientArray { get; set; }
    internal List<float[]> GradientChanges { get; } = [];
    internal List<float[]> StepChanges { get; } = [];
    internal List<float> Rhos { get; } = [];
}

/// <summary>
/// A scalar of PyTorch's L-BFGS code: a Python float (double) or a 0-d float32 tensor. Combining a float32
/// value with anything, comparisons included, rounds the other operand to float32 and computes in float32;
/// <c>double / tensor</c> is <c>reciprocal(tensor) · double</c>, as <c>Tensor.__rtruediv__</c> computes it.
/// </summary>
internal readonly record struct TorchScalar
{
    private TorchScalar(double value, bool isFloat32)
    {
        Value = isFloat32 ? (float)value : value;
        IsFloat32 = isFloat32;
    }

    public double Value { get; }

    public bool IsFloat32 { get; }

    public static TorchScalar Float32(double value) => new(value, true);

    public static implicit operator TorchScalar(double value) => new(value, false);

    private static bool AnyFloat32(TorchScalar a, TorchScalar b) => a.IsFloat32 || b.IsFloat32;

    public static TorchScalar operator +(TorchScalar a, TorchScalar b) => AnyFloat32(a, b) ? Float32((float)a.Value + (float)b.Value) : a.Value + b.Value;

    public static TorchScalar operator -(TorchScalar a, TorchScalar b) => AnyFloat32(a, b) ? Float32((float)a.Value - (float)b.Value) : a.Value - b.Value;

    public static TorchScalar operator *(TorchScalar a, TorchScalar b) => AnyFloat32(a, b) ? Float32((float)a.Value * (float)b.Value) : a.Value * b.Value;

    public static TorchScalar operator /(TorchScalar a, TorchScalar b)
    {
        if (b.IsFloat32 && !a.IsFloat32) return Float32((1f / (float)b.Value) * (float)a.Value);
        return AnyFloat32(a, b) ? Float32((float)a.Value / (float)b.Value) : a.Value / b.Value;
    }

    public static TorchScalar operator -(TorchScalar a) => new(-a.Value, a.IsFloat32);

    public static bool operator <(TorchScalar a, TorchScalar b) => AnyFloat32(a, b) ? (float)a.Value < (float)b.Value : a.Value < b.Value;

    public static bool operator >(TorchScalar a, TorchScalar b) => AnyFloat32(a, b) ? (float)a.Value > (float)b.Value : a.Value > b.Value;

    public static bool operator <=(TorchScalar a, TorchScalar b) => AnyFloat32(a, b) ? (float)a.Value <= (float)b.Value : a.Value <= b.Value;

    public static bool operator >=(TorchScalar a, TorchScalar b) => AnyFloat32(a, b) ? (float)a.Value >= (float)b.Value : a.Value >= b.Value;

    public static TorchScalar Abs(TorchScalar a) => new(Math.Abs(a.Value), a.IsFloat32);

    public static TorchScalar Sqrt(TorchScalar a) => Float32(MathF.Sqrt((float)a.Value));

    /// <summary>Python's <c>min(a, b)</c>: b only when b &lt; a.</summary>
    public static TorchScalar Min(TorchScalar a, TorchScalar b) => b < a ? b : a;

    /// <summary>Python's <c>max(a, b)</c>: b only when b &gt; a.</summary>
    public static TorchScalar Max(TorchScalar a, TorchScalar b) => b > a ? b : a;
}
