using Descent.TensorBoard;
using Descent.Nn;
using Descent.Optim;

namespace Descent.Cli;

/// <summary>The <c>--logdir</c>, <c>--log-every</c> and <c>--flush-secs</c> options of the training commands.</summary>
internal sealed record LoggingSettings(string? LogDir, int? LogEvery, double? FlushSecs)
{
    /// <summary>
    /// A TensorBoard logger writing one run under <see cref="LogDir"/>, or null without <c>--logdir</c>: into
    /// <paramref name="run"/> when given, else into a new <c>&lt;Mon&gt;&lt;DD&gt;_&lt;HH&gt;-&lt;MM&gt;-&lt;SS&gt;_&lt;host&gt;</c>
    /// directory of its own (<see cref="SummaryWriter.CreateRunDirectory"/>).
    /// </summary>
    public TensorBoardLogger? Create(Module model, Optimizer optimizer, IReadOnlyDictionary<string, object?> hparams, string? run = null, MisclassifiedImages? misclassified = null)
    {
        Check();
        if (LogDir is null) return null;
        var dir = run is null ? SummaryWriter.CreateRunDirectory(LogDir) : Path.Combine(LogDir, run);
        return new TensorBoardLogger(dir, model, optimizer, LogEvery, FlushSecs ?? 5, hparams) { Misclassified = misclassified };
    }

    /// <summary>Refuses bad or inapplicable logging options; call it before any data loads or output is printed.</summary>
    public void Check()
    {
        if (LogDir is null)
        {
            if (LogEvery is not null) throw new UsageException("--log-every applies only with --logdir");
            if (FlushSecs is not null) throw new UsageException("--flush-secs applies only with --logdir");
        }
        if (LogEvery is < 1) throw new UsageException($"--log-every must be a positive integer, got {LogEvery}");
        if (FlushSecs is { } secs && !(secs > 0)) throw new UsageException($"--flush-secs must be positive, got {secs}");
    }
}
