using Descent.Autodiff;
using Descent.Kernels;

namespace Descent;

public static partial class Functional
{
    /// <summary>
    /// Batch normalization over the channel dimension 1 of input [N, C, ...], like
    /// <c>F.batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05)</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// With <paramref name="training"/> the statistics are the batch's: per channel μ and the biased variance
    /// σ² = Σ(x − μ)²/n over the n = N·(product of the trailing dims) values, and
    /// y = (x − μ)/√(σ² + eps)·γ + β. The running statistics, when given, are then updated in place with
    /// <paramref name="momentum"/> as the weight of the new value and the <b>unbiased</b> variance:
    /// running_mean ← (1 − m)·running_mean + m·μ, running_var ← (1 − m)·running_var + m·σ²·n/(n − 1).
    /// (PyTorch's momentum is the opposite of Keras's: Keras's 0.99 is PyTorch's 0.01.) The update happens
    /// inside <see cref="Tape.NoGrad"/> too, as in PyTorch.
    /// </para>
    /// <para>
    /// Without <paramref name="training"/> the running statistics normalize and stay untouched; they are
    /// constants to autodiff.
    /// </para>
    /// </remarks>
    /// <param name="input">[N, C] or [N, C, d₁, …].</param>
    /// <param name="runningMean">[C], updated in training; required in evaluation.</param>
    /// <param name="runningVar">[C], updated in training; required in evaluation.</param>
    /// <param name="weight">γ, [C], or null for 1.</param>
    /// <param name="bias">β, [C], or null for 0.</param>
    /// <param name="training">Normalize with batch statistics (and update the running ones).</param>
    /// <param name="momentum">Weight of the batch statistic in the running update.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="layer">The layer's name for error messages.</param>
    /// <param name="processGroup">
    /// With <paramref name="training"/>, normalize with the statistics of all ranks' batches together (synchronized
    /// BatchNorm): the per-channel sums are all-reduced over this group in forward, and the sums backward needs in
    /// backward. Every rank must call it at the same point.
    /// </param>
    /// <exception cref="ArgumentException">Shapes do not fit, a channel has a single value in training, or evaluation lacks running statistics.</exception>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5, string layer = "batch_norm", Distributed.ProcessGroup? processGroup = null)
    {
        // Statistics of one process need no all-reduce: an unsynchronized BatchNorm does the same, faster.
        if (!training || processGroup is { WorldSize: 1 }) processGroup = null;
        if (input.Rank < 2)
            throw new ArgumentException($"{layer}: expected input [N, C, ...] with at least 2 dimensions, got {ShapeUtil.Format(input.Shape)}");
        int outer = input.Shape[0], channels = input.Shape[1];
        int inner = channels == 0 || outer == 0 ? 0 : input.Numel / (outer * channels);
        CheckChannelVector(runningMean, "running_mean", input, channels, layer);
        CheckChannelVector(runningVar, "running_var", input, channels, layer);
        CheckChannelVector(weight, "weight", input, channels, layer);
        CheckChannelVector(bias, "bias", input, channels, layer);
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException($"{layer}: running_mean and running_var must be defined in evaluation mode");
        long perChannel = (long)outer * inner;
        if (training && perChannel <= 1)
            throw new ArgumentException($"{layer}: Expected more than 1 value per channel when training, got input size {ShapeUtil.Format(input.Shape)}");

        // One saved tensor holds what backward needs: row 0 the mean, row 1 the inverse standard deviation.
        var statistics = TensorPool.RentTensor([2, channels], clear: false);
        var mean = statistics.Data[..channels];
        var invStd = statistics.Data[channels..];
        if (processGroup is not null)
        {
            perChannel = GlobalStatistics(input.Data, outer, channels, inner, mean, invStd, processGroup);
            UpdateRunningStatistics(mean, invStd, perChannel, momentum, runningMean, runningVar);
            for (int c = 0; c < channels; c++) invStd[c] = (float)(1.0 / Math.Sqrt(invStd[c] + eps));
        }
        else if (training)
        {
            Normalization.BatchNormStatistics(input.Data, outer, channels, inner, mean, invStd);
            UpdateRunningStatistics(mean, invStd, perChannel, momentum, runningMean, runningVar);
            for (int c = 0; c < channels; c++) invStd[c] = (float)(1.0 / Math.Sqrt(invStd[c] + eps));
        }
        else
        {
            runningMean!.Data.CopyTo(mean);
            var rv = runningVar!.Data;
            for (int c = 0; c < channels; c++) invStd[c] = (float)(1.0 / Math.Sqrt(rv[c] + eps));
        }

        var y = Tape.NewOutput(input.ShapeArray);
        Span<float> scale = channels <= 1024 ? stackalloc float[channels] : new float[channels];
        Span<float> shift = channels <= 1024 ? stackalloc float[channels] : new float[channels];
        // Folded and rounded in float32 as PyTorch's CPU kernel does: scale = invStd·γ, shift = β − μ·scale.
        for (int c = 0; c < channels; c++)
        {
            scale[c] = invStd[c] * (weight is null ? 1f : weight.Data[c]);
            shift[c] = (bias is null ? 0f : bias.Data[c]) - mean[c] * scale[c];
        }
        if (input.Numel > 0) Normalization.ChannelScaleShift(input.Data, outer, channels, inner, scale, shift, y.Data);

        if (Tape.IsGradEnabled && (input.RequiresGrad || weight is { RequiresGrad: true } || bias is { RequiresGrad: true }))
        {
            Tape.Record("batch_norm", y, WithParameters(input, weight, bias), gy =>
            {
                var gx = Tape.GradOf(input);
                var gw = weight is null ? null : Tape.GradOf(weight);
                var gb = bias is null ? null : Tape.GradOf(bias);
                var stats = statistics.Data;
                if (processGroup is not null)
                {
                    SyncBackward(input.Data, gy.Data, outer, channels, inner, stats[..channels], stats[channels..], weight is null ? default : weight.Data,
                        perChannel, processGroup, gx is null ? default : gx.Data, gw is null ? default : gw.Data, gb is null ? default : gb.Data);
                    return;
                }
                if (input.Numel == 0) return;
                Normalization.BatchNormBackward(input.Data, gy.Data, outer, channels, inner, stats[..channels], stats[channels..],
                    weight is null ? default : weight.Data, training,
                    gx is null ? default : gx.Data, gw is null ? default : gw.Data, gb is null ? default : gb.Data);
            }, saved: statistics);
        }
        else statistics.Release();
        return y;
    }

