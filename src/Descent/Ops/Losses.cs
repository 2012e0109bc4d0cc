using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

/// <summary>How a loss reduces its per-element values, like PyTorch's <c>reduction=</c>.</summary>
public enum Reduction
{
    /// <summary>Per-sample losses, no reduction (<c>'none'</c>).</summary>
    None,
    /// <summary>The mean (<c>'mean'</c>, the default).</summary>
    Mean,
    /// <summary>The sum (<c>'sum'</c>).</summary>
    Sum,
}

public static partial class Functional
{
    /// <summary>
    /// Cross-entropy from logits [N, C] and class indices, like <c>F.cross_entropy</c>: log-softmax and NLL fused,
    /// in the stable form (no overflow for logits of any size). Gradient (mean): (softmax − onehot)/N.
    /// </summary>
    /// <param name="logits">Unnormalised scores [N, C].</param>
    /// <param name="targets">N class indices in [0, C).</param>
    /// <param name="reduction">None (per-sample losses [N]), Mean or Sum.</param>
    /// <param name="weight">
    /// Per-class weights [C], like <c>weight=</c>: sample i's loss is scaled by weight[targets[i]], and the mean
    /// divides by the sum of those weights (not by N), as PyTorch does. A constant: no gradient flows to it.
    /// </param>
    /// <param name="labelSmoothing">
    /// ε in [0, 1], like <c>label_smoothing=</c>: the loss becomes (1 − ε)·nll + (ε/C)·Σ_c weight[c]·(−log p_c),
    /// the target mixed with the uniform distribution.
    /// </param>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, Reduction reduction = Reduction.Mean, Tensor? weight = null, double labelSmoothing = 0)
    {
        var (n, c) = CheckClassInput(logits, targets, "cross_entropy");
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentException($"cross_entropy: labelSmoothing must be between 0 and 1, got {labelSmoothing}", nameof(labelSmoothing));
        if (weight is not null && (weight.Rank != 1 || weight.Shape[0] != c))
            throw new ArgumentException($"cross_entropy: weight must have shape [{c}] (one per class of input {ShapeUtil.Format(logits.Shape)}), got {ShapeUtil.Format(weight.Shape)}", nameof(weight));
        if (weight is not null || labelSmoothing != 0) return SmoothedCrossEntropy(logits, targets, n, c, reduction, weight, labelSmoothing);
        var logp = Tape.NewOutput([n, c]);
        Elementwise.LogSoftmaxRows(logits.Data, c, logp.Data);
        var y = Tape.NewOutput(reduction == Reduction.None ? [n] : []);
        ReduceNll(logp.Data, targets, n, c, reduction, y.Data);
        if (Tape.ShouldRecord(logits))
        {
            Tape.Record("cross_entropy", y, [logits], gy =>
            {
                if (Tape.GradOf(logits) is not { } gx) return;
                var lp = logp.Data;
                var g = gx.Data;
                var gyd = gy.Data;
                // A reduced loss has one upstream gradient: read it once, not per element.
                float scale = reduction switch { Reduction.None => 0, Reduction.Mean => gyd[0] / n, _ => gyd[0] };
                for (int i = 0; i < n; i++)
                {
                    float s = reduction == Reduction.None ? gyd[i] : scale;
                    for (int j = 0; j < c; j++) g[i * c + j] += s * MathF.Exp(lp[i * c + j]);
                    g[i * c + targets[i]] -= s;
                }
            }, saved: logp);
        }
        else logp.Release();
        return y;
    }

