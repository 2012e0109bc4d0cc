using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;
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
/// State per group: <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v), <c>max_exp_avg_sq</c> (v̂, AMSGrad only) and
/// the scalar <c>step</c> (t).
/// </para>
/// <para>
/// Kingma &amp; Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015; AMSGrad: Reddi, Kale &amp;
/// Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
/// </para>
/// </remarks>
public sealed class Adam : Optimizer<AdamOptions>
{
    /// <summary>
    /// One group, like <c>Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False)</c>;
    /// <paramref name="betas"/> null means (0.9, 0.999).
    /// </summary>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this([new ParamGroup<AdamOptions>(parameters, new AdamOptions { Lr = lr, Betas = betas ?? (0.9, 0.999), Eps = eps, WeightDecay = weightDecay, Amsgrad = amsgrad, Maximize = maximize })]) { }

    /// <summary>Several groups with their own hyperparameters.</summary>
    public Adam(IEnumerable<ParamGroup<AdamOptions>> groups) : base(groups) => DeclareState(countSteps: true, "exp_avg", "exp_avg_sq", "max_exp_avg_sq");

    /// <inheritdoc />
    protected override void StepGroup(int groupIndex, AdamOptions o, ArenaSlice slice)
    {
        var update = new AdamUpdate(o.Lr, o.Betas, o.Eps, NextGroupStep(groupIndex), o.Amsgrad);
        var rule = new AdamRule(slice, StateBuffer("exp_avg", groupIndex), StateBuffer("exp_avg_sq", groupIndex),
            o.Amsgrad ? StateBuffer("max_exp_avg_sq", groupIndex) : null, update, o.Maximize, CoupledDecay: (float)o.WeightDecay, DecoupledFactor: 1f);
        ApplyRule(slice, ref rule);
    }
}

/// <summary>
/// The fused step of Adam and AdamW over a range: the weight decay, then the shared moment update. Adam's
/// L2 decay adds λθ to the gradient (<paramref name="CoupledDecay"/> = λ); AdamW's decoupled decay scales θ
/// by 1 − γλ first (<paramref name="DecoupledFactor"/>); the other is 0 or 1.
/// </summary>
internal readonly record struct AdamRule(ArenaSlice Slice, float[] ExpAvg, float[] ExpAvgSq, float[]? MaxExpAvgSq, AdamUpdate Update, bool Maximize,
    float CoupledDecay, float DecoupledFactor) : IGradSquaresRule
{
    public void Apply(int start, int end) => Run<WithoutGradSquares>(start, end);

    public float ApplySummingGradSquares(int start, int end) => Run<WithGradSquares>(start, end);

    // Fully optimized from the first call: left to tiering, an instantiation called from the worker pool
    // could stay at unoptimized code for a whole run.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float Run<TGradSquares>(int start, int end) where TGradSquares : struct
    {
        bool measure = typeof(TGradSquares) == typeof(WithGradSquares);
        // One accumulator: the update's square root and division take longer than the chain of additions.
        var squares = Vector512<float>.Zero;
        float tail = 0;
        ref float p = ref AdamFamily.At(Slice.Data, Slice.Offset + start);
        ref float g = ref AdamFamily.At(Slice.Grad, Slice.Offset + start);
        ref float m = ref AdamFamily.At(ExpAvg, start);
        ref float v = ref AdamFamily.At(ExpAvgSq, start);
        ref float vmax = ref MaxExpAvgSq is null ? ref Unsafe.NullRef<float>() : ref AdamFamily.At(MaxExpAvgSq, start);
        bool coupled = CoupledDecay != 0, decoupled = DecoupledFactor != 1;
        nuint n = (nuint)(end - start), i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var u = new AdamUpdate.Vectors(Update);
            var (wd, factor) = (Vector512.Create(CoupledDecay), Vector512.Create(DecoupledFactor));
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                var pv = Vector512.LoadUnsafe(ref p, i);
                var gv = Vector512.LoadUnsafe(ref g, i);
                if (measure) squares = Vector512.FusedMultiplyAdd(gv, gv, squares);
                if (Maximize) gv = -gv;
                if (coupled) gv = Vector512.FusedMultiplyAdd(pv, wd, gv);
                if (decoupled) pv *= factor;
                u.Step(pv, gv, ref m, ref v, ref vmax, i).StoreUnsafe(ref p, i);
            }
        }
        for (; i < n; i++)
        {
            float pi = Unsafe.Add(ref p, i), gi = Unsafe.Add(ref g, i);
            if (measure) tail = MathF.FusedMultiplyAdd(gi, gi, tail);
            if (Maximize) gi = -gi;
            if (coupled) gi = MathF.FusedMultiplyAdd(pi, CoupledDecay, gi);
            if (decoupled) pi *= DecoupledFactor;
            Unsafe.Add(ref p, i) = Update.Step(pi, gi, ref Unsafe.Add(ref m, i), ref Unsafe.Add(ref v, i), ref Unsafe.Add(ref vmax, i));
        }
        return measure ? Vector512.Sum(squares) + tail : 0;
    }
}

