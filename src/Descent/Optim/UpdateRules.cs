using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Descent.Kernels;

namespace Descent.Optim;

/// <summary>
/// An optimizer's per-element update over part of a parameter group, in two forms that give the same bits:
/// <see cref="Scalar"/>, the plain loop that is the rule's specification, and <see cref="Vector{TV}"/>, the
/// same operations in the same order on whole vectors of one width.
/// </summary>
internal interface IUpdateRule
{
    /// <summary>Updates elements [<paramref name="start"/>, <paramref name="end"/>) one at a time: the specification.</summary>
    void Scalar(int start, int end);

    /// <summary>
    /// Updates the whole vectors of <typeparamref name="TV"/> that fit from <paramref name="start"/> up to
    /// <paramref name="end"/> and returns where it stopped; <see cref="Scalar"/> does the rest. The loops copy
    /// the rule's flags to locals first: the JIT cannot tell that the stores through the buffers' refs leave
    /// the rule's fields alone, and would read them from memory at every iteration.
    /// </summary>
    int Vector<TV>(int start, int end) where TV : struct, IFloatVector<TV>;
}

/// <summary>The vector width an optimizer's update rules run at.</summary>
internal enum VectorWidth
{
    /// <summary>No vectors: the scalar specification loop only.</summary>
    Scalar = 0,
    /// <summary><see cref="Vector128{T}"/>: SSE on x86, NEON on ARM64.</summary>
    Bits128 = 128,
    /// <summary><see cref="Vector256{T}"/>: AVX2.</summary>
    Bits256 = 256,
    /// <summary><see cref="Vector512{T}"/>: AVX-512.</summary>
    Bits512 = 512,
}

/// <summary>Runs an <see cref="IUpdateRule"/> over a group at a vector width, split across cores by <see cref="RangeParallel"/>.</summary>
internal static class UpdateRules
{
    /// <summary>The width every optimizer runs at unless told otherwise: the widest vectors this CPU runs natively.</summary>
    public static VectorWidth DefaultWidth { get; } =
        Vector512.IsHardwareAccelerated ? VectorWidth.Bits512
        : Vector256.IsHardwareAccelerated ? VectorWidth.Bits256
        : Vector128.IsHardwareAccelerated ? VectorWidth.Bits128
        : VectorWidth.Scalar;

    /// <summary>
    /// True when the CPU has a fused multiply-add instruction (x86 since Haswell, every ARM64). Without one
    /// (older x86, or AVX2 switched off) an exact fused result would be computed lane by lane in software,
    /// 20–30 times slower than the rest of a step, so <see cref="MultiplyAdd"/> takes another route.
    /// </summary>
    public static readonly bool HasFusedMultiplyAdd =
        System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;

    /// <summary>
    /// a·b + c rounded once to float: the fused instruction where the CPU has one; elsewhere computed in double
    /// (where the product of two floats is exact) and rounded to float, which gives the fused result except
    /// when the double sum lands exactly on a float rounding midpoint (about one case in 2²⁹). The vector forms
    /// (<see cref="IFloatVector{TSelf}.MultiplyAdd"/>) take the same route, so every width gives the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) =>
        HasFusedMultiplyAdd ? MathF.FusedMultiplyAdd(a, b, c) : (float)((double)a * b + c);

