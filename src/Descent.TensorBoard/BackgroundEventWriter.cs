using System.Diagnostics;
using Descent.TensorBoard.Proto;

namespace Descent.TensorBoard;

/// <summary>
/// Encodes events and writes event files off the caller's thread, so that logging costs the training loop
/// little more than putting an item in a queue. The queue is bounded: a producer that gets ahead by
/// <c>capacity</c> items waits, as with PyTorch's <c>max_queue</c>. Pending records reach the files every
/// <c>flushSecs</c>, on <see cref="Flush"/> and on <see cref="Dispose"/>, and sooner when a file has
/// 48 KiB waiting.
/// </summary>
/// <remarks>
/// <para>The writer thread is woken only when 512 items (or half the queue) wait, when queued work holds
/// 16 MiB of copied buffers, or at the flush deadline; waking it for every event would cost the training
/// loop a context switch each time. A failure while writing is kept and rethrown to the next caller.</para>
/// <para><see cref="Flush"/> and <see cref="Dispose"/> do the queued work on the calling thread, which has
/// to wait for it anyway: handing it to the writer thread and waiting added two thread wake-ups, each
/// from tens of microseconds to a millisecond on a virtual machine whose idle core sleeps.</para>
/// <para>The thread comes from <see cref="ReusedThreads"/>: starting one costs about 0.3 ms.</para>
/// </remarks>
internal sealed class BackgroundEventWriter : IDisposable
{
    private const int MaxOpenFiles = 32;
    // Pending records of a file are written once this many bytes wait: the buffer that holds them then stays
    // small (a digits run's 170 KB of records, held until the end, made the buffer grow by doubling through
    // half a megabyte of garbage).
    private const int WriteThroughBytes = 48 << 10;
    private const long WakeHeldBytes = 16L << 20, MaxHeldBytes = 256L << 20;

    /// <summary>
    /// Queued items that wake the writer: often enough that a short run's records are written while it
    /// trains rather than all at the end, rarely enough that waking costs nothing noticeable.
    /// </summary>
    private const int WakeAtMost = 512;

    private readonly object _gate = new();
    // Held while queued work is processed and files are written, by whichever thread does it.
    private readonly object _workGate = new();
    // Blocks of rows already written, kept for the next callers so that logging every step allocates nothing.
    private readonly System.Collections.Concurrent.ConcurrentStack<ScalarRows> _spareRows = new();
    private readonly int _capacity;
    private readonly int _wakeAt;
    private readonly long _flushTicks;
    private readonly HashSet<EventFileSink> _sinks = [];
    // Two arrays swapped under the lock rather than List<Work>: a list of a struct this size is generic
    // code that every process would compile before its first event.
    private Work[] _queue = new Work[256];
    private Work[] _draining = new Work[256];
    private int _queued, _drainingCount;
    private long _heldBytes;
    private bool _wake;
    private bool _stopped;
    private bool _closed;
    private volatile Exception? _failure;

    /// <summary>
    /// One queued item: an event, a scalar (kept as plain values so that logging one allocates nothing on
    /// the caller's thread; its record is encoded here), deferred work, or a block of scalar rows with the tags they are written under.
    /// </summary>
    private readonly record struct Work(EventFileSink? Sink, Event? Event, Action? Deferred, ScalarRecord Scalar, ScalarRows? Rows = null, string[]? RowTags = null);

    /// <summary>Starts a writer whose first file, <paramref name="mainSink"/>, may be open already: the writer closes it.</summary>
    public BackgroundEventWriter(double flushSecs, int capacity, EventFileSink mainSink)
    {
        _sinks.Add(mainSink);
        _capacity = capacity;
        _wakeAt = Math.Clamp(capacity / 2, 1, WakeAtMost);
        _flushTicks = (long)(flushSecs * Stopwatch.Frequency);
        ReusedThreads.Start(Run);
    }

    /// <summary>Queues <paramref name="evt"/> for <paramref name="sink"/>.</summary>
    public void Enqueue(EventFileSink sink, Event evt) => Add(new Work(sink, evt, null, default));

    /// <summary>Queues a scalar for <paramref name="sink"/>; its record is encoded when the queue is processed.</summary>
    public void Enqueue(EventFileSink sink, in ScalarRecord scalar) => Add(new Work(sink, null, null, scalar));