    /// <summary>
    /// Cross-entropy from logits [N, C] and a target tensor, like <c>F.cross_entropy(input, target)</c>: the target
    /// is either N class indices [N] (integral floats, as a <see cref="Data.Batch.Target"/> carries them) or class
    /// probabilities [N, C] (soft labels; PyTorch's float-target form, where the mean divides by N and a class
    /// weight scales each class's term). The target is a constant: no gradient flows to it.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean, Tensor? weight = null, double labelSmoothing = 0)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        if (target.Rank == 1) return CrossEntropy(logits, ClassIndices(logits, target), reduction, weight, labelSmoothing);
        if (logits.Rank != 2 || !target.Shape.SequenceEqual(logits.Shape))
            throw new ArgumentException($"cross_entropy: target of shape {ShapeUtil.Format(target.Shape)} is neither class indices [{(logits.Rank > 0 ? logits.Shape[0] : 0)}] nor probabilities of the input's shape {ShapeUtil.Format(logits.Shape)}", nameof(target));
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentException($"cross_entropy: labelSmoothing must be between 0 and 1, got {labelSmoothing}", nameof(labelSmoothing));
        int n = logits.Shape[0], c = logits.Shape[1];
        if (weight is not null && (weight.Rank != 1 || weight.Shape[0] != c))
            throw new ArgumentException($"cross_entropy: weight must have shape [{c}] (one per class of input {ShapeUtil.Format(logits.Shape)}), got {ShapeUtil.Format(weight.Shape)}", nameof(weight));
        // −Σ_c w_c·t'_ic·log p_ic with t' = (1 − ε)·t + ε/C: the weighted, smoothed target is a constant factor.
        var t = target.Data;
        var factor = new float[n * c];
        float keep = (float)(1 - labelSmoothing), spread = (float)(labelSmoothing / c);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++)
                factor[i * c + j] = -(keep * t[i * c + j] + spread) * (weight is null ? 1f : weight.Data[j]);
        var perSample = Sum(LogSoftmax(logits, 1) * Tensor.FromArray(factor, n, c), 1);
        return reduction switch
        {
            Reduction.None => perSample,
            Reduction.Sum => Sum(perSample),
            _ => Mean(perSample),
        };
    }

    /// <summary>The class indices a rank-1 float target holds, checked to be integers in [0, C).</summary>
    private static int[] ClassIndices(Tensor logits, Tensor target)
    {
        var t = target.Data;
        int c = logits.Rank == 2 ? logits.Shape[1] : 0;
        var classes = new int[t.Length];
        for (int i = 0; i < t.Length; i++)
        {
            float v = t[i];
            if (!(v >= 0 && v < c && v == MathF.Floor(v)))
                throw new ArgumentException($"cross_entropy: target[{i}] = {v} is not a class index in [0, {c}) for input of shape {ShapeUtil.Format(logits.Shape)}", nameof(target));
            classes[i] = (int)v;
        }
        return classes;
    }

    /// <summary>Negative log-likelihood of log-probabilities [N, C] at class indices, like <c>F.nll_loss</c>.</summary>
    public static Tensor NllLoss(Tensor logProbs, int[] targets, Reduction reduction = Reduction.Mean)
    {
        var (n, c) = CheckClassInput(logProbs, targets, "nll_loss");
        var y = Tape.NewOutput(reduction == Reduction.None ? [n] : []);
        ReduceNll(logProbs.Data, targets, n, c, reduction, y.Data);
        if (Tape.ShouldRecord(logProbs))
        {
            Tape.Record("nll_loss", y, [logProbs], gy =>
            {
                if (Tape.GradOf(logProbs) is not { } gx) return;
                var g = gx.Data;
                var gyd = gy.Data;
                // A reduced loss has one upstream gradient: read it once, not per element.
                float scale = reduction switch { Reduction.None => 0, Reduction.Mean => gyd[0] / n, _ => gyd[0] };
                for (int i = 0; i < n; i++)
                    g[i * c + targets[i]] -= reduction == Reduction.None ? gyd[i] : scale;
            });
        }
        return y;
    }

    /// <summary>Mean squared error, like <c>F.mse_loss(input, target)</c>; shapes must match.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckSameShape(input, target, "mse_loss");
        var y = Tape.NewOutput(reduction == Reduction.None ? input.ShapeArray : []);
        var a = input.Data;
        var b = target.Data;
        if (reduction == Reduction.None)
        {
            var yd = y.Data;
            for (int i = 0; i < a.Length; i++) { float d = a[i] - b[i]; yd[i] = d * d; }
        }
        else
        {
            double s = 0;
            for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; s += d * d; }
            y.Data[0] = (float)(reduction == Reduction.Mean ? s / a.Length : s);
        }
        if (Tape.ShouldRecord(input, target))
        {
            Tape.Record("mse_loss", y, [input, target], gy =>
            {
                var ga = Tape.GradOf(input);
                var gb = Tape.GradOf(target);
                var av = input.Data;
                var bv = target.Data;
                var gyd = gy.Data;
                // A reduced loss has one upstream gradient: read it once, not per element.
                float scale = reduction switch { Reduction.None => 0, Reduction.Mean => gyd[0] / av.Length, _ => gyd[0] };
                for (int i = 0; i < av.Length; i++)
                {
                    float s = reduction == Reduction.None ? gyd[i] : scale;
                    float g = 2f * (av[i] - bv[i]) * s;
                    if (ga is not null) ga.Data[i] += g;
                    if (gb is not null) gb.Data[i] -= g;
                }
            });
        }
        return y;
    }

    /// <summary>
    /// Binary cross-entropy on logits, like <c>F.binary_cross_entropy_with_logits</c>, in the stable form
    /// max(x, 0) − x·t + log(1 + e^(−|x|)). Targets may be fractional (multi-label targets in [0, 1]); shapes must match.
    /// </summary>
    /// <param name="input">Logits, any shape.</param>
    /// <param name="target">Targets in [0, 1], the shape of <paramref name="input"/>.</param>
    /// <param name="reduction">None (per-element losses), Mean or Sum.</param>
    /// <param name="weight">
    /// Like <c>weight=</c>: a rescaling of each element's loss, broadcast to the input's shape (e.g. [N, 1] per
    /// sample, [C] per column). The mean still divides by the number of elements.
    /// </param>
    /// <param name="posWeight">
    /// Like <c>pos_weight=</c>: the weight of the positive term, broadcast to the input's shape (usually [C], one
    /// per class): loss = −w·(p·t·log σ(x) + (1 − t)·log(1 − σ(x))).
    /// </param>
    /// <remarks>Gradients flow to <paramref name="input"/> and <paramref name="target"/>; the weights are constants.</remarks>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, Tensor? weight = null, Tensor? posWeight = null)
    {
        const string op = "binary_cross_entropy_with_logits";
        CheckSameShape(input, target, op);
        var w = BroadcastTo(weight, input.ShapeArray, op, nameof(weight));
        var pw = BroadcastTo(posWeight, input.ShapeArray, op, nameof(posWeight));
        var y = Tape.NewOutput(reduction == Reduction.None ? input.ShapeArray : []);
        var x = input.Data;
        var t = target.Data;
        var yd = y.Data;
        double total = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double softplusNegAbs = Math.Log(1 + Math.Exp(-Math.Abs(x[i])));
            // With pos_weight p the positive term −t·log σ(x) = t·softplus(−x) is scaled by p, as in PyTorch:
            // (1 − t)·x + (1 + (p − 1)·t)·softplus(−x); with p = 1 that is the form above.
            double v = pw is null
                ? Math.Max(x[i], 0f) - (double)x[i] * t[i] + softplusNegAbs
                : (1 - (double)t[i]) * x[i] + (1 + (pw[i] - 1.0) * t[i]) * (softplusNegAbs + Math.Max(-x[i], 0f));
            if (w is not null) v *= w[i];
            if (reduction == Reduction.None) yd[i] = (float)v;
            else total += v;
        }
        if (reduction != Reduction.None) yd[0] = (float)(reduction == Reduction.Mean ? total / x.Length : total);
        if (Tape.ShouldRecord(input, target))
        {
            Tape.Record("bce_with_logits", y, [input, target], gy =>
            {
                var gx = Tape.GradOf(input);
                var gt = Tape.GradOf(target);
                var xv = input.Data;
                var tv = target.Data;
                var gyd = gy.Data;
                // A reduced loss has one upstream gradient: read it once, not per element.
                float scale = reduction switch { Reduction.None => 0, Reduction.Mean => gyd[0] / xv.Length, _ => gyd[0] };
                for (int i = 0; i < xv.Length; i++)
                {
                    float s = reduction == Reduction.None ? gyd[i] : scale;
                    if (w is not null) s *= w[i];
                    if (pw is null)
                    {
                        float sig = 1f / (1f + MathF.Exp(-xv[i]));
                        if (gx is not null) gx.Data[i] += (sig - tv[i]) * s;
                        if (gt is not null) gt.Data[i] -= xv[i] * s;
                    }
                    else
                    {
                        float sigNeg = 1f / (1f + MathF.Exp(xv[i]));   // σ(−x) = −d softplus(−x)/dx
                        float softplusNeg = MathF.Log(1 + MathF.Exp(-MathF.Abs(xv[i]))) + MathF.Max(-xv[i], 0f);
                        if (gx is not null) gx.Data[i] += (1 - tv[i] - (1 + (pw[i] - 1) * tv[i]) * sigNeg) * s;
                        if (gt is not null) gt.Data[i] += (-xv[i] + (pw[i] - 1) * softplusNeg) * s;
                    }
                }
            });
        }
        return y;
    }

    /// <summary>
    /// Mean absolute error, like <c>F.l1_loss(input, target)</c>: |x − y|; shapes must match. The gradient is
    /// sign(x − y), 0 where x = y, as in PyTorch. Gradients flow to both input and target.
    /// </summary>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        PointwiseLoss("l1_loss", input, target, reduction, d => Math.Abs(d), Sign);

    /// <summary>
    /// Huber loss, like <c>F.huber_loss(input, target, delta=1.0)</c>: ½d² where |d| &lt; delta, else
    /// delta·(|d| − ½·delta), with d = x − y; shapes must match. Gradients flow to both input and target.
    /// </summary>
    /// <param name="input">Predictions, any shape.</param>
    /// <param name="target">Targets, the shape of <paramref name="input"/>.</param>
    /// <param name="reduction">None (per-element losses), Mean or Sum.</param>
    /// <param name="delta">Where the quadratic part turns linear; must be positive.</param>
    public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1.0)
    {
        if (!(delta > 0)) throw new ArgumentException($"huber_loss: delta must be positive, got {delta}", nameof(delta));
        float deltaF = (float)delta;
        return PointwiseLoss("huber_loss", input, target, reduction,
            d => Math.Abs(d) < delta ? 0.5 * d * d : delta * (Math.Abs(d) - 0.5 * delta),
            d => Math.Clamp(d, -deltaF, deltaF));
    }

    /// <summary>
    /// Smooth L1 loss, like <c>F.smooth_l1_loss(input, target, beta=1.0)</c>: ½d²/beta where |d| &lt; beta, else
    /// |d| − ½·beta, with d = x − y; beta = 0 is the L1 loss. Equals <see cref="HuberLoss"/> divided by beta.
    /// Shapes must match; gradients flow to both input and target.
    /// </summary>
    /// <param name="input">Predictions, any shape.</param>
    /// <param name="target">Targets, the shape of <paramref name="input"/>.</param>
    /// <param name="reduction">None (per-element losses), Mean or Sum.</param>
    /// <param name="beta">Where the quadratic part turns linear; must not be negative.</param>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0)
    {
        if (!(beta >= 0)) throw new ArgumentException($"smooth_l1_loss: beta must not be negative, got {beta}", nameof(beta));
        if (beta == 0) return PointwiseLoss("smooth_l1_loss", input, target, reduction, d => Math.Abs(d), Sign);
        float betaF = (float)beta;
        return PointwiseLoss("smooth_l1_loss", input, target, reduction,
            d => Math.Abs(d) < beta ? 0.5 * d * d / beta : Math.Abs(d) - 0.5 * beta,
            d => Math.Clamp(d / betaF, -1f, 1f));
    }

    /// <summary>sign(d): 0 at 0 as PyTorch's, and NaN stays NaN (MathF.Sign would throw).</summary>
    private static float Sign(float d) => d > 0 ? 1f : d < 0 ? -1f : d == 0 ? 0f : float.NaN;

    /// <summary>
    /// An elementwise loss of d = input − target: <paramref name="value"/>(d) per element (in double), reduced;
    /// backward adds <paramref name="slope"/>(d) to the input's gradient and subtracts it from the target's.
    /// </summary>
    private static Tensor PointwiseLoss(string op, Tensor input, Tensor target, Reduction reduction, Func<double, double> value, Func<float, float> slope)
    {
        CheckSameShape(input, target, op);
        var y = Tape.NewOutput(reduction == Reduction.None ? input.ShapeArray : []);
        var a = input.Data;
        var b = target.Data;
        var yd = y.Data;
        double total = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double v = value(a[i] - b[i]);   // the difference rounded to float32, as PyTorch computes it
            if (reduction == Reduction.None) yd[i] = (float)v;
            else total += v;
        }
        if (reduction != Reduction.None) yd[0] = (float)(reduction == Reduction.Mean ? total / a.Length : total);
        if (Tape.ShouldRecord(input, target))
        {
            Tape.Record(op, y, [input, target], gy =>
            {
                var ga = Tape.GradOf(input);
                var gb = Tape.GradOf(target);
                var av = input.Data;
                var bv = target.Data;
                var gyd = gy.Data;
                // A reduced loss has one upstream gradient: read it once, not per element.
                float scale = reduction switch { Reduction.None => 0, Reduction.Mean => gyd[0] / av.Length, _ => gyd[0] };
                for (int i = 0; i < av.Length; i++)
                {
                    float s = reduction == Reduction.None ? gyd[i] : scale;
                    float g = slope(av[i] - bv[i]) * s;
                    if (ga is not null) ga.Data[i] += g;
                    if (gb is not null) gb.Data[i] -= g;
                }
            });
        }
        return y;
    }

    /// <summary>
    /// Cross-entropy against the soft target q_i = (1 − ε)·w[y_i]·onehot(y_i) + (ε/C)·w, PyTorch's weighted and
    /// label-smoothed form: loss_i = −Σ_c q_ic·log p_ic, whose gradient is ∂loss_i/∂z_ij = (Σ_c q_ic)·p_ij − q_ij.
    /// The mean divides by Σ_i w[y_i] (N without weights).
    /// </summary>
    private static Tensor SmoothedCrossEntropy(Tensor logits, int[] targets, int n, int c, Reduction reduction, Tensor? weight, double eps)
    {
        var logp = Tape.NewOutput([n, c]);
        Elementwise.LogSoftmaxRows(logits.Data, c, logp.Data);
        float[] w = weight?.Data.ToArray() ?? Enumerable.Repeat(1f, c).ToArray();
        double smooth = eps / c;
        double weightSum = 0;
        foreach (var wc in w) weightSum += wc;
        var y = Tape.NewOutput(reduction == Reduction.None ? [n] : []);
        var lp = logp.Data;
        var yd = y.Data;
        double total = 0, divisor = 0;
        for (int i = 0; i < n; i++)
        {
            int t = targets[i];
            double weightedLogp = 0;
            for (int j = 0; j < c; j++) weightedLogp += w[j] * (double)lp[i * c + j];
            double v = -(1 - eps) * w[t] * lp[i * c + t] - smooth * weightedLogp;
            if (reduction == Reduction.None) yd[i] = (float)v;
            else total += v;
            divisor += w[t];
        }
        if (reduction != Reduction.None) yd[0] = (float)(reduction == Reduction.Mean ? total / divisor : total);
        if (Tape.ShouldRecord(logits))
        {
            Tape.Record("cross_entropy", y, [logits], gy =>
            {
                if (Tape.GradOf(logits) is not { } gx) return;
                var lpv = logp.Data;
                var g = gx.Data;
                var gyd = gy.Data;
                // A reduced loss has one upstream gradient: read it once, not per element.
                double scale = reduction switch { Reduction.None => 0, Reduction.Mean => gyd[0] / divisor, _ => gyd[0] };
                for (int i = 0; i < n; i++)
                {
                    double s = reduction == Reduction.None ? gyd[i] : scale;
                    int t = targets[i];
                    double qSum = (1 - eps) * w[t] + smooth * weightSum;
                    for (int j = 0; j < c; j++) g[i * c + j] += (float)(s * (qSum * Math.Exp(lpv[i * c + j]) - smooth * w[j]));
                    g[i * c + t] -= (float)(s * (1 - eps) * w[t]);
                }
            }, saved: logp);
        }
        else logp.Release();
        return y;
    }

    private static void ReduceNll(ReadOnlySpan<float> logp, int[] targets, int n, int c, Reduction reduction, Span<float> y)
    {
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            float v = -logp[i * c + targets[i]];
            if (reduction == Reduction.None) y[i] = v;
            else total += v;
        }
        if (reduction != Reduction.None) y[0] = (float)(reduction == Reduction.Mean ? total / n : total);
    }

    private static (int N, int C) CheckClassInput(Tensor x, int[] targets, string op)
    {
        if (x.Rank != 2) throw new ArgumentException($"{op}: expected input [N, C], got {ShapeUtil.Format(x.Shape)}");
        int n = x.Shape[0], c = x.Shape[1];
        if (targets.Length != n) throw new ArgumentException($"{op}: input has {n} rows but {targets.Length} targets were given");
        for (int i = 0; i < n; i++)
            if ((uint)targets[i] >= (uint)c) throw new ArgumentException($"{op}: target {targets[i]} at index {i} is out of bounds for {c} classes");
        return (n, c);
    }

    private static void CheckSameShape(Tensor a, Tensor b, string op)
    {
        if (!ShapeUtil.SameShape(a.Shape, b.Shape))
            throw new ArgumentException($"{op}: input shape {ShapeUtil.Format(a.Shape)} and target shape {ShapeUtil.Format(b.Shape)} differ");
    }

    /// <summary>
    /// The values of <paramref name="w"/> broadcast (NumPy rules, without growing the input) to
    /// <paramref name="shape"/>, flat in row-major order; null when <paramref name="w"/> is null.
    /// </summary>
    private static float[]? BroadcastTo(Tensor? w, int[] shape, string op, string name)
    {
        if (w is null) return null;
        bool fits = w.Rank <= shape.Length;
        for (int i = 1; fits && i <= w.Rank; i++)
            fits = w.Shape[^i] == 1 || w.Shape[^i] == shape[^i];
        if (!fits) throw new ArgumentException($"{op}: {name} shape {ShapeUtil.Format(w.Shape)} does not broadcast to input shape {ShapeUtil.Format(shape)}", name);
        var strides = ShapeUtil.BroadcastStrides(w.Shape, shape);
        var source = w.Data;
        var result = new float[ShapeUtil.Numel(shape)];
        var index = new int[shape.Length];
        for (int k = 0; k < result.Length; k++)
        {
            int offset = 0;
            for (int d = 0; d < shape.Length; d++) offset += index[d] * strides[d];
            result[k] = source[offset];
            for (int d = shape.Length - 1; d >= 0 && ++index[d] == shape[d]; d--) index[d] = 0;
        }
        return result;
    }
}
