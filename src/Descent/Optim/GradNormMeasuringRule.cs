using System.Runtime.CompilerServices;
using Descent.Kernels;

namespace Descent.Optim;

/// <summary>
/// An update rule that can sum the squares of the gradients in the same loop that reads them for the update,
/// so that <see cref="Optimizer.StepWithGradNorm"/> costs no second pass over memory.
/// </summary>
internal interface IGradSquaresRule : IRangeBody
{
    /// <summary>Applies the rule over [<paramref name="start"/>, <paramref name="end"/>) and returns Σg² over that range, summed in float.</summary>
    float ApplySummingGradSquares(int start, int end);
}

/// <summary>Type argument of a rule's loop that also sums squares of gradients (the JIT compiles one loop per choice).</summary>
internal struct WithGradSquares;

/// <summary>Type argument of a rule's loop that does not sum squares of gradients.</summary>
internal struct WithoutGradSquares;

/// <summary>
/// Runs an <see cref="IGradSquaresRule"/> block by block and keeps one Σg² per
/// <see cref="RangeParallel.ChunkSize"/> chunk: float sums within blocks of 4096 values (as
/// <see cref="Reductions.SumOfSquares"/> does), double across them, and a total that does not depend on how
/// chunks were spread over threads.
/// </summary>
internal readonly struct GradNormMeasuringRule<TRule>(TRule rule, double[] partials) : IRangeBody
    where TRule : struct, IGradSquaresRule
{
    // Fully optimized from the first call: the rule is inlined here, and left to tiering this instantiation
    // could stay at unoptimized code for the whole run.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(int start, int end)
    {
        var inner = rule;
        for (int chunk = start; chunk < end; chunk += RangeParallel.ChunkSize)
        {
            int chunkEnd = Math.Min(end, chunk + RangeParallel.ChunkSize);
            double squares = 0;
            for (int i = chunk; i < chunkEnd; i += Reductions.Block) squares += inner.ApplySummingGradSquares(i, Math.Min(chunkEnd, i + Reductions.Block));
            partials[chunk / RangeParallel.ChunkSize] = squares;
        }
    }
}
