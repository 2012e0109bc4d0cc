using System.Globalization;
using System.Runtime.CompilerServices;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// What Adam, AdamW, NAdam, RAdam and Adamax share: <c>betas</c> (β₁ is the momentum-like coefficient
/// that momentum schedules cycle), <c>eps</c>, and PyTorch's checks of both.
/// </summary>
public abstract record AdamFamilyOptions : OptimizerOptions, IMomentumOptions
{
    /// <summary>Decay rates (β₁, β₂) of the first and second moment averages (<c>betas</c>, default (0.9, 0.999)).</summary>
    public (double Beta1, double Beta2) Betas { get; set; } = (0.9, 0.999);
    /// <inheritdoc />
    double IMomentumOptions.MomentumCoefficient { get => Betas.Beta1; set => Betas = (value, Betas.Beta2); }
    /// <summary>Term added to the denominator for numerical stability (<c>eps</c>, default 1e-8).</summary>
    public double Eps { get; set; } = 1e-8;

    /// <inheritdoc />
    public override void Validate()
    {
        AdamFamily.Validate(this, Eps, Betas);
        base.Validate();
    }
}

/// <summary>Hyperparameters of <see cref="Adam"/> (PyTorch names and defaults).</summary>
public sealed record AdamOptions : AdamFamilyOptions
{
    /// <summary>PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay.</summary>
    public AdamOptions() => Lr = 1e-3;

    /// <summary>Use the running maximum of the second moment, AMSGrad (<c>amsgrad</c>, default false).</summary>
    public bool Amsgrad { get; set; }
    /// <summary>Maximize the objective instead of minimizing (<c>maximize</c>, default false).</summary>
    public bool Maximize { get; set; }
}

/// <summary>
/// The state of one parameter group of <see cref="Adam"/>, <see cref="AdamW"/> or <see cref="RAdam"/>: PyTorch's
/// <c>step</c>, <c>exp_avg</c>, <c>exp_avg_sq</c> and (AMSGrad only) <c>max_exp_avg_sq</c>, the buffers one value
/// per element of the group.
/// </summary>
public sealed class AdamState
{
    internal AdamState(long step, float[] expAvg, float[] expAvgSq, float[]? maxExpAvgSq)
    {
        Step = step;
        ExpAvgArray = expAvg;
        ExpAvgSqArray = expAvgSq;
        MaxExpAvgSqArray = maxExpAvgSq;
    }

    /// <summary>Steps the group has taken, t (<c>step</c>).</summary>
    public long Step { get; internal set; }

    /// <summary>The first moment m (<c>exp_avg</c>).</summary>
    public ReadOnlySpan<float> ExpAvg => ExpAvgArray;

    /// <summary>The second moment v (<c>exp_avg_sq</c>).</summary>
    public ReadOnlySpan<float> ExpAvgSq => ExpAvgSqArray;

    /// <summary>AMSGrad's running maximum of v, v̂ (<c>max_exp_avg_sq</c>); empty until a step with amsgrad.</summary>
    public ReadOnlySpan<float> MaxExpAvgSq => MaxExpAvgSqArray;

    internal float[] ExpAvgArray { get; }
    internal float[] ExpAvgSqArray { get; }
    internal float[]? MaxExpAvgSqArray { get; set; }

    internal static AdamState New(int length) => new(0, new float[length], new float[length], null);

    internal void Save(GroupStateEntries entries)
    {
        entries.Add("step", Step);
        entries.Add("exp_avg", ExpAvgArray);
        entries.Add("exp_avg_sq", ExpAvgSqArray);
        entries.Add("max_exp_avg_sq", MaxExpAvgSqArray);
    }

    internal static AdamState Load(GroupStateEntries entries) =>
        new((long)entries.Scalar("step"), entries.Buffer("exp_avg"), entries.Buffer("exp_avg_sq"), entries.OptionalBuffer("max_exp_avg_sq"));
}

/// <summary>
/// Adam with L2 weight decay and optional AMSGrad, exactly as <c>torch.optim.Adam</c> (PyTorch 1.13,
/// single-tensor path).
/// </summary>
/// <remarks>
/// <para>
/// Per element, with g the gradient, γ the group's current lr, λ weight decay, t the group's step count
/// (1 on the first step):
/// <code>
/// g = maximize ? −g : g
/// if λ ≠ 0: g = g + λθ                     (L2: the decay goes through the moments)
/// m = β₁m + (1 − β₁)g
/// v = β₂v + (1 − β₂)g²
/// if amsgrad: v̂ = max(v̂, v) and v̂ replaces v below
/// θ = θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// ε is added after the bias correction of v. For decay that does not pass through the moments use
/// <see cref="AdamW"/>.
/// </para>
/// <para>
/// Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, amsgrad false, maximize false.
/// State per group (<see cref="AdamState"/>): <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v), <c>max_exp_avg_sq</c>
/// (v̂, AMSGrad only) and the scalar <c>step</c> (t).
/// </para>
/// <para>
/// Kingma &amp; Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015; AMSGrad: Reddi, Kale &amp;
/// Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
/// </para>
/// </remarks>
public sealed class Adam : Optimizer<AdamOptions, AdamState>
{
    /// <summary>
    /// One group, like <c>Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this([new ParamGroup<AdamOptions>(parameters, new AdamOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay, Amsgrad = amsgrad, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Adam(IEnumerable<ParamGroup<AdamOptions>> groups) : base(groups) { }

