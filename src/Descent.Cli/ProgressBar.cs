using System.Diagnostics;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// A one-line progress bar on stderr with rate (samples/s) and ETA, redrawn in place. It exists only when
/// stderr is a terminal, so logs and pipes stay clean.
/// </summary>
internal sealed class ProgressBar : ITrainerCallback, IDisposable
{
    private readonly TextWriter _err;
    private readonly int _samplesPerEpoch;
    private readonly Stopwatch _clock = new();
    private int _epochs, _batches, _epoch;
    private long _lastDrawTicks;

    private readonly string _label;

    private ProgressBar(TextWriter err, int samplesPerEpoch, string label)
    {
        _err = err;
        _samplesPerEpoch = samplesPerEpoch;
        _label = label.Length > 0 ? label + " " : "";
    }

    /// <summary>A bar on the console's stderr, or null when stderr is redirected.</summary>
    public static ProgressBar? ForConsole(int samplesPerEpoch, string label = "") =>
        Console.IsErrorRedirected ? null : new ProgressBar(Console.Error, samplesPerEpoch, label);

    public void OnTrainBegin(Trainer trainer, int epochs, int batchesPerEpoch)
    {
        _epochs = epochs;
        _batches = batchesPerEpoch;
    }

    public void OnEpochBegin(int epoch)
    {
        _epoch = epoch;
        _clock.Restart();
        _lastDrawTicks = 0;
    }

    public void OnBatchEnd(int epoch, int batch, long globalStep, float loss, float accuracy)
    {
        if (!ProgressLine.Due(ref _lastDrawTicks, _clock.ElapsedTicks, final: batch + 1 == _batches)) return;
        double done = (batch + 1.0) / _batches;
        double secs = _clock.Elapsed.TotalSeconds;
        double rate = secs > 0 ? done * _samplesPerEpoch / secs : 0;
        double eta = done > 0 ? secs * (1 - done) / done + secs / done * (_epochs - _epoch) : 0;
        _err.Write(FormattableString.Invariant(
            $"\r{_label}epoch {_epoch}/{_epochs} {ProgressLine.Bar(done)} {batch + 1}/{_batches}  loss {loss:F4}  {rate:N0} samples/s  ETA {TimeSpan.FromSeconds(eta):mm\\:ss}  "));
    }

    public void OnEpochEnd(EpochResult result) => _err.Write("\r" + new string(' ', 110) + "\r");

    public void Dispose() => _err.Flush();
}

/// <summary>What the progress lines share: redraws throttled to ~15 a second and the bar itself.</summary>
internal static class ProgressLine
{
    /// <summary>
    /// True when a redraw is due (always for the <paramref name="final"/> one), recording it in
    /// <paramref name="lastDrawTicks"/>: the terminal, not the work, would otherwise set the pace.
    /// </summary>
    public static bool Due(ref long lastDrawTicks, long nowTicks, bool final)
    {
        if (!final && nowTicks - lastDrawTicks < Stopwatch.Frequency / 15) return false;
        lastDrawTicks = nowTicks;
        return true;
    }

    /// <summary>A 30-character bar filled to <paramref name="fraction"/>, in brackets.</summary>
    public static string Bar(double fraction)
    {
        const int width = 30;
        int filled = (int)(width * Math.Clamp(fraction, 0, 1));
        return $"[{new string('#', filled)}{new string('.', width - filled)}]";
    }
}
