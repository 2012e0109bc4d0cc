using System.Diagnostics;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// A one-line progress bar on stderr with rate (samples/s) and ETA, redrawn in place and erased at the end of
/// each epoch, so the epoch's table row, printed after it, starts a clean line. It exists only when stderr is a
/// terminal, so logs and pipes stay clean.
/// </summary>
/// <remarks>Add it to the trainer's callbacks before the <see cref="EpochTable"/>, so the bar is gone before the row is printed.</remarks>
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

    /// <summary>A bar on the console's stderr, or null when stderr is not a terminal.</summary>
    public static ProgressBar? ForConsole(int samplesPerEpoch, string label = "") =>
        ProgressLine.OnTerminal ? new ProgressBar(Console.Error, samplesPerEpoch, label) : null;

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
        _err.Write(ProgressLine.Draw($"{_label}epoch {_epoch}/{_epochs}", done,
            FormattableString.Invariant($"{batch + 1}/{_batches}  loss {loss:F4}  {rate:N0} samples/s  ETA {TimeSpan.FromSeconds(eta):mm\\:ss}")));
    }

    public void OnEpochEnd(EpochResult result) => _err.Write(ProgressLine.Erase);

    public void Dispose() => _err.Flush();
}

/// <summary>
/// What the progress lines share: whether there is a terminal to draw on, redraws throttled to ~15 a second, and
/// a line that fits the terminal's width. A line wider than the terminal would wrap, and a carriage return only
/// goes back to the start of its last row, so every redraw would leave a row behind.
/// </summary>
internal static class ProgressLine
{
    /// <summary>Back to the start of the line and erase it (ANSI "erase in line", whole line).</summary>
    public const string Erase = "\r\e[2K";

    /// <summary>Erase from the cursor to the end of the line, what a shorter redraw leaves of the longer one before it.</summary>
    private const string EraseToEnd = "\e[K";

    /// <summary>Whether stderr, where progress goes, is a terminal.</summary>
    public static bool OnTerminal => !Console.IsErrorRedirected;

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

    /// <summary>
    /// The redraw of "<paramref name="before"/> [bar] <paramref name="after"/>" over the current line, the bar
    /// filled to <paramref name="fraction"/>: it narrows (30 characters at most, 10 at least) and then the text is
    /// cut so the line stays one character short of the terminal's width.
    /// </summary>
    public static string Draw(string before, double fraction, string after)
    {
        const int widest = 30, narrowest = 10;
        int room = Columns() - 1;
        int bar = Math.Clamp(room - before.Length - after.Length - 4, narrowest, widest);
        int filled = (int)(bar * Math.Clamp(fraction, 0, 1));
        string line = $"{before} [{new string('#', filled)}{new string('.', bar - filled)}] {after}";
        return "\r" + (line.Length > room ? line[..room] : line) + EraseToEnd;
    }

    /// <summary>The terminal's width; 80 when it does not say (a pseudo-terminal nobody sized reports 0).</summary>
    private static int Columns()
    {
        try
        {
            int width = Console.WindowWidth;
            return width >= 20 ? width : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }
}
