using System.CommandLine;
using System.Globalization;
using Descent.TensorBoard;
using Descent.TensorBoard.Proto;

namespace Descent.Cli.Commands;

/// <summary>
/// <c>descent events DIR</c>: what a TensorBoard log directory holds — runs, tags, counts and last values —
/// without starting TensorBoard. Reads Descent's and PyTorch's event files alike.
/// </summary>
public static class EventsCommand
{
    private const int TextPreview = 60;

    public static Command Create(TextWriter stdout)
    {
        var cmd = new Command("events", "List the runs, tags, record counts and last values of a TensorBoard log directory.");
        var dir = new Argument<string>("DIR") { Description = "A log directory (every directory below it with event files is a run), a run directory or one event file" };
        cmd.Arguments.Add(dir);
        cmd.SetAction(parse =>
        {
            Print(parse.GetValue(dir)!, stdout);
            return 0;
        });
        return cmd;
    }

    private static void Print(string logDir, TextWriter stdout)
    {
        var runs = EventFileReader.ReadLogDir(logDir);
        if (runs.Count == 0)
            throw new ArgumentException($"'{Printable.Escape(logDir)}' holds no event files (TensorBoard reads files whose names contain '{EventFileReader.EventFileMarker}')");
        int files = runs.Sum(r => r.Files.Count), records = runs.Sum(r => r.RecordCount);
        // Names and texts come from the files (and directory names): control characters in them are printed as escapes,
        // so that a hostile file cannot move the cursor, clear the screen or break the table.
        stdout.WriteLine($"{Printable.Escape(logDir)}: {Count(runs.Count, "run")}, {Count(files, "event file")}, {Count(records, "record")}");
        foreach (var run in runs)
        {
            stdout.WriteLine();
            stdout.WriteLine($"run {Printable.Escape(run.Name)}  ({Count(run.Files.Count, "file")}, {Count(run.RecordCount, "record")})");
            var rows = run.Tags.Select(t => (Kind: KindName(t.Kind), Tag: Printable.Escape(t.Tag), Count: t.Count.ToString(CultureInfo.InvariantCulture),
                Step: t.LastStep.ToString(CultureInfo.InvariantCulture), Value: Printable.Escape(LastValue(run, t)))).ToList();
            if (rows.Count == 0)
            {
                stdout.WriteLine("  no summaries");
            }
            else
            {
                int kindWidth = Math.Max(4, rows.Max(r => r.Kind.Length));
                int tagWidth = Math.Max(3, rows.Max(r => r.Tag.Length));
                int countWidth = Math.Max(5, rows.Max(r => r.Count.Length));
                int stepWidth = Math.Max(9, rows.Max(r => r.Step.Length));
                stdout.WriteLine($"  {"kind".PadRight(kindWidth)}  {"tag".PadRight(tagWidth)}  {"count".PadLeft(countWidth)}  {"last step".PadLeft(stepWidth)}  last value");
                foreach (var r in rows)
                    stdout.WriteLine($"  {r.Kind.PadRight(kindWidth)}  {r.Tag.PadRight(tagWidth)}  {r.Count.PadLeft(countWidth)}  {r.Step.PadLeft(stepWidth)}  {r.Value}");
            }
            foreach (var file in run.Files.Where(f => f.PartialTailBytes > 0))
                stdout.WriteLine($"  note: {Printable.Escape(Path.GetFileName(file.Path))} ends in an incomplete record of {file.PartialTailBytes} bytes (still being written, or cut off)");
        }
    }

    private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static string KindName(TagKind kind) => kind switch
    {
        TagKind.Scalar => "scalar",
        TagKind.Histogram => "histogram",
        TagKind.Image => "image",
        TagKind.Text => "text",
        TagKind.HParams => "hparams",
        _ => "other",
    };

    private static string LastValue(EventRun run, TagSummary tag)
    {
        switch (tag.Kind)
        {
            case TagKind.Scalar when run.Scalars.TryGetValue(tag.Tag, out var scalars):
                return Number(scalars[^1].Value);
            case TagKind.Histogram when run.Histograms.TryGetValue(tag.Tag, out var histograms):
                var h = histograms[^1];
                string mean = h.Count > 0 && double.IsFinite(h.Sum) ? $" mean {Number(h.Sum / h.Count)}" : "";
                return $"n {Number(h.Count)} min {Number(h.Min)} max {Number(h.Max)}{mean}";
            case TagKind.Image when run.Images.TryGetValue(tag.Tag, out var images):
                var image = images[^1];
                return $"{image.Width}×{image.Height} {ImageType(image.Encoded)}, {image.Encoded.Length} bytes";
            case TagKind.Text when run.Texts.TryGetValue(tag.Tag, out var texts):
                string text = string.Join(" ", texts[^1].Text.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
                return "\"" + (text.Length > TextPreview ? text[..TextPreview] + "…" : text) + "\"";
            case TagKind.HParams when run.HParams is { } hp:
                return tag.Tag switch
                {
                    "_hparams_/experiment" when hp.Experiment is { } e => $"{Count(e.HparamInfos.Count, "hparam")}, {Count(e.MetricInfos.Count, "metric")}: {string.Join(", ", e.MetricInfos.Select(m => m.Name?.Tag))}",
                    "_hparams_/session_start_info" => string.Join(", ", hp.HParams.Select(p => $"{p.Key}={HParam(p.Value)}")),
                    "_hparams_/session_end_info" when hp.SessionEnd is { } end => "status " + Status(end.Status),
                    _ => "",
                };
            default:
                return "";
        }
    }

    private static string ImageType(byte[] encoded) =>
        encoded.AsSpan().StartsWith(PngEncoder.Signature) ? "PNG" :
        encoded is [0xFF, 0xD8, ..] ? "JPEG" :
        encoded is [(byte)'G', (byte)'I', (byte)'F', ..] ? "GIF" : "image";

    private static string Status(SessionStatus status) => status switch
    {
        SessionStatus.StatusSuccess => "success",
        SessionStatus.StatusFailure => "failure",
        SessionStatus.StatusRunning => "running",
        _ => "unknown",
    };

    private static string HParam(object value) => value switch
    {
        double d => Number(d),
        bool b => b ? "true" : "false",
        _ => value.ToString() ?? "",
    };

    private static string Number(double v) =>
        double.IsNaN(v) ? "nan" : double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : v.ToString("G6", CultureInfo.InvariantCulture);
}
