using System.Globalization;
using Descent.Optim.Schedules;

namespace Descent.Training;

/// <summary>
/// Saves a <see cref="Checkpoint"/> every <c>every</c> epochs and at the end of training, like Keras's
/// <c>ModelCheckpoint</c> or Lightning's <c>ModelCheckpoint(every_n_epochs=…, save_top_k=…)</c> keeping the newest.
/// Each checkpoint records the <see cref="TrainingPosition"/> to resume from (<see cref="PositionOf"/>), so
/// <c>Checkpoint.Load</c> + <c>Fit(…, resumeFrom: …)</c> continues the run bit for bit.
/// </summary>
/// <param name="directory">Where the checkpoints go (created at the first save).</param>
/// <param name="every">Save after every this many epochs (at least 1).</param>
/// <param name="keep">How many checkpoints to keep, newest first; null keeps all.</param>
/// <param name="scheduler">The learning-rate schedule whose state is saved too, or null.</param>
/// <param name="metadata">Entries of the caller's to store in every checkpoint (e.g. the run's options).</param>
public sealed class CheckpointCallback(string directory, int every = 1, int? keep = null, LRScheduler? scheduler = null,
    IReadOnlyDictionary<string, string>? metadata = null) : ITrainerCallback
{
    /// <summary>The metadata key of the position to resume from.</summary>
    public const string PositionKey = "descent.position";

    private readonly int _every = every >= 1 ? every : throw new ArgumentOutOfRangeException(nameof(every), $"checkpoint interval must be a positive number of epochs, got {every}");
    private Trainer? _trainer;
    private int _epochs;

    /// <summary>The last checkpoint written, or null.</summary>
    public string? LastSaved { get; private set; }

    /// <inheritdoc />
    public void OnTrainBegin(Trainer trainer, int epochs, int batchesPerEpoch) => (_trainer, _epochs) = (trainer, epochs);

    /// <inheritdoc />
    public void OnEpochEnd(EpochResult result)
    {
        if (result.Epoch % _every == 0 || result.Epoch == _epochs) Save(new TrainingPosition(result.Epoch + 1));
    }

    /// <summary>
    /// Saves the trainer's state now at <paramref name="position"/> (e.g. after an interrupted <see cref="Trainer.Fit"/>,
    /// with <see cref="Trainer.Position"/>); returns the file written.
    /// </summary>
    public string Save(TrainingPosition position)
    {
        ArgumentNullException.ThrowIfNull(position);
        var trainer = _trainer ?? throw new InvalidOperationException("the callback has not seen a trainer yet (add it to Trainer.Callbacks before Fit)");
        var entries = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [PositionKey] = string.Join(",", position.Epoch.ToString(CultureInfo.InvariantCulture), position.BatchesDone.ToString(CultureInfo.InvariantCulture),
                position.LossSum.ToString("R", CultureInfo.InvariantCulture), position.Correct.ToString(CultureInfo.InvariantCulture), position.Seen.ToString(CultureInfo.InvariantCulture)),
        };
        LastSaved = Checkpoint.Save(directory, trainer.Model, trainer.Optimizer, scheduler, position.Epoch - 1, trainer.GlobalStep, keep, entries);
        return LastSaved;
    }

    /// <summary>The position a checkpoint written by this callback resumes from.</summary>
    /// <exception cref="InvalidDataException">The checkpoint records no position.</exception>
    public static TrainingPosition PositionOf(CheckpointInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var parts = info.Metadata.TryGetValue(PositionKey, out var text) ? text.Split(',') : [];
        if (parts.Length != 5
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) || epoch < 1
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int batches)
            || !double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double lossSum)
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out long correct)
            || !long.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out long seen))
            throw new InvalidDataException($"the checkpoint records no training position ('{PositionKey}')");
        return new TrainingPosition(epoch, batches, lossSum, correct, seen);
    }
}