    /// <summary>
    /// Queues work that runs when the queue is processed, on the writer thread or in <see cref="Flush"/> and
    /// <see cref="Dispose"/> (it may call <see cref="AppendFromDeferred"/>); for
    /// events that are costly to build, such as histograms of copied buffers. <paramref name="heldBytes"/>
    /// is the memory the work holds until it runs: the writer is woken once 16 MiB are held, and
    /// producers wait while 256 MiB are.
    /// </summary>
    public void EnqueueDeferred(Action work, long heldBytes = 0) => Add(new Work(null, null, work, default), heldBytes);

    /// <summary>Only from work passed to <see cref="EnqueueDeferred"/>: appends an event to a file.</summary>
    public void AppendFromDeferred(EventFileSink sink, Event evt) => Append(sink, evt);

    /// <summary>Only from work passed to <see cref="EnqueueDeferred"/>: appends a histogram's record to a file.</summary>
    public void AppendHistogramFromDeferred(EventFileSink sink, string tag, long step, double wallTime, HistogramData histogram)
    {
        sink.AppendHistogram(tag, step, wallTime, histogram);
        Appended(sink);
    }

    /// <summary>Writes everything queued so far to the files, on the calling thread, and returns once it is there.</summary>
    public void Flush()
    {
        if (Monitor.IsEntered(_workGate)) throw new InvalidOperationException("a SummaryWriter cannot be flushed from work it is processing");
        lock (_gate) ThrowIfStoppedLocked();
        lock (_workGate)
        {
            if (!_closed)
            {
                ProcessQueued();
                Guard(WriteAllPending);
            }
        }
        ThrowIfFailed();
    }