    /// <summary>
    /// Synchronized BatchNorm's statistics: every rank's per-channel Σx and Σx² (in double) and count, all-reduced;
    /// writes the global mean and biased variance and returns the global count per channel.
    /// </summary>
    private static long GlobalStatistics(ReadOnlySpan<float> x, int outer, int channels, int inner, Span<float> mean, Span<float> variance,
        Distributed.ProcessGroup group)
    {
        var sums = new double[2 * channels + 1];
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
            {
                var values = x.Slice((o * channels + c) * inner, inner);
                double s = 0, q = 0;
                foreach (float v in values)
                {
                    s += v;
                    q += (double)v * v;
                }
                sums[c] += s;
                sums[channels + c] += q;
            }
        sums[2 * channels] = (double)outer * inner;
        group.AllReduceSum(sums, "all-reduce of the batch-norm statistics");
        double n = sums[2 * channels];
        if (n <= 1) throw new ArgumentException($"Expected more than 1 value per channel when training, got {n} over all ranks");
        for (int c = 0; c < channels; c++)
        {
            double m = sums[c] / n;
            mean[c] = (float)m;
            variance[c] = (float)Math.Max(sums[channels + c] / n - m * m, 0);
        }
        return (long)n;
    }

    /// <summary>
    /// Synchronized BatchNorm's backward: with x̂ = (x − μ)·invStd, the sums Σgy and Σgy·x̂ over all ranks' samples
    /// (all-reduced) give ∂x = invStd·γ·(gy − Σgy/n − x̂·Σgy·x̂/n) for n values per channel in the global batch;
    /// ∂γ and ∂β are this rank's sums (data parallelism averages them with the other gradients).
    /// </summary>
    private static void SyncBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, int outer, int channels, int inner,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> weight, long count, Distributed.ProcessGroup group,
        Span<float> gx, Span<float> gWeight, Span<float> gBias)
    {
        var sums = new double[2 * channels];
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
            {
                int at = (o * channels + c) * inner;
                double sumGy = 0, dot = 0;
                for (int i = 0; i < inner; i++)
                {
                    sumGy += gy[at + i];
                    dot += gy[at + i] * ((x[at + i] - mean[c]) * (double)invStd[c]);
                }
                sums[c] += sumGy;
                sums[channels + c] += dot;
            }
        for (int c = 0; c < channels; c++)
        {
            if (!gBias.IsEmpty) gBias[c] += (float)sums[c];
            if (!gWeight.IsEmpty) gWeight[c] += (float)sums[channels + c];
        }
        group.AllReduceSum(sums, "all-reduce of the batch-norm gradient sums");
        if (gx.IsEmpty) return;
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
            {
                int at = (o * channels + c) * inner;
                double scale = invStd[c] * (weight.IsEmpty ? 1.0 : weight[c]);
                double meanGy = sums[c] / count, meanDot = sums[channels + c] / count;
                for (int i = 0; i < inner; i++)
                {
                    double xhat = (x[at + i] - mean[c]) * (double)invStd[c];
                    gx[at + i] += (float)(scale * (gy[at + i] - meanGy - xhat * meanDot));
                }
            }
    }

    /// <summary>The inputs of a normalization node: the tensor, then γ and β where present.</summary>
    private static Tensor[] WithParameters(Tensor input, Tensor? weight, Tensor? bias) => (weight, bias) switch
    {
        (null, null) => [input],
        (not null, null) => [input, weight],
        (null, not null) => [input, bias],
        _ => [input, weight!, bias!],
    };

    /// <summary>running ← (1 − m)·running + m·batch, with the batch variance made unbiased (·n/(n − 1)).</summary>
    private static void UpdateRunningStatistics(ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, long perChannel, double momentum,
        Tensor? runningMean, Tensor? runningVar)
    {
        if (runningMean is not null)
        {
            var rm = runningMean.Data;
            for (int c = 0; c < mean.Length; c++) rm[c] = (float)((1 - momentum) * rm[c] + momentum * mean[c]);
        }
        if (runningVar is not null)
        {
            double unbias = (double)perChannel / (perChannel - 1);
            var rv = runningVar.Data;
            for (int c = 0; c < variance.Length; c++) rv[c] = (float)((1 - momentum) * rv[c] + momentum * (variance[c] * unbias));
        }
    }

    private static void CheckChannelVector(Tensor? t, string name, Tensor input, int channels, string layer)
    {
        if (t is null || (t.Rank == 1 && t.Shape[0] == channels)) return;
        throw new ArgumentException($"{layer}: input shape {ShapeUtil.Format(input.Shape)} has {channels} channels, but {name} has shape {ShapeUtil.Format(t.Shape)}");
    }
}
