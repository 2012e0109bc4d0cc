using System.Runtime.InteropServices;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM during training: the first finishes the optimizer step in progress and lets the command
/// flush its logs, save a checkpoint and exit with <see cref="ExitCode"/>; a second one ends the process at once.
/// </summary>
internal static class Interruption
{
    /// <summary>The exit code of an interrupted run, the shell's 128 + SIGINT.</summary>
    public const int ExitCode = 130;

    /// <summary>Routes the signals to <paramref name="trainer"/> until disposed.</summary>
    public static IDisposable OnCtrlC(Trainer trainer)
    {
        int signals = 0;
        void Handle(PosixSignalContext context)
        {
            // The second signal keeps its default action: the process ends now.
            if (Interlocked.Increment(ref signals) > 1) return;
            context.Cancel = true;
            trainer.RequestInterrupt();
        }
        var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
        return new Registrations(interrupt, terminate);
    }

    private sealed class Registrations(params IDisposable[] registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in registrations) r.Dispose();
        }
    }
}
