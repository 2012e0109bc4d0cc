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
/// <param name="Instruments">What the probe run measured per parameter and per activation layer, or null when it did not run (over the budget).</param>
public sealed record DoctorReport(IReadOnlyList<Finding> Findings, ModelSummary Summary, string? LrCurveSvg, IReadOnlyList<string> Skipped,
    IReadOnlyDictionary<string, double> CheckSeconds, double Seconds, ProbeInstruments? Instruments = null)
{
    /// <summary>True when no finding is a warning or an error.</summary>
    public bool Healthy => Findings.All(f => f.Severity == Severity.Info);

    /// <summary>Whether a finding with <paramref name="id"/> was made.</summary>
    public bool Has(string id) => Findings.Any(f => f.Id == id);
}

/// <summary>
/// One parameter during the probe run: its gradient's L2 norm at every step (before the optimizer step), and for a
/// weight matrix (rank 2 or more) the update ratio ‖Δθ‖/‖θ‖ of every step. Entry <c>i</c> is step <c>i + 1</c>.
/// </summary>
/// <param name="Name">The parameter's <c>named_parameters()</c> name, e.g. <c>0.weight</c>.</param>
/// <param name="GradNorms">‖∇θ‖₂ per step.</param>
/// <param name="UpdateRatios">‖Δθ‖/‖θ‖ per step (NaN where ‖θ‖ was zero); empty for biases and other vectors, whose norm may start at zero.</param>
/// <param name="LastGradient">The gradient of the probe's last step.</param>
public sealed record ParameterTrace(string Name, IReadOnlyList<double> GradNorms, IReadOnlyList<double> UpdateRatios, float[] LastGradient);

/// <summary>
/// The output of one activation layer after the probe run, on the batch the activation checks use.
/// <paramref name="FractionActive"/> is the fraction of outputs that pass a gradient: above zero for the ReLU family,
/// off the rails (those <c>saturation</c> counts) for sigmoid and tanh.
/// </summary>
/// <param name="Layer">The layer's name in the model (<c>1</c>, <c>3</c>, …).</param>
/// <param name="Activation">The activation, lower case (<c>relu</c>, <c>tanh</c>, …).</param>
/// <param name="Mean">Mean of the outputs.</param>
/// <param name="Std">Standard deviation of the outputs.</param>
/// <param name="FractionActive">Fraction of the outputs that pass a gradient.</param>
/// <param name="Values">The outputs themselves, for a histogram.</param>
public sealed record ActivationStats(string Layer, string Activation, double Mean, double Std, double FractionActive, float[] Values);

/// <summary>
/// The instruments of <see cref="Doctor.Examine"/>'s probe run (the first optimizer steps of the real training), what
/// <c>descent doctor --logdir</c> writes as TensorBoard scalars and histograms.
/// </summary>
/// <param name="Steps">Optimizer steps the probe took (fewer than planned when a non-finite value stopped it).</param>
/// <param name="Parameters">Per parameter, in <c>named_parameters()</c> order: gradient norms and update ratios per step.</param>
/// <param name="Activations">Per activation layer, in forward order; empty when the probe stopped on a non-finite value.</param>
public sealed record ProbeInstruments(int Steps, IReadOnlyList<ParameterTrace> Parameters, IReadOnlyList<ActivationStats> Activations);
