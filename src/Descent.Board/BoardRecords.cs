namespace Descent.Board;

// The records the board's JSON API returns. They are plain data shaped for the page: names in camelCase,
// numbers as numbers (NaN and infinities as the strings "NaN", "Infinity", "-Infinity").

/// <summary>
/// One event file of a run (a <c>*tfevents*</c> file, as TensorBoard's event-file loader reads them): its name,
/// size, and how many bytes at its end are an unfinished record.
/// </summary>
/// <param name="Name">File name, without its directory (e.g. <c>events.out.tfevents.1700000000.host.1234.0</c>).</param>
/// <param name="Length">Size in bytes when it was last read.</param>
/// <param name="PartialTailBytes">
/// Bytes at the end that do not yet form a whole record: a run still writing (the page shows "writing"), not
/// damage. 0 when the file ends on a record boundary, or when the run could not be read.
/// </param>
public sealed record BoardFile(string Name, long Length, long PartialTailBytes);

/// <summary>
/// The tags of a run by kind (the dashboards of TensorBoard that would show them), each in order of first
/// appearance.
/// </summary>
/// <param name="Scalars">Scalar tags (TensorBoard's Scalars dashboard), e.g. <c>train/loss</c>.</param>
/// <param name="Histograms">Histogram tags (TensorBoard's Histograms dashboard).</param>
/// <param name="Images">Image tags (TensorBoard's Images dashboard).</param>
/// <param name="Texts">Text tags (TensorBoard's Text dashboard); PyTorch's <c>add_text</c> appends <c>/text_summary</c>.</param>
/// <param name="HParams">Whether the run recorded hparams (a session start, experiment or session end), so it has a row in the HParams table.</param>
public sealed record BoardTags(IReadOnlyList<string> Scalars, IReadOnlyList<string> Histograms, IReadOnlyList<string> Images, IReadOnlyList<string> Texts, bool HParams);

/// <summary>One run as <c>/api/runs</c> lists it: an entry of the run selector on the left of TensorBoard's page.</summary>
/// <param name="Name">The run directory relative to the log directory (<c>.</c> for the log directory itself).</param>
/// <param name="Records">Records read from all its files.</param>
/// <param name="Files">Its event files.</param>
/// <param name="Error">Why the run could not be read (naming the file and byte offset), or null.</param>
/// <param name="LastWallTime">Wall time (Unix seconds) of its newest summary, 0 when it has none.</param>
/// <param name="Tags">Its tags by kind.</param>
public sealed record BoardRunInfo(string Name, int Records, IReadOnlyList<BoardFile> Files, string? Error, double LastWallTime, BoardTags Tags);

/// <summary>What <c>/api/runs</c> returns; <paramref name="Version"/> grows whenever anything under the log directory changed.</summary>
/// <param name="LogDir">The log directory (full path), what <c>--logdir</c> named.</param>
/// <param name="Version">
/// Grows by one each time a look at the disk finds something changed; the page fetches the other answers
/// again only when it differs from the last one it saw.
/// </param>
/// <param name="Runs">Every run, in name order (<c>.</c> first), readable or not.</param>
public sealed record BoardRunList(string LogDir, long Version, IReadOnlyList<BoardRunInfo> Runs);

/// <summary>
/// One run's curve on a scalar chart: its points of one scalar tag, each <c>[step, value, wallTime]</c>;
/// <paramref name="Total"/> counts them before thinning.
/// </summary>
/// <param name="Run">The run's name, as in <see cref="BoardRunInfo.Name"/>.</param>
/// <param name="Total">How many points the run holds for the tag; more than <see cref="BoardSnapshot.MaxScalarPoints"/> are thinned evenly (as TensorBoard samples to 1000).</param>
/// <param name="Points">
/// The (thinned) points, oldest first, each <c>[step, value, wallTime]</c> with the wall time in Unix seconds:
/// the columns of TensorBoard's scalar CSV download, in another order.
/// </param>
public sealed record BoardScalarSeries(string Run, int Total, IReadOnlyList<double[]> Points);

