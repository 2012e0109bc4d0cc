using System.Buffers.Binary;
using System.Text;
using Descent.TensorBoard.Proto;
using Google.Protobuf;
using WellKnown = Google.Protobuf.WellKnownTypes;

namespace Descent.TensorBoard;

/// <summary>
/// Reads event files — Descent's, PyTorch's, TensorFlow's — and decodes scalars (<c>simple_value</c> and
/// tensor forms), histograms, images, text and hparams. Every record's two checksums are verified.
/// </summary>
/// <remarks>
/// An incomplete record at the end of a file (one still being written) is not an error: reading stops
/// before it and <see cref="EventFileContents.PartialTailBytes"/> says how many bytes it has. A checksum
/// mismatch, a payload that is not an <c>Event</c>, or a file that does not start with a record is
/// reported as an <see cref="InvalidDataException"/> naming the file and the byte offset.
/// </remarks>
public static class EventFileReader
{
    /// <summary>The substring TensorBoard looks for in a file name to treat it as an event file.</summary>
    public const string EventFileMarker = "tfevents";

    /// <summary>The start of the <c>file_version</c> of the record every event file begins with (<c>brain.Event:2</c>).</summary>
    private const string FileVersionPrefix = "brain.Event:";

    /// <summary>True for names TensorBoard reads as event files (the base name contains <c>tfevents</c>).</summary>
    public static bool IsEventFile(string path) => Path.GetFileName(path).Contains(EventFileMarker, StringComparison.Ordinal);

    /// <summary>Reads every complete record of one event file.</summary>
    /// <exception cref="InvalidDataException">A damaged record, or not an event file; the message names the file and offset.</exception>
    public static EventFileContents ReadFile(string path) => ReadFile(path, previous: null);