    /// <inheritdoc />
    protected override AdamState NewState(ParamGroup<AdamOptions> group) => AdamState.New(group.Length);

    /// <inheritdoc />
    protected override void StepGroup(AdamOptions o, AdamState state, ArenaSlice slice)
    {
        state.Step++;
        if (o.Amsgrad) state.MaxExpAvgSqArray ??= new float[slice.Length];
        var rule = new AdamRule(slice, state, o, o.Amsgrad, o.Maximize, coupledDecay: (float)o.WeightDecay, decoupledFactor: 1f);
        ApplyRule(slice.Length, ref rule);
    }

    /// <inheritdoc />
    protected override void SaveState(AdamState state, GroupStateEntries entries) => state.Save(entries);

    /// <inheritdoc />
    protected override AdamState LoadState(GroupStateEntries entries) => AdamState.Load(entries);
}

/// <summary>
/// The step of Adam and AdamW over a range: the weight decay, then the moments and the update. Adam's L2 decay
/// adds λθ to the gradient (coupled decay λ); AdamW's decoupled decay scales θ by 1 − γλ first (decoupled
/// factor); the other is 0 or 1. Scalars are computed in double and rounded to float once, as PyTorch does
/// when a Python float meets a float32 tensor.
/// </summary>
internal readonly struct AdamRule : IUpdateRule
{
    private readonly ArenaSlice _slice;
    private readonly float[] _expAvg, _expAvgSq;
    private readonly float[]? _maxExpAvgSq;
    private readonly float _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _biasCorrection2Sqrt, _eps, _negativeStepSize, _coupledDecay, _decoupledFactor;
    private readonly bool _amsgrad, _maximize, _coupled, _decoupled;

    /// <summary>The rule for step <c>state.Step</c> (already counted; v̂ already created under AMSGrad).</summary>
    public AdamRule(ArenaSlice slice, AdamState state, AdamFamilyOptions o, bool amsgrad, bool maximize, float coupledDecay, float decoupledFactor)
    {
        double t = state.Step;
        (_slice, _expAvg, _expAvgSq, _maxExpAvgSq) = (slice, state.ExpAvgArray, state.ExpAvgSqArray, amsgrad ? state.MaxExpAvgSqArray : null);
        var (beta1, beta2) = o.Betas;
        (_beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2) = ((float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2));
        _biasCorrection2Sqrt = (float)Math.Sqrt(1 - Math.Pow(beta2, t));
        _eps = (float)o.Eps;
        _negativeStepSize = (float)-(o.Lr / (1 - Math.Pow(beta1, t)));
        (_coupledDecay, _decoupledFactor) = (coupledDecay, decoupledFactor);
        (_amsgrad, _maximize, _coupled, _decoupled) = (amsgrad, maximize, coupledDecay != 0, decoupledFactor != 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scalar(int start, int end)
    {
        Span<float> param = _slice.Param, m = _expAvg, v = _expAvgSq, vMax = _maxExpAvgSq;
        ReadOnlySpan<float> grad = _slice.Gradient;
        for (int i = start; i < end; i++)
        {
            float p = param[i], g = grad[i];
            if (_maximize) g = -g;
            if (_coupled) g = UpdateRules.MultiplyAdd(p, _coupledDecay, g);   // g + λθ
            if (_decoupled) p *= _decoupledFactor;                          // θ(1 − γλ)
            m[i] = AdamFamily.Ema(m[i], g, _beta1, _oneMinusBeta1);         // β₁m + (1 − β₁)g
            v[i] = AdamFamily.EmaOfSquare(v[i], g, _beta2, _oneMinusBeta2); // β₂v + (1 − β₂)g²
            float second = v[i];
            if (_amsgrad) second = vMax[i] = MathF.Max(vMax[i], second);
            float den = MathF.Sqrt(second) / _biasCorrection2Sqrt + _eps;
            param[i] = p + _negativeStepSize * m[i] / den;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>
    {
        ref float p = ref UpdateRules.At(_slice.Data, _slice.Offset + start);
        ref float g = ref UpdateRules.At(_slice.Grad, _slice.Offset + start);
        ref float m = ref UpdateRules.At(_expAvg, start);
        ref float v = ref UpdateRules.At(_expAvgSq, start);
        ref float vMax = ref _maxExpAvgSq is null ? ref Unsafe.NullRef<float>() : ref UpdateRules.At(_maxExpAvgSq, start);
        var (beta1, oneMinusBeta1, beta2, oneMinusBeta2) = (TV.Create(_beta1), TV.Create(_oneMinusBeta1), TV.Create(_beta2), TV.Create(_oneMinusBeta2));
        var (biasCorrection2Sqrt, eps, negativeStepSize) = (TV.Create(_biasCorrection2Sqrt), TV.Create(_eps), TV.Create(_negativeStepSize));
        var (coupledDecay, decoupledFactor) = (TV.Create(_coupledDecay), TV.Create(_decoupledFactor));
        var (maximize, coupled, decoupled, amsgrad) = (_maximize, _coupled, _decoupled, _amsgrad);
        nuint n = (nuint)(end - start), i = 0;
        for (; i + (nuint)TV.Count <= n; i += (nuint)TV.Count)
        {
            var pv = TV.Load(ref p, i);
            var gv = TV.Load(ref g, i);
            if (maximize) gv = -gv;
            if (coupled) gv = TV.MultiplyAdd(pv, coupledDecay, gv);
            if (decoupled) pv *= decoupledFactor;
            var mv = AdamFamily.Ema(TV.Load(ref m, i), gv, beta1, oneMinusBeta1);
            var vv = AdamFamily.EmaOfSquare(TV.Load(ref v, i), gv, beta2, oneMinusBeta2);
            mv.Store(ref m, i);
            vv.Store(ref v, i);
            if (amsgrad)
            {
                vv = TV.Max(TV.Load(ref vMax, i), vv);
                vv.Store(ref vMax, i);
            }
            var den = TV.Sqrt(vv) / biasCorrection2Sqrt + eps;
            (pv + negativeStepSize * mv / den).Store(ref p, i);
        }
        return start + (int)i;
    }
}

/// <summary>Pieces shared by the Adam family and Lion: PyTorch's moment arithmetic, validation, state.</summary>
internal static class AdamFamily
{
    /// <summary>
    /// <c>avg.mul_(β).add_(g, alpha=1−β)</c>: PyTorch rounds avg·β, then adds (1−β)·g in one fused
    /// multiply-add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Ema(float avg, float g, float beta, float oneMinusBeta) => UpdateRules.MultiplyAdd(g, oneMinusBeta, avg * beta);

    /// <inheritdoc cref="Ema(float, float, float, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Ema<TV>(TV avg, TV g, TV beta, TV oneMinusBeta) where TV : struct, IFloatVector<TV> =>
        TV.MultiplyAdd(g, oneMinusBeta, avg * beta);

    /// <summary>
    /// <c>avg.mul_(β).addcmul_(g, g, value=1−β)</c>: PyTorch rounds avg·β and (1−β)·g, then multiplies by g
    /// and adds in one fused multiply-add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float EmaOfSquare(float avg, float g, float beta, float oneMinusBeta) => UpdateRules.MultiplyAdd(oneMinusBeta * g, g, avg * beta);

    /// <inheritdoc cref="EmaOfSquare(float, float, float, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV EmaOfSquare<TV>(TV avg, TV g, TV beta, TV oneMinusBeta) where TV : struct, IFloatVector<TV> =>
        TV.MultiplyAdd(oneMinusBeta * g, g, avg * beta);

    /// <summary>The checks PyTorch's Adam-family constructors make before the weight-decay check, in their order.</summary>
    public static void Validate(OptimizerOptions o, double? eps, (double Beta1, double Beta2) betas)
    {
        if (!(o.Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(o.Lr), $"Invalid learning rate: {o.Lr.ToString("R", CultureInfo.InvariantCulture)}");
        if (eps is double e && !(e >= 0)) throw new ArgumentOutOfRangeException("Eps", $"Invalid epsilon value: {PythonFloat(e)}");
        if (!(betas.Beta1 >= 0 && betas.Beta1 < 1)) throw new ArgumentOutOfRangeException("Betas", $"Invalid beta parameter at index 0: {PythonFloat(betas.Beta1)}");
        if (!(betas.Beta2 >= 0 && betas.Beta2 < 1)) throw new ArgumentOutOfRangeException("Betas", $"Invalid beta parameter at index 1: {PythonFloat(betas.Beta2)}");
    }

    /// <summary>A float as Python's <c>repr</c> writes it (<c>1.0</c>, <c>0.001</c>, <c>-1e-08</c>, <c>1e+16</c>).</summary>
    public static string PythonFloat(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";
        // .NET's "R" gives the same shortest round-trip digits as Python; only the layout differs.
        string r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        string mantissa = e < 0 ? r : r[..e];
        int exponent = e < 0 ? 0 : int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        int point = (dot < 0 ? mantissa.Length : dot) + exponent; // value = 0.digits × 10^point
        int leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        point -= leading;
        string sign = value < 0 ? "-" : "";
        if (point > -4 && point <= 16)
        {
            if (point <= 0) return $"{sign}0.{new string('0', -point)}{digits}";
            if (point >= digits.Length) return $"{sign}{digits}{new string('0', point - digits.Length)}.0";
            return $"{sign}{digits[..point]}.{digits[point..]}";
        }
        string m = digits.Length > 1 ? $"{digits[0]}.{digits[1..]}" : digits;
        int x = point - 1;
        return $"{sign}{m}e{(x < 0 ? "-" : "+")}{Math.Abs(x):00}";
    }
}
