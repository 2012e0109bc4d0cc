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

    /// <summary>Hooks run once backward has finished accumulating this leaf's gradient; see <see cref="RegisterPostAccumulateGradHook"/>.</summary>
    internal Action<Tensor>? PostAccumulateGradHooks;

    /// <summary>
    /// Runs <paramref name="hook"/> (with this tensor) during every backward pass as soon as this leaf's gradient is
    /// complete for that pass, while the rest of backward still runs, like
    /// <c>tensor.register_post_accumulate_grad_hook(hook)</c>; a leaf the graph does not reach gets no call. Dispose
    /// the returned handle to remove the hook. Data-parallel training starts a gradient bucket's all-reduce here.
    /// </summary>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf) throw new InvalidOperationException("post-accumulate-grad hooks can only be registered on leaf tensors");
        PostAccumulateGradHooks += hook;
        Interlocked.Increment(ref Autodiff.Tape.HookedLeaves);
        return new HookHandle(this, hook);
    }

    private sealed class HookHandle(Tensor tensor, Action<Tensor> hook) : IDisposable
    {
        private bool _removed;

        public void Dispose()
        {
            if (_removed) return;
            _removed = true;
            tensor.PostAccumulateGradHooks -= hook;
            Interlocked.Decrement(ref Autodiff.Tape.HookedLeaves);
        }
    }

    /// <summary>Runs reverse-mode autodiff from this scalar (or with an explicit upstream gradient), like <c>tensor.backward()</c>.</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Autodiff.Tape.Backward(this, gradient, retainGraph);
}
