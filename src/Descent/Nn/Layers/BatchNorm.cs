using System.Globalization;

namespace Descent.Nn;

/// <summary>
/// What <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/> share, like PyTorch's <c>_BatchNorm</c>:
/// per-channel normalization with batch statistics in training and running statistics in evaluation, a
/// learnable per-channel scale γ (<c>weight</c>, initialized to 1) and shift β (<c>bias</c>, initialized to 0).
/// </summary>
/// <remarks>
/// <para>
/// Training (after <see cref="Module.Train"/>): y = (x − μ_B)/√(σ²_B + eps)·γ + β with the batch mean and the
/// <b>biased</b> batch variance of each channel; the running statistics are then updated with the
/// <b>unbiased</b> variance, running ← (1 − m)·running + m·batch, where m = <see cref="Momentum"/>, or
/// m = 1/<see cref="NumBatchesTracked"/> (a cumulative average) when <see cref="Momentum"/> is null. PyTorch's
/// momentum is the opposite convention of Keras's: Keras's <c>momentum=0.99</c> is PyTorch's 0.01.
/// </para>
/// <para>
/// Evaluation (after <see cref="Module.Eval"/>): y = (x − running_mean)/√(running_var + eps)·γ + β, and nothing
/// is updated. Without <see cref="TrackRunningStats"/> there are no running statistics and the batch's are used
/// in both modes.
/// </para>
/// <para>
/// The running statistics are buffers, not parameters: optimizers do not see them. <see cref="Module.NamedBuffers"/>
/// lists them under PyTorch's state-dict names (<c>running_mean</c>, <c>running_var</c>,
/// <c>num_batches_tracked</c>).
/// </para>
/// </remarks>
public abstract class BatchNorm : Module
{
    private readonly Tensor? _numBatchesTracked;
    private string? _description;

