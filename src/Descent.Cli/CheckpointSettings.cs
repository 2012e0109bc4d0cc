using System.CommandLine;
using System.Globalization;
using System.CommandLine.Parsing;
using Descent.Nn;
using Descent.Optim;
using Descent.Optim.Schedules;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// <c>--checkpoint-dir</c>, <c>--checkpoint-every</c>, <c>--keep</c> and <c>--resume</c>: where checkpoints go, and the
/// run to continue. A checkpoint records the run's options; <c>--resume</c> refuses to continue with other ones
/// (other than <c>--epochs</c>, and the options that only say where output goes).
/// </summary>
internal sealed record CheckpointSettings(string Directory, int Every, int? Keep, bool Resuming, IReadOnlyDictionary<string, string> Metadata)
{
    private const string OptionsKey = "descent.options";
    private const string GlobalBatchKey = "descent.global_batch";

    // Options that change where output goes or how long the run lasts, or only watch it, not what it computes.
    private static readonly HashSet<string> Free =
        ["--epochs", "--watch", "--detect-anomaly", "--checkpoint-dir", "--checkpoint-every", "--keep", "--resume", "--logdir", "--log-every", "--flush-secs", "--json", "--save", "--predict", "--out",
         .. DistributedOptionSet.LaunchOptions, "--batch-size"];

    /// <summary>
    /// The checkpoint options given, or null without any. The global batch (--batch-size × ranks) is recorded
    /// instead of --batch-size, so that a run resumes with any number of processes at the same global batch.
    /// </summary>
    public static CheckpointSettings? From(ParseResult p, Option<string?> dir, Option<int?> every, Option<int?> keep, Option<string?> resume, int globalBatch)
    {
        string? directory = p.GetValue(dir), resumeDir = p.GetValue(resume);
        if (directory is null && resumeDir is null)
        {
            if (p.Given(every)) throw new UsageException("--checkpoint-every applies only with --checkpoint-dir");
            if (p.Given(keep)) throw new UsageException("--keep applies only with --checkpoint-dir");
            return null;
        }
        if (directory is not null && resumeDir is not null && Path.GetFullPath(directory) != Path.GetFullPath(resumeDir))
            throw new UsageException("--resume DIR keeps checkpointing into DIR; --checkpoint-dir must be that folder or left out");
        if (p.GetValue(every) is < 1 and var n) throw new UsageException($"--checkpoint-every must be a positive number of epochs, got {n}");
        if (p.GetValue(keep) is < 1 and var k) throw new UsageException($"--keep must be at least 1, got {k}");
        if (resumeDir is not null && Checkpoint.Latest(resumeDir) is null) throw new UsageException($"--resume {resumeDir}: no checkpoint in this folder");
        if (directory is not null && File.Exists(directory)) throw new UsageException($"--checkpoint-dir {directory} is a file; name a folder");
        var options = string.Join(" ", p.CommandResult.Children.OfType<OptionResult>()
            .Where(o => !o.Implicit && !Free.Contains(o.Option.Name))
            .Select(o => o.Option.Name + (o.Tokens.Count > 0 ? "=" + string.Join(",", o.Tokens.Select(t => t.Value)) : ""))
            .Order(StringComparer.Ordinal));
        if (resumeDir is not null)
        {
            var metadata = Safetensors.Read(Checkpoint.Latest(resumeDir)!).Metadata;
            var recorded = metadata.GetValueOrDefault(OptionsKey);
            if (recorded != options)
                throw new UsageException($"--resume {resumeDir}: the checkpoint was written by a run with other options ({Describe(recorded)}); resume with the same ones (only --epochs and output options may change)");
            if (metadata.GetValueOrDefault(GlobalBatchKey) is { } batch && batch != globalBatch.ToString(CultureInfo.InvariantCulture))
                throw new UsageException($"--resume {resumeDir}: the checkpoint was written with a global batch of {batch} (--batch-size × ranks), this run has {globalBatch}; keep the global batch");
        }
        return new CheckpointSettings(resumeDir ?? directory!, p.GetValue(every) ?? 1, p.GetValue(keep), resumeDir is not null,
            new Dictionary<string, string> { [OptionsKey] = options, [GlobalBatchKey] = globalBatch.ToString(CultureInfo.InvariantCulture) });
    }

    /// <summary>
    /// When resuming: loads the newest checkpoint into the freshly built model, optimizer and schedule, sets the
    /// trainer's step, prints where it continues, and returns the position; null for a new run.
    /// </summary>
    public TrainingPosition? Resume(Module model, Optimizer optimizer, LRScheduler? scheduler, Trainer trainer, TextWriter stdout)
    {
        if (!Resuming) return null;
        string latest = Checkpoint.Latest(Directory)!;
        var info = Checkpoint.Load(latest, model, optimizer, scheduler);
        trainer.GlobalStep = info.Step;
        var position = CheckpointCallback.PositionOf(info);
        stdout.WriteLine($"Resuming from {latest}: epoch {position.Epoch}" + (position.BatchesDone > 0 ? $" after batch {position.BatchesDone}" : "") + $", step {info.Step}");
        return position;
    }

    private static string Describe(string? options) => string.IsNullOrEmpty(options) ? "the defaults" : options;
}
