using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Descent.TensorBoard.Proto;

namespace Descent.TensorBoard;

/// <summary>
/// One event file. Records are framed into a memory buffer and reach the file only whole: each write to
/// the file is one call with a run of complete records, so a crash leaves every earlier record readable.
/// </summary>
/// <remarks>
/// The file is created (with its <c>brain.Event:2</c> first record) on the thread that asks for it, so a
/// directory that cannot be written fails at once; afterwards it is touched only where the writer's queue is
/// processed, one thread at a time.
/// </remarks>
internal sealed class EventFileSink
{
    /// <summary>The file version every Descent event file declares, as TensorBoard's EventFileWriter does.</summary>
    public const string FileVersion = "brain.Event:2";

    private static int _fileCounter = -1;

    private ArrayBufferWriter<byte> _pending = new(4096);
    private FileStream? _stream;

    private EventFileSink(string path, FileStream? stream)
    {
        FilePath = path;
        _stream = stream;
    }

    /// <summary>Where the records go.</summary>
    public string FilePath { get; }

    /// <summary>Bytes framed but not yet written to the file.</summary>
    public int PendingBytes => _pending.WrittenCount;

    /// <summary>Whether the file is held open.</summary>
    public bool IsOpen => _stream is not null;

    /// <summary>Monotonic stamp of the last write, for closing the least recently used file.</summary>
    public long LastWrite { get; private set; }

    /// <summary>
    /// Creates <c>events.out.tfevents.&lt;unix seconds, 10 digits&gt;.&lt;host&gt;.&lt;pid&gt;.&lt;counter&gt;&lt;suffix&gt;</c>
    /// in <paramref name="directory"/> (created as needed) and writes the first record to it.
    /// </summary>
    /// <remarks>
    /// <paramref name="counted"/> false gives counter 0 and leaves the process's counter alone: the warm-up
    /// rehearsal's file, in a directory it deletes, must not make a user's first event file end in 1.
    /// <paramref name="keepOpen"/> keeps the file open for the writer's first write (opening it again costs
    /// a few system calls); whoever asks for it must see that the writer will close it.
    /// </remarks>
    public static EventFileSink Create(string directory, string filenameSuffix, double wallTime, bool counted = true, bool keepOpen = false)
    {
        int counter = counted ? Interlocked.Increment(ref _fileCounter) : 0;
        long seconds = (long)Math.Floor(wallTime);
        string name = $"events.out.tfevents.{seconds:D10}.{HostName}.{Environment.ProcessId}.{counter}{filenameSuffix}";
        string path = Path.Combine(directory, name);
        FileStream? stream = null;
        try
        {
            Directory.CreateDirectory(directory);
            stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
            stream.Write(FirstRecord(wallTime));
            if (!keepOpen)
            {
                stream.Dispose();
                stream = null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            stream?.Dispose();
            throw new ArgumentException($"cannot write TensorBoard events to '{directory}': {e.Message}", nameof(directory), e);
        }
        return new EventFileSink(path, stream);
    }

    /// <summary>
    /// <c>Event{wall_time, file_version = "brain.Event:2"}</c> as one record, encoded by hand: it is the only
    /// record written on the caller's thread, and this keeps protobuf's first-use cost off that thread.
    /// </summary>
    internal static byte[] FirstRecord(double wallTime)
    {
        var payload = new byte[24];
        payload[0] = 0x09;
        BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(1), wallTime);
        payload[9] = 0x1A;
        payload[10] = (byte)FileVersion.Length;
        Encoding.ASCII.GetBytes(FileVersion, payload.AsSpan(11));
        return TfRecord.Frame(payload);
    }

    /// <summary>
    /// The host name in file and run names, as Python's <c>socket.gethostname()</c>. On Linux the kernel's
    /// host name is read directly: <see cref="Environment.MachineName"/> cuts it at the first dot, and
    /// <c>Dns.GetHostName</c> costs milliseconds of start-up.
    /// </summary>
    public static string HostName { get; } = ReadHostName();

    private static string ReadHostName()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.ReadAllText("/proc/sys/kernel/hostname").Trim() is { Length: > 0 } name) return name;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return Environment.MachineName;
    }

    /// <summary>Frames <paramref name="evt"/> into the pending buffer.</summary>
    public void Append(Event evt) => TfRecord.Write(_pending, evt);

    /// <summary>Frames a scalar's record into the pending buffer.</summary>
    public void Append(in ScalarRecord scalar) => scalar.WriteRecord(_pending);

    /// <summary>Frames rows of <c>simple_value</c> scalars (see <see cref="DirectRecords.WriteSimpleScalarRows"/>) into the pending buffer.</summary>
    public void AppendSimpleScalarRows(string[] tags, ReadOnlySpan<long> steps, ReadOnlySpan<double> wallTimes, ReadOnlySpan<double> values, int rows) =>
        DirectRecords.WriteSimpleScalarRows(_pending, tags, steps, wallTimes, values, rows);

    /// <summary>Frames a histogram's record into the pending buffer.</summary>
    public void AppendHistogram(string tag, long step, double wallTime, HistogramData histogram) =>
        DirectRecords.WriteHistogram(_pending, tag, step, wallTime, histogram);

    /// <summary>Writes the pending records to the file in one call, opening it for appending when needed.</summary>
    public void WritePending(long stamp)
    {
        if (_pending.WrittenCount == 0) return;
        _stream ??= new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _stream.Write(_pending.WrittenSpan);
        // A large image leaves a large buffer behind; give it back rather than keep it for small scalars.
        if (_pending.Capacity > 4 << 20) _pending = new ArrayBufferWriter<byte>(4096);
        else _pending.ResetWrittenCount();
        LastWrite = stamp;
    }

    /// <summary>Closes the file; the next write reopens it for appending.</summary>
    public void Close()
    {
        _stream?.Dispose();
        _stream = null;
    }
}