    /// <summary>
    /// Reads one event file, going on from where <paramref name="previous"/> (an earlier read of the same
    /// file) stopped: a file that a training run appends to is then read once, not once per look. A file
    /// shorter than what was read before was rewritten, and is read from the start.
    /// </summary>
    public static EventFileContents ReadFile(string path, EventFileContents? previous)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return Read(stream, path, previous);
    }

    /// <summary>Reads every complete record of event-file data in a seekable <paramref name="stream"/>; <paramref name="path"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">A damaged record, or not an event file; the message names <paramref name="path"/> and the offset.</exception>
    public static EventFileContents ReadFile(Stream stream, string path)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(path);
        if (!stream.CanSeek) throw new ArgumentException($"{path}: event-file data must come from a seekable stream", nameof(stream));
        stream.Position = 0;
        return Read(stream, path, previous: null);
    }

    private static EventFileContents Read(Stream stream, string path, EventFileContents? previous)
    {
        long length = stream.Length;
        var events = new List<(long, Event)>();
        var header = new byte[TfRecord.HeaderLength];
        var footer = new byte[TfRecord.FooterLength];
        long offset = 0;
        if (previous is not null && previous.Length - previous.PartialTailBytes <= length)
        {
            events.AddRange(previous.Events);
            offset = previous.Length - previous.PartialTailBytes;
            stream.Position = offset;
        }
        while (offset < length)
        {
            long remaining = length - offset;
            if (remaining < TfRecord.HeaderLength) return new EventFileContents(path, length, events, remaining);
            stream.ReadExactly(header);
            uint storedLengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
            uint lengthCrc = TfRecord.MaskedCrc32C(header.AsSpan(0, 8));
            if (storedLengthCrc != lengthCrc)
                throw Damaged(path, offset, offset == 0
                    ? $"not a TensorBoard event file: it does not start with a TFRecord header (length checksum 0x{storedLengthCrc:X8}, expected 0x{lengthCrc:X8})"
                    : $"the record's length field is damaged (checksum 0x{storedLengthCrc:X8}, expected 0x{lengthCrc:X8})");
            ulong payloadLength = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (payloadLength > int.MaxValue - TfRecord.HeaderLength - TfRecord.FooterLength)
                throw Damaged(path, offset, $"the record claims {payloadLength} bytes, more than any event can hold");
            long recordLength = TfRecord.HeaderLength + (long)payloadLength + TfRecord.FooterLength;
            if (remaining < recordLength) return new EventFileContents(path, length, events, remaining);
            var payload = new byte[payloadLength];
            stream.ReadExactly(payload);
            stream.ReadExactly(footer);
            uint storedPayloadCrc = BinaryPrimitives.ReadUInt32LittleEndian(footer);
            uint payloadCrc = TfRecord.MaskedCrc32C(payload);
            if (storedPayloadCrc != payloadCrc)
                throw Damaged(path, offset, $"the record's {payloadLength}-byte payload is damaged (checksum 0x{storedPayloadCrc:X8}, expected 0x{payloadCrc:X8})");
            Event evt;
            try
            {
                evt = Event.Parser.ParseFrom(payload);
            }
            // Google.Protobuf 3.x can overrun its buffer on a truncated group instead of raising its own exception.
            catch (Exception e) when (e is InvalidProtocolBufferException or IndexOutOfRangeException)
            {
                throw Damaged(path, offset, $"the record's payload is not an Event message ({e.Message})");
            }
            // Every writer (TensorFlow, PyTorch, TensorBoard, Descent) starts a file with its version record; other
            // TFRecord files (tf.data examples) have valid framing but are not event files.
            if (offset == 0 && !evt.FileVersion.StartsWith(FileVersionPrefix, StringComparison.Ordinal))
                throw Damaged(path, offset, $"not a TensorBoard event file: the first record is not the '{FileVersionPrefix}N' file-version event every event file starts with");
            events.Add((offset, evt));
            offset += recordLength;
        }
        return new EventFileContents(path, length, events, 0);
    }

    /// <summary>
    /// Reads one run: every event file directly in <paramref name="directory"/>, in file-name order, as one
    /// stream of records (what TensorBoard does).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No such directory.</exception>
    /// <exception cref="InvalidDataException">A damaged record; the message names the file and offset.</exception>
    public static EventRun ReadRun(string directory, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!System.IO.Directory.Exists(directory)) throw new DirectoryNotFoundException($"run directory '{directory}' does not exist");
        var files = EventFilesIn(directory).Select(ReadFile).ToList();
        return Decode(new EventRun(name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)), directory, files));
    }

    /// <summary>
    /// Reads every run under <paramref name="logDir"/>: the directory itself (named <c>.</c>) and each
    /// subdirectory at any depth that holds event files, named by its relative path, in name order. A
    /// single event file may be given instead; it is read as one run.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No such directory or file.</exception>
    /// <exception cref="InvalidDataException">A damaged record; the message names the file and offset.</exception>
    public static IReadOnlyList<EventRun> ReadLogDir(string logDir)
    {
        ArgumentNullException.ThrowIfNull(logDir);
        if (File.Exists(logDir))
        {
            var file = ReadFile(logDir);
            if (file.Events.Count == 0)
                throw new InvalidDataException(Printable.Escape($"{logDir}: not a TensorBoard event file: it holds no complete record ({file.Length} bytes)"));
            return [Decode(new EventRun(Path.GetFileName(logDir), Path.GetDirectoryName(Path.GetFullPath(logDir))!, [file]))];
        }
        if (!System.IO.Directory.Exists(logDir)) throw new DirectoryNotFoundException($"log directory '{logDir}' does not exist");
        var directories = new List<(string Name, string Path)> { (".", logDir) };
        foreach (var sub in System.IO.Directory.EnumerateDirectories(logDir, "*", new EnumerationOptions { RecurseSubdirectories = true }))
            directories.Add((Path.GetRelativePath(logDir, sub).Replace(Path.DirectorySeparatorChar, '/'), sub));
        var runs = new List<EventRun>();
        foreach (var (name, path) in directories.OrderBy(d => d.Name == "." ? "" : d.Name, StringComparer.Ordinal))
        {
            var files = EventFilesIn(path);
            if (files.Count > 0) runs.Add(Decode(new EventRun(name, path, files.Select(ReadFile).ToList())));
        }
        return runs;
    }

    /// <summary>Decodes one run from files already read (see <see cref="ReadFile(string, EventFileContents?)"/>).</summary>
    /// <exception cref="InvalidDataException">A record whose summary does not hold valid data; the message names the file and offset.</exception>
    public static EventRun DecodeRun(string name, string directory, IReadOnlyList<EventFileContents> files) =>
        Decode(new EventRun(name, directory, files));

    private static List<string> EventFilesIn(string directory) =>
        System.IO.Directory.EnumerateFiles(directory).Where(IsEventFile).OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList();

    private static InvalidDataException Damaged(string path, long offset, string problem) =>
        new(Printable.Escape($"{path} at byte offset {offset}: {problem}"));

    private sealed class Series
    {
        public required string Tag;
        public TagKind Kind;
        public string? PluginName;
        public int Count;
        public long LastStep;
        public double LastWallTime;
    }

    private static EventRun Decode(EventRun run)
    {
        var order = new List<Series>();
        var byTag = new Dictionary<string, Series>(StringComparer.Ordinal);
        var scalars = new Dictionary<string, List<ScalarEvent>>(StringComparer.Ordinal);
        var histograms = new Dictionary<string, List<HistogramEvent>>(StringComparer.Ordinal);
        var images = new Dictionary<string, List<ImageEvent>>(StringComparer.Ordinal);
        var texts = new Dictionary<string, List<TextEvent>>(StringComparer.Ordinal);
        Experiment? experiment = null;
        SessionStartInfo? sessionStart = null;
        SessionEndInfo? sessionEnd = null;

        foreach (var file in run.Files)
            foreach (var (offset, evt) in file.Events)
            {
                if (evt.WhatCase != Event.WhatOneofCase.Summary) continue;
                foreach (var value in evt.Summary.Value)
                {
                    if (!byTag.TryGetValue(value.Tag, out var series))
                    {
                        series = new Series { Tag = value.Tag };
                        byTag[value.Tag] = series;
                        order.Add(series);
                    }
                    // As in TensorBoard, the first value of a tag that carries metadata decides its plugin.
                    if (series.PluginName is null && value.Metadata?.PluginData?.PluginName is { Length: > 0 } plugin)
                        series.PluginName = plugin;
                    try
                    {
                        series.Kind = DecodeValue(value, series.PluginName, evt, scalars, histograms, images, texts, ref experiment, ref sessionStart, ref sessionEnd);
                    }
                    catch (Exception e) when (e is InvalidProtocolBufferException or IndexOutOfRangeException or FormatException or ArgumentException)
                    {
                        throw Damaged(file.Path, offset, $"tag '{value.Tag}' does not hold valid {series.PluginName ?? value.ValueCase.ToString()} data ({e.Message})");
                    }
                    series.Count++;
                    series.LastStep = evt.Step;
                    series.LastWallTime = evt.WallTime;
                }
            }

        run.Tags = order.Select(s => new TagSummary(s.Tag, s.Kind, s.PluginName, s.Count, s.LastStep, s.LastWallTime)).ToList();
        run.Scalars = scalars.ToDictionary(p => p.Key, p => (IReadOnlyList<ScalarEvent>)p.Value, StringComparer.Ordinal);
        run.Histograms = histograms.ToDictionary(p => p.Key, p => (IReadOnlyList<HistogramEvent>)p.Value, StringComparer.Ordinal);
        run.Images = images.ToDictionary(p => p.Key, p => (IReadOnlyList<ImageEvent>)p.Value, StringComparer.Ordinal);
        run.Texts = texts.ToDictionary(p => p.Key, p => (IReadOnlyList<TextEvent>)p.Value, StringComparer.Ordinal);
        if (experiment is not null || sessionStart is not null || sessionEnd is not null)
            run.HParams = new HParamsRecord(experiment, HParamValues(sessionStart), sessionStart, sessionEnd);
        return run;
    }

    private static TagKind DecodeValue(Summary.Types.Value value, string? plugin, Event evt,
        Dictionary<string, List<ScalarEvent>> scalars, Dictionary<string, List<HistogramEvent>> histograms,
        Dictionary<string, List<ImageEvent>> images, Dictionary<string, List<TextEvent>> texts,
        ref Experiment? experiment, ref SessionStartInfo? sessionStart, ref SessionEndInfo? sessionEnd)
    {
        double time = evt.WallTime;
        long step = evt.Step;
        if (plugin == "hparams")
        {
            var data = HParamsPluginData.Parser.ParseFrom(value.Metadata?.PluginData?.Content ?? ByteString.Empty);
            switch (data.DataCase)
            {
                case HParamsPluginData.DataOneofCase.Experiment: experiment = data.Experiment; break;
                case HParamsPluginData.DataOneofCase.SessionStartInfo: sessionStart = data.SessionStartInfo; break;
                case HParamsPluginData.DataOneofCase.SessionEndInfo: sessionEnd = data.SessionEndInfo; break;
            }
            return TagKind.HParams;
        }
        switch (value.ValueCase)
        {
            case Summary.Types.Value.ValueOneofCase.SimpleValue:
                Add(scalars, value.Tag, new ScalarEvent(time, step, value.SimpleValue));
                return TagKind.Scalar;
            case Summary.Types.Value.ValueOneofCase.Histo:
                var h = value.Histo;
                if (h.BucketLimit.Count != h.Bucket.Count)
                    throw new FormatException($"{h.BucketLimit.Count} bucket limits but {h.Bucket.Count} bucket counts");
                Add(histograms, value.Tag, new HistogramEvent(time, step, h.Min, h.Max, h.Num, h.Sum, h.SumSquares, h.BucketLimit.ToArray(), h.Bucket.ToArray()));
                return TagKind.Histogram;
            case Summary.Types.Value.ValueOneofCase.Image:
                var image = value.Image;
                Add(images, value.Tag, new ImageEvent(time, step, image.Width, image.Height, image.Colorspace, image.EncodedImageString.ToByteArray()));
                return TagKind.Image;
            case Summary.Types.Value.ValueOneofCase.Tensor:
                return DecodeTensor(value.Tag, value.Tensor, plugin, time, step, scalars, histograms, images, texts);
            default:
                return TagKind.Other;
        }
    }

    private static TagKind DecodeTensor(string tag, TensorProto tensor, string? plugin, double time, long step,
        Dictionary<string, List<ScalarEvent>> scalars, Dictionary<string, List<HistogramEvent>> histograms,
        Dictionary<string, List<ImageEvent>> images, Dictionary<string, List<TextEvent>> texts)
    {
        switch (plugin)
        {
            case "scalars":
                var scalar = Numbers(tensor);
                if (scalar.Length != 1) throw new FormatException($"a scalar tensor holds {scalar.Length} values");
                Add(scalars, tag, new ScalarEvent(time, step, scalar[0]));
                return TagKind.Scalar;
            case "histograms":
                // The histograms plugin's tensor: k rows of [left edge, right edge, count].
                var cells = Numbers(tensor);
                if (cells.Length % 3 != 0) throw new FormatException($"a histogram tensor holds {cells.Length} values, not rows of three");
                int rows = cells.Length / 3;
                var limits = new double[rows];
                var counts = new double[rows];
                for (int r = 0; r < rows; r++)
                {
                    limits[r] = cells[3 * r + 1];
                    counts[r] = cells[3 * r + 2];
                }
                Add(histograms, tag, new HistogramEvent(time, step, rows > 0 ? cells[0] : double.NaN, rows > 0 ? cells[^2] : double.NaN,
                    counts.Sum(), double.NaN, double.NaN, limits, counts));
                return TagKind.Histogram;
            case "images":
                // [width, height, image, image, ...] with the sizes as ASCII decimal.
                if (tensor.StringVal.Count < 3) throw new FormatException($"an image tensor holds {tensor.StringVal.Count} strings, fewer than width, height and an image");
                int width = ImageSize(tensor.StringVal[0], "width");
                int height = ImageSize(tensor.StringVal[1], "height");
                for (int i = 2; i < tensor.StringVal.Count; i++)
                    Add(images, tag, new ImageEvent(time, step, width, height, 0, tensor.StringVal[i].ToByteArray()));
                return TagKind.Image;
            case "text":
                Add(texts, tag, new TextEvent(time, step, tensor.StringVal.Select(s => Encoding.UTF8.GetString(s.Span)).ToList()));
                return TagKind.Text;
            default:
                return TagKind.Other;
        }
    }

    private static int ImageSize(ByteString text, string what) =>
        int.TryParse(text.Span, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int size)
            ? size
            : throw new FormatException($"the image {what} is not a size: '{text.ToStringUtf8()}'");

    /// <summary>The elements of a float or double tensor, from the <c>*_val</c> fields or <c>tensor_content</c>.</summary>
    private static double[] Numbers(TensorProto tensor)
    {
        var content = tensor.TensorContent.Span;
        switch (tensor.Dtype)
        {
            case DataType.DtFloat:
                if (tensor.FloatVal.Count > 0) return tensor.FloatVal.Select(f => (double)f).ToArray();
                if (content.Length % 4 != 0) throw new FormatException($"{content.Length} content bytes are not whole floats");
                var floats = new double[content.Length / 4];
                for (int i = 0; i < floats.Length; i++) floats[i] = BinaryPrimitives.ReadSingleLittleEndian(content[(4 * i)..]);
                return floats;
            case DataType.DtDouble:
                if (tensor.DoubleVal.Count > 0) return tensor.DoubleVal.ToArray();
                if (content.Length % 8 != 0) throw new FormatException($"{content.Length} content bytes are not whole doubles");
                var doubles = new double[content.Length / 8];
                for (int i = 0; i < doubles.Length; i++) doubles[i] = BinaryPrimitives.ReadDoubleLittleEndian(content[(8 * i)..]);
                return doubles;
            default:
                throw new FormatException($"expected a DT_FLOAT or DT_DOUBLE tensor, got {tensor.Dtype}");
        }
    }

    private static Dictionary<string, object> HParamValues(SessionStartInfo? start)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        if (start is null) return values;
        foreach (var (name, value) in start.Hparams)
        {
            object? converted = value.KindCase switch
            {
                WellKnown.Value.KindOneofCase.NumberValue => value.NumberValue,
                WellKnown.Value.KindOneofCase.StringValue => value.StringValue,
                WellKnown.Value.KindOneofCase.BoolValue => value.BoolValue,
                _ => null,
            };
            if (converted is not null) values[name] = converted;
        }
        return values;
    }

    private static void Add<T>(Dictionary<string, List<T>> series, string tag, T item)
    {
        if (!series.TryGetValue(tag, out var list)) series[tag] = list = [];
        list.Add(item);
    }
}