    /// <summary>True when this CPU runs vectors of <paramref name="width"/> natively.</summary>
    public static bool IsSupported(VectorWidth width) => width switch
    {
        VectorWidth.Scalar => true,
        VectorWidth.Bits128 => Vector128.IsHardwareAccelerated,
        VectorWidth.Bits256 => Vector256.IsHardwareAccelerated,
        VectorWidth.Bits512 => Vector512.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>
    /// The width whose loop last ran on this thread: lets a test see that the width it asked for is the
    /// one that ran (one write per range, nothing per element).
    /// </summary>
    [ThreadStatic]
    internal static VectorWidth LastRun;

    /// <summary>
    /// Element <paramref name="index"/> of <paramref name="array"/> without a bounds check, for the vector loops:
    /// a group's state buffers hold one value per element of the group, checked when they are made or loaded.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref float At(float[] array, int index) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), index);

    /// <summary>Applies <paramref name="rule"/> to elements [0, <paramref name="length"/>) at <paramref name="width"/>.</summary>
    public static void Run<TRule>(VectorWidth width, int length, ref TRule rule) where TRule : struct, IUpdateRule
    {
        switch (width)
        {
            case VectorWidth.Bits512:
                var wide = new Vectorized<TRule, Float512>(rule);
                RangeParallel.For(length, ref wide);
                break;
            case VectorWidth.Bits256:
                var middle = new Vectorized<TRule, Float256>(rule);
                RangeParallel.For(length, ref middle);
                break;
            case VectorWidth.Bits128:
                var narrow = new Vectorized<TRule, Float128>(rule);
                RangeParallel.For(length, ref narrow);
                break;
            default:
                var scalar = new ScalarOnly<TRule>(rule);
                RangeParallel.For(length, ref scalar);
                break;
        }
    }

    private readonly struct Vectorized<TRule, TV>(TRule rule) : IRangeBody where TRule : struct, IUpdateRule where TV : struct, IFloatVector<TV>
    {
        public void Apply(int start, int end)
        {
            LastRun = TV.Width;
            rule.Scalar(rule.Vector<TV>(start, end), end);
        }
    }

    private readonly struct ScalarOnly<TRule>(TRule rule) : IRangeBody where TRule : struct, IUpdateRule
    {
        public void Apply(int start, int end)
        {
            LastRun = VectorWidth.Scalar;
            rule.Scalar(start, end);
        }
    }
}

/// <summary>
/// A vector of floats of one width with the operations the update rules use, so that each rule's vector
/// loop is written once for <see cref="Float512"/>, <see cref="Float256"/> and <see cref="Float128"/>. The JIT
/// compiles one loop per width with the wrapper gone: the same instructions as code written on
/// <see cref="Vector512{T}"/> directly. Every operation rounds as its scalar <see cref="MathF"/> counterpart
/// does (<see cref="MultiplyAdd"/> rounds as <see cref="UpdateRules.MultiplyAdd"/>).
/// </summary>
internal interface IFloatVector<TSelf> where TSelf : struct, IFloatVector<TSelf>
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    /// <summary>The width this type stands for.</summary>
    static abstract VectorWidth Width { get; }

    /// <summary>Every element <paramref name="value"/>.</summary>
    static abstract TSelf Create(float value);

    /// <summary>The <see cref="Count"/> floats from <paramref name="source"/> + <paramref name="index"/>.</summary>
    static abstract TSelf Load(ref float source, nuint index);

    /// <summary>Writes the vector at <paramref name="destination"/> + <paramref name="index"/>.</summary>
    void Store(ref float destination, nuint index);

    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a);

    /// <summary>a·b + c, rounded as <see cref="UpdateRules.MultiplyAdd"/> rounds it.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>Square roots.</summary>
    static abstract TSelf Sqrt(TSelf a);

    /// <summary>Maxima, as <see cref="MathF.Max"/>.</summary>
    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>Absolute values.</summary>
    static abstract TSelf Abs(TSelf a);

    /// <summary>1 where positive, −1 where negative, 0 elsewhere (zeros and NaN).</summary>
    static abstract TSelf Sign(TSelf a);
}

