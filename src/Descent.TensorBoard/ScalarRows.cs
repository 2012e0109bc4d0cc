namespace Descent.TensorBoard;

/// <summary>
/// Scalars of the same tags at successive steps, kept as plain numbers: what a training loop logs every
/// step. The loop fills a block on its own thread, without locks, and hands it to
/// <see cref="SummaryWriter.AddScalarRows"/> now and then; the records are encoded where the writer's queued
/// work is done. Queuing each step's scalars through the writer's locks and shared queue cost the loop
/// about 0.7 µs a step, mostly in cache misses (a digits MLP step is about 130 µs).
/// </summary>
internal sealed class ScalarRows
{
    /// <summary>
    /// Rows a block holds at most (more than the 2048 steps between the logger's flushes), and the longest a
    /// row should wait before the block is handed over (in seconds of wall time), so that a slow loop's
    /// scalars still reach the file within about a second plus the writer's flush interval.
    /// </summary>
    public const int MaxRows = 4096;
    private const double MaxAgeSeconds = 1;

    private long[] _steps;
    private double[] _wallTimes;
    private double[] _values;
    private double _firstWallTime;

    /// <summary>An empty block for rows of <paramref name="tags"/>, with room for <paramref name="capacity"/> rows before it grows (by doubling).</summary>
    public ScalarRows(string[] tags, int capacity = 64)
    {
        ArgumentNullException.ThrowIfNull(tags);
        capacity = Math.Clamp(capacity, 1, MaxRows);
        Tags = tags;
        _steps = new long[capacity];
        _wallTimes = new double[capacity];
        _values = new double[capacity * tags.Length];
    }

    /// <summary>The tags of the columns, as the caller gave them; the caller keeps the array unchanged.</summary>
    public string[] Tags { get; private set; }

    /// <summary>Rows the block holds before it grows.</summary>
    public int Capacity => _steps.Length;

    /// <summary>Rows held.</summary>
    public int Count { get; private set; }

    /// <summary>True when the block should be handed over before a row at <paramref name="wallTime"/> is added: it is full, or its first row is a second old.</summary>
    public bool IsDue(double wallTime) => Count == MaxRows || (Count > 0 && wallTime - _firstWallTime >= MaxAgeSeconds);

    /// <summary>Adds a row: one value per tag, at <paramref name="step"/>.</summary>
    /// <exception cref="ArgumentException">Not one value per tag.</exception>
    /// <exception cref="InvalidOperationException">The block is full.</exception>
    // Called every step: compiled optimized at its first call (by TensorBoardLogger.WarmUp's rehearsal)
    // rather than recompiled in the middle of a run on a thread that competes with training.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<double> values, long step, double wallTime)
    {
        int columns = Tags.Length;
        if (values.Length != columns) throw new ArgumentException($"{columns} tags for {values.Length} values", nameof(values));
        if (Count == _steps.Length)
        {
            if (Count == MaxRows) throw new InvalidOperationException($"a block holds at most {MaxRows} rows; hand it over when IsDue");
            int rows = Math.Min(MaxRows, 2 * _steps.Length);
            Array.Resize(ref _steps, rows);
            Array.Resize(ref _wallTimes, rows);
            if (_values.Length < rows * columns) Array.Resize(ref _values, rows * columns);
        }
        if (Count == 0) _firstWallTime = wallTime;
        values.CopyTo(_values.AsSpan(Count * columns, columns));
        _steps[Count] = step;
        _wallTimes[Count] = wallTime;
        Count++;
    }

    /// <summary>Empties the block for rows of <paramref name="tags"/>, keeping its storage when it is large enough.</summary>
    public void Reset(string[] tags)
    {
        if (_values.Length < _steps.Length * tags.Length) _values = new double[_steps.Length * tags.Length];
        Tags = tags;
        Count = 0;
    }

    /// <summary>
    /// Frames <paramref name="count"/> rows from row <paramref name="first"/>, scalar by scalar in the order they
    /// were added, into <paramref name="sink"/>'s pending records under <paramref name="writtenTags"/>.
    /// </summary>
    public void AppendTo(EventFileSink sink, string[] writtenTags, int first, int count)
    {
        int columns = Tags.Length;
        sink.AppendSimpleScalarRows(writtenTags, _steps.AsSpan(first, count), _wallTimes.AsSpan(first, count), _values.AsSpan(first * columns, count * columns), count);
    }
}