    /// <summary>Creates the layer with PyTorch's defaults: γ = 1, β = 0, running mean 0, running variance 1.</summary>
    /// <param name="numFeatures">C, the channel count of the input [N, C, ...].</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="momentum">Weight of the new batch statistic in the running update; null for a cumulative average.</param>
    /// <param name="affine">Whether to learn γ and β.</param>
    /// <param name="trackRunningStats">Whether to keep running statistics for evaluation.</param>
    protected BatchNorm(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats)
    {
        if (numFeatures < 1)
            throw new ArgumentOutOfRangeException(nameof(numFeatures), $"{GetType().Name}: num_features must be positive, got {numFeatures}");
        if (!(eps >= 0) || double.IsInfinity(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), $"{GetType().Name}: eps must be a non-negative number, got {eps}");
        if (momentum is { } m && !(m >= 0 && m <= 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), $"{GetType().Name}: momentum must be in [0, 1] (or null for a cumulative average), got {m}");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        if (affine)
        {
            Weight = RegisterParameter("weight", new Parameter(Tensor.Full(1f, numFeatures)));
            Bias = RegisterParameter("bias", new Parameter(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = RegisterBuffer("running_var", Tensor.Full(1f, numFeatures));
            _numBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Scalar(0f), integer: true);
        }
    }

    /// <summary>C, the number of channels.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance before the square root (default 1e-5).</summary>
    public double Eps { get; }

    /// <summary>Weight of the new batch statistic in the running update (default 0.1); null for a cumulative average.</summary>
    public double? Momentum { get; }

    /// <summary>Whether γ and β are learned.</summary>
    public bool Affine { get; }

    /// <summary>Whether running statistics are kept and used in evaluation.</summary>
    public bool TrackRunningStats { get; }

    /// <summary>γ, [C], initialized to 1; null without <see cref="Affine"/>.</summary>
    public Parameter? Weight { get; }

    /// <summary>β, [C], initialized to 0; null without <see cref="Affine"/>.</summary>
    public Parameter? Bias { get; }

    /// <summary>The running mean buffer, [C], initialized to 0; null without <see cref="TrackRunningStats"/>.</summary>
    public Tensor? RunningMean { get; }

    /// <summary>The running (unbiased) variance buffer, [C], initialized to 1; null without <see cref="TrackRunningStats"/>.</summary>
    public Tensor? RunningVar { get; }

    /// <summary>
    /// Training batches seen since construction or <see cref="ResetRunningStats"/>, like <c>num_batches_tracked</c>
    /// (stored as a float32 buffer, so it stops counting past 2²⁴ batches).
    /// </summary>
    public long NumBatchesTracked => _numBatchesTracked is null ? 0 : (long)_numBatchesTracked.Data[0];

    /// <summary>Running mean back to 0, running variance to 1 and the batch count to 0, like <c>reset_running_stats()</c>.</summary>
    public void ResetRunningStats()
    {
        RunningMean?.Data.Clear();
        RunningVar?.Data.Fill(1f);
        _numBatchesTracked?.Data.Clear();
    }

    /// <summary>The running statistics reset and γ = 1, β = 0, like <c>reset_parameters()</c>.</summary>
    public void ResetParameters()
    {
        ResetRunningStats();
        Weight?.Data.Fill(1f);
        Bias?.Data.Clear();
    }

    /// <summary>
    /// When set, training batches are normalized with the statistics of the global batch (every rank's samples),
    /// all-reduced over this group in forward and backward, like <c>nn.SyncBatchNorm</c> (what
    /// <c>SyncBatchNorm.convert_sync_batchnorm(model, process_group)</c> turns this layer into); null (the default)
    /// uses each process's own batch.
    /// </summary>
    public Distributed.ProcessGroup? ProcessGroup { get; set; }

    /// <summary>Throws when the input's rank is not one this layer takes, in PyTorch's words.</summary>
    protected abstract void CheckInputRank(Tensor input);

    /// <inheritdoc />
    public override string Describe() => _description ??= Description();

    private string Description()
    {
        var options = new List<string> { NumFeatures.ToString(CultureInfo.InvariantCulture) };
        if (Eps != 1e-5) options.Add($"eps={Eps.ToString(CultureInfo.InvariantCulture)}");
        if (Momentum != 0.1) options.Add($"momentum={(Momentum is { } m ? m.ToString(CultureInfo.InvariantCulture) : "None")}");
        if (!Affine) options.Add("affine=False");
        if (!TrackRunningStats) options.Add("track_running_stats=False");
        return $"{GetType().Name}({string.Join(", ", options)})";
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        CheckInputRank(input);
        bool updating = Training && TrackRunningStats;
        double factor = updating ? Momentum ?? 1.0 / (NumBatchesTracked + 1) : 0.0;
        bool batchStatistics = Training || RunningMean is null;
        var y = Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, batchStatistics, factor, Eps, Describe(), Training ? ProcessGroup : null);
        // Counted after the call, so that a refused batch (e.g. one sample) leaves the count alone.
        if (updating) _numBatchesTracked!.Data[0] += 1f;
        return y;
    }
}

/// <summary>
/// Batch normalization of [N, C] or [N, C, L] inputs over N (and L), like
/// <c>nn.BatchNorm1d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)</c>.
/// See <see cref="BatchNorm"/> for the training and evaluation behaviour.
/// </summary>
/// <param name="numFeatures">C.</param>
/// <param name="eps">Added to the variance.</param>
/// <param name="momentum">Running-update weight; null for a cumulative average.</param>
/// <param name="affine">Whether to learn γ and β.</param>
/// <param name="trackRunningStats">Whether to keep running statistics.</param>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc />
    protected override void CheckInputRank(Tensor input)
    {
        if (input.Rank is not (2 or 3))
            throw new ArgumentException($"{Describe()}: expected 2D or 3D input (got {input.Rank}D input {ShapeUtil.Format(input.Shape)})");
    }
}

/// <summary>
/// Batch normalization of [N, C, H, W] inputs over N, H and W, like
/// <c>nn.BatchNorm2d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)</c>.
/// See <see cref="BatchNorm"/> for the training and evaluation behaviour.
/// </summary>
/// <param name="numFeatures">C.</param>
/// <param name="eps">Added to the variance.</param>
/// <param name="momentum">Running-update weight; null for a cumulative average.</param>
/// <param name="affine">Whether to learn γ and β.</param>
/// <param name="trackRunningStats">Whether to keep running statistics.</param>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc />
    protected override void CheckInputRank(Tensor input)
    {
        if (input.Rank != 4)
            throw new ArgumentException($"{Describe()}: expected 4D input (got {input.Rank}D input {ShapeUtil.Format(input.Shape)})");
    }
}