/// <summary><see cref="Vector512{T}"/> of floats as an <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct Float512(Vector512<float> value) : IFloatVector<Float512>
{
    private readonly Vector512<float> _value = value;

    public static int Count => Vector512<float>.Count;
    public static VectorWidth Width => VectorWidth.Bits512;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Load(ref float source, nuint index) => new(Vector512.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref float destination, nuint index) => _value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 operator +(Float512 a, Float512 b) => new(a._value + b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 operator -(Float512 a, Float512 b) => new(a._value - b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 operator *(Float512 a, Float512 b) => new(a._value * b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 operator /(Float512 a, Float512 b) => new(a._value / b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 operator -(Float512 a) => new(-a._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 MultiplyAdd(Float512 a, Float512 b, Float512 c) => new(UpdateRules.HasFusedMultiplyAdd ? Vector512.FusedMultiplyAdd(a._value, b._value, c._value)
        : Vector512.Narrow(Vector512.WidenLower(a._value) * Vector512.WidenLower(b._value) + Vector512.WidenLower(c._value),
            Vector512.WidenUpper(a._value) * Vector512.WidenUpper(b._value) + Vector512.WidenUpper(c._value)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Sqrt(Float512 a) => new(Vector512.Sqrt(a._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Max(Float512 a, Float512 b) => new(Vector512.Max(a._value, b._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Abs(Float512 a) => new(Vector512.Abs(a._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float512 Sign(Float512 a) =>
        new((Vector512.GreaterThan(a._value, Vector512<float>.Zero) & Vector512<float>.One) - (Vector512.LessThan(a._value, Vector512<float>.Zero) & Vector512<float>.One));
}

/// <summary><see cref="Vector256{T}"/> of floats as an <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct Float256(Vector256<float> value) : IFloatVector<Float256>
{
    private readonly Vector256<float> _value = value;

    public static int Count => Vector256<float>.Count;
    public static VectorWidth Width => VectorWidth.Bits256;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Load(ref float source, nuint index) => new(Vector256.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref float destination, nuint index) => _value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 operator +(Float256 a, Float256 b) => new(a._value + b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 operator -(Float256 a, Float256 b) => new(a._value - b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 operator *(Float256 a, Float256 b) => new(a._value * b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 operator /(Float256 a, Float256 b) => new(a._value / b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 operator -(Float256 a) => new(-a._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 MultiplyAdd(Float256 a, Float256 b, Float256 c) => new(UpdateRules.HasFusedMultiplyAdd ? Vector256.FusedMultiplyAdd(a._value, b._value, c._value)
        : Vector256.Narrow(Vector256.WidenLower(a._value) * Vector256.WidenLower(b._value) + Vector256.WidenLower(c._value),
            Vector256.WidenUpper(a._value) * Vector256.WidenUpper(b._value) + Vector256.WidenUpper(c._value)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Sqrt(Float256 a) => new(Vector256.Sqrt(a._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Max(Float256 a, Float256 b) => new(Vector256.Max(a._value, b._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Abs(Float256 a) => new(Vector256.Abs(a._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Sign(Float256 a) =>
        new((Vector256.GreaterThan(a._value, Vector256<float>.Zero) & Vector256<float>.One) - (Vector256.LessThan(a._value, Vector256<float>.Zero) & Vector256<float>.One));
}

/// <summary><see cref="Vector128{T}"/> of floats as an <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct Float128(Vector128<float> value) : IFloatVector<Float128>
{
    private readonly Vector128<float> _value = value;

    public static int Count => Vector128<float>.Count;
    public static VectorWidth Width => VectorWidth.Bits128;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 Create(float value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 Load(ref float source, nuint index) => new(Vector128.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(ref float destination, nuint index) => _value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 operator +(Float128 a, Float128 b) => new(a._value + b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 operator -(Float128 a, Float128 b) => new(a._value - b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 operator *(Float128 a, Float128 b) => new(a._value * b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 operator /(Float128 a, Float128 b) => new(a._value / b._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 operator -(Float128 a) => new(-a._value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 MultiplyAdd(Float128 a, Float128 b, Float128 c) => new(UpdateRules.HasFusedMultiplyAdd ? Vector128.FusedMultiplyAdd(a._value, b._value, c._value)
        : Vector128.Narrow(Vector128.WidenLower(a._value) * Vector128.WidenLower(b._value) + Vector128.WidenLower(c._value),
            Vector128.WidenUpper(a._value) * Vector128.WidenUpper(b._value) + Vector128.WidenUpper(c._value)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 Sqrt(Float128 a) => new(Vector128.Sqrt(a._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 Max(Float128 a, Float128 b) => new(Vector128.Max(a._value, b._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float128 Abs(Float128 a) => new(Vector128.Abs(a._value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 Sign(Float128 a) =>
        new((Vector128.GreaterThan(a._value, Vector128<float>.Zero) & Vector128<float>.One) - (Vector128.LessThan(a._value, Vector128<float>.Zero) & Vector128<float>.One));
}
