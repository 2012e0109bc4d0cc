using System.Numerics;

namespace Descent;

/// <summary>
/// The generator behind <see cref="Rng.Default"/>: the same stream as <c>new Random(seed)</c> (Knuth's subtractive
/// generator, which .NET keeps for seeded instances), with a state that can be read and restored, like
/// <c>torch.get_rng_state</c> / <c>set_rng_state</c>. That is what lets a checkpoint resume dropout masks and
/// initializations exactly where they were.
/// </summary>
public sealed class StatefulRandom : Random
{
    private const int Modulus = int.MaxValue;
    private const int Lags = 55;

    // Slots 1..55 hold the lagged values (slot 0 is unused, as in Knuth's formulation).
    private readonly int[] _values = new int[Lags + 1];
    private int _index;
    private int _lagIndex;

    /// <summary>A generator seeded as <c>new Random(seed)</c> is, drawing the identical stream.</summary>
    public StatefulRandom(int seed)
    {
        int seedValue = seed == int.MinValue ? int.MaxValue : Math.Abs(seed);
        int previous = 161803398 - seedValue;
        _values[Lags] = previous;
        int next = 1, position = 0;
        for (int i = 1; i < Lags; i++)
        {
            // Fill the table in the order 21, 42, 8, 29, …: 21 steps around a circle of 55.
            position = (position + 21) % Lags;
            _values[position] = next;
            next = Wrap(previous - next);
            previous = _values[position];
        }
        for (int round = 0; round < 4; round++)
            for (int i = 1; i <= Lags; i++)
                _values[i] = Wrap(_values[i] - _values[1 + (i + 30) % Lags]);
        _index = 0;
        _lagIndex = 21;
    }

    /// <summary>A generator continuing from <paramref name="state"/>.</summary>
    public StatefulRandom(RngState state) => State = state;

    /// <summary>
    /// The generator's state; setting it makes the generator continue exactly from there. A copy both ways:
    /// the generator never shares its table.
    /// </summary>
    public RngState State
    {
        get => new((int[])_values.Clone(), _index, _lagIndex);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Values is null || value.Values.Length != Lags + 1)
                throw new ArgumentException($"a generator state holds {Lags + 1} values, got {value.Values?.Length ?? 0}", nameof(value));
            if (value.Index is < 0 or > Lags || value.LagIndex is < 0 or > Lags)
                throw new ArgumentException($"generator state indices must be in [0, {Lags}], got {value.Index} and {value.LagIndex}", nameof(value));
            if (Array.Exists(value.Values, v => v is < 0 or >= Modulus))
                throw new ArgumentException($"generator state values must be in [0, {Modulus})", nameof(value));
            value.Values.CopyTo(_values, 0);
            _index = value.Index;
            _lagIndex = value.LagIndex;
        }
    }

    private static int Wrap(int v) => v < 0 ? v + Modulus : v;

    /// <summary>The next value in [0, int.MaxValue): x[n] = x[n−55] − x[n−24] mod (2³¹ − 1).</summary>
    private int NextRaw()
    {
        _index = _index == Lags ? 1 : _index + 1;
        _lagIndex = _lagIndex == Lags ? 1 : _lagIndex + 1;
        int v = _values[_index] - _values[_lagIndex];
        if (v == Modulus) v--;
        v = Wrap(v);
        _values[_index] = v;
        return v;
    }

    /// <summary>A uniform double in [0, 1).</summary>
    protected override double Sample() => NextRaw() * (1.0 / Modulus);

    /// <summary>31 random bits spread over the range of two draws, for ranges wider than int.MaxValue.</summary>
    private double SampleWide()
    {
        int magnitude = NextRaw();
        double signed = NextRaw() % 2 == 0 ? -magnitude : magnitude;
        return (signed + (Modulus - 1)) / (2.0 * Modulus - 1);
    }

    /// <inheritdoc />
    public override int Next() => NextRaw();

    /// <inheritdoc />
    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)(Sample() * maxValue);
    }

    /// <inheritdoc />
    public override int Next(int minValue, int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        long range = (long)maxValue - minValue;
        return range <= int.MaxValue ? (int)(Sample() * range) + minValue : (int)((long)(SampleWide() * range) + minValue);
    }

    /// <summary>64 bits from three draws of 22, 22 and 20 bits.</summary>
    private ulong Next64Bits() => (ulong)(uint)Next(1 << 22) | ((ulong)(uint)Next(1 << 22) << 22) | ((ulong)(uint)Next(1 << 20) << 44);

    /// <inheritdoc />
    public override long NextInt64()
    {
        ulong v;
        do v = Next64Bits() >> 1;
        while (v == long.MaxValue);
        return (long)v;
    }

    /// <inheritdoc />
    public override long NextInt64(long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return NextInt64(0, maxValue);
    }

    /// <inheritdoc />
    public override long NextInt64(long minValue, long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        ulong range = (ulong)(maxValue - minValue);
        if (range <= 1) return minValue;
        // Rejection sampling from the smallest power of two that covers the range.
        int shift = BitOperations.LeadingZeroCount(range - 1); // 64 − ⌈log₂ range⌉
        ulong v;
        do v = Next64Bits() >> shift;
        while (v >= range);
        return (long)v + minValue;
    }

    /// <inheritdoc />
    public override double NextDouble() => Sample();

    /// <inheritdoc />
    public override float NextSingle() => (float)Sample();

    /// <inheritdoc />
    public override void NextBytes(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        NextBytes(buffer.AsSpan());
    }

    /// <inheritdoc />
    public override void NextBytes(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++) buffer[i] = (byte)NextRaw();
    }
}

/// <summary>The state of a <see cref="StatefulRandom"/>: its table of 56 values (slot 0 unused) and its two positions.</summary>
/// <param name="Values">The lagged values.</param>
/// <param name="Index">The position last written.</param>
/// <param name="LagIndex">The position of the lagged partner.</param>
public sealed record RngState(int[] Values, int Index, int LagIndex);