/// <summary>One scalar chart: a tag and every run that has it, overlaid as on TensorBoard's Scalars dashboard.</summary>
/// <param name="Tag">The scalar tag, e.g. <c>train/loss</c>.</param>
/// <param name="Runs">One curve per run that logged the tag, in run order.</param>
public sealed record BoardScalarChart(string Tag, IReadOnlyList<BoardScalarSeries> Runs);

/// <summary>
/// One histogram of a series (one slice of TensorBoard's "offset" histogram view), its buckets spread over the
/// equal-width bins of the series' range (<see cref="BoardHistogramSeries.Low"/> to <see cref="BoardHistogramSeries.High"/>).
/// </summary>
/// <param name="Step">The step it was logged at.</param>
/// <param name="Min">The smallest value in it, as logged.</param>
/// <param name="Max">The largest value in it, as logged.</param>
/// <param name="Count">How many values it holds.</param>
/// <param name="Counts">
/// <see cref="BoardSnapshot.HistogramBins"/> counts, one per equal-width bin from the series' low to its high;
/// each logged bucket's count is shared among the bins it overlaps, so they sum to <paramref name="Count"/>.
/// </param>
public sealed record BoardHistogramStep(long Step, double Min, double Max, double Count, IReadOnlyList<double> Counts);

/// <summary>One run's histograms of one tag over steps, on common bins, as one panel of TensorBoard's Histograms dashboard.</summary>
/// <param name="Run">The run's name, as in <see cref="BoardRunInfo.Name"/>.</param>
/// <param name="Total">How many histograms the run holds for the tag; at most <see cref="BoardSnapshot.MaxHistogramSteps"/> are sent, evenly spread, the last always kept.</param>
/// <param name="Low">Left edge of the first bin: the lowest minimum of the steps sent.</param>
/// <param name="High">Right edge of the last bin: the highest maximum of the steps sent.</param>
/// <param name="Steps">The histograms sent, oldest first.</param>
public sealed record BoardHistogramSeries(string Run, int Total, double Low, double High, IReadOnlyList<BoardHistogramStep> Steps);

/// <summary>One histogram tag and every run that has it.</summary>
/// <param name="Tag">The histogram tag, e.g. <c>weights/fc</c>.</param>
/// <param name="Runs">One series per run that logged the tag, in run order.</param>
public sealed record BoardHistogramChart(string Tag, IReadOnlyList<BoardHistogramSeries> Runs);

/// <summary>One image record (one step on the slider of a TensorBoard image card); <paramref name="Url"/> serves its encoded bytes.</summary>
/// <param name="Step">The step it was logged at.</param>
/// <param name="Index">Its position in the run and tag's images, oldest first; the <c>index</c> of <c>/api/image</c>.</param>
/// <param name="Width">Width in pixels, as its record declares.</param>
/// <param name="Height">Height in pixels, as its record declares.</param>
/// <param name="Url">Relative URL of the encoded image (<c>api/image?run=…&amp;tag=…&amp;index=…</c>).</param>
public sealed record BoardImageItem(long Step, int Index, int Width, int Height, string Url);

/// <summary>The images of one run and tag, oldest first: one image card of TensorBoard's Images dashboard.</summary>
/// <param name="Run">The run's name, as in <see cref="BoardRunInfo.Name"/>.</param>
/// <param name="Tag">The image tag.</param>
/// <param name="Items">Every image the run logged under the tag, oldest first.</param>
public sealed record BoardImageSeries(string Run, string Tag, IReadOnlyList<BoardImageItem> Items);

/// <summary>One text record.</summary>
/// <param name="Step">The step it was logged at.</param>
/// <param name="Text">The text as logged (the page shows it as text, never as HTML; TensorBoard renders it as Markdown).</param>
public sealed record BoardTextEntry(long Step, string Text);

