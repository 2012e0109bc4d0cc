namespace Descent.Kernels;

/// <summary>A loop body over a contiguous index range [start, end) of flat arrays.</summary>
public interface IRangeBody
{
    /// <summary>Processes indices [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void Apply(int start, int end);
}

/// <summary>
/// Splits a long element-wise pass (an optimizer step, a gradient clip) into chunks spread over the
/// <see cref="WorkerPool"/>. Short passes run inline: below a few hundred thousand floats the hand-off
/// costs more than the second core gives.
/// </summary>
public static class RangeParallel
{
    /// <summary>Elements per chunk: large enough to amortize a claim, small enough to balance two cores.</summary>
    public const int ChunkSize = 1 << 16;

    /// <summary>Runs <paramref name="body"/> over [0, <paramref name="length"/>) in chunks, in parallel when worthwhile.</summary>
    public static void For<TBody>(int length, ref TBody body) where TBody : struct, IRangeBody
    {
        if (length <= 2 * ChunkSize || !WorkerPool.CanParallelize)
        {
            body.Apply(0, length);
            return;
        }
        var chunked = new Chunked<TBody> { Body = body, Length = length };
        WorkerPool.For((length + ChunkSize - 1) / ChunkSize, ref chunked);
    }

    private struct Chunked<TBody> : IParallelBody where TBody : struct, IRangeBody
    {
        public TBody Body;
        public int Length;

        public void Run(int index)
        {
            int start = index * ChunkSize;
            Body.Apply(start, Math.Min(start + ChunkSize, Length));
        }
    }
}
