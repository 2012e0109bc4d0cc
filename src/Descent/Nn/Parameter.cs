namespace Descent.Nn;

/// <summary>
/// A trainable tensor, like <c>nn.Parameter</c>: <see cref="Tensor.RequiresGrad"/> is on, and its gradient
/// accumulates across backward passes until <c>ZeroGrad</c>. Once an optimizer (or
/// <see cref="ParameterArena.Pack"/>) takes it, its data and gradient are views into one flat buffer each.
/// </summary>
public sealed class Parameter : Tensor
{
    /// <summary>A zero-filled parameter of the given shape.</summary>
    public Parameter(params int[] shape) : base(new float[ShapeUtil.Numel(shape)], 0, shape) => RequiresGrad = true;

    /// <summary>A parameter over a copy of <paramref name="data"/>'s values.</summary>
    public Parameter(Tensor data) : base(data.Data.ToArray(), 0, data.ShapeArray) => RequiresGrad = true;

    /// <summary>The arena that holds this parameter, once packed.</summary>
    public ParameterArena? Arena { get; internal set; }
}
