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
    public static Tensor CrossEntropy(Tensor logits, int[] targets, Reduction reduction = Reduction.Mean)
    {
        var (n, c) = CheckClassInput(logits, targets, "cross_entropy");
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
                for (int i = 0; i < n; i++)
                {
                    float s = reduction switch { Reduction.None => gyd[i], Reduction.Mean => gyd[0] / n, _ => gyd[0] };
                    for (int j = 0; j < c; j++) g[i * c + j] += s * MathF.Exp(lp[i * c + j]);
                    g[i * c + targets[i]] -= s;
                }
            }, saved: logp);
        }
        else logp.Release();
        return y;
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
                for (int i = 0; i < n; i++)
                    g[i * c + targets[i]] -= reduction switch { Reduction.None => gyd[i], Reduction.Mean => gyd[0] / n, _ => gyd[0] };
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
                for (int i = 0; i < av.Length; i++)
                {
                    float s = reduction switch { Reduction.None => gyd[i], Reduction.Mean => gyd[0] / av.Length, _ => gyd[0] };
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
    /// max(x, 0) − x·t + log(1 + e^(−|x|)). Targets may be fractional.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckSameShape(input, target, "binary_cross_entropy_with_logits");
        var y = Tape.NewOutput(reduction == Reduction.None ? input.ShapeArray : []);
        var x = input.Data;
        var t = target.Data;
        double total = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double v = Math.Max(x[i], 0f) - (double)x[i] * t[i] + Math.Log(1 + Math.Exp(-Math.Abs(x[i])));
            if (reduction == Reduction.None) y.Data[i] = (float)v;
            else total += v;
        }
        if (reduction != Reduction.None) y.Data[0] = (float)(reduction == Reduction.Mean ? total / x.Length : total);
        if (Tape.ShouldRecord(input, target))
        {
            Tape.Record("bce_with_logits", y, [input, target], gy =>
            {
                var gx = Tape.GradOf(input);
                var gt = Tape.GradOf(target);
                var xv = input.Data;
                var tv = target.Data;
                var gyd = gy.Data;
                for (int i = 0; i < xv.Length; i++)
                {
                    float s = reduction switch { Reduction.None => gyd[i], Reduction.Mean => gyd[0] / xv.Length, _ => gyd[0] };
                    float sig = 1f / (1f + MathF.Exp(-xv[i]));
                    if (gx is not null) gx.Data[i] += (sig - tv[i]) * s;
                    if (gt is not null) gt.Data[i] -= xv[i] * s;
                }
            });
        }
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
}
