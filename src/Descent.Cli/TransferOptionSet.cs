using System.CommandLine;
using System.Globalization;
using Descent.Nn;
using Descent.Optim;

namespace Descent.Cli;

/// <summary>
/// <c>train</c>'s options for starting from a trained model: <c>--init-from</c> (load what fits),
/// <c>--freeze</c> (keep layers out of training) and <c>--lr-backbone</c> (a learning rate of its own for the loaded
/// layers that still train).
/// </summary>
internal sealed class TransferOptionSet
{
    public readonly Option<string?> InitFrom = new("--init-from") { Description = "Start from this .safetensors model: load every tensor whose name and shape match, leave the rest (e.g. a new output layer) at its initializer" };
    public readonly Option<string?> Freeze = new("--freeze") { Description = "Layers to freeze (no gradient, not in the optimizer): indices or names, e.g. 0,2 or until:4 (every layer before index 4)" };
    public readonly Option<double?> LrBackbone = new("--lr-backbone") { Description = "Learning rate of the loaded layers that are not frozen (a second parameter group; the new layers use --lr)" };

    public IEnumerable<Option> All => [InitFrom, Freeze, LrBackbone];

    /// <summary>Checks the options before any data loads; the model-dependent checks come in <see cref="TransferSettings.ParameterGroups"/>.</summary>
    public TransferSettings Settings(ParseResult parse)
    {
        var initFrom = parse.GetValue(InitFrom);
        if (initFrom is not null && !File.Exists(initFrom)) throw new UsageException($"--init-from {initFrom}: no such file");
        var lrBackbone = parse.GetValue(LrBackbone);
        if (lrBackbone is { } lr && (!(lr >= 0) || !double.IsFinite(lr))) throw new UsageException($"--lr-backbone must be a non-negative number, got {lr.ToString(CultureInfo.InvariantCulture)}");
        if (lrBackbone is not null && initFrom is null) throw new UsageException("--lr-backbone sets the learning rate of the layers --init-from loads; give --init-from too");
        return new TransferSettings(initFrom, parse.GetValue(Freeze), lrBackbone);
    }
}

/// <summary>What <see cref="TransferOptionSet"/> read; <see cref="ParameterGroups"/> applies it to the built model.</summary>
internal sealed record TransferSettings(string? InitFrom, string? Freeze, double? LrBackbone)
{
    /// <summary>
    /// Loads what fits from <see cref="InitFrom"/>, freezes <see cref="Freeze"/>, prints what it did, and returns the
    /// parameter groups to build the optimizer on: the trainable parameters with <c>--lr</c>, or with
    /// <see cref="LrBackbone"/> the new layers first and the loaded ones as a second group at their own learning rate.
    /// </summary>
    public IReadOnlyList<ParamGroupSpec> ParameterGroups(Module model, TextWriter stdout)
    {
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        if (InitFrom is not null)
        {
            var report = model.LoadMatching(InitFrom);
            loaded.UnionWith(report.Loaded);
            stdout.WriteLine($"init from {InitFrom}: loaded {Count(report.Loaded.Count, "tensor")}{List(report.Loaded)}");
            if (report.Skipped.Count > 0)
                stdout.WriteLine($"  skipped {report.Skipped.Count}, shape differs: {string.Join("; ", report.Skipped.Select(s => $"{s.Name} {ShapeUtil.Format(s.FileShape)} in the file, {ShapeUtil.Format(s.ModelShape)} here"))}");
            if (report.Left.Count > 0) stdout.WriteLine($"  left at their initializer (not in the file): {string.Join(", ", report.Left)}");
            if (report.Unused.Count > 0) stdout.WriteLine($"  in the file but not in this model: {string.Join(", ", report.Unused)}");
        }
        if (Freeze is not null)
        {
            IReadOnlyList<string> frozen;
            try
            {
                frozen = model.Freeze(FreezeSpec.Parse(Freeze, model));
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--freeze {Freeze}: {e.Message}");
            }
            if (model.TrainableParameters().Count == 0) throw new UsageException($"--freeze {Freeze} freezes every parameter; nothing is left to train");
            long values = model.NamedParameters().Where(p => frozen.Contains(p.Name)).Sum(p => (long)p.Parameter.Numel);
            stdout.WriteLine(FormattableString.Invariant($"frozen: {string.Join(", ", frozen)} ({values:N0} values)"));
        }
        var trainable = model.NamedParameters().Where(p => p.Parameter.RequiresGrad).ToList();
        if (LrBackbone is not { } lrBackbone) return [new ParamGroupSpec("all", trainable.Select(p => p.Parameter).ToList())];
        var backbone = trainable.Where(p => loaded.Contains(p.Name)).Select(p => p.Parameter).ToList();
        var head = trainable.Where(p => !loaded.Contains(p.Name)).Select(p => p.Parameter).ToList();
        if (backbone.Count == 0) throw new UsageException("--lr-backbone: no loaded layer is left to train (all are frozen or none loaded)");
        stdout.WriteLine(FormattableString.Invariant($"parameter groups: new layers at --lr ({Count(head.Count, "tensor")}), loaded layers at --lr-backbone {lrBackbone:G4} ({Count(backbone.Count, "tensor")})"));
        return head.Count == 0
            ? [new ParamGroupSpec("backbone", backbone, lrBackbone)]
            : [new ParamGroupSpec("head", head), new ParamGroupSpec("backbone", backbone, lrBackbone)];
    }

    private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static string List(IReadOnlyList<string> names) => names.Count == 0 ? "" : $" ({string.Join(", ", names)})";
}