/// <summary>
/// The part of a step that Adam and AdamW share, from the effective gradient g onward: the moment updates,
/// AMSGrad's maximum and θ + (−γ/(1 − β₁ᵗ))·m / (√v/√(1 − β₂ᵗ) + ε). Scalars are computed in double and
/// rounded to float once, as PyTorch does when a Python float meets a float32 tensor.
/// </summary>
internal readonly struct AdamUpdate
{
    public readonly float Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, BiasCorrection2Sqrt, Eps, NegativeStepSize;
    public readonly bool Amsgrad;

    public AdamUpdate(double lr, (double Beta1, double Beta2) betas, double eps, double step, bool amsgrad)
    {
        (Beta1, OneMinusBeta1) = ((float)betas.Beta1, (float)(1 - betas.Beta1));
        (Beta2, OneMinusBeta2) = ((float)betas.Beta2, (float)(1 - betas.Beta2));
        double biasCorrection1 = 1 - Math.Pow(betas.Beta1, step), biasCorrection2 = 1 - Math.Pow(betas.Beta2, step);
        BiasCorrection2Sqrt = (float)Math.Sqrt(biasCorrection2);
        Eps = (float)eps;
        NegativeStepSize = (float)-(lr / biasCorrection1);
        Amsgrad = amsgrad;
    }

    /// <summary>Updates one element's m, v (and v̂, read only under AMSGrad) and returns its new θ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Step(float p, float g, ref float m, ref float v, ref float vmax)
    {
        float mi = m = AdamFamily.Ema(m, g, Beta1, OneMinusBeta1);
        float vi = v = AdamFamily.EmaOfSquare(v, g, Beta2, OneMinusBeta2);
        if (Amsgrad) vi = vmax = MathF.Max(vmax, vi);
        float den = MathF.Sqrt(vi) / BiasCorrection2Sqrt + Eps;
        return p + NegativeStepSize * mi / den;
    }

    /// <summary>The same scalars broadcast to vectors, built once per range.</summary>
    internal readonly struct Vectors(AdamUpdate u)
    {
        private readonly Vector512<float> _beta1 = Vector512.Create(u.Beta1), _oneMinusBeta1 = Vector512.Create(u.OneMinusBeta1);
        private readonly Vector512<float> _beta2 = Vector512.Create(u.Beta2), _oneMinusBeta2 = Vector512.Create(u.OneMinusBeta2);
        private readonly Vector512<float> _bc2Sqrt = Vector512.Create(u.BiasCorrection2Sqrt), _eps = Vector512.Create(u.Eps);
        private readonly Vector512<float> _negativeStepSize = Vector512.Create(u.NegativeStepSize);
        private readonly bool _amsgrad = u.Amsgrad;

        /// <summary>Updates m, v (and v̂) at elements [i, i + 16) of the ranges starting at the given refs and returns the new θ.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Step(Vector512<float> p, Vector512<float> g, ref float m, ref float v, ref float vmax, nuint i)
        {
            var mv = AdamFamily.Ema(Vector512.LoadUnsafe(ref m, i), g, _beta1, _oneMinusBeta1);
            var vv = AdamFamily.EmaOfSquare(Vector512.LoadUnsafe(ref v, i), g, _beta2, _oneMinusBeta2);
            mv.StoreUnsafe(ref m, i);
            vv.StoreUnsafe(ref v, i);
            if (_amsgrad)
            {
                vv = Vector512.Max(Vector512.LoadUnsafe(ref vmax, i), vv);
                vv.StoreUnsafe(ref vmax, i);
            }
            var den = Vector512.Sqrt(vv) / _bc2Sqrt + _eps;
            return p + _negativeStepSize * mv / den;
        }
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
    public static float Ema(float avg, float g, float beta, float oneMinusBeta) => MathF.FusedMultiplyAdd(g, oneMinusBeta, avg * beta);

    /// <inheritdoc cref="Ema(float, float, float, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Ema(Vector512<float> avg, Vector512<float> g, Vector512<float> beta, Vector512<float> oneMinusBeta) =>
        Vector512.FusedMultiplyAdd(g, oneMinusBeta, avg * beta);

    /// <summary>
    /// <c>avg.mul_(β).addcmul_(g, g, value=1−β)</c>: PyTorch rounds avg·β and (1−β)·g, then multiplies by g
    /// and adds in one fused multiply-add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float EmaOfSquare(float avg, float g, float beta, float oneMinusBeta) => MathF.FusedMultiplyAdd(oneMinusBeta * g, g, avg * beta);

    /// <inheritdoc cref="EmaOfSquare(float, float, float, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> EmaOfSquare(Vector512<float> avg, Vector512<float> g, Vector512<float> beta, Vector512<float> oneMinusBeta) =>
        Vector512.FusedMultiplyAdd(oneMinusBeta * g, g, avg * beta);

    /// <summary>Element <paramref name="index"/> of <paramref name="array"/> without a bounds check (ranges are checked by the caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref float At(float[] array, int index) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), index);

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
