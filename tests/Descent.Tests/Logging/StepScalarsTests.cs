using Descent.Logging.TensorBoard;

namespace Descent.Tests.Logging;

/// <summary>
/// The per-step scalars a training loop logs (<c>AddScalarsAtStep</c>) are staged in blocks on the caller's
/// side; in the file they must still come in call order, interleaved with other records, and reach the file
/// on <see cref="SummaryWriter.Flush"/>.
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
            for (int step = 1; step <= 700; step++)
            {
                // Another tag set every 100 steps, and a plain scalar every 250: each ends a staged block.
                var tags = step % 100 == 0 ? lossOnly : stepTags;
                double[] values = [.. tags.Select((_, c) => step + c / 10.0)];
                writer.AddScalarsAtStep(tags, values, step);
                expected.AddRange(tags.Select((t, c) => (t, (long)step, (float)values[c])));
                if (step % 250 == 0)
                {
                    writer.AddScalar("epoch/loss", -step, step);
                    expected.Add(("epoch/loss", step, -step));
                }
            }
        }
        Assert.Equal(expected, Records(dir.Path));
    }

    [Fact]
    public void Flush_writes_the_staged_rows()
    {
        using var dir = new TempDirectory();
        using var writer = new SummaryWriter(dir.Path, flushSecs: 3600);
        string[] tags = ["a", "b"];
        for (int step = 0; step < 10; step++) writer.AddScalarsAtStep(tags, [step, 2 * step], step);
        writer.Flush();
        var records = Records(dir.Path);
        Assert.Equal(20, records.Count);
        Assert.Equal(("b", 9L, 18f), records[^1]);
    }

    [Fact]
    public void Tags_are_checked_and_a_bad_row_writes_nothing()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalarsAtStep(["ok"], [1], 1);
            var error = Assert.Throws<ArgumentException>(() => writer.AddScalarsAtStep(["fine", "bad\u0001tag"], [1, 2], 2));
            Assert.Contains("control character", error.Message);
            Assert.Throws<ArgumentException>(() => writer.AddScalarsAtStep(["a", "b"], [1], 3));
        }
        Assert.Equal([("ok", 1L, 1f)], Records(dir.Path));
    }

    [Fact]
    public void Normalized_tags_are_written_normalized()
    {
        using var dir = new TempDirectory();
        using (var writer = new SummaryWriter(dir.Path, normalizeTags: true))
            for (int step = 0; step < 3; step++) writer.AddScalarsAtStep(["loss (train)"], [step], step);
        Assert.Equal([("loss__train_", 0L, 0f), ("loss__train_", 1L, 1f), ("loss__train_", 2L, 2f)], Records(dir.Path));
    }
}
