using System.Buffers;
using System.Diagnostics;
using Descent.TensorBoard.Proto;

namespace Descent.TensorBoard;

/// <summary>
/// One event file, <c>events.out.tfevents.&lt;unix seconds&gt;.&lt;host&gt;.&lt;pid&gt;.&lt;counter&gt;&lt;suffix&gt;</c>
/// as PyTorch names it. It is created on the caller's thread, so that a directory that cannot be written
/// fails at once; only <see cref="EventFileWriter"/>'s thread writes to it, starting with the
/// <see cref="FirstEvent"/>.
/// </summary>
internal sealed class EventFile
{
    /// <summary>The file version every Descent event file declares, as TensorBoard's EventFileWriter does.</summary>
    public const string FileVersion = "brain.Event:2";

    private static int _fileCounter = -1;

    private readonly FileStream _stream;
    private ArrayBufferWriter<byte> _record = new(256);

    private EventFile(string path, FileStream stream)
    {
        FilePath = path;
        _stream = stream;
    }

    /// <summary>Where the records go.</summary>
    public string FilePath { get; }

    /// <summary>The record every event file starts with: its creation time and <see cref="FileVersion"/>.</summary>
    public Event FirstEvent { get; private init; } = null!;

    /// <summary>Creates a new, empty event file in <paramref name="directory"/> (created as needed).</summary>
    /// <exception cref="ArgumentException">The directory or the file cannot be created.</exception>
    public static EventFile Create(string directory, string filenameSuffix)
    {
        double wallTime = SummaryWriter.UnixNow();
        // The counter tells apart files of one process created in the same second, as PyTorch's does.
        int counter = Interlocked.Increment(ref _fileCounter);
        string path = Path.Combine(directory, $"events.out.tfevents.{(long)Math.Floor(wallTime):D10}.{HostName}.{Environment.ProcessId}.{counter}{filenameSuffix}");
        try
        {
            Directory.CreateDirectory(directory);
            var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 64 << 10);
            return new EventFile(path, stream) { FirstEvent = new Event { WallTime = wallTime, FileVersion = FileVersion } };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"cannot write TensorBoard events to '{directory}': {e.Message}", nameof(directory), e);
        }
    }

    /// <summary>Serializes <paramref name="evt"/> and appends it as one TFRecord.</summary>
    public void Append(Event evt)
    {
        _record.ResetWrittenCount();
        TfRecord.Write(_record, evt);
        _stream.Write(_record.WrittenSpan);
        // An image leaves a large buffer behind; scalars need little.
        if (_record.Capacity > 1 << 20) _record = new ArrayBufferWriter<byte>(256);
    }

    /// <summary>Hands the records appended so far to the operating system.</summary>
    public void Flush() => _stream.Flush();

    /// <summary>Flushes and closes the file.</summary>
    public void Close() => _stream.Dispose();

    /// <summary>
    /// The host name in file and run names, as Python's <c>socket.gethostname()</c>. On Linux the kernel's
    /// host name is read directly: <see cref="Environment.MachineName"/> cuts it at the first dot.
    /// </summary>
    public static string HostName { get; } = ReadHostName();

    private static string ReadHostName()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.ReadAllText("/proc/sys/kernel/hostname").Trim() is { Length: > 0 } name) return name;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return Environment.MachineName;
    }
}

/// <summary>
/// The writer behind a <see cref="SummaryWriter"/>: callers queue events for their files, and one background
/// thread serializes them with Google.Protobuf, appends them as TFRecords and flushes the files every
/// <c>flushSecs</c>, as PyTorch's <c>EventFileWriter</c> does. <see cref="Flush"/> waits until everything
/// queued before it is in the files; <see cref="Dispose"/> waits until the queue is drained, then closes the
/// files. A failure on the thread is kept and thrown to the next caller.
/// </summary>
/// <remarks>
/// <para>The queue is bounded: a caller that finds it full waits (PyTorch's <c>max_queue</c>). The thread
/// sleeps until the flush interval, <see cref="Flush"/>, <see cref="Dispose"/> or a half-full queue: a
/// caller that wakes it can lose its processor to it, which on a busy machine stalls training for
/// milliseconds, so it is not woken for every event.</para>
/// <para>A scalar (<c>simple_value</c>, nearly everything a training run logs) waits as plain values and is
/// written through one reused message, so that logging it allocates nothing.</para>
/// </remarks>
internal sealed class EventFileWriter : IDisposable
{
    private readonly object _gate = new();
    private readonly Queue<Pending> _queue = new();
    // The message every queued scalar is written through, on the thread.
    private readonly Event _scalarEvent = new() { Summary = new Summary { Value = { new Summary.Types.Value() } } };
    private readonly List<EventFile> _files = [];
    private readonly int _capacity, _wakeAt;
    private readonly long _flushTicks;
    private readonly Thread _thread;
    // Events queued so far, events written and flushed so far, and the count a Flush waits for.
    private long _queued, _flushed, _flushWanted;
    private bool _stopping;
    private Exception? _failure;

