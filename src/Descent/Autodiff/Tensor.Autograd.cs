namespace Descent;

/// <summary>
/// The autodiff half of <see cref="Tensor"/>: the op that made it and reverse-mode differentiation from it.
/// </summary>
/// <remarks>
/// Autodiff is define-by-run: an op whose inputs require gradients records a node on the current thread's
/// tape, and <see cref="Backward"/> walks that tape in reverse. After <see cref="Backward"/> the intermediate
/// tensors of the graph give their buffers back to a pool (as PyTorch frees the graph when
/// <c>retain_graph=False</c>); read any values you need before calling it.
/// </remarks>
public partial class Tensor
{
    /// <summary>The recorded op that produced this tensor (<c>grad_fn</c>), null for a leaf.</summary>
    internal Autodiff.Node? GradFn;

    /// <summary>True when the tensor was created by the user rather than by a recorded op (<c>is_leaf</c>).</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>Runs reverse-mode autodiff from this scalar (or with an explicit upstream gradient), like <c>tensor.backward()</c>.</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Autodiff.Tape.Backward(this, gradient, retainGraph);
}
