using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;
using Descent.Nn;

namespace Descent.Regularization;

/// <summary>
/// An L1, L2 or elastic-net penalty term added to the training loss,
/// <c>Ω(w) = λ₁‖w‖₁ + λ₂/2 · ‖w‖²</c>, summed over the penalized parameters.
/// </summary>
/// <remarks>
/// <para>
/// The L2 term carries a factor ½ so that its gradient is <c>λ₂w</c>: a penalty <c>L2(λ)</c> adds exactly what
/// <c>weight_decay=λ</c> adds to the gradient in <c>torch.optim.SGD</c>, and the two are interchangeable for plain
/// SGD (see <c>docs/regularization.md</c> for how they differ from AdamW's decoupled decay). In PyTorch terms,
/// <c>WeightPenalty.ElasticNet(l1, l2)</c> is
/// <code>
/// loss = loss + l1 * sum(p.abs().sum() for p in weights) + l2 / 2 * sum((p ** 2).sum() for p in weights)
/// </code>
/// The L1 subgradient is <c>sign(w)</c>, taken as 0 at <c>w = 0</c> (as <c>torch.abs</c>'s backward does).
/// </para>
/// <para>
/// By default only weights are penalized, i.e. parameters of rank ≥ 2 (Linear and Conv2d weights); biases
/// and normalization scales and shifts are left alone, as is usual: penalizing a bias does not reduce the
/// capacity of the model to fit noise, it only shifts its outputs.
/// </para>
/// <para>
/// Rather than adding nodes to the autodiff graph, <see cref="AddGradient"/> works on the optimizer's flat
/// <see cref="ParameterArena"/>: one fused pass adds the penalty's gradient to the accumulated loss gradient
/// and returns the penalty's value, so the reported loss can include it. A penalty object caches the layout of
/// the last arena it saw; use one per training loop.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var penalty = WeightPenalty.L2(1e-4);
/// optimizer.ZeroGrad();
/// var loss = Functional.CrossEntropy(model.Forward(x), y);
/// float dataLoss = loss.Item();
/// loss.Backward();
/// double total = dataLoss + penalty.AddGradient(optimizer.Arena);   // before clipping and Step()
/// optimizer.Step();
/// </code>
/// </example>
public sealed class WeightPenalty
{
    /// <summary>Elements of the arena handled by one task; matches the optimizers' chunking.</summary>
    private const int ChunkSize = RangeParallel.ChunkSize;

    /// <summary>Float accumulators are flushed into doubles every block, so a long run of weights loses no digits.</summary>
    private const int Block = 1024;

    private Plan? _plan;

    /// <summary>
    /// A penalty <c>l1 · ‖w‖₁ + l2/2 · ‖w‖²</c> (either strength may be 0).
    /// </summary>
    /// <param name="l1">λ₁, the strength of the L1 term (non-negative).</param>
    /// <param name="l2">λ₂, the strength of the L2 term (non-negative); its gradient is <c>λ₂w</c>.</param>
    /// <param name="weightsOnly">Penalize only parameters of rank ≥ 2 (the default); false penalizes every parameter, biases included.</param>
    public WeightPenalty(double l1 = 0, double l2 = 0, bool weightsOnly = true)
    {
        L1Lambda = CheckLambda(l1, nameof(l1), "l1");
        L2Lambda = CheckLambda(l2, nameof(l2), "l2");
        WeightsOnly = weightsOnly;
    }

    /// <summary>An L2 (ridge) penalty <c>λ/2 · ‖w‖²</c>, gradient <c>λw</c>: SGD's <c>weight_decay=λ</c> as a loss term.</summary>
    public static WeightPenalty L2(double lambda, bool weightsOnly = true) => new(0, lambda, weightsOnly);

    /// <summary>An L1 (lasso) penalty <c>λ‖w‖₁</c>, subgradient <c>λ·sign(w)</c>; drives small weights to exactly 0 over training.</summary>
    public static WeightPenalty L1(double lambda, bool weightsOnly = true) => new(lambda, 0, weightsOnly);

    /// <summary>An elastic-net penalty <c>l1 · ‖w‖₁ + l2/2 · ‖w‖²</c>.</summary>
    public static WeightPenalty ElasticNet(double l1, double l2, bool weightsOnly = true) => new(l1, l2, weightsOnly);

