using System.Numerics.Tensors;
using Descent.Nn;
using Descent.Training;

namespace Descent.Lab.Doctor;

/// <summary>
/// The doctor's cheap checks during a normal training run (<c>descent train --watch</c>), as a <see cref="Trainer"/>
/// callback: <c>non-finite</c> (the loss at every batch, the gradients at sampled steps), <c>update-ratio</c>,
/// <c>dead-units</c> and <c>exploding-gradients</c>. Each finding is reported once, the first time it fires, with the
/// id and fix of the doctor's finding.
/// </summary>
/// <remarks>
/// <para>Gradients and updates are looked at on every <see cref="Every"/>-th optimizer step (steps 1, 21, 41, …), so
/// the watch costs a few passes over the parameters per <see cref="Every"/> steps. On those steps:</para>
/// <list type="bullet">
/// <item><c>non-finite</c>: a gradient with a NaN or an infinity (and at every batch, a loss that is not finite).</item>
/// <item><c>exploding-gradients</c>: the root-mean-square gradient of the first weight matrix above 1e3 times that of
/// the last, as the doctor measures at initialization.</item>
/// <item><c>dead-units</c>: more than 40 % of the units feeding a ReLU got an exactly zero gradient (their bias's, or
/// their weights' in a layer without one) (every sample of
/// the batch had them inactive) on each of the last <see cref="DeadWindow"/> sampled steps, as many samples as the
/// doctor's batch at batch size 32. An L1/L2 penalty (<see cref="Trainer.Penalty"/>) puts weight into every gradient
/// and hides this check.</item>
/// <item><c>update-ratio</c>: per weight matrix (estimated on <see cref="RatioEntries"/> random entries of a larger
/// one), the median of ‖Δθ‖/‖θ‖ over the last <see cref="RatioWindow"/>
/// sampled steps above 0.1; or, on the first <see cref="RatioWindow"/> sampled steps only (when a small step cannot
/// be a converged model's), below 1e-5.</item>
/// </list>
/// <para>A non-finite loss is reported when the trainer stops on it (<see cref="ITrainerCallback.OnDiverged"/>),
/// or at the batch when <see cref="Trainer.StopOnNonFiniteLoss"/> is off. Closure optimizers (LBFGS) get the loss
/// check only.</para>
/// </remarks>
/// <param name="onFinding">Called with each finding as it first fires (e.g. to print it).</param>
public sealed class TrainingWatch(Action<Finding>? onFinding = null) : ITrainerCallback
{
    /// <summary>Optimizer steps between two looks at the gradients and updates.</summary>
    public const int Every = 20;

    /// <summary>Sampled steps whose median update ratio is judged.</summary>
    public const int RatioWindow = 5;

    /// <summary>Consecutive sampled steps a unit's gradient must be zero to count as dead.</summary>
    public const int DeadWindow = 8;

    /// <summary>Random entries of a weight matrix whose update estimates its update ratio (all of a smaller one).</summary>
    public const int RatioEntries = 4096;

    private readonly List<Finding> _findings = [];
    private Trainer? _trainer;
    private ParameterArena? _arena;
    private string[] _names = [];
    private int[] _weights = [];
    private Queue<double>[] _ratios = [];
    private (string Layer, int Index, int[] ZeroRuns)[] _relus = [];
    // Per weight matrix: the entries whose update is measured, and their values before the step.
    private int[][] _entries = [];
    private float[][] _before = [];
    private double[] _squares = [];
    private long _snapshotStep = -1;

    /// <summary>The findings so far, in the order they fired.</summary>
    public IReadOnlyList<Finding> Findings => _findings;

