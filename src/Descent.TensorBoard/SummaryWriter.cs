using System.Globalization;
using System.Text;
using Descent.TensorBoard.Proto;
using Google.Protobuf;
using WellKnown = Google.Protobuf.WellKnownTypes;

namespace Descent.TensorBoard;

/// <summary>
/// Writes TensorBoard event files, like <c>torch.utils.tensorboard.SummaryWriter</c>: the same method names
/// in .NET casing and the same records on disk, so stock TensorBoard (<c>tensorboard --logdir runs</c>)
/// shows Descent's runs next to PyTorch's.
/// </summary>
/// <remarks>
/// <para>Each <c>Add*</c> method builds its event (bucketing a histogram, encoding an image as PNG) and
/// queues it; one background thread serializes the queued events and appends them to the event file, which
/// it flushes every <see cref="FlushSecs"/> seconds. <see cref="Flush"/> returns once everything added
/// before it is in the file; <see cref="Dispose"/> writes what is queued and closes the file. The queue is
/// bounded (<c>maxQueue</c>): a caller that finds it full waits. PyTorch's <c>flush_secs</c> defaults to
/// 120 s; Descent's to 5 s so that a running TensorBoard shows progress. A crash leaves every record the
/// file holds readable but the last, which may be cut off; readers skip such a tail.</para>
/// <para>One writer per run directory: TensorBoard follows one event file per run, so a second writer for
/// a directory this process is still writing to is refused.</para>
/// <para>Cost on disk: a scalar is about 30 bytes, a histogram of the default buckets a few kilobytes,
/// an image its PNG size. TensorBoard keeps only a sample of each series (1000 scalars, 500 histograms,
/// 10 images) unless started with <c>--samples_per_plugin</c>; the files hold everything.</para>
/// </remarks>
public sealed class SummaryWriter : IDisposable
{
    /// <summary>
    /// The largest event accepted, in bytes. Protobuf readers in TensorBoard fail on messages over 64 MB;
    /// a larger image or text is refused with a message instead of an unreadable file.
    /// </summary>
    public const int MaxEventBytes = 32 << 20;

    /// <summary>The <c>runName</c> of <see cref="AddHParams"/> that means this writer's own run (TensorBoard names the logdir's root run ".").</summary>
    public const string SameRun = ".";

    private static readonly HashSet<string> DirectoriesInUse = new(StringComparer.Ordinal);

    /// <summary>The file that <see cref="CreateRunDirectory"/> creates exclusively in each new run directory.</summary>
    internal const string RunMarker = ".descent-run";

    private readonly EventFileWriter _writer;
    private readonly EventFile _file;
    private readonly Dictionary<string, EventFile> _scalarsFiles = new(StringComparer.Ordinal);
    private readonly List<string> _claimedDirectories = [];
    private readonly string _filenameSuffix;
    private readonly bool _normalizeTags;
    private readonly object _filesGate = new();
    private bool _disposed;

