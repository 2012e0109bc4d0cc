using Descent.TensorBoard;
using Descent.TensorBoard.Proto;

namespace Descent.Board;

/// <summary>
/// The log directory at one moment, and the views the board's API serves of it: runs, scalar charts,
/// histograms, images, texts, the hparams table and pictures. Immutable.
/// </summary>
public sealed class BoardSnapshot
{
    /// <summary>At most this many points per scalar series go to the page (TensorBoard thins to 1000 as well).</summary>
    public const int MaxScalarPoints = 1000;

    /// <summary>At most this many histograms per series go to the page, evenly spread over the steps, the last always kept.</summary>
    public const int MaxHistogramSteps = 40;

    /// <summary>Equal-width bins each histogram is spread over, so every step of a series shares one x axis.</summary>
    public const int HistogramBins = 40;

    internal BoardSnapshot(string root, long version, IReadOnlyList<BoardRun> runs, BoardPictures? pictures)
    {
        Root = root;
        Version = version;
        Runs = runs;
        Pictures = pictures ?? new BoardPictures([], []);
    }

    /// <summary>The log directory (full path).</summary>
    public string Root { get; }

    /// <summary>Grows by one each time a refresh finds something changed.</summary>
    public long Version { get; }

    /// <summary>Every run, in name order (<c>.</c> first).</summary>
    public IReadOnlyList<BoardRun> Runs { get; }

    /// <summary>Playground outputs and other pictures under the log directory.</summary>
    public BoardPictures Pictures { get; }

    /// <summary>The runs with their files, errors and tags by kind.</summary>
    public BoardRunList RunList() => new(Root, Version, Runs.Select(r =>
    {
        var tags = r.Events?.Tags ?? [];
        List<string> Of(TagKind kind) => tags.Where(t => t.Kind == kind).Select(t => t.Tag).ToList();
        return new BoardRunInfo(r.Name, r.Events?.RecordCount ?? 0, r.Files, r.Error, tags.Count == 0 ? 0 : tags.Max(t => t.LastWallTime),
            new BoardTags(Of(TagKind.Scalar), Of(TagKind.Histogram), Of(TagKind.Image), Of(TagKind.Text), r.Events?.HParams is not null));
    }).ToList());

    /// <summary>One chart per scalar tag (or only <paramref name="tag"/>), each with every run that has the tag; tags in order of first appearance.</summary>
    public IReadOnlyList<BoardScalarChart> Scalars(string? tag = null) =>
        Tags(TagKind.Scalar, tag).Select(t => new BoardScalarChart(t, Readable.Where(r => r.Events!.Scalars.ContainsKey(t)).Select(r =>
        {
            var points = r.Events!.Scalars[t];
            return new BoardScalarSeries(r.Name, points.Count, Thin(points, MaxScalarPoints).Select(p => new[] { p.Step, p.Value, p.WallTime }).ToList());
        }).ToList())).ToList();

    /// <summary>One entry per histogram tag (or only <paramref name="tag"/>), each with every run that has it, rebinned onto common bins.</summary>
    public IReadOnlyList<BoardHistogramChart> Histograms(string? tag = null) =>
        Tags(TagKind.Histogram, tag).Select(t => new BoardHistogramChart(t, Readable.Where(r => r.Events!.Histograms.ContainsKey(t))
            .Select(r => HistogramSeries(r.Name, r.Events!.Histograms[t])).ToList())).ToList();

    /// <summary>Every run's image series, with the URLs that serve their bytes.</summary>
    public IReadOnlyList<BoardImageSeries> Images() =>
        Readable.SelectMany(r => r.Events!.Images.Select(p => new BoardImageSeries(r.Name, p.Key,
            p.Value.Select((image, i) => new BoardImageItem(image.Step, i, image.Width, image.Height, ImageUrl(r.Name, p.Key, i))).ToList()))).ToList();

    /// <summary>The encoded bytes of one image, or null when there is no such run, tag or index.</summary>
    public ImageEvent? Image(string run, string tag, int index) =>
        Runs.FirstOrDefault(r => r.Name == run)?.Events?.Images.GetValueOrDefault(tag) is { } images && index >= 0 && index < images.Count ? images[index] : null;

    /// <summary>Every run's text series.</summary>
    public IReadOnlyList<BoardTextSeries> Texts() =>
        Readable.SelectMany(r => r.Events!.Texts.Select(p => new BoardTextSeries(r.Name, p.Key, p.Value.Select(t => new BoardTextEntry(t.Step, t.Text)).ToList()))).ToList();

