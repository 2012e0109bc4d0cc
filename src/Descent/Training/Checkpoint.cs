using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Descent.Nn;
using Descent.Optim;
using Descent.Optim.Schedules;

namespace Descent.Training;

/// <summary>What a checkpoint records besides the tensors: where training stood, and any strings of the caller's.</summary>
/// <param name="Epoch">Epochs completed.</param>
/// <param name="Step">Optimizer steps taken (the global step of the logs).</param>
/// <param name="Metadata">The caller's own entries (data-loader position, best metric, run name, …), stored as given.</param>
public sealed record CheckpointInfo(int Epoch, long Step, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Training checkpoints, like saving <c>{"model": model.state_dict(), "optimizer": optimizer.state_dict(),
/// "scheduler": scheduler.state_dict(), "epoch": e, "rng": torch.get_rng_state()}</c> with <c>torch.save</c>, in one
/// safetensors file per checkpoint: <c>DIR/checkpoint-&lt;step&gt;.safetensors</c>.
/// </summary>
/// <remarks>
/// <para>
/// The file holds the model's parameters and buffers under <c>model.&lt;state-dict name&gt;</c>, the optimizer's
/// per-element state under <c>optimizer.&lt;group&gt;.&lt;name&gt;</c> (<c>optimizer.0.exp_avg</c>), and in its metadata
/// (<see cref="MetadataKey"/>) the counters, the optimizer's hyperparameters and scalar state, the schedule's state
/// and the calling thread's <see cref="Rng"/> state, as JSON. Floats are stored bit for bit and doubles in their
/// shortest round-trip form, so <see cref="Load(string, Module, Optimizer, LRScheduler?)"/> followed by the remaining steps gives the same bits as never stopping.
/// </para>
/// <para>
/// Each checkpoint is written atomically (temporary file, flush, rename, directory flush), so a crash at any instant
/// leaves every earlier checkpoint intact; only then are the oldest ones beyond <c>keep</c> deleted.
/// <see cref="Load(string, Module, Optimizer, LRScheduler?)"/> checks the whole file before it changes anything, and on any failure leaves the model, optimizer,
/// schedule and generator as they were.
/// </para>
/// </remarks>
public static class Checkpoint
{
    /// <summary>The metadata key of the checkpoint's JSON record.</summary>
    public const string MetadataKey = "descent.checkpoint";

    private const string FilePrefix = "checkpoint-", FileSuffix = ".safetensors", ModelPrefix = "model.", OptimizerPrefix = "optimizer.";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        IncludeFields = true, // the betas of the Adam family are a value tuple
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // ReduceLROnPlateau's best starts at ±inf
    };

    /// <summary>
    /// Writes a checkpoint into <paramref name="directory"/> (created if needed) and deletes the oldest ones beyond
    /// <paramref name="keep"/>; returns the file written.
    /// </summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The optimizer over the model's parameters.</param>
    /// <param name="scheduler">The learning-rate schedule, or null.</param>
    /// <param name="epoch">Epochs completed.</param>
    /// <param name="step">Optimizer steps taken; names the file, so a later checkpoint has a larger step.</param>
    /// <param name="keep">How many checkpoints to keep, newest first (at least 1); null keeps all.</param>
    /// <param name="metadata">The caller's entries, returned by <see cref="Load(string, Module, Optimizer, LRScheduler?)"/> in <see cref="CheckpointInfo.Metadata"/>.</param>
    /// <exception cref="ArgumentException">A weight or optimizer value is NaN or infinite; nothing is written or deleted.</exception>
    public static string Save(string directory, Module model, Optimizer optimizer, LRScheduler? scheduler, int epoch, long step, int? keep = null,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (keep is < 1) throw new ArgumentOutOfRangeException(nameof(keep), $"keep must be at least 1, got {keep}");
        if (metadata?.ContainsKey(MetadataKey) == true) throw new ArgumentException($"metadata key '{MetadataKey}' is the checkpoint's own", nameof(metadata));

        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, p) in model.NamedParameters()) tensors.Add(new(ModelPrefix + name, p));
        foreach (var (name, b) in model.NamedBuffers()) tensors.Add(new(ModelPrefix + name, b));
        var optimizerState = optimizer.StateDict();
        foreach (var (name, buffer) in optimizerState.Buffers) tensors.Add(new(OptimizerPrefix + name, Tensor.FromArray(buffer, buffer.Length)));
        var integers = model.IntegerBufferNames().Select(n => ModelPrefix + n).ToHashSet(StringComparer.Ordinal);
        // A diverged run must not rotate good checkpoints out with one that cannot be resumed from.
        foreach (var (name, tensor) in tensors)
            foreach (float v in tensor.Data)
                if (!float.IsFinite(v))
                    throw new ArgumentException($"refusing to checkpoint step {step}: '{name}' holds {v} (training diverged); the previous checkpoints are kept");

        var record = new JsonObject
        {
            ["epoch"] = epoch,
            ["step"] = step,
            ["optimizer"] = new JsonObject
            {
                ["name"] = optimizerState.Optimizer,
                ["step"] = optimizerState.Step,
                ["param_groups"] = new JsonArray(optimizerState.ParamGroups.Select(g => JsonSerializer.SerializeToNode(g, g.GetType(), Json)).ToArray()),
                ["group_lengths"] = JsonSerializer.SerializeToNode(optimizerState.GroupLengths, Json),
                ["scalars"] = JsonSerializer.SerializeToNode(optimizerState.Scalars, Json),
            },
            ["scheduler"] = scheduler is null ? null : JsonSerializer.SerializeToNode(scheduler.StateDict(), Json),
            ["rng"] = JsonSerializer.SerializeToNode(Rng.GetState(), Json),
        };
        var all = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal) { [MetadataKey] = record.ToJsonString(Json) };

        var path = Path.Combine(directory, $"{FilePrefix}{step.ToString("D12", CultureInfo.InvariantCulture)}{FileSuffix}");
        Safetensors.Write(path, tensors, all, integers);
        if (keep is { } k)
            foreach (var old in List(directory).SkipLast(k)) File.Delete(old);
        return path;
    }

    /// <summary>The newest checkpoint in <paramref name="directory"/> (the largest step), or null when there is none.</summary>
    public static string? Latest(string directory) => Directory.Exists(directory) ? List(directory).LastOrDefault() : null;

    /// <summary>The checkpoints in <paramref name="directory"/>, oldest first (temporary files of unfinished writes are not listed).</summary>
    public static IReadOnlyList<string> List(string directory) =>
        Directory.EnumerateFiles(directory, FilePrefix + "*" + FileSuffix)
            .Where(p => long.TryParse(Path.GetFileName(p)[FilePrefix.Length..^FileSuffix.Length], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .OrderBy(p => long.Parse(Path.GetFileName(p)[FilePrefix.Length..^FileSuffix.Length], CultureInfo.InvariantCulture))
            .ToList();

    /// <summary>
    /// Restores the model, optimizer, schedule and the calling thread's <see cref="Rng"/> from a checkpoint written by
    /// <see cref="Save"/>. They must be built as they were when it was saved (same architecture, optimizer type, parameter
    /// groups and schedule); the values they hold are replaced.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, or does not fit; nothing is changed then.</exception>
    public static CheckpointInfo Load(string path, Module model, Optimizer optimizer, LRScheduler? scheduler)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Load(stream, path, model, optimizer, scheduler);
    }

    /// <summary>
    /// <see cref="Load(string, Module, Optimizer, LRScheduler?)"/> from checkpoint data in a seekable <paramref name="stream"/>;
    /// <paramref name="path"/> names it in errors.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is not a checkpoint, or does not fit; nothing is changed then.</exception>
    public static CheckpointInfo Load(Stream stream, string path, Module model, Optimizer optimizer, LRScheduler? scheduler)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        var file = Safetensors.Read(stream, path);
        if (!file.Metadata.TryGetValue(MetadataKey, out var json)) throw Invalid(path, $"not a Descent checkpoint (no '{MetadataKey}' in its metadata)");

        var modelState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var buffers = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, tensor) in file.Tensors)
        {
            if (name.StartsWith(ModelPrefix, StringComparison.Ordinal)) modelState[name[ModelPrefix.Length..]] = tensor;
            else if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) buffers[name[OptimizerPrefix.Length..]] = tensor.ToArray();
            else throw Invalid(path, $"unexpected tensor '{name}' in a checkpoint");
        }

        int epoch;
        long step;
        OptimizerStateDict optimizerState;
        ScheduleState? scheduleState;
        RngState rng;
        try
        {
            var record = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("the record is empty");
            epoch = Required(record, "epoch").GetValue<int>();
            step = Required(record, "step").GetValue<long>();
            var o = Required(record, "optimizer").AsObject();
            var groups = Required(o, "param_groups").AsArray();
            if (groups.Count != optimizer.GroupOptions.Count)
                throw Invalid(path, $"the checkpoint's optimizer has {groups.Count} parameter groups but this one has {optimizer.GroupOptions.Count}");
            var options = groups.Select((g, i) => (OptimizerOptions)(g.Deserialize(optimizer.GroupOptions[i].GetType(), Json) ?? throw new JsonException($"parameter group {i} is empty"))).ToList();
            foreach (var option in options) option.Validate();
            optimizerState = new OptimizerStateDict(Required(o, "name").GetValue<string>(), Required(o, "step").GetValue<long>(), options,
                NotNull(Required(o, "group_lengths").Deserialize<int[]>(Json), "group_lengths"), buffers,
                NotNull(Required(o, "scalars").Deserialize<Dictionary<string, double>>(Json), "scalars"));
            scheduleState = record["scheduler"]?.Deserialize<ScheduleState>(Json);
            if (scheduleState is not null) CheckComplete(scheduleState);
            rng = NotNull(Required(record, "rng").Deserialize<RngState>(Json), "rng");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException or ArgumentException)
        {
            throw Invalid(path, $"the checkpoint record is malformed ({e.Message})", e);
        }
        if (scheduler is null != scheduleState is null)
            throw Invalid(path, $"the checkpoint was saved {(scheduleState is null ? "without" : "with")} a learning-rate schedule, but one is {(scheduler is null ? "not " : "")}given");

        // Everything is restored or nothing: on any refusal the previous values go back.
        var modelBefore = model.StateDict();
        var optimizerBefore = optimizer.StateDict();
        var scheduleBefore = scheduler?.StateDict();
        var rngBefore = Rng.GetState();
        try
        {
            model.LoadStateDict(modelState);
            optimizer.LoadStateDict(optimizerState);
            if (scheduler is not null) scheduler.LoadStateDict(scheduleState!);
            Rng.SetState(rng);
        }
        catch (ArgumentException e)
        {
            model.LoadStateDict(modelBefore);
            optimizer.LoadStateDict(optimizerBefore);
            if (scheduler is not null) scheduler.LoadStateDict(scheduleBefore!);
            Rng.SetState(rngBefore);
            throw Invalid(path, $"the checkpoint does not fit: {e.Message}", e);
        }
        return new CheckpointInfo(epoch, step, file.Metadata.Where(p => p.Key != MetadataKey).ToDictionary(StringComparer.Ordinal));
    }

    private static InvalidDataException Invalid(string path, string problem, Exception? inner = null) => new(Printable.Escape($"{path}: {problem}"), inner);

    private static JsonNode Required(JsonObject o, string key) => o[key] ?? throw new JsonException($"'{key}' is missing");

    private static T NotNull<T>(T? value, string key) where T : class => value ?? throw new JsonException($"'{key}' is null");

    /// <summary>A schedule state read from JSON has every part, in its children too (JSON null leaves a record's list null).</summary>
    private static void CheckComplete(ScheduleState state)
    {
        if (state.Scheduler is null || state.BaseLrs is null || state.LastLrs is null || state.Fields is null || state.Children is null)
            throw new JsonException("the schedule's state is incomplete");
        foreach (var child in state.Children) CheckComplete(NotNull(child, "scheduler.children"));
    }
}