    /// <summary>
    /// Opens a new event file in <paramref name="logDir"/> (created as needed).
    /// </summary>
    /// <param name="logDir">The run directory; null creates a new one, <c>runs/&lt;Mon&gt;&lt;DD&gt;_&lt;HH&gt;-&lt;MM&gt;-&lt;SS&gt;_&lt;host&gt;&lt;comment&gt;</c> as in PyTorch (see <see cref="CreateRunDirectory"/>).</param>
    /// <param name="comment">Appended to the default directory name (ignored when <paramref name="logDir"/> is given), as in PyTorch.</param>
    /// <param name="flushSecs">Seconds between flushes of the event file (PyTorch: <c>flush_secs</c>).</param>
    /// <param name="maxQueue">Events that may wait in the writer's queue before an <c>Add*</c> call blocks (PyTorch: <c>max_queue</c>, 10 there). A queued scalar takes a few hundred bytes.</param>
    /// <param name="filenameSuffix">Appended to the event file's name (PyTorch: <c>filename_suffix</c>).</param>
    /// <param name="normalizeTags">Rewrite tags with TensorFlow's <c>clean_tag</c> rule (<see cref="TensorBoardTags.Normalize"/>) instead of keeping them as given.</param>
    /// <exception cref="ArgumentException">The directory cannot be created or written, or another writer in this process is writing to it.</exception>
    public SummaryWriter(string? logDir = null, string comment = "", double flushSecs = 5, int maxQueue = 10_000, string filenameSuffix = "", bool normalizeTags = false)
    {
        if (!(flushSecs > 0) || double.IsInfinity(flushSecs)) throw new ArgumentOutOfRangeException(nameof(flushSecs), $"flush_secs must be a positive number of seconds, got {flushSecs}");
        if (maxQueue < 1) throw new ArgumentOutOfRangeException(nameof(maxQueue), $"max_queue must be a positive integer, got {maxQueue}");
        ArgumentNullException.ThrowIfNull(comment);
        ArgumentNullException.ThrowIfNull(filenameSuffix);
        if (filenameSuffix.IndexOfAny(['/', '\\', '\0']) >= 0) throw new ArgumentException($"filename_suffix must not contain path separators, got '{filenameSuffix}'", nameof(filenameSuffix));
        if (logDir is not null && string.IsNullOrWhiteSpace(logDir)) throw new ArgumentException("log_dir must not be empty; pass null for a new runs/<date>_<host>", nameof(logDir));
        LogDir = logDir ?? CreateRunDirectory("runs", comment);
        FlushSecs = flushSecs;
        _filenameSuffix = filenameSuffix;
        _normalizeTags = normalizeTags;
        Claim(LogDir);
        try
        {
            _file = EventFile.Create(LogDir, filenameSuffix);
        }
        catch
        {
            ReleaseClaims();
            throw;
        }
        _writer = new EventFileWriter(_file, flushSecs, maxQueue);
        AppDomain.CurrentDomain.ProcessExit += FlushAtExit;
    }

    /// <summary>The run directory this writer writes to.</summary>
    public string LogDir { get; }

    /// <summary>The event file this writer writes to.</summary>
    public string FilePath => _file.FilePath;

    /// <summary>The event file of this writer's own run.</summary>
    internal EventFile MainFile => _file;

    /// <summary>Seconds between timed flushes.</summary>
    public double FlushSecs { get; }

