using Descent.TensorBoard;
using Descent.Lab;
using Descent.Nn;
using Descent.Optim;
using Descent.Training;

namespace Descent.Cli;

/// <summary>The <c>--logdir</c>, <c>--log-every</c> and <c>--flush-secs</c> options of the training commands.</summary>
internal sealed record LoggingSettings(string? LogDir, int LogEvery, double FlushSecs)
{
    /// <summary>A TensorBoard logger writing one run under <see cref="LogDir"/>, or null without <c>--logdir</c>.</summary>
    public TensorBoardLogger? Create(Module model, Optimizer optimizer, IReadOnlyDictionary<string, object?> hparams, string? run = null, MisclassifiedImages? misclassified = null)
    {
        if (LogDir is null) return null;
        if (LogEvery < 1) throw new UsageException($"--log-every must be a positive integer, got {LogEvery}");
        if (!(FlushSecs > 0)) throw new UsageException($"--flush-secs must be positive, got {FlushSecs}");
        var dir = run is null ? Path.Combine(LogDir, DateTime.Now.ToString("MMMdd_HH-mm-ss", System.Globalization.CultureInfo.InvariantCulture) + "_" + Environment.MachineName) : Path.Combine(LogDir, run);
        return new TensorBoardLogger(dir, model, optimizer, LogEvery, FlushSecs, hparams) { Misclassified = misclassified };
    }
}