    /// <inheritdoc />
    public void OnTrainBegin(Trainer trainer, int epochs, int batchesPerEpoch)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        _trainer = trainer;
        var arena = _arena = trainer.Optimizer.Arena;
        var names = trainer.Model.NamedParameters().ToDictionary(p => p.Parameter, p => p.Name);
        _names = [.. arena.Parameters.Select((p, i) => names.GetValueOrDefault(p, $"parameter {i}"))];
        // In the model's order (the first and last layers are compared), which the arena's groups need not follow.
        _weights = [.. InitChecks.Weights(trainer.Model).Select(w => ProbeRun.IndexOf(arena.Parameters, w.Weight)).Where(i => i >= 0)];
        _ratios = [.. _weights.Select(_ => new Queue<double>())];
        // A seeded random subset of each large weight matrix: its update ratio is a ratio of sums of squares, which a
        // few thousand random entries estimate well, for a fraction of a pass over the weights.
        var random = new Random(0);
        _entries = [.. _weights.Select(i =>
        {
            int n = arena.Parameters[i].Numel, offset = arena.OffsetOf(i);
            var picked = n <= RatioEntries ? Enumerable.Range(0, n) : Enumerable.Range(0, RatioEntries).Select(_ => random.Next(n)).Distinct().Order();
            return picked.Select(j => offset + j).ToArray();
        })];
        _before = [.. _entries.Select(e => new float[e.Length])];
        _squares = new double[arena.Parameters.Count];
        // Each ReLU with the bias (else the weight) of the last layer before it that has one (Linear, Conv2d or
        // BatchNorm): unit u of the ReLU is entry (slice) u of it, whose gradient is zero exactly when the unit was
        // inactive on the whole batch.
        var relus = new List<(string, int, int[])>();
        Parameter? weight = null;
        foreach (var (name, layer) in Doctor.Layers(trainer.Model))
        {
            if (layer is ReLU)
            {
                int index = weight is null ? -1 : ProbeRun.IndexOf(arena.Parameters, weight);
                if (index >= 0) relus.Add((name, index, new int[weight!.Shape[0]]));
                weight = null;
            }
            else if (layer.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter) is var own && own.ContainsKey("weight"))
                weight = own.GetValueOrDefault("bias") ?? own["weight"];
        }
        _relus = [.. relus];
        _snapshotStep = -1;
    }

    /// <inheritdoc />
    public void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy)
    {
        if (!float.IsFinite(loss)) NonFiniteLoss(epoch, globalStep, loss, _trainer!.Optimizer.GroupOptions[0].Lr);
    }

    /// <inheritdoc />
    public void OnDiverged(TrainingDivergedException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        NonFiniteLoss(exception.Epoch, exception.Step, exception.Loss, exception.Lr);
    }

    private void NonFiniteLoss(int epoch, long step, float loss, double lr) =>
        Fire(new Finding("non-finite", Severity.Error,
            $"The training loss became {loss.ToString(System.Globalization.CultureInfo.InvariantCulture)} at step {step} (epoch {epoch}, lr {Doctor.Number(lr)}).",
            new Dictionary<string, object?> { ["step"] = step, ["epoch"] = epoch, ["loss"] = (double)loss, ["lr"] = lr },
            Fixes.NonFinite));

    /// <inheritdoc />
    public void OnBeforeOptimizerStep(Trainer trainer)
    {
        long step = trainer.GlobalStep + 1;
        if ((step - 1) % Every != 0) return;
        var arena = _arena!;
        var grad = arena.Grad;
        for (int i = 0; i < _squares.Length; i++)
        {
            var g = grad.AsSpan(arena.OffsetOf(i), arena.Parameters[i].Numel);
            double sum = TensorPrimitives.SumOfSquares(g);
            // The float sum overflows for a norm past 1.8e19; summed in double it is non-finite only for a NaN or an infinity.
            if (!double.IsFinite(sum))
            {
                sum = 0;
                foreach (float v in g) sum += (double)v * v;
            }
            _squares[i] = sum;
            if (double.IsFinite(sum)) continue;
            Fire(new Finding("non-finite", Severity.Error, $"The gradient of {_names[i]} is not finite at step {step}.",
                new Dictionary<string, object?> { ["step"] = step, ["parameter"] = _names[i], ["lr"] = trainer.Optimizer.GroupOptions[0].Lr }, Fixes.NonFinite));
            return;
        }
        CheckGradientSpread(step);
        CheckDeadUnits(step);
        for (int k = 0; k < _entries.Length; k++)
        {
            var entries = _entries[k];
            var before = _before[k];
            for (int j = 0; j < entries.Length; j++) before[j] = arena.Data[entries[j]];
        }
        _snapshotStep = step;
    }

    /// <inheritdoc />
    public void OnOptimizerStep(long globalStep)
    {
        if (globalStep != _snapshotStep) return;
        _snapshotStep = -1;
        var arena = _arena!;
        (int Weight, double Median) highest = (-1, 0), lowest = (-1, double.PositiveInfinity);
        for (int k = 0; k < _weights.Length; k++)
        {
            var entries = _entries[k];
            var before = _before[k];
            double update = 0, weight = 0;
            for (int j = 0; j < entries.Length; j++)
            {
                double b = before[j], d = arena.Data[entries[j]] - b;
                update += d * d;
                weight += b * b;
            }
            if (!(weight > 0)) continue;
            var window = _ratios[k];
            window.Enqueue(Math.Sqrt(update / weight));
            if (window.Count > RatioWindow) window.Dequeue();
            if (window.Count < RatioWindow) continue;
            double median = window.Order().ElementAt(RatioWindow / 2);
            if (median > highest.Median) highest = (k, median);
            if (median < lowest.Median) lowest = (k, median);
        }
        long first = globalStep - (long)(RatioWindow - 1) * Every;
        if (highest.Weight >= 0 && highest.Median > ProbeRun.UpdateRatioHigh)
            Fire(UpdateRatio(highest.Weight, highest.Median, "high", first, globalStep,
                $"far above the healthy 1e-3: the learning rate is too high for it", Fixes.UpdateRatioHigh(highest.Median)));
        else if (first == 1 && lowest.Weight >= 0 && lowest.Median is > 0 and < ProbeRun.UpdateRatioLow)
            Fire(UpdateRatio(lowest.Weight, lowest.Median, "low", first, globalStep, "far below the healthy 1e-3: it barely learns", Fixes.UpdateRatioLow));
    }

    private Finding UpdateRatio(int k, double median, string direction, long first, long last, string judgement, string fix)
    {
        string name = _names[_weights[k]];
        return new Finding("update-ratio", Severity.Warning,
            $"Each step changes {name} by {Doctor.Number(median)} of its norm (median of steps {first}–{last}, every {Every}th), {judgement}.",
            new Dictionary<string, object?> { ["parameter"] = name, ["median_ratio"] = Doctor.Round(median), ["direction"] = direction, ["steps"] = new[] { first, last } },
            fix);
    }

    /// <summary><c>exploding-gradients</c>: the first weight matrix's RMS gradient over the last's, as <see cref="InitChecks"/> judges it.</summary>
    private void CheckGradientSpread(long step)
    {
        if (_weights.Length < 2) return;
        var arena = _arena!;
        int first = _weights[0], last = _weights[^1];
        double rmsFirst = Math.Sqrt(_squares[first] / arena.Parameters[first].Numel), rmsLast = Math.Sqrt(_squares[last] / arena.Parameters[last].Numel);
        if (!(rmsLast > 0) || !(rmsFirst / rmsLast > InitChecks.GradientSpread)) return;
        double ratio = rmsFirst / rmsLast;
        Fire(new Finding("exploding-gradients", Severity.Warning,
            $"The gradient of the first layer ({_names[first]}) is {Doctor.Number(ratio)} times that of the last ({_names[last]}) at step {step}: the early layers take huge steps.",
            new Dictionary<string, object?> { ["step"] = step, ["first_over_last"] = Doctor.Round(ratio), ["first_rms"] = Doctor.Round(rmsFirst), ["last_rms"] = Doctor.Round(rmsLast) },
            Fixes.ExplodingGradients));
    }

    /// <summary><c>dead-units</c>: units whose weight slice got an exactly zero gradient on the last <see cref="DeadWindow"/> sampled steps.</summary>
    private void CheckDeadUnits(long step)
    {
        var arena = _arena!;
        foreach (var (layer, index, zeroRuns) in _relus)
        {
            int units = zeroRuns.Length, per = arena.Parameters[index].Numel / units, offset = arena.OffsetOf(index), dead = 0;
            for (int u = 0; u < units; u++)
            {
                // Vectorized, unlike IndexOfAnyExcept(0f) on floats (a NaN is not zero: its magnitude compares false).
                bool zero = per == 1 ? arena.Grad[offset + u] == 0 : TensorPrimitives.MaxMagnitude(arena.Grad.AsSpan(offset + u * per, per)) == 0;
                zeroRuns[u] = zero ? zeroRuns[u] + 1 : 0;
                if (zeroRuns[u] >= DeadWindow) dead++;
            }
            if (dead <= ProbeRun.DeadFraction * units) continue;
            Fire(new Finding("dead-units", Severity.Warning,
                $"{dead} of the {units} ReLU units of layer {layer} were inactive on every sample of the last {DeadWindow} sampled batches (to step {step}): they pass no gradient and never recover.",
                new Dictionary<string, object?> { ["layer"] = layer, ["dead"] = dead, ["units"] = units, ["step"] = step, ["batches"] = DeadWindow },
                Fixes.DeadUnits));
        }
    }

    private void Fire(Finding finding)
    {
        if (_findings.Any(f => f.Id == finding.Id)) return;
        _findings.Add(finding);
        onFinding?.Invoke(finding);
    }
}
