using System.Runtime.CompilerServices;

namespace Descent;

/// <summary>
/// A dense, row-major float32 tensor of any rank, like <c>torch.Tensor</c> with <c>dtype=torch.float32</c>.
/// Storage is a slice of a <see cref="float"/> array (<c>offset</c>, <c>Numel</c>), so a reshape or a
/// parameter living in a flat arena is a view that shares memory.
/// </summary>
/// <remarks>
/// This file is the storage half of a tensor and knows nothing of autodiff. The graph half
/// (<c>grad_fn</c>, <c>is_leaf</c>, <c>Backward</c>) lives with the tape in <c>Autodiff/Tensor.Autograd.cs</c>,
/// so the dependency runs one way: autodiff builds on tensors.
/// </remarks>
public partial class Tensor
{
    private float[]? _data;
    private int _offset;
    private readonly int[] _shape;
    private readonly int _numel;

    internal bool Pooled;

    /// <summary>Creates a tensor over an existing buffer (no copy).</summary>
    public Tensor(float[] data, int offset, params int[] shape)
    {
        _shape = (int[])shape.Clone();
        _numel = ShapeUtil.Numel(_shape);
        if (offset < 0 || offset + _numel > data.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] at offset {offset} does not fit a buffer of {data.Length} floats");
        _data = data;
        _offset = offset;
    }

    /// <summary>Wraps <paramref name="data"/> (no copy) with the given shape.</summary>
    public Tensor(float[] data, params int[] shape) : this(data, 0, shape) { }

    /// <summary>Wraps <paramref name="data"/> (no copy) with the given shape.</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => new(data, 0, shape);

    /// <summary>A new zero-filled tensor, like <c>torch.zeros</c>.</summary>
    public static Tensor Zeros(params int[] shape) => new(new float[ShapeUtil.Numel(shape)], 0, shape);

    /// <summary>A new tensor filled with <paramref name="value"/>, like <c>torch.full</c>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        t.Data.Fill(value);
        return t;
    }

    /// <summary>A 0-dimensional tensor holding one value.</summary>
    public static Tensor Scalar(float value) => new(new[] { value }, 0, []);

    /// <summary>The shape, like <c>tensor.shape</c>.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    internal int[] ShapeArray => _shape;

    /// <summary>Number of dimensions, like <c>tensor.dim()</c>.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements, like <c>tensor.numel()</c>.</summary>
    public int Numel => _numel;

    /// <summary>The elements in row-major order. Writing to it bypasses autodiff.</summary>
    public Span<float> Data
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_data ?? throw Released(), _offset, _numel);
    }

    /// <summary>The backing array (shared with views).</summary>
    internal float[] Buffer => _data ?? throw Released();

    /// <summary>Offset of element 0 in <see cref="Buffer"/>.</summary>
    internal int Offset => _offset;

    /// <summary>Whether autodiff tracks this tensor, like <c>requires_grad</c>.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The accumulated gradient, like <c>tensor.grad</c>; null until a backward pass reaches it.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The single value of a one-element tensor, like <c>tensor.item()</c>.</summary>
    public float Item()
    {
        if (_numel != 1) throw new InvalidOperationException($"Item() needs a tensor with one element, got shape {ShapeUtil.Format(_shape)}");
        return Data[0];
    }

    /// <summary>A copy of the elements.</summary>
    public float[] ToArray() => Data.ToArray();

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end), like <c>tensor.size(dim)</c>.</summary>
    public int Size(int dim) => _shape[ShapeUtil.NormalizeAxis(dim, Rank)];

    /// <summary>A tensor that shares storage but is cut off from the graph, like <c>tensor.detach()</c>.</summary>
    public Tensor Detach() => new(Buffer, _offset, _shape);

    /// <summary>A deep copy outside the graph, like <c>tensor.detach().clone()</c>.</summary>
    public Tensor Clone() => new(Data.ToArray(), 0, _shape);

    /// <summary>Points this tensor at another buffer; used when parameters move into a flat arena.</summary>
    internal void Rebind(float[] data, int offset)
    {
        _data = data;
        _offset = offset;
    }

    internal void Release()
    {
        if (_data is not null && Pooled) TensorPool.Return(_data);
        _data = null;
        Grad = null;
    }

    internal bool IsReleased => _data is null;

    private static InvalidOperationException Released() =>
        new("this tensor's buffer was recycled by Backward(); read intermediate values before calling Backward() or pass retainGraph: true");

    /// <inheritdoc />
    public override string ToString()
    {
        if (_data is null) return $"Tensor({ShapeUtil.Format(_shape)}, released)";
        var d = Data;
        int show = Math.Min(d.Length, 8);
        var vals = string.Join(", ", d[..show].ToArray().Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
        return $"Tensor({ShapeUtil.Format(_shape)}, [{vals}{(d.Length > show ? ", ..." : "")}]{(RequiresGrad ? ", requires_grad" : "")})";
    }
}
