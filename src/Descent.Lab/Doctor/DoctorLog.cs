using System.Globalization;
using System.Text;
using System.Text.Json;
using Descent.TensorBoard;

namespace Descent.Lab.Doctor;

/// <summary>
/// Writes a <see cref="DoctorReport"/> into a TensorBoard run (<c>descent doctor --logdir</c>): the findings and the
/// model summary as text, the probe run's instruments as scalars and histograms.
/// </summary>
/// <remarks>
/// <para>Text, at step 0: <c>findings/{id}</c>, one per finding (Markdown: severity, id, message, evidence, fix; a
/// second finding with the same id gets <c>findings/{id}_2</c>), and <c>summary</c>, the model summary as a table
/// with the verdict.</para>
/// <para>Scalars over the probe's steps 1, 2, …: <c>grad_norm/{parameter}</c> (‖∇θ‖₂ before the step) and
/// <c>update_ratio/{parameter}</c> (‖Δθ‖/‖θ‖, weight matrices only). At the probe's last step: histograms
/// <c>grads/{parameter}</c> (that step's gradient) and <c>activations/{layer}</c>, and the scalars
/// <c>activation_mean/{layer}</c>, <c>activation_std/{layer}</c> and <c>activation_active/{layer}</c> (fraction of
/// outputs that pass a gradient) of every activation layer on the activation checks' batch.</para>
/// </remarks>
public static class DoctorLog
{
    /// <summary>How evidence is written as JSON (NaN and infinities as named literals), here and by the doctor command.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Writes <paramref name="report"/> through <paramref name="writer"/> (which stays the caller's to flush and dispose).</summary>
    public static void Write(DoctorReport report, SummaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(writer);
        var seen = new Dictionary<string, int>();
        foreach (var f in report.Findings)
        {
            int n = seen[f.Id] = seen.GetValueOrDefault(f.Id) + 1;
            writer.AddText(n == 1 ? $"findings/{f.Id}" : $"findings/{f.Id}_{n}", Markdown(f));
        }
        writer.AddText("summary", SummaryMarkdown(report));
        if (report.Instruments is not { } instruments) return;
        foreach (var p in instruments.Parameters)
        {
            for (int i = 0; i < p.GradNorms.Count; i++) writer.AddScalar($"grad_norm/{p.Name}", p.GradNorms[i], i + 1);
            for (int i = 0; i < p.UpdateRatios.Count; i++)
                if (!double.IsNaN(p.UpdateRatios[i])) writer.AddScalar($"update_ratio/{p.Name}", p.UpdateRatios[i], i + 1);
            if (p.LastGradient.Length > 0) writer.AddHistogram($"grads/{p.Name}", p.LastGradient, instruments.Steps);
        }
        foreach (var a in instruments.Activations)
        {
            writer.AddScalar($"activation_mean/{a.Layer}", a.Mean, instruments.Steps);
            writer.AddScalar($"activation_std/{a.Layer}", a.Std, instruments.Steps);
            writer.AddScalar($"activation_active/{a.Layer}", a.FractionActive, instruments.Steps);
            if (a.Values.Length > 0) writer.AddHistogram($"activations/{a.Layer}", a.Values, instruments.Steps);
        }
    }

    /// <summary>A finding as Markdown: severity and id, the message, the evidence as JSON, the fix.</summary>
    public static string Markdown(Finding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        return $"**{finding.Severity.ToString().ToLowerInvariant()}** `{finding.Id}`\n\n{finding.Message}\n\n" +
            $"**Evidence:** `{JsonSerializer.Serialize(finding.Evidence, JsonOptions)}`\n\n**Fix:** {finding.Fix}";
    }

    /// <summary>The model summary as a Markdown table, then the totals and the verdict.</summary>
    private static string SummaryMarkdown(DoctorReport report)
    {
        static string Shape(int[] s) => "[" + string.Join(", ", s) + "]";
        var s = report.Summary;
        var text = new StringBuilder("| layer | output shape | parameters | bytes |\n|---|---|---:|---:|\n");
        text.Append(CultureInfo.InvariantCulture, $"| input | {Shape(s.InputShape)} | | |\n");
        foreach (var l in s.Layers) text.Append(CultureInfo.InvariantCulture, $"| {l.Name} {l.Layer} | {Shape(l.OutputShape)} | {l.Parameters} | {l.Bytes} |\n");
        int serious = report.Findings.Count(f => f.Severity != Severity.Info);
        text.Append(CultureInfo.InvariantCulture, $"\nTotal: {s.Parameters} parameters, {s.Bytes} bytes (float32). ");
        text.Append(report.Healthy ? "Healthy." : $"{serious} problem(s).");
        if (report.Skipped.Count > 0) text.Append(CultureInfo.InvariantCulture, $" Skipped (over the budget): {string.Join(", ", report.Skipped)}.");
        return text.ToString();
    }
}