    /// <summary>λ₁, the strength of the L1 term.</summary>
    public double L1Lambda { get; }

    /// <summary>λ₂, the strength of the L2 term (the penalty is <c>λ₂/2 · ‖w‖²</c>).</summary>
    public double L2Lambda { get; }

    /// <summary>Whether only parameters of rank ≥ 2 are penalized.</summary>
    public bool WeightsOnly { get; }

    /// <summary>True when both strengths are 0, so the penalty does nothing.</summary>
    public bool IsZero => L1Lambda == 0 && L2Lambda == 0;

    /// <summary>Whether <paramref name="parameter"/> is penalized.</summary>
    public bool AppliesTo(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return !WeightsOnly || parameter.Rank >= 2;
    }

    /// <summary>
    /// Adds the penalty's gradient to <paramref name="arena"/>'s gradients (<c>g += λ₁·sign(w) + λ₂·w</c> on the
    /// penalized parameters) and returns the penalty's value <c>λ₁‖w‖₁ + λ₂/2·‖w‖²</c> at the current weights.
    /// Call it after <c>Backward()</c> and before gradient clipping and <c>optimizer.Step()</c>, once per
    /// optimizer step (also under gradient accumulation, where the penalty belongs to the step, not to each
    /// micro-batch).
    /// </summary>
    public double AddGradient(ParameterArena arena) => Run(arena, addGradient: true);

    /// <summary>The penalty's value at the current weights of <paramref name="arena"/>, gradients untouched.</summary>
    public double Value(ParameterArena arena) => Run(arena, addGradient: false);

    /// <summary>The penalty's value at the current weights of <paramref name="model"/> (packed into an arena or not).</summary>
    public double Value(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        double sum = 0;
        foreach (var p in model.Parameters())
        {
            if (!AppliesTo(p)) continue;
            var (abs, squares) = Sums(p.Data, default, 0, 0, addGradient: false);
            sum += L1Lambda * abs + 0.5 * L2Lambda * squares;
        }
        return sum;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"WeightPenalty(l1={L1Lambda:R}, l2={L2Lambda:R}, weights_only={(WeightsOnly ? "True" : "False")})");

    private double Run(ParameterArena arena, bool addGradient)
    {
        ArgumentNullException.ThrowIfNull(arena);
        if (IsZero) return 0;
        var plan = _plan is { } cached && ReferenceEquals(cached.Arena, arena) ? cached : _plan = Plan.For(arena, AppliesTo);
        int chunks = plan.Starts.Length;
        if (chunks == 0) return 0;
        var body = new PenaltyBody
        {
            Data = arena.Data,
            Grad = arena.Grad,
            Starts = plan.Starts,
            Ends = plan.Ends,
            Partials = plan.Partials,
            L1 = (float)L1Lambda,
            L2 = (float)L2Lambda,
            AddGradient = addGradient,
        };
        // The chunks are the same whether they run on one thread or many, and their partial sums are added in
        // chunk order, so the value does not depend on the machine.
        if (chunks > 2 && WorkerPool.CanParallelize) WorkerPool.For(chunks, ref body);
        else for (int i = 0; i < chunks; i++) body.Run(i);
        double l1Sum = 0, l2Sum = 0;
        for (int i = 0; i < chunks; i++)
        {
            l1Sum += plan.Partials[2 * i];
            l2Sum += plan.Partials[2 * i + 1];
        }
        return L1Lambda * l1Sum + 0.5 * L2Lambda * l2Sum;
    }

    private static double CheckLambda(double value, string parameter, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(parameter, string.Create(CultureInfo.InvariantCulture, $"{name} penalty strength must be a non-negative finite number, got {value}"));
        return value;
    }

    /// <summary>Σ|w| and Σw² of one span in double, accumulated in float over blocks of <see cref="Block"/>.</summary>
    private static (double Abs, double Squares) Sums(ReadOnlySpan<float> w, Span<float> g, float l1, float l2, bool addGradient)
    {
        double abs = 0, squares = 0;
        for (int start = 0; start < w.Length; start += Block)
        {
            int n = Math.Min(Block, w.Length - start);
            var (blockAbs, blockSquares) = Fused(w.Slice(start, n), addGradient ? g.Slice(start, n) : default, l1, l2, addGradient);
            abs += blockAbs;
            squares += blockSquares;
        }
        return (abs, squares);
    }