    /// <summary>
    /// One row per run that recorded hparams: its values and, for each metric its experiment declares, the
    /// last value of that scalar in the run (PyTorch's <c>add_hparams</c> and Descent's logger write them so).
    /// </summary>
    public BoardHParamsTable HParams()
    {
        var names = new List<string>();
        var metrics = new List<string>();
        var rows = new List<BoardHParamsRow>();
        foreach (var run in Readable)
        {
            if (run.Events!.HParams is not { } hp) continue;
            foreach (var name in hp.HParams.Keys.Concat(hp.Experiment?.HparamInfos.Select(h => h.Name) ?? []))
                if (!names.Contains(name)) names.Add(name);
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var metric in hp.Experiment?.MetricInfos ?? [])
            {
                string tag = metric.Name?.Tag ?? "";
                if (!metrics.Contains(tag)) metrics.Add(tag);
                if (run.Events.Scalars.TryGetValue(tag, out var series) && series.Count > 0) values[tag] = series[^1].Value;
            }
            string status = hp.SessionEnd?.Status switch
            {
                SessionStatus.StatusSuccess => "success",
                SessionStatus.StatusFailure => "failure",
                SessionStatus.StatusRunning => "running",
                null => "running",
                _ => "unknown",
            };
            rows.Add(new BoardHParamsRow(run.Name, status, hp.HParams, values));
        }
        return new BoardHParamsTable(names, metrics, rows);
    }

    /// <summary>The URL that serves image <paramref name="index"/> of <paramref name="tag"/> in <paramref name="run"/>.</summary>
    public static string ImageUrl(string run, string tag, int index) =>
        $"api/image?run={Uri.EscapeDataString(run)}&tag={Uri.EscapeDataString(tag)}&index={index}";

    private IEnumerable<BoardRun> Readable => Runs.Where(r => r.Events is not null);

    private List<string> Tags(TagKind kind, string? only)
    {
        var tags = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var run in Readable)
            foreach (var t in run.Events!.Tags)
                if (t.Kind == kind && (only is null || t.Tag == only) && seen.Add(t.Tag)) tags.Add(t.Tag);
        return tags;
    }

    /// <summary>At most <paramref name="max"/> items, evenly spaced, first and last kept.</summary>
    internal static IReadOnlyList<T> Thin<T>(IReadOnlyList<T> items, int max)
    {
        if (items.Count <= max) return items;
        var kept = new List<T>(max);
        for (int i = 0; i < max; i++) kept.Add(items[(int)Math.Round(i * (items.Count - 1.0) / (max - 1))]);
        return kept;
    }

    /// <summary>
    /// Spreads each kept histogram's buckets over <see cref="HistogramBins"/> equal bins between the lowest
    /// minimum and highest maximum of the kept steps, each bucket's count shared in proportion to overlap.
    /// Bucket edges outside the data (TensorFlow's ±DBL_MAX end buckets) are clipped to each step's own min and
    /// max, then to the series' range.
    /// </summary>
    internal static BoardHistogramSeries HistogramSeries(string run, IReadOnlyList<HistogramEvent> events)
    {
        var kept = Thin(events, MaxHistogramSteps);
        double low = double.PositiveInfinity, high = double.NegativeInfinity;
        foreach (var h in kept)
        {
            if (double.IsFinite(h.Min)) low = Math.Min(low, h.Min);
            if (double.IsFinite(h.Max)) high = Math.Max(high, h.Max);
        }
        if (!(low <= high)) (low, high) = (0, 0);
        if (low == high) (low, high) = (low - 0.5, high + 0.5);
        double width = (high - low) / HistogramBins;
        var steps = kept.Select(h =>
        {
            var counts = new double[HistogramBins];
            for (int b = 0; b < h.BucketCounts.Count; b++)
            {
                double count = h.BucketCounts[b];
                if (!(count > 0)) continue;
                // Clip to this step's own range first: TensorFlow's first and last buckets are open-ended
                // (±DBL_MAX), and clipping them only to the series' range would spread a step's extreme values
                // over bins that step never reached. Then to the series' range, which holds every step's.
                double left = Clip(b == 0 ? h.Min : h.BucketLimits[b - 1], h.Min, h.Max, low, high);
                double right = Clip(h.BucketLimits[b], h.Min, h.Max, low, high);
                if (!double.IsFinite(left) || !double.IsFinite(right)) continue;
                if (right < left) (left, right) = (right, left);
                if (right - left <= 0)
                {
                    counts[Math.Clamp((int)((left - low) / width), 0, HistogramBins - 1)] += count;
                    continue;
                }
                int first = Math.Clamp((int)((left - low) / width), 0, HistogramBins - 1);
                int last = Math.Clamp((int)((right - low) / width), 0, HistogramBins - 1);
                for (int i = first; i <= last; i++)
                {
                    double overlap = Math.Min(right, low + (i + 1) * width) - Math.Max(left, low + i * width);
                    if (overlap > 0) counts[i] += count * overlap / (right - left);
                }
            }
            return new BoardHistogramStep(h.Step, h.Min, h.Max, h.Count, counts);
        }).ToList();
        return new BoardHistogramSeries(run, events.Count, low, high, steps);
    }

    /// <summary>
    /// <paramref name="x"/> clamped to a step's own [<paramref name="min"/>, <paramref name="max"/>] (where that
    /// range is finite and ordered), then to the series' [<paramref name="low"/>, <paramref name="high"/>].
    /// </summary>
    private static double Clip(double x, double min, double max, double low, double high)
    {
        if (double.IsFinite(min) && double.IsFinite(max) && min <= max) x = Math.Clamp(x, min, max);
        return Math.Clamp(x, low, high);
    }
}
