namespace Descent.Autodiff;

/// <summary>One recorded op: its output, its inputs and the function that pushes the output's gradient to them.</summary>
internal sealed class Node
{
    public required Tensor Output;
    public required Tensor[] Inputs;
    /// <summary>Receives the output gradient; adds each input's contribution through <see cref="Tape.GradOf(Tensor)"/>.</summary>
    public required Action<Tensor> Backward;
    public required string Name;
    /// <summary>The layer that ran the op, recorded in anomaly mode only (for its messages).</summary>
    public string? Layer;
    /// <summary>Pooled index scratch the backward needs (e.g. max-pool argmax); recycled with the graph.</summary>
    public int[]? Indices;
    /// <summary>A pooled intermediate the backward reads (e.g. log-probabilities); recycled with the graph.</summary>
    public Tensor? Saved;
}

/// <summary>
/// The per-thread tape of a define-by-run graph. Ops append nodes in execution order, so the reverse of
/// the tape is a valid topological order: backward is a plain loop, never a recursion, whatever the depth.
/// </summary>
public static class Tape
{
    [ThreadStatic] private static List<Node>? _nodes;
    [ThreadStatic] private static int _noGradDepth;
    [ThreadStatic] private static int _anomalyDepth;

    /// <summary>In anomaly mode, the layer now running its forward (set by containers such as <c>Sequential</c>).</summary>
    [ThreadStatic] internal static string? CurrentLayer;

    /// <summary>
    /// Opens a scope of anomaly detection, like <c>with torch.autograd.detect_anomaly():</c>: every recorded op's output
    /// and, in backward, every gradient an op produces is checked, and the first NaN or infinity raises an
    /// <see cref="AnomalyDetectedException"/> naming the op, forward or backward, and the layer. Slow; for debugging.
    /// </summary>
    public static AnomalyScope DetectAnomaly() => new(true);

    /// <summary>True inside a <see cref="DetectAnomaly"/> scope.</summary>
    public static bool IsAnomalyEnabled => _anomalyDepth > 0;

    internal static void EnterAnomaly() => _anomalyDepth++;
    internal static void ExitAnomaly() => _anomalyDepth--;

    /// <summary>Leaves with a post-accumulate-grad hook; while 0, backward does not look for them.</summary>
    internal static int HookedLeaves;

    /// <summary>While backward runs on this thread, the number of recorded ops whose backward has yet to run; 0 otherwise.</summary>
    [ThreadStatic] internal static int BackwardRemaining;

    /// <summary>True when ops record the graph (outside every <see cref="NoGrad"/> scope).</summary>
    public static bool IsGradEnabled => _noGradDepth == 0;

    internal static List<Node> Nodes => _nodes ??= new List<Node>(256);

    /// <summary>Opens a scope in which no op is recorded, like <c>with torch.no_grad():</c>.</summary>
    public static NoGradScope NoGrad() => new(true);

    /// <summary>Number of nodes recorded and not yet consumed by a backward pass.</summary>
    public static int Count => _nodes?.Count ?? 0;

    internal static void EnterNoGrad() => _noGradDepth++;
    internal static void ExitNoGrad() => _noGradDepth--;

