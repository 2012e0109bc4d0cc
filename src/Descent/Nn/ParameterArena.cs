using Descent.Kernels;
using Descent.Autodiff;

namespace Descent.Nn;

/// <summary>
/// One contiguous buffer for a set of parameters and one for their gradients; every parameter is a view
/// (offset, shape) into both. An optimizer step, a global-norm clip or zeroing gradients is then one pass
/// over one span, vectorized and split across cores.
/// </summary>
public sealed class ParameterArena
{
    private readonly Parameter[] _parameters;
    private readonly int[] _offsets;

    private ParameterArena(Parameter[] parameters)
    {
        _parameters = parameters;
        _offsets = new int[parameters.Length];
        int total = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            _offsets[i] = total;
            total += parameters[i].Numel;
        }
        Data = new float[total];
        Grad = new float[total];
    }

    /// <summary>All parameter values, back to back in packing order.</summary>
    public float[] Data { get; }

    /// <summary>All gradients, aligned with <see cref="Data"/>.</summary>
    public float[] Grad { get; }

    /// <summary>The parameters in packing order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Number of scalars.</summary>
    public int Length => Data.Length;

    /// <summary>Offset of parameter <paramref name="index"/> in <see cref="Data"/>.</summary>
    public int OffsetOf(int index) => _offsets[index];

    /// <summary>
    /// Packs <paramref name="parameters"/> in the given order into one arena, keeping their values and any
    /// gradient accumulated so far. Parameters already packed in exactly this order keep their arena.
    /// </summary>
    public static ParameterArena Pack(IReadOnlyList<Parameter> parameters)
    {
        if (parameters.Count == 0) throw new ArgumentException("optimizer got an empty parameter list");
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters)
            if (!seen.Add(p)) throw new ArgumentException("some parameters appear more than once in the parameter list");
        var existing = parameters[0].Arena;
        if (existing is not null && existing._parameters.Length == parameters.Count && existing._parameters.SequenceEqual(parameters))
            return existing;

        var arena = new ParameterArena(parameters.ToArray());
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            int off = arena._offsets[i];
            p.Data.CopyTo(arena.Data.AsSpan(off, p.Numel));
            p.Grad?.Data.CopyTo(arena.Grad.AsSpan(off, p.Numel));
            p.Rebind(arena.Data, off);
            p.Grad = new Tensor(arena.Grad, off, p.ShapeArray);
            p.Arena = arena;
        }
        return arena;
    }

    /// <summary>Sets every gradient to zero in one pass.</summary>
    /// <remarks>
    /// Split over the worker pool like the optimizer step: after a step each core holds the gradient lines it
    /// read, and one thread clearing them all would first have to pull half of them from the other core's cache.
    /// </remarks>
    public void ZeroGrad()
    {
        var clear = new ClearRange { Array = Grad };
        RangeParallel.For(Grad.Length, ref clear);
    }

    private struct ClearRange : IRangeBody
    {
        public float[] Array;

        public readonly void Apply(int start, int end) => System.Array.Clear(Array, start, end - start);
    }
}