    /// <summary>Starts the thread; <paramref name="first"/> is the first of the files it writes and closes.</summary>
    public EventFileWriter(EventFile first, double flushSecs, int capacity)
    {
        _capacity = capacity;
        _wakeAt = Math.Max(1, capacity / 2);
        _flushTicks = (long)(flushSecs * Stopwatch.Frequency);
        _thread = new Thread(Run) { IsBackground = true, Name = "TensorBoard event writer" };
        _thread.Start();
        AddFile(first);
    }

    /// <summary>Another file for the thread to write its first event to, flush and close (a run of <c>add_scalars</c>).</summary>
    public void AddFile(EventFile file)
    {
        lock (_gate) _files.Add(file);
        Enqueue(file, file.FirstEvent);
    }

    /// <summary>
    /// One queued item: an event, or (with <see cref="Event"/> null) a scalar's summary value
    /// <c>{tag, simple_value}</c> at a step and time.
    /// </summary>
    private readonly record struct Pending(EventFile File, Event? Event, string? Tag = null, float Value = 0, long Step = 0, double WallTime = 0);

    /// <summary>Queues <paramref name="evt"/> for <paramref name="file"/>, waiting while the queue is full.</summary>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    /// <exception cref="IOException">An earlier write failed.</exception>
    public void Enqueue(EventFile file, Event evt) => Enqueue(new Pending(file, evt));

    /// <summary>Queues the event <c>{wall_time, step, summary {value {tag, simple_value}}}</c> for <paramref name="file"/>.</summary>
    public void EnqueueScalar(EventFile file, string tag, float value, long step, double wallTime) => Enqueue(new Pending(file, null, tag, value, step, wallTime));

    private void Enqueue(in Pending item)
    {
        lock (_gate)
        {
            ThrowIfStoppedOrFailed();
            while (_queue.Count >= _capacity)
            {
                Monitor.PulseAll(_gate);
                Monitor.Wait(_gate);
                ThrowIfStoppedOrFailed();
            }
            _queue.Enqueue(item);
            _queued++;
            if (_queue.Count == _wakeAt) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Returns once every event queued before the call is written and the files are flushed.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            ThrowIfStoppedOrFailed();
            long target = _queued;
            _flushWanted = Math.Max(_flushWanted, target);
            Monitor.PulseAll(_gate);
            while (_flushed < target && _failure is null) Monitor.Wait(_gate);
            if (_failure is { } failure) throw Failed(failure);
        }
    }

    /// <summary>Writes what is queued, ends the thread and closes the files; throws if a write failed.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
        foreach (var file in _files)
        {
            try
            {
                file.Close();
            }
            catch (IOException e)
            {
                _failure ??= e;
            }
        }
        if (_failure is { } failure) throw Failed(failure);
    }

    private void ThrowIfStoppedOrFailed()
    {
        if (_stopping) throw new ObjectDisposedException(nameof(SummaryWriter), "the SummaryWriter has been disposed");
        if (_failure is { } failure) throw Failed(failure);
    }

    private static IOException Failed(Exception failure) => new($"writing TensorBoard events failed: {failure.Message}", failure);

    private Event ScalarEvent(in Pending scalar)
    {
        _scalarEvent.WallTime = scalar.WallTime;
        _scalarEvent.Step = scalar.Step;
        var value = _scalarEvent.Summary.Value[0];
        value.Tag = scalar.Tag;
        value.SimpleValue = scalar.Value;
        return _scalarEvent;
    }

    private void Run()
    {
        var batch = new List<Pending>();
        long nextFlush = Stopwatch.GetTimestamp() + _flushTicks;
        while (true)
        {
            bool stopping, flush;
            long taken;
            EventFile[]? files = null;
            lock (_gate)
            {
                while (!_stopping && _flushWanted <= _flushed && _queue.Count < _wakeAt)
                {
                    long wait = nextFlush - Stopwatch.GetTimestamp();
                    if (wait <= 0) break;
                    Monitor.Wait(_gate, TimeSpan.FromSeconds(Math.Min((double)wait / Stopwatch.Frequency, int.MaxValue / 1000.0)));
                }
                while (_queue.TryDequeue(out var item)) batch.Add(item);
                taken = _queued;
                stopping = _stopping;
                flush = stopping || _flushWanted > _flushed || Stopwatch.GetTimestamp() >= nextFlush;
                if (flush) files = [.. _files];
                // Callers waiting on a full queue may go on.
                Monitor.PulseAll(_gate);
            }
            try
            {
                // After a failure the queue is still drained, so that no caller waits on it, but nothing is written.
                if (Volatile.Read(ref _failure) is null)
                {
                    foreach (var item in batch) item.File.Append(item.Event ?? ScalarEvent(item));
                    if (files is not null)
                        foreach (var file in files) file.Flush();
                }
            }
            catch (Exception e)
            {
                lock (_gate) _failure ??= e;
            }
            batch.Clear();
            if (flush)
            {
                nextFlush = Stopwatch.GetTimestamp() + _flushTicks;
                lock (_gate)
                {
                    _flushed = taken;
                    Monitor.PulseAll(_gate);
                }
            }
            // Once stopping, nothing more can be queued: everything was taken above.
            if (stopping) return;
        }
    }
}
