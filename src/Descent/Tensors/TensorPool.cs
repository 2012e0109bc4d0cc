namespace Descent;

/// <summary>
/// Recycles the float buffers of intermediate tensors so that a steady-state training step allocates no
/// large arrays. Buffers are keyed by exact length: a training loop asks for the same sizes every step.
/// </summary>
internal static class TensorPool
{
    /// <summary>Buffers shorter than this are plain allocations: pooling them saves nothing.</summary>
    public const int MinPooledLength = 256;

    [ThreadStatic] private static Dictionary<int, Stack<float[]>>? _free;

    /// <summary>A buffer of exactly <paramref name="length"/> floats; contents are undefined unless <paramref name="clear"/>.</summary>
    public static float[] Rent(int length, bool clear, out bool pooled)
    {
        pooled = length >= MinPooledLength;
        if (!pooled) return new float[length];
        _free ??= new Dictionary<int, Stack<float[]>>();
        if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
        {
            var buf = stack.Pop();
            if (clear) Array.Clear(buf);
            return buf;
        }
        return GC.AllocateUninitializedArray<float>(length) is var fresh && clear ? ClearAndReturn(fresh) : fresh;
    }

    private static float[] ClearAndReturn(float[] a)
    {
        Array.Clear(a);
        return a;
    }

    public static void Return(float[] buffer)
    {
        if (buffer.Length < MinPooledLength) return;
        _free ??= new Dictionary<int, Stack<float[]>>();
        if (!_free.TryGetValue(buffer.Length, out var stack)) _free[buffer.Length] = stack = new Stack<float[]>();
        stack.Push(buffer);
    }

    [ThreadStatic] private static Dictionary<int, Stack<int[]>>? _freeIndices;

    /// <summary>An index buffer of exactly <paramref name="length"/> ints for an op's backward.</summary>
    public static int[] RentIndices(int length)
    {
        _freeIndices ??= new Dictionary<int, Stack<int[]>>();
        return _freeIndices.TryGetValue(length, out var s) && s.Count > 0 ? s.Pop() : new int[length];
    }

    public static void ReturnIndices(int[] buffer)
    {
        _freeIndices ??= new Dictionary<int, Stack<int[]>>();
        if (!_freeIndices.TryGetValue(buffer.Length, out var s)) _freeIndices[buffer.Length] = s = new Stack<int[]>();
        s.Push(buffer);
    }

    /// <summary>A pooled tensor owned by the autodiff graph.</summary>
    public static Tensor RentTensor(int[] shape, bool clear)
    {
        var buf = Rent(ShapeUtil.Numel(shape), clear, out bool pooled);
        return new Tensor(buf, 0, shape) { Pooled = pooled };
    }
}