    /// <summary>Whether an op on these inputs must be recorded.</summary>
    internal static bool ShouldRecord(Tensor a) => _noGradDepth == 0 && a.RequiresGrad;
    internal static bool ShouldRecord(Tensor a, Tensor b) => _noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);
    internal static bool ShouldRecord(Tensor a, Tensor b, Tensor? c) => _noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad || (c?.RequiresGrad ?? false));

    /// <summary>A fresh output tensor for an op; pooled because the graph gives it back after backward.</summary>
    internal static Tensor NewOutput(int[] shape) => TensorPool.RentTensor(shape, clear: false);

    /// <summary>A fresh zero-filled output tensor for an op that accumulates into its output.</summary>
    internal static Tensor NewZeroedOutput(int[] shape) => TensorPool.RentTensor(shape, clear: true);

    /// <summary>Records <paramref name="output"/> as produced from <paramref name="inputs"/> with the given backward.</summary>
    internal static void Record(string name, Tensor output, Tensor[] inputs, Action<Tensor> backward, int[]? indices = null, Tensor? saved = null)
    {
        output.RequiresGrad = true;
        string? layer = null;
        if (_anomalyDepth > 0)
        {
            layer = CurrentLayer;
            if (FirstNonFinite(output.Data) is { } bad)
                throw new AnomalyDetectedException($"forward: op '{name}'{In(layer)} produced {bad} in its output of shape {ShapeUtil.Format(output.ShapeArray)}");
        }
        var node = new Node { Output = output, Inputs = inputs, Backward = backward, Name = name, Indices = indices, Saved = saved, Layer = layer };
        output.GradFn = node;
        Nodes.Add(node);
    }

    /// <summary>
    /// The gradient buffer of <paramref name="t"/>, created zero-filled on first use, or null when
    /// <paramref name="t"/> needs no gradient. Backward functions add into it.
    /// </summary>
    internal static Tensor? GradOf(Tensor t)
    {
        if (!t.RequiresGrad) return null;
        if (t.Grad is null)
        {
            t.Grad = t.IsLeaf ? Tensor.Zeros(t.ShapeArray) : TensorPool.RentTensor(t.ShapeArray, clear: true);
        }
        return t.Grad;
    }

    /// <summary>
    /// <see cref="GradOf(Tensor)"/> for an op that can write its contribution instead of adding it: when the
    /// buffer of an intermediate is created by this call, its contents are undefined and
    /// <paramref name="accumulate"/> is false, so the op must overwrite every element (PyTorch likewise assigns a
    /// first gradient rather than adding it to zeros); this saves clearing the buffer and reading it back. Otherwise
    /// <paramref name="accumulate"/> is true and the op adds, as with <see cref="GradOf(Tensor)"/>.
    /// </summary>
    internal static Tensor? GradOf(Tensor t, out bool accumulate)
    {
        accumulate = true;
        if (!t.RequiresGrad) return null;
        if (t.Grad is null && !t.IsLeaf)
        {
            t.Grad = TensorPool.RentTensor(t.ShapeArray, clear: false);
            accumulate = false;
            return t.Grad;
        }
        return GradOf(t);
    }

    internal static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("Backward() on a tensor that does not require grad: no parameter or input with RequiresGrad took part in computing it (or it was computed inside NoGrad)");
        if (root.IsReleased)
            throw new InvalidOperationException("Backward() on a graph that was already consumed; pass retainGraph: true to the first Backward() to run it twice");
        if (gradient is null && root.Numel != 1)
            throw new InvalidOperationException($"Backward() without a gradient needs a scalar output, got shape {ShapeUtil.Format(root.ShapeArray)}");
        if (gradient is not null && !ShapeUtil.SameShape(gradient.Shape, root.Shape))
            throw new ArgumentException($"gradient shape {ShapeUtil.Format(gradient.ShapeArray)} does not match output shape {ShapeUtil.Format(root.ShapeArray)}");

        var nodes = Nodes;
        var g = GradOf(root)!;
        if (gradient is null) g.Data.Fill(1f);
        else gradient.Data.CopyTo(g.Data);

        var hooked = HookedLeaves > 0 ? LeavesByFirstUse(nodes) : null;
        int nextHooked = hooked is null ? 0 : hooked.Count - 1;
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            var node = nodes[i];
            var og = node.Output.Grad;
            if (og is not null && !node.Output.IsReleased)
            {
                node.Backward(og);
                if (_anomalyDepth > 0) CheckGradients(node);
            }
            // A leaf's gradient is complete once the earliest op that read it has pushed its share.
            for (; hooked is not null && nextHooked >= 0 && hooked[nextHooked].Node == i; nextHooked--)
            {
                BackwardRemaining = i;
                var leaf = hooked[nextHooked].Leaf;
                leaf.PostAccumulateGradHooks?.Invoke(leaf);
            }
        }
        BackwardRemaining = 0;

        // Gradients of intermediates are never kept (PyTorch keeps them only with retain_grad), so a
        // retained graph starts its next backward from clean buffers.
        for (int i = 0; i < nodes.Count; i++)
        {
            var o = nodes[i].Output;
            if (o.Grad is { IsReleased: false } og) og.Release();
            o.Grad = null;
        }
        if (retainGraph) return;
        for (int i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            var o = node.Output;
            if (node.Indices is not null) TensorPool.ReturnIndices(node.Indices);
            node.Saved?.Release();
            o.GradFn = null;
            if (!ReferenceEquals(o, root)) o.Release();
        }
        nodes.Clear();
    }

    /// <summary>The hooked leaves the graph reads, each with the index of the first op that reads it, in tape order.</summary>
    private static List<(int Node, Tensor Leaf)> LeavesByFirstUse(List<Node> nodes)
    {
        var result = new List<(int, Tensor)>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < nodes.Count; i++)
            foreach (var input in nodes[i].Inputs)
                if (input.PostAccumulateGradHooks is not null && input.IsLeaf && input.RequiresGrad && seen.Add(input)) result.Add((i, input));
        return result;
    }

    /// <summary>
    /// Anomaly mode, after an op's backward: its output gradient was finite (checked when the op that produced it ran),
    /// so a non-finite input gradient now is this op's doing.
    /// </summary>
    private static void CheckGradients(Node node)
    {
        for (int k = 0; k < node.Inputs.Length; k++)
            if (node.Inputs[k].Grad is { } grad && FirstNonFinite(grad.Data) is { } bad)
                throw new AnomalyDetectedException($"backward: op '{node.Name}'{In(node.Layer)} produced {bad} in the gradient of its input {k} (shape {ShapeUtil.Format(grad.ShapeArray)})");
    }

    private static string In(string? layer) => layer is null ? "" : $" in layer {layer}";

    private static string? FirstNonFinite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!float.IsFinite(v)) return float.IsNaN(v) ? "NaN" : v > 0 ? "inf" : "-inf";
        return null;
    }

    /// <summary>Drops every recorded node without running backward (e.g. after an evaluation forward with grad on).</summary>
    public static void Clear()
    {
        var nodes = Nodes;
        foreach (var n in nodes) n.Output.GradFn = null;
        nodes.Clear();
    }
}

/// <summary>A scope of anomaly detection (<see cref="Tape.DetectAnomaly"/>); dispose it to leave. Nests.</summary>
public readonly struct AnomalyScope : IDisposable
{
    private readonly bool _active;
    internal AnomalyScope(bool active)
    {
        _active = active;
        if (active) Tape.EnterAnomaly();
    }
    /// <inheritdoc />
    public void Dispose()
    {
        if (_active) Tape.ExitAnomaly();
    }
}

/// <summary>
/// Raised in anomaly mode (<see cref="Tape.DetectAnomaly"/>) by the first op whose output (forward) or input gradient
/// (backward) holds a NaN or an infinity; the message names the op, the direction and the layer.
/// </summary>
public sealed class AnomalyDetectedException(string message) : Exception(message);

/// <summary>A scope in which autodiff records nothing; dispose it to leave. Nests.</summary>
public readonly struct NoGradScope : IDisposable
{
    private readonly bool _active;
    internal NoGradScope(bool active)
    {
        _active = active;
        if (active) Tape.EnterNoGrad();
    }
    /// <inheritdoc />
    public void Dispose()
    {
        if (_active) Tape.ExitNoGrad();
    }
}
