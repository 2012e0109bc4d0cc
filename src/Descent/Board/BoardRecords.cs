namespace Descent.Board;

// The records the board's JSON API returns. They are plain data shaped for the page: names in camelCase,
// numbers as numbers (NaN and infinities as the strings "NaN", "Infinity", "-Infinity").

/// <summary>One event file of a run: its name, size, and how many bytes at its end are an unfinished record.</summary>
public sealed record BoardFile(string Name, long Length, long PartialTailBytes);

/// <summary>The tags of a run by kind, each in order of first appearance.</summary>
public sealed record BoardTags(IReadOnlyList<string> Scalars, IReadOnlyList<string> Histograms, IReadOnlyList<string> Images, IReadOnlyList<string> Texts, bool HParams);

/// <summary>One run as <c>/api/runs</c> lists it.</summary>
/// <param name="Name">The run directory relative to the log directory (<c>.</c> for the log directory itself).</param>
/// <param name="Records">Records read from all its files.</param>
/// <param name="Files">Its event files.</param>
/// <param name="Error">Why the run could not be read (naming the file and byte offset), or null.</param>
/// <param name="LastWallTime">Wall time (Unix seconds) of its newest summary, 0 when it has none.</param>
/// <param name="Tags">Its tags by kind.</param>
public sealed record BoardRunInfo(string Name, int Records, IReadOnlyList<BoardFile> Files, string? Error, double LastWallTime, BoardTags Tags);

/// <summary>What <c>/api/runs</c> returns; <paramref name="Version"/> grows whenever anything under the log directory changed.</summary>
public sealed record BoardRunList(string LogDir, long Version, IReadOnlyList<BoardRunInfo> Runs);

/// <summary>One run's points of one scalar tag, each <c>[step, value, wallTime]</c>; <paramref name="Total"/> counts them before thinning.</summary>
public sealed record BoardScalarSeries(string Run, int Total, IReadOnlyList<double[]> Points);

/// <summary>One scalar chart: a tag and every run that has it.</summary>
public sealed record BoardScalarChart(string Tag, IReadOnlyList<BoardScalarSeries> Runs);

/// <summary>
/// One histogram of a series, its buckets spread over the equal-width bins of the series' range
/// (<see cref="BoardHistogramSeries.Low"/> to <see cref="BoardHistogramSeries.High"/>).
/// </summary>
public sealed record BoardHistogramStep(long Step, double Min, double Max, double Count, IReadOnlyList<double> Counts);

/// <summary>One run's histograms of one tag over steps, on common bins.</summary>
public sealed record BoardHistogramSeries(string Run, int Total, double Low, double High, IReadOnlyList<BoardHistogramStep> Steps);

/// <summary>One histogram tag and every run that has it.</summary>
public sealed record BoardHistogramChart(string Tag, IReadOnlyList<BoardHistogramSeries> Runs);

/// <summary>One image record; <paramref name="Url"/> serves its encoded bytes.</summary>
public sealed record BoardImageItem(long Step, int Index, int Width, int Height, string Url);

/// <summary>The images of one run and tag, oldest first.</summary>
public sealed record BoardImageSeries(string Run, string Tag, IReadOnlyList<BoardImageItem> Items);

/// <summary>One text record.</summary>
public sealed record BoardTextEntry(long Step, string Text);

/// <summary>The texts of one run and tag, oldest first.</summary>
public sealed record BoardTextSeries(string Run, string Tag, IReadOnlyList<BoardTextEntry> Entries);

/// <summary>One row of the hparams table: a run's hyperparameters, its final metrics and its session status.</summary>
public sealed record BoardHParamsRow(string Run, string Status, IReadOnlyDictionary<string, object> HParams, IReadOnlyDictionary<string, double> Metrics);

/// <summary>The hparams table: the columns (hparam names, then metric tags) and one row per run that recorded hparams.</summary>
public sealed record BoardHParamsTable(IReadOnlyList<string> HParams, IReadOnlyList<string> Metrics, IReadOnlyList<BoardHParamsRow> Rows);

/// <summary>A CSV file read as a table.</summary>
public sealed record BoardTable(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>
/// What one <c>descent playground --out</c> comparison wrote: the files share <paramref name="Prefix"/> in
/// <paramref name="Folder"/>. Each picture is a URL under <c>files/</c>, or null when the file is missing.
/// </summary>
public sealed record BoardPlayground(string Folder, string Prefix, string? Contour, string? Loss, string? Animation, BoardTable? Summary, IReadOnlyList<string> Traces);

/// <summary>Any other picture under the log directory (SVG, PNG, JPEG, GIF): its relative path and URL.</summary>
public sealed record BoardPicture(string Path, string Url);

/// <summary>What <c>/api/pictures</c> returns.</summary>
public sealed record BoardPictures(IReadOnlyList<BoardPlayground> Playground, IReadOnlyList<BoardPicture> Pictures);
