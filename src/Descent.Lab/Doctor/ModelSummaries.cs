using Descent.Autodiff;
using Descent.Nn;

namespace Descent.Lab.Doctor;

/// <summary>Builds the <see cref="ModelSummary"/> of a model by running one sample through it, layer by layer.</summary>
public static class ModelSummaries
{
    /// <summary>The summary of <paramref name="model"/> for samples of <paramref name="sampleShape"/> (one zero sample runs through it in evaluation mode).</summary>
    public static ModelSummary Of(Module model, IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool wasTraining = model.Training;
        model.Eval();
        var rows = new List<LayerSummary>();
        using (Tape.NoGrad())
        {
            var x = Tensor.Zeros([1, .. sampleShape]);
            foreach (var (name, layer) in Doctor.Layers(model))
            {
                x = layer.Forward(x);
                long count = layer.ParameterCount;
                rows.Add(new LayerSummary(name, layer.Describe(), [-1, .. x.Shape[1..]], count, count * sizeof(float)));
            }
        }
        model.Train(wasTraining);
        long total = model.ParameterCount;
        return new ModelSummary([-1, .. sampleShape], rows, total, total * sizeof(float));
    }

    /// <summary>The summary as a table, one layer a line, then the totals.</summary>
    public static string Format(ModelSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        string Shape(int[] s) => "[" + string.Join(", ", s) + "]";
        int w = Math.Max(20, summary.Layers.Select(l => l.Name.Length + l.Layer.Length + 3).DefaultIfEmpty(0).Max());
        var lines = new List<string> { $"{"layer".PadRight(w)}  {"output shape",-18} {"params",10} {"bytes",12}" };
        lines.Add($"{"input".PadRight(w)}  {Shape(summary.InputShape),-18} {"",10} {"",12}");
        foreach (var l in summary.Layers)
            lines.Add($"{$"{l.Name} {l.Layer}".PadRight(w)}  {Shape(l.OutputShape),-18} {l.Parameters,10:N0} {l.Bytes,12:N0}");
        lines.Add($"total: {summary.Parameters:N0} parameters, {summary.Bytes:N0} bytes (float32)");
        return string.Join(Environment.NewLine, lines);
    }
}