/// <summary>The texts of one run and tag, oldest first: one card of TensorBoard's Text dashboard.</summary>
/// <param name="Run">The run's name, as in <see cref="BoardRunInfo.Name"/>.</param>
/// <param name="Tag">The text tag (PyTorch's <c>add_text("notes", …)</c> writes <c>notes/text_summary</c>).</param>
/// <param name="Entries">Every text the run logged under the tag, oldest first.</param>
public sealed record BoardTextSeries(string Run, string Tag, IReadOnlyList<BoardTextEntry> Entries);

/// <summary>One row of the hparams table (TensorBoard's HParams "table view"): a run's hyperparameters, its final metrics and its session status.</summary>
/// <param name="Run">The run's name, as in <see cref="BoardRunInfo.Name"/>.</param>
/// <param name="Status">
/// The session status the run recorded: <c>success</c>, <c>failure</c>, <c>running</c> (also when no session
/// end was written) or <c>unknown</c>.
/// </param>
/// <param name="HParams">Hyperparameter name to value: a number, a string or a boolean.</param>
/// <param name="Metrics">Metric tag to the last value of that scalar in the run; a metric the run never logged is absent.</param>
public sealed record BoardHParamsRow(string Run, string Status, IReadOnlyDictionary<string, object> HParams, IReadOnlyDictionary<string, double> Metrics);

/// <summary>The hparams table: the columns (hparam names, then metric tags) and one row per run that recorded hparams.</summary>
/// <param name="HParams">Hyperparameter columns, in order of first appearance over the runs.</param>
/// <param name="Metrics">Metric columns: the scalar tags the runs' experiments declare as metrics, in order of first appearance.</param>
/// <param name="Rows">One row per run that recorded hparams, in run order.</param>
public sealed record BoardHParamsTable(IReadOnlyList<string> HParams, IReadOnlyList<string> Metrics, IReadOnlyList<BoardHParamsRow> Rows);

/// <summary>A CSV file read as a table.</summary>
/// <param name="Columns">The header line's fields.</param>
/// <param name="Rows">Every other non-empty line's fields, as text (a row may have fewer or more fields than there are columns).</param>
public sealed record BoardTable(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>
/// What one <c>descent playground --out</c> comparison wrote: the files share <paramref name="Prefix"/> in
/// <paramref name="Folder"/>. Each picture is a URL under <c>files/</c>, or null when the file is missing.
/// TensorBoard has no counterpart; the board shows these on its Playground tab.
/// </summary>
/// <param name="Folder">The folder relative to the log directory, with <c>/</c> separators.</param>
/// <param name="Prefix">The shared file-name prefix (the preset's name, e.g. <c>saddle</c>).</param>
/// <param name="Contour">URL of <c>PREFIX-contour.svg</c>, the optimizers' paths on the loss surface.</param>
/// <param name="Loss">URL of <c>PREFIX-loss.svg</c>, loss against step for each optimizer, or null.</param>
/// <param name="Animation">URL of <c>PREFIX-animation.svg</c>, the paths drawn over time, or null.</param>
/// <param name="Summary"><c>PREFIX-summary.csv</c> read as a table (one row per optimizer), or null when missing or unreadable.</param>
/// <param name="Traces">URLs of the per-optimizer trace CSVs the summary names, in its row order.</param>
public sealed record BoardPlayground(string Folder, string Prefix, string? Contour, string? Loss, string? Animation, BoardTable? Summary, IReadOnlyList<string> Traces);

/// <summary>Any other picture under the log directory (SVG, PNG, JPEG, GIF): its relative path and URL. TensorBoard does not show these.</summary>
/// <param name="Path">The file's path relative to the log directory, with <c>/</c> separators.</param>
/// <param name="Url">Relative URL that serves it (<c>files/…?v=…</c>; the <c>v</c> changes when the file is rewritten).</param>
public sealed record BoardPicture(string Path, string Url);

/// <summary>What <c>/api/pictures</c> returns: the files under the log directory that are not event files.</summary>
/// <param name="Playground">Every <c>descent playground --out</c> comparison found, in path order.</param>
/// <param name="Pictures">Every other picture, in path order.</param>
public sealed record BoardPictures(IReadOnlyList<BoardPlayground> Playground, IReadOnlyList<BoardPicture> Pictures);
