using Descent.TensorBoard.Proto;

namespace Descent.TensorBoard;

/// <summary>What a series holds, as TensorBoard's dashboards tell them apart.</summary>
public enum TagKind
{
    /// <summary>Scalars (<c>add_scalar</c>): <c>simple_value</c> or a rank-0 tensor of the scalars plugin.</summary>
    Scalar,
    /// <summary>Histograms (<c>add_histogram</c>), legacy <c>HistogramProto</c> or the histograms plugin's k×3 tensor.</summary>
    Histogram,
    /// <summary>Images (<c>add_image</c>, <c>add_figure</c>): encoded PNG/JPEG/GIF.</summary>
    Image,
    /// <summary>Text (<c>add_text</c>): string tensors of the text plugin.</summary>
    Text,
    /// <summary>Records of the hparams plugin (<c>add_hparams</c>).</summary>
    HParams,
    /// <summary>Anything else (audio, graphs' run metadata, other plugins): counted, not decoded.</summary>
    Other,
}

/// <summary>One scalar point, like TensorBoard's <c>ScalarEvent(wall_time, step, value)</c>.</summary>
public readonly record struct ScalarEvent(double WallTime, long Step, double Value);

/// <summary>
/// One histogram: <see cref="BucketLimits"/> are right edges (bucket i counts values in
/// [limit[i-1], limit[i])), one per entry of <see cref="BucketCounts"/>. For the tensor form of the
/// histograms plugin, <see cref="Sum"/> and <see cref="SumSquares"/> are NaN (it does not store them).
/// </summary>
public sealed record HistogramEvent(double WallTime, long Step, double Min, double Max, double Count, double Sum, double SumSquares,
    IReadOnlyList<double> BucketLimits, IReadOnlyList<double> BucketCounts);

/// <summary>One encoded image (PNG, JPEG or GIF bytes) with the size and colorspace its record declares.</summary>
public sealed record ImageEvent(double WallTime, long Step, int Width, int Height, int Colorspace, byte[] Encoded);

/// <summary>One text record: the strings of its tensor (PyTorch's <c>add_text</c> writes one).</summary>
public sealed record TextEvent(double WallTime, long Step, IReadOnlyList<string> Strings)
{
    /// <summary>The strings joined by newlines.</summary>
    public string Text => string.Join("\n", Strings);
}

/// <summary>
/// What the hparams plugin's records of a run say: the experiment (declared hparams and metrics), the
/// session's hyperparameter values and its end status. Values are <see cref="double"/>,
/// <see cref="string"/> or <see cref="bool"/>.
/// </summary>
public sealed record HParamsRecord(Experiment? Experiment, IReadOnlyDictionary<string, object> HParams, SessionStartInfo? SessionStart, SessionEndInfo? SessionEnd);

/// <summary>One series of a run: its tag, kind, how many records it has and where it ended.</summary>
public sealed record TagSummary(string Tag, TagKind Kind, string? PluginName, int Count, long LastStep, double LastWallTime);

/// <summary>
/// One event file as read: every record, its events with their byte offsets, and how many bytes at the
/// end form an incomplete record (a file still being written, or cut off by a crash).
/// </summary>
public sealed record EventFileContents(string Path, long Length, IReadOnlyList<(long Offset, Event Event)> Events, long PartialTailBytes);

/// <summary>
/// One run — a directory holding event files, all read in file-name order as one stream — decoded by
/// tag the way TensorBoard's loaders do.
/// </summary>
public sealed class EventRun
{
    internal EventRun(string name, string directory, IReadOnlyList<EventFileContents> files)
    {
        Name = name;
        Directory = directory;
        Files = files;
    }

    /// <summary>The run's name: its directory relative to the log directory, <c>.</c> for the log directory itself.</summary>
    public string Name { get; }

    /// <summary>The run's directory.</summary>
    public string Directory { get; }

    /// <summary>The event files, in the order they were read.</summary>
    public IReadOnlyList<EventFileContents> Files { get; }

    /// <summary>Records in all files.</summary>
    public int RecordCount => Files.Sum(f => f.Events.Count);

    /// <summary>Every tag in order of first appearance.</summary>
    public IReadOnlyList<TagSummary> Tags { get; internal set; } = [];

    /// <summary>Scalar series by tag.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ScalarEvent>> Scalars { get; internal set; } = new Dictionary<string, IReadOnlyList<ScalarEvent>>();

    /// <summary>Histogram series by tag.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<HistogramEvent>> Histograms { get; internal set; } = new Dictionary<string, IReadOnlyList<HistogramEvent>>();

    /// <summary>Image series by tag.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ImageEvent>> Images { get; internal set; } = new Dictionary<string, IReadOnlyList<ImageEvent>>();

    /// <summary>Text series by tag (PyTorch's tags end in <c>/text_summary</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TextEvent>> Texts { get; internal set; } = new Dictionary<string, IReadOnlyList<TextEvent>>();

    /// <summary>The hparams plugin's records, or null when the run has none.</summary>
    public HParamsRecord? HParams { get; internal set; }
}
