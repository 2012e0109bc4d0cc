using Descent.TensorBoard;

namespace Descent.Tests.Logging;

/// <summary>
/// The per-step scalars a training loop logs are kept in blocks (<see cref="ScalarRows"/>) on the caller's
/// side and handed over now and then; in the file they must still come in call order, interleaved with
/// other records, and reach the file on <see cref="SummaryWriter.Flush"/>.
/// </summary>
public class StepScalarsTests
{
    private static List<(string Tag, long Step, float Value)> Records(string dir)
    {
        var records = new List<(string, long, float)>();
        foreach (var file in Directory.EnumerateFiles(dir).Where(EventFileReader.IsEventFile).Order())
            foreach (var (_, evt) in EventFileReader.ReadFile(file).Events)
                if (evt.Summary is { } summary)
                    foreach (var value in summary.Value)
                        records.Add((value.Tag, evt.Step, value.SimpleValue));
        return records;
    }

    [Fact]
    public void Rows_keep_call_order_across_blocks_tag_changes_and_other_records()
    {
        using var dir = new TempDirectory();
        string[] stepTags = ["train/loss", "train/accuracy", "train/lr"];
        string[] lossOnly = ["train/loss", "train/accuracy"];
        var expected = new List<(string, long, float)>();
        using (var writer = new SummaryWriter(dir.Path))
        {
            var rows = new ScalarRows(stepTags);
            for (int step = 1; step <= 700; step++)
            {
                // Another tag set every 100 steps, a plain scalar every 250, a full block now and then.
                var tags = step % 100 == 0 ? lossOnly : stepTags;
                if (!ReferenceEquals(rows.Tags, tags) || rows.Count == 64) rows = writer.AddScalarRows(rows, tags);
                double[] values = [.. tags.Select((_, c) => step + c / 10.0)];
                rows.Add(values, step, SummaryWriter.UnixNow());
                expected.AddRange(tags.Select((t, c) => (t, (long)step, (float)values[c])));
                if (step % 250 == 0)
                {
                    rows = writer.AddScalarRows(rows);
                    writer.AddScalar("epoch/loss", -step, step);
                    expected.Add(("epoch/loss", step, -step));
                }
            }
            writer.AddScalarRows(rows);
        }
        Assert.Equal(expected, Records(dir.Path));
    }

    [Fact]
    public void A_block_is_due_when_full_or_a_second_old_and_grows_to_its_limit()
    {
        var rows = new ScalarRows(["a"]);
        Assert.False(rows.IsDue(0));
        rows.Add([1], 1, wallTime: 100);
        Assert.False(rows.IsDue(100.999));
        Assert.True(rows.IsDue(101));
        for (int step = 2; step <= ScalarRows.MaxRows; step++) rows.Add([step], step, 100);
        Assert.True(rows.IsDue(100));
        Assert.Throws<InvalidOperationException>(() => rows.Add([0], 0, 100));
        Assert.Throws<ArgumentException>(() => new ScalarRows(["a", "b"]).Add([1], 1, 0));
    }

    [Fact]
    public void Flush_writes_the_rows_handed_over()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path, flushSecs: 3600);
        var rows = new ScalarRows(["a", "b"]);
        for (int step = 0; step < 10; step++) rows.Add([step, 2 * step], step, 0);
        var next = writer.AddScalarRows(rows);
        Assert.Equal(0, next.Count);
        Assert.Equal(["a", "b"], next.Tags);
        writer.Flush();
        var records = Records(dir.Path);
        Assert.Equal(20, records.Count);
        Assert.Equal(("b", 9L, 18f), records[^1]);
    }

    [Fact]
    public void Tags_are_checked_and_a_bad_block_writes_nothing()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path))
        {
            var good = new ScalarRows(["ok"]);
            good.Add([1], 1, 0);
            writer.AddScalarRows(good);
            var bad = new ScalarRows(["fine", "bad\u0001tag"]);
            bad.Add([1, 2], 2, 0);
            var error = Assert.Throws<ArgumentException>(() => writer.AddScalarRows(bad));
            Assert.Contains("control character", error.Message);
        }
        Assert.Equal([("ok", 1L, 1f)], Records(dir.Path));
    }

    [Fact]
    public void Normalized_tags_are_written_normalized()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path, normalizeTags: true))
        {
            var rows = new ScalarRows(["loss (train)"]);
            for (int step = 0; step < 3; step++) rows.Add([step], step, 0);
            writer.AddScalarRows(rows);
        }
        Assert.Equal([("loss__train_", 0L, 0f), ("loss__train_", 1L, 1f), ("loss__train_", 2L, 2f)], Records(dir.Path));
    }
}