    /// <summary>
    /// Creates a new run directory in <paramref name="parent"/> named as PyTorch names its default one,
    /// <c>&lt;Mon&gt;&lt;DD&gt;_&lt;HH&gt;-&lt;MM&gt;-&lt;SS&gt;_&lt;host&gt;&lt;comment&gt;</c> in local time, with <c>_1</c>,
    /// <c>_2</c>, … appended when that name is taken, and returns its path: runs started in the same second,
    /// in one process or several, get directories of their own.
    /// </summary>
    /// <exception cref="ArgumentException">The directory cannot be created.</exception>
    public static string CreateRunDirectory(string parent = "runs", string comment = "")
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(comment);
        string name = DateTime.Now.ToString("MMMdd_HH-mm-ss", CultureInfo.InvariantCulture) + "_" + EventFile.HostName + comment;
        for (int n = 0; ; n++)
        {
            string directory = Path.Combine(parent, n == 0 ? name : $"{name}_{n}");
            // Directory.CreateDirectory also succeeds when the directory exists, so it cannot tell apart two
            // runs that pick the same name at once. A directory that exists already belongs to an earlier run;
            // of the runs that found it missing and created it together, the one whose FileMode.CreateNew of
            // the marker succeeds (an atomic create-if-absent) owns it, and the others try the next name. The
            // marker stays: a run that found the name free a moment ago may still try it.
            if (Directory.Exists(directory)) continue;
            string marker = Path.Combine(directory, RunMarker);
            try
            {
                Directory.CreateDirectory(directory);
                new FileStream(marker, FileMode.CreateNew, FileAccess.Write).Dispose();
                return directory;
            }
            catch (IOException) when (File.Exists(marker))
            {
                // Another run owns it.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                throw new ArgumentException($"cannot create a run directory in '{parent}': {e.Message}", nameof(parent), e);
            }
        }
    }

    /// <summary>
    /// Adds one point to the scalar series <paramref name="tag"/>, like <c>add_scalar</c>. The value is
    /// stored as a 32-bit float; NaN and ±infinity are written as they are (TensorBoard plots them as gaps
    /// and shows them in tooltips).
    /// </summary>
    /// <param name="tag">Series name; <c>/</c> groups series into sections (<c>loss/train</c>).</param>
    /// <param name="scalarValue">The value.</param>
    /// <param name="step">Global step (the x axis).</param>
    /// <param name="wallTime">Unix seconds; the current time when null.</param>
    /// <param name="newStyle">Write PyTorch's <c>new_style=True</c> form (a rank-0 float tensor with scalars-plugin metadata) instead of <c>simple_value</c>.</param>
    public void AddScalar(string tag, double scalarValue, long step = 0, double? wallTime = null, bool newStyle = false)
    {
        string checkedTag = Tag(tag);
        if (newStyle)
        {
            Enqueue(_file, ScalarValue(checkedTag, scalarValue, newStyle), step, wallTime);
            return;
        }
        ThrowIfDisposed();
        _writer.EnqueueScalar(_file, checkedTag, (float)scalarValue, step, wallTime is { } w ? CheckWallTime(w) : UnixNow());
    }

    /// <summary>
    /// Adds several scalars to one chart, like <c>add_scalars</c>: each key gets its own run directory
    /// <c>&lt;logDir&gt;/&lt;mainTag with / as _&gt;_&lt;key&gt;</c> holding the series <paramref name="mainTag"/>, so
    /// TensorBoard draws one chart with a line per key. Those writers are kept for later calls.
    /// </summary>
    public void AddScalars(string mainTag, IReadOnlyDictionary<string, double> tagScalarDict, long step = 0, double? wallTime = null)
    {
        string checkedTag = Tag(mainTag, nameof(mainTag));
        ArgumentNullException.ThrowIfNull(tagScalarDict);
        double time = wallTime is { } w ? CheckWallTime(w) : UnixNow();
        // Every key is checked before anything is written, so a bad key leaves no partial point behind.
        foreach (var key in tagScalarDict.Keys)
            if (string.IsNullOrWhiteSpace(key) || key is "." or ".." || key.IndexOfAny(['/', '\\', '\0']) >= 0)
                throw new ArgumentException($"add_scalars key '{key}' names a run directory ('{mainTag.Replace('/', '_')}_{key}'), so it must be non-empty and hold no path separators", nameof(tagScalarDict));
        foreach (var (key, value) in tagScalarDict)
            _writer.EnqueueScalar(ScalarsFile(mainTag.Replace('/', '_') + "_" + key), checkedTag, (float)value, step, time);
    }

    /// <summary>
    /// Adds a histogram of <paramref name="values"/>, like <c>add_histogram</c> with PyTorch's default
    /// ("tensorflow") buckets: min, max, count, sum and sum of squares over all values, empty buckets at
    /// both ends trimmed (<see cref="HistogramBuckets"/>), counted before the call returns.
    /// </summary>
    /// <param name="tag">Series name.</param>
    /// <param name="values">The values, e.g. a weight tensor's <c>Data</c>.</param>
    /// <param name="step">Global step.</param>
    /// <param name="wallTime">Unix seconds; now when null.</param>
    /// <param name="maxBins">Merge neighbouring buckets down to at most this many (PyTorch: <c>max_bins</c>).</param>
    /// <exception cref="ArgumentException">No values: a histogram of an empty tensor.</exception>
    public void AddHistogram(string tag, ReadOnlySpan<float> values, long step = 0, double? wallTime = null, int? maxBins = null)
    {
        string checkedTag = Tag(tag);
        if (values.IsEmpty) throw new ArgumentException($"histogram '{checkedTag}' has no values: a histogram of an empty tensor cannot be drawn", nameof(values));
        if (maxBins is < 1) throw new ArgumentOutOfRangeException(nameof(maxBins), $"max_bins must be a positive integer, got {maxBins}");
        Enqueue(_file, new Summary.Types.Value { Tag = checkedTag, Histo = HistogramBuckets.Build(values, maxBins) }, step, wallTime);
    }

    /// <summary>Adds a histogram of a tensor's values (see <see cref="AddHistogram(string, ReadOnlySpan{float}, long, double?, int?)"/>).</summary>
    public void AddHistogram(string tag, Tensor values, long step = 0, double? wallTime = null, int? maxBins = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        AddHistogram(tag, (ReadOnlySpan<float>)values.Data, step, wallTime, maxBins);
    }

    /// <summary>
    /// Adds a histogram from precomputed buckets, like <c>add_histogram_raw</c>: <paramref name="bucketLimits"/>
    /// are right edges (bucket i counts values in [limit[i-1], limit[i])), one per count.
    /// </summary>
    public void AddHistogramRaw(string tag, double min, double max, double num, double sum, double sumSquares,
        ReadOnlySpan<double> bucketLimits, ReadOnlySpan<double> bucketCounts, long step = 0, double? wallTime = null)
    {
        string checkedTag = Tag(tag);
        if (bucketLimits.Length != bucketCounts.Length)
            throw new ArgumentException($"histogram '{checkedTag}' has {bucketLimits.Length} bucket limits but {bucketCounts.Length} bucket counts; they must pair up", nameof(bucketCounts));
        if (bucketLimits.IsEmpty) throw new ArgumentException($"histogram '{checkedTag}' has no buckets", nameof(bucketLimits));
        var histogram = new HistogramProto { Min = min, Max = max, Num = num, Sum = sum, SumSquares = sumSquares };
        histogram.BucketLimit.AddRange(bucketLimits.ToArray());
        histogram.Bucket.AddRange(bucketCounts.ToArray());
        Enqueue(_file, new Summary.Types.Value { Tag = checkedTag, Histo = histogram }, step, wallTime);
    }

    /// <summary>
    /// Adds an image, like <c>add_image</c>. Values are expected in [0, 1]: as in PyTorch they are multiplied
    /// by 255, clipped and truncated to bytes (standardized data needs rescaling first). Grey images are
    /// stored as RGB, as PyTorch does.
    /// </summary>
    /// <param name="tag">Series name.</param>
    /// <param name="image">Shape [C, H, W] by default; C is 1 (grey), 3 (RGB) or 4 (RGBA).</param>
    /// <param name="step">Global step.</param>
    /// <param name="dataFormats">The order of the axes: <c>"CHW"</c>, <c>"HWC"</c>, <c>"HW"</c> or any other order of those letters.</param>
    /// <param name="wallTime">Unix seconds; now when null.</param>
    /// <exception cref="ArgumentException">A shape that does not match <paramref name="dataFormats"/>, or a channel count other than 1, 3 or 4.</exception>
    public void AddImage(string tag, Tensor image, long step = 0, string dataFormats = "CHW", double? wallTime = null)
    {
        string checkedTag = Tag(tag);
        WriteImage(checkedTag, ImageLayout.FromTensor(checkedTag, image, dataFormats), step, wallTime);
    }

    /// <summary>Adds an 8-bit image (a numpy <c>uint8</c> HWC array in PyTorch), used as it is.</summary>
    public void AddImage(string tag, RasterImage image, long step = 0, double? wallTime = null)
    {
        string checkedTag = Tag(tag);
        ArgumentNullException.ThrowIfNull(image);
        WriteImage(checkedTag, image, step, wallTime);
    }

    /// <summary>
    /// Adds a batch of images as one grid, like <c>add_images</c>: at most 8 per row, no padding, values in
    /// [0, 1] as for <see cref="AddImage(string, Tensor, long, string, double?)"/>.
    /// </summary>
    /// <param name="tag">Series name.</param>
    /// <param name="images">Shape [N, C, H, W] by default.</param>
    /// <param name="step">Global step.</param>
    /// <param name="dataFormats">The order of the axes: <c>"NCHW"</c>, <c>"NHWC"</c>, <c>"NHW"</c> or another order of those letters.</param>
    /// <param name="wallTime">Unix seconds; now when null.</param>
    public void AddImages(string tag, Tensor images, long step = 0, string dataFormats = "NCHW", double? wallTime = null)
    {
        string checkedTag = Tag(tag);
        WriteImage(checkedTag, ImageLayout.GridFromTensor(checkedTag, images, dataFormats), step, wallTime);
    }

    /// <summary>Adds a figure drawn as pixels, like <c>add_figure</c> (stored as an RGB(A) PNG image).</summary>
    public void AddFigure(string tag, IRasterFigure figure, long step = 0, double? wallTime = null)
    {
        string checkedTag = Tag(tag);
        ArgumentNullException.ThrowIfNull(figure);
        WriteImage(checkedTag, figure.Render(), step, wallTime);
    }

    /// <summary>Adds several figures of one size as a grid, like <c>add_figure</c> with a list.</summary>
    public void AddFigure(string tag, IReadOnlyList<IRasterFigure> figures, long step = 0, double? wallTime = null)
    {
        string checkedTag = Tag(tag);
        ArgumentNullException.ThrowIfNull(figures);
        WriteImage(checkedTag, ImageLayout.Grid(figures.Select(f => f.Render()).ToList()), step, wallTime);
    }

    /// <summary>
    /// Adds Markdown text, like <c>add_text</c>: stored under <c>&lt;tag&gt;/text_summary</c> as a one-element
    /// string tensor for the text plugin, exactly as PyTorch does.
    /// </summary>
    public void AddText(string tag, string text, long step = 0, double? wallTime = null)
    {
        string checkedTag = Tag(tag);
        ArgumentNullException.ThrowIfNull(text);
        // Checked before the text is copied into a message: tag, metadata and framing add well under a kilobyte.
        long size = Encoding.UTF8.GetByteCount(text) + 1024L + Encoding.UTF8.GetByteCount(checkedTag);
        if (size > MaxEventBytes) throw TooLarge(checkedTag, size);
        Enqueue(_file, TextValue(checkedTag, text), step, wallTime);
    }

    private static Summary.Types.Value TextValue(string tag, string text)
    {
        var tensor = new TensorProto { Dtype = DataType.DtString, TensorShape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dim { Size = 1 } } } };
        tensor.StringVal.Add(ByteString.CopyFromUtf8(text));
        return new Summary.Types.Value
        {
            Tag = tag + "/text_summary",
            Metadata = PluginMetadata("text", ByteString.Empty),
            Tensor = tensor,
        };
    }

    /// <summary>
    /// Records one training session's hyperparameters and final metrics for TensorBoard's HParams tab, like
    /// <c>add_hparams</c>: the hparams plugin's experiment, session-start and session-end records, then each
    /// metric as a scalar in the same run.
    /// </summary>
    /// <param name="hparams">Name → value: a number, a bool or a string (other types are refused; null values are skipped, as in PyTorch).</param>
    /// <param name="metrics">Metric tag → final value. Give metrics their own prefix (<c>hparam/accuracy</c>): a tag also logged with <see cref="AddScalar"/> in the same run mixes the two series.</param>
    /// <param name="hparamDomainDiscrete">Optional: for an hparam, every value it can take (PyTorch: <c>hparam_domain_discrete</c>).</param>
    /// <param name="runName">
    /// Where the session goes. Null (the default, as PyTorch) makes a new run directory under
    /// <see cref="LogDir"/> named by the current Unix time, so each call is its own session;
    /// <see cref="SameRun"/> (<c>"."</c>) writes into this writer's run, so the session is the run with
    /// all its training curves; any other name is a subdirectory of <see cref="LogDir"/>.
    /// </param>
    /// <param name="step">Step of the records; absent when null.</param>
    /// <param name="status">
    /// The session's end status in the HParams tab; <see cref="SessionStatus.StatusFailure"/> for a run that
    /// diverged or stopped before its end (PyTorch always writes success).
    /// </param>
    public void AddHParams(IReadOnlyDictionary<string, object?> hparams, IReadOnlyDictionary<string, double> metrics,
        IReadOnlyDictionary<string, IReadOnlyList<object>>? hparamDomainDiscrete = null, string? runName = null, long? step = null,
        SessionStatus status = SessionStatus.StatusSuccess) =>
        WriteHParams(hparams, metrics, hparamDomainDiscrete, runName, step, status);

    /// <summary>
    /// <see cref="AddHParams"/> that also declares hparams and metrics this session has no value for
    /// (<paramref name="hparamsWithoutValue"/>, <paramref name="metricsWithoutValue"/>). TensorBoard takes the
    /// names of every column from the first experiment record it finds, so sessions meant to be compared
    /// declare the same names; its table leaves a missing value blank.
    /// </summary>
    internal void WriteHParams(IReadOnlyDictionary<string, object?> hparams, IReadOnlyDictionary<string, double> metrics,
        IReadOnlyDictionary<string, IReadOnlyList<object>>? hparamDomainDiscrete, string? runName, long? step, SessionStatus status,
        IReadOnlyDictionary<string, HParamDataType>? hparamsWithoutValue = null, IEnumerable<string>? metricsWithoutValue = null)
    {
        ArgumentNullException.ThrowIfNull(hparams);
        ArgumentNullException.ThrowIfNull(metrics);
        ThrowIfDisposed();
        var experiment = new Experiment();
        var start = new SessionStartInfo();
        foreach (var (name, value) in hparams)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("hparam names must not be empty", nameof(hparams));
            if (value is null) continue;
            var (plain, type) = HParamValue(name, value);
            var info = new HParamInfo { Name = name, Type = type };
            if (hparamDomainDiscrete is not null && hparamDomainDiscrete.TryGetValue(name, out var options))
            {
                info.DomainDiscrete = new WellKnown.ListValue();
                foreach (var option in options)
                {
                    var (plainOption, optionType) = HParamValue(name, option);
                    if (optionType != type) throw new ArgumentException($"hparam '{name}' is a {Describe(type)} but its domain holds '{option}', a {Describe(optionType)}", nameof(hparamDomainDiscrete));
                    info.DomainDiscrete.Values.Add(ProtoValue(plainOption));
                }
            }
            start.Hparams[name] = ProtoValue(plain);
            experiment.HparamInfos.Add(info);
        }
        foreach (var (name, type) in hparamsWithoutValue ?? new Dictionary<string, HParamDataType>())
            if (!start.Hparams.ContainsKey(name)) experiment.HparamInfos.Add(new HParamInfo { Name = name, Type = type });
        var checkedMetrics = metrics.Select(m => (Tag: Tag(m.Key, nameof(metrics)), m.Value)).ToList();
        foreach (var (tag, _) in checkedMetrics) experiment.MetricInfos.Add(new MetricInfo { Name = new MetricName { Tag = tag } });
        foreach (var name in metricsWithoutValue ?? [])
            if (!metrics.ContainsKey(name)) experiment.MetricInfos.Add(new MetricInfo { Name = new MetricName { Tag = Tag(name, nameof(metricsWithoutValue)) } });

        var file = runName == SameRun ? _file : NewRunFile(runName ?? UnixNow().ToString("R", CultureInfo.InvariantCulture));
        double time = UnixNow();
        long eventStep = step ?? 0;
        Enqueue(file, HParamsValue("_hparams_/experiment", new HParamsPluginData { Experiment = experiment }), eventStep, time);
        Enqueue(file, HParamsValue("_hparams_/session_start_info", new HParamsPluginData { SessionStartInfo = start }), eventStep, time);
        Enqueue(file, HParamsValue("_hparams_/session_end_info", new HParamsPluginData { SessionEndInfo = new SessionEndInfo { Status = status } }), eventStep, time);
        foreach (var (tag, value) in checkedMetrics) _writer.EnqueueScalar(file, tag, (float)value, eventStep, time);
    }

    /// <summary>Writes every event added so far to the files and returns once it is there, like <c>flush()</c>.</summary>
    /// <exception cref="IOException">Writing failed (the disk is full, the directory vanished).</exception>
    public void Flush()
    {
        ThrowIfDisposed();
        _writer.Flush();
    }

    /// <summary>Writes everything pending and closes the files, like <c>close()</c>.</summary>
    /// <exception cref="IOException">The last writes failed.</exception>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        AppDomain.CurrentDomain.ProcessExit -= FlushAtExit;
        try
        {
            _writer.Dispose();
        }
        finally
        {
            ReleaseClaims();
        }
    }

    /// <summary>The tag as it will be written, after the checks and the optional normalization.</summary>
    internal string Tag(string tag, string parameterName = "tag")
    {
        ArgumentNullException.ThrowIfNull(tag, parameterName);
        string result = _normalizeTags ? TensorBoardTags.Normalize(tag) : tag;
        TensorBoardTags.Validate(result, parameterName);
        return result;
    }

    internal static double UnixNow() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

    private void FlushAtExit(object? sender, EventArgs e)
    {
        try
        {
            if (!_disposed) _writer.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Nothing is left to report to at process exit; the records written before stay readable.
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static double CheckWallTime(double wallTime) =>
        double.IsFinite(wallTime) ? wallTime : throw new ArgumentOutOfRangeException(nameof(wallTime), $"walltime must be finite Unix seconds, got {wallTime}");

    private void Enqueue(EventFile file, Summary.Types.Value value, long step, double? wallTime)
    {
        ThrowIfDisposed();
        _writer.Enqueue(file, SummaryEvent(value, step, wallTime is { } w ? CheckWallTime(w) : UnixNow()));
    }

    private static ArgumentException TooLarge(string tag, long size) =>
        new($"the event for tag '{tag}' would be {size / 1e6:F1} MB; TensorBoard cannot read records over 64 MB and slows down well before, so events over {MaxEventBytes >> 20} MiB are refused — log a smaller image or split it");

    internal static Event SummaryEvent(Summary.Types.Value value, long step, double wallTime) =>
        new() { WallTime = wallTime, Step = step, Summary = new Summary { Value = { value } } };

    internal static Summary.Types.Value ScalarValue(string tag, double value, bool newStyle)
    {
        if (!newStyle) return new Summary.Types.Value { Tag = tag, SimpleValue = (float)value };
        var tensor = new TensorProto { Dtype = DataType.DtFloat };
        tensor.FloatVal.Add((float)value);
        return new Summary.Types.Value { Tag = tag, Tensor = tensor, Metadata = PluginMetadata("scalars", ByteString.Empty) };
    }

    private void WriteImage(string tag, RasterImage image, long step, double? wallTime)
    {
        ThrowIfDisposed();
        var value = ImageValue(tag, image.ToColor());
        int size = value.CalculateSize();
        if (size > MaxEventBytes) throw TooLarge(tag, size);
        Enqueue(_file, value, step, wallTime);
    }

    private static Summary.Types.Value ImageValue(string tag, RasterImage color) => new()
    {
        Tag = tag,
        Image = new Summary.Types.Image
        {
            Height = color.Height,
            Width = color.Width,
            Colorspace = color.Channels,
            EncodedImageString = ByteString.CopyFrom(color.ToPng()),
        },
    };

    internal static SummaryMetadata PluginMetadata(string pluginName, ByteString content) =>
        new() { PluginData = new SummaryMetadata.Types.PluginData { PluginName = pluginName, Content = content } };

    private static Summary.Types.Value HParamsValue(string tag, HParamsPluginData data) =>
        new() { Tag = tag, Metadata = PluginMetadata("hparams", data.ToByteString()) };

    /// <summary>An hparam as double, string or bool with its type; PyTorch's rule, except that bools stay bools (as tensorboardX writes them).</summary>
    private static (object Value, HParamDataType Type) HParamValue(string name, object value) => value switch
    {
        bool b => (b, HParamDataType.DataTypeBool),
        string s => (s, HParamDataType.DataTypeString),
        Enum e => (e.ToString(), HParamDataType.DataTypeString),
        Half h => ((double)h, HParamDataType.DataTypeFloat64),
        sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal =>
            (Convert.ToDouble(value, CultureInfo.InvariantCulture), HParamDataType.DataTypeFloat64),
        _ => throw new ArgumentException($"hparam '{name}' is a {value.GetType().Name}; hparams must be numbers, bools or strings", nameof(value)),
    };

    private static WellKnown.Value ProtoValue(object value) => value switch
    {
        bool b => WellKnown.Value.ForBool(b),
        string s => WellKnown.Value.ForString(s),
        _ => WellKnown.Value.ForNumber((double)value),
    };

    private static string Describe(HParamDataType type) => type switch
    {
        HParamDataType.DataTypeBool => "bool",
        HParamDataType.DataTypeString => "string",
        _ => "number",
    };

    private EventFile ScalarsFile(string subdirectory)
    {
        lock (_filesGate)
        {
            ThrowIfDisposed();
            if (_scalarsFiles.TryGetValue(subdirectory, out var file)) return file;
            file = NewRunFileLocked(subdirectory);
            _scalarsFiles[subdirectory] = file;
            return file;
        }
    }

    private EventFile NewRunFile(string runName)
    {
        if (string.IsNullOrWhiteSpace(runName) || Path.IsPathRooted(runName) || runName.Split('/', '\\').Any(part => part is ".." or "."))
            throw new ArgumentException($"run_name '{runName}' must be a relative directory below the log directory (or \".\" for this run)", nameof(runName));
        lock (_filesGate) return NewRunFileLocked(runName);
    }

    private EventFile NewRunFileLocked(string subdirectory)
    {
        string directory = Path.Combine(LogDir, subdirectory);
        Claim(directory);
        try
        {
            var file = EventFile.Create(directory, _filenameSuffix);
            _writer.AddFile(file);
            return file;
        }
        catch
        {
            Release(directory);
            throw;
        }
    }

    private void Claim(string directory)
    {
        string key = DirectoryKey(directory);
        lock (DirectoriesInUse)
        {
            if (!DirectoriesInUse.Add(key))
                throw new ArgumentException($"another SummaryWriter in this process is writing to '{directory}'; TensorBoard follows one event file per run directory, so dispose that writer first or use another directory", "logDir");
        }
        _claimedDirectories.Add(key);
    }

    private void Release(string directory)
    {
        string key = DirectoryKey(directory);
        lock (DirectoriesInUse) DirectoriesInUse.Remove(key);
        _claimedDirectories.Remove(key);
    }

    private void ReleaseClaims()
    {
        lock (DirectoriesInUse)
            foreach (var key in _claimedDirectories) DirectoriesInUse.Remove(key);
        _claimedDirectories.Clear();
    }

    private static string DirectoryKey(string directory) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
}
