namespace Descent.Lab.Doctor;

/// <summary>How much a finding matters: an error stops training from working, a warning slows or harms it, info is worth knowing.</summary>
public enum Severity
{
    /// <summary>Worth knowing; does not make the setup unhealthy.</summary>
    Info,
    /// <summary>Training works worse than it could.</summary>
    Warning,
    /// <summary>Training cannot work as set up.</summary>
    Error,
}

/// <summary>
/// One result of <see cref="Doctor.Examine"/>: a stable kebab-case <paramref name="Id"/> (<c>lr-too-high</c>), its
/// <paramref name="Severity"/>, one sentence saying what is wrong, the numbers that show it (layer, parameter, step,
/// measured values) and one sentence saying what to change.
/// </summary>
public sealed record Finding(string Id, Severity Severity, string Message, IReadOnlyDictionary<string, object?> Evidence, string Fix);

/// <summary>One row of the model summary: a top-level layer, its output shape for one sample, its parameters and their bytes.</summary>
/// <param name="Name">The layer's name in the model (<c>0</c>, <c>1</c>, …, as in <c>named_children()</c>).</param>
/// <param name="Layer">The layer as it describes itself, e.g. <c>Linear(64 → 256)</c>.</param>
/// <param name="OutputShape">The output shape with the batch dimension as -1, like torchinfo.</param>
/// <param name="Parameters">Trainable scalars in the layer.</param>
/// <param name="Bytes">Memory of those parameters (float32).</param>
public sealed record LayerSummary(string Name, string Layer, int[] OutputShape, long Parameters, long Bytes);

/// <summary>
/// The model at a glance, like torchinfo's <c>summary()</c> or Keras' <c>model.summary()</c>: per-layer output shapes,
/// parameter counts and bytes, and the totals.
/// </summary>
public sealed record ModelSummary(int[] InputShape, IReadOnlyList<LayerSummary> Layers, long Parameters, long Bytes);

/// <summary>What <see cref="Doctor.Examine"/> found: the findings (errors first), the model summary and the learning-rate range test's curve.</summary>
/// <param name="Findings">Every finding, most severe first.</param>
/// <param name="Summary">The model summary.</param>
/// <param name="LrCurveSvg">The range test's loss against the learning rate as an SVG document, or null when the test did not run.</param>
/// <param name="Skipped">Ids of the checks left out because the time budget ran out.</param>
/// <param name="CheckSeconds">Wall time of each group of checks that ran, keyed by their ids (comma-separated).</param>
/// <param name="Seconds">Wall time of the examination.</param>
public sealed record DoctorReport(IReadOnlyList<Finding> Findings, ModelSummary Summary, string? LrCurveSvg, IReadOnlyList<string> Skipped,
    IReadOnlyDictionary<string, double> CheckSeconds, double Seconds)
{
    /// <summary>True when no finding is a warning or an error.</summary>
    public bool Healthy => Findings.All(f => f.Severity == Severity.Info);

    /// <summary>Whether a finding with <paramref name="id"/> was made.</summary>
    public bool Has(string id) => Findings.Any(f => f.Id == id);
}