    /// <summary>Σ|w| and Σw² of a block, and g += λ₁sign(w) + λ₂w when <paramref name="addGradient"/>: the sums are the same either way.</summary>
    private static (float Abs, float Squares) Fused(ReadOnlySpan<float> w, Span<float> g, float l1, float l2, bool addGradient)
    {
        int i = 0;
        float abs = 0, squares = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1f);
            var vl1 = Vector256.Create(l1);
            var vl2 = Vector256.Create(l2);
            var absSum = Vector256<float>.Zero;
            var squareSum = Vector256<float>.Zero;
            ref float wr = ref MemoryMarshal.GetReference(w);
            ref float gr = ref MemoryMarshal.GetReference(g);
            for (; i <= w.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var wv = Vector256.LoadUnsafe(ref wr, (nuint)i);
                if (addGradient)
                {
                    var gv = Vector256.LoadUnsafe(ref gr, (nuint)i);
                    var sign = (Vector256.GreaterThan(wv, Vector256<float>.Zero) & one) - (Vector256.LessThan(wv, Vector256<float>.Zero) & one);
                    Vector256.FusedMultiplyAdd(vl2, wv, Vector256.FusedMultiplyAdd(vl1, sign, gv)).StoreUnsafe(ref gr, (nuint)i);
                }
                absSum += Vector256.Abs(wv);
                squareSum = Vector256.FusedMultiplyAdd(wv, wv, squareSum);
            }
            abs = Vector256.Sum(absSum);
            squares = Vector256.Sum(squareSum);
        }
        for (; i < w.Length; i++)
        {
            float wi = w[i];
            if (addGradient)
            {
                float sign = wi > 0 ? 1f : wi < 0 ? -1f : 0f;
                g[i] = MathF.FusedMultiplyAdd(l2, wi, MathF.FusedMultiplyAdd(l1, sign, g[i]));
            }
            abs += MathF.Abs(wi);
            squares = MathF.FusedMultiplyAdd(wi, wi, squares);
        }
        return (abs, squares);
    }

    /// <summary>
    /// Where the penalized parameters lie in one arena: runs of adjacent penalized parameters merged and cut
    /// into chunks of at most <see cref="ChunkSize"/> elements, with room for each chunk's two partial sums.
    /// </summary>
    private sealed class Plan
    {
        public required ParameterArena Arena { get; init; }
        public required int[] Starts { get; init; }
        public required int[] Ends { get; init; }
        public required double[] Partials { get; init; }

        public static Plan For(ParameterArena arena, Func<Parameter, bool> applies)
        {
            var starts = new List<int>();
            var ends = new List<int>();
            int runStart = -1, runEnd = -1;
            for (int i = 0; i < arena.Parameters.Count; i++)
            {
                var p = arena.Parameters[i];
                if (!applies(p) || p.Numel == 0) continue;
                int offset = arena.OffsetOf(i);
                if (offset == runEnd) runEnd += p.Numel;
                else
                {
                    AddRun(runStart, runEnd, starts, ends);
                    runStart = offset;
                    runEnd = offset + p.Numel;
                }
            }
            AddRun(runStart, runEnd, starts, ends);
            return new Plan { Arena = arena, Starts = [.. starts], Ends = [.. ends], Partials = new double[2 * starts.Count] };
        }

        private static void AddRun(int start, int end, List<int> starts, List<int> ends)
        {
            for (int s = start; s < end; s += ChunkSize)
            {
                starts.Add(s);
                ends.Add(Math.Min(end, s + ChunkSize));
            }
        }
    }

    /// <summary>One chunk of the fused pass: Σ|w| and Σw² into the chunk's partials, and optionally g += λ₁sign(w) + λ₂w.</summary>
    private struct PenaltyBody : IParallelBody
    {
        public float[] Data, Grad;
        public int[] Starts, Ends;
        public double[] Partials;
        public float L1, L2;
        public bool AddGradient;

        public readonly void Run(int chunk)
        {
            int start = Starts[chunk], end = Ends[chunk];
            var (abs, squares) = Sums(Data.AsSpan(start, end - start), Grad.AsSpan(start, end - start), L1, L2, AddGradient);
            Partials[2 * chunk] = abs;
            Partials[2 * chunk + 1] = squares;
        }
    }
}