    /// <summary>Writes everything queued, closes every file and lets the thread go; rethrows a write failure.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
            // The writer thread, if it is waiting, ends; if it is at work, it ends when that is done.
            Monitor.PulseAll(_gate);
        }
        lock (_workGate)
        {
            ProcessQueued();
            Guard(WriteAllPending);
            CloseAll();
            _closed = true;
        }
        ThrowIfFailed();
    }

    /// <summary>
    /// Queues a block of rows for <paramref name="sink"/>, written under <paramref name="writtenTags"/>; the
    /// block is the writer's from now on. Returns an empty block for the caller's next rows of <paramref name="nextTags"/>.
    /// </summary>
    public ScalarRows Enqueue(EventFileSink sink, ScalarRows rows, string[] writtenTags, string[] nextTags)
    {
        // A block counts as one item: it is produced at most every epoch or second, holds plain numbers, and
        // its records are encoded at the next flush. Counted by its scalars, it woke the writer thread every
        // few epochs of a short run, and the wake-ups cost the training loop more than the encoding.
        if (rows.Count > 0) lock (_gate) AddLocked(new Work(sink, null, null, default, rows, writtenTags), heldBytes: 0);
        // The next block holds as many rows as this one: a smaller spare would grow while the caller fills it.
        var next = rows.Count == 0 ? rows
            : _spareRows.TryPop(out var spare) && spare.Capacity >= rows.Capacity ? spare : new ScalarRows(nextTags, rows.Capacity);
        next.Reset(nextTags);
        return next;
    }

    private void Add(Work work, long heldBytes = 0)
    {
        lock (_gate) AddLocked(work, heldBytes);
    }

    /// <summary>Queues <paramref name="work"/>, waiting while the queue is full.</summary>
    private void AddLocked(in Work work, long heldBytes)
    {
        ThrowIfStoppedLocked();
        ThrowIfFailedLocked();
        // Work that runs while the queue is processed on this thread cannot wait for that processing.
        while ((_queued >= _capacity || (_heldBytes >= MaxHeldBytes && heldBytes > 0)) && !Monitor.IsEntered(_workGate))
        {
            _wake = true;
            Monitor.PulseAll(_gate);
            Monitor.Wait(_gate);
            // Disposed while this producer waited: Dispose has processed the queue for the last time.
            ThrowIfStoppedLocked();
            ThrowIfFailedLocked();
        }
        if (_queued == _queue.Length) Array.Resize(ref _queue, Math.Min(_queue.Length * 2, Math.Max(_capacity, 256)));
        _queue[_queued++] = work;
        _heldBytes += heldBytes;
        if (_queued >= _wakeAt || _heldBytes >= WakeHeldBytes)
        {
            _wake = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void ThrowIfStoppedLocked()
    {
        if (_stopped) throw new ObjectDisposedException(nameof(SummaryWriter), "the SummaryWriter has been disposed");
    }

    private void ThrowIfFailed()
    {
        lock (_gate) ThrowIfFailedLocked();
    }

    private void ThrowIfFailedLocked()
    {
        if (_failure is { } failure)
            throw new IOException($"writing TensorBoard events failed: {failure.Message}", failure);
    }

    /// <summary>The writer thread: processes the queue when woken and writes the files at each flush deadline, until disposed.</summary>
    private void Run()
    {
        long nextFlush = Stopwatch.GetTimestamp() + _flushTicks;
        while (true)
        {
            lock (_gate)
            {
                while (!_wake && !_stopped)
                {
                    long wait = nextFlush - Stopwatch.GetTimestamp();
                    if (wait <= 0) break;
                    Monitor.Wait(_gate, TimeSpan.FromSeconds(Math.Min((double)wait / Stopwatch.Frequency, int.MaxValue / 1000.0)));
                }
                // Dispose does what is left on its own thread.
                if (_stopped) return;
                _wake = false;
            }
            lock (_workGate)
            {
                if (_closed) return;
                ProcessQueued();
                if (Stopwatch.GetTimestamp() >= nextFlush)
                {
                    Guard(WriteAllPending);
                    nextFlush = Stopwatch.GetTimestamp() + _flushTicks;
                }
            }
        }
    }

    /// <summary>Takes everything queued and processes it; under <see cref="_workGate"/>.</summary>
    private void ProcessQueued()
    {
        lock (_gate)
        {
            (_queue, _draining) = (_draining, _queue);
            (_queued, _drainingCount) = (0, _queued);
            _heldBytes = 0;
            // Producers blocked on a full queue may go on.
            Monitor.PulseAll(_gate);
        }
        for (int i = 0; i < _drainingCount; i++) Process(in _draining[i]);
        Array.Clear(_draining, 0, _drainingCount);
        _drainingCount = 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Process(in Work work)
    {
        if (Failed) return;
        try
        {
            if (work.Rows is { } rows)
            {
                // A few hundred rows at a time, so that the file's pending records are written every 48 KiB
                // rather than piling up into one large buffer.
                for (int first = 0; first < rows.Count; first += 256)
                {
                    rows.AppendTo(work.Sink!, work.RowTags!, first, Math.Min(256, rows.Count - first));
                    Appended(work.Sink!);
                }
                // A logger keeps two blocks in use (steps, epochs); a few more cover what is queued.
                if (_spareRows.Count < 4) _spareRows.Push(rows);
            }
            else if (work.Event is { } evt) Append(work.Sink!, evt);
            else if (work.Deferred is { } deferred) deferred();
            else if (work.Sink is { } sink) AppendScalar(sink, work.Scalar);
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    private bool Failed => _failure is not null;

    private void Guard(Action action)
    {
        if (Failed) return;
        try
        {
            action();
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    private void Fail(Exception e)
    {
        lock (_gate)
        {
            _failure ??= e;
            Monitor.PulseAll(_gate);
        }
    }

    private void CloseAll()
    {
        foreach (var sink in _sinks)
        {
            try
            {
                sink.Close();
            }
            catch (IOException e)
            {
                Fail(e);
            }
        }
    }

    private void Append(EventFileSink sink, Event evt)
    {
        sink.Append(evt);
        Appended(sink);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void AppendScalar(EventFileSink sink, in ScalarRecord scalar)
    {
        sink.Append(scalar);
        Appended(sink);
    }

    private void Appended(EventFileSink sink)
    {
        _sinks.Add(sink);
        if (sink.PendingBytes >= WriteThroughBytes) Write(sink);
    }

    private void WriteAllPending()
    {
        foreach (var sink in _sinks)
            if (sink.PendingBytes > 0) Write(sink);
    }

    private void Write(EventFileSink sink)
    {
        if (!sink.IsOpen && _sinks.Count(s => s.IsOpen) >= MaxOpenFiles)
            _sinks.Where(s => s.IsOpen).MinBy(s => s.LastWrite)!.Close();
        sink.WritePending(Stopwatch.GetTimestamp());
    }
}

