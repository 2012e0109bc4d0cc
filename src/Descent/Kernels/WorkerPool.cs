using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Descent.Kernels;

/// <summary>
/// The loop body run by <see cref="WorkerPool.For{TBody}(int, ref TBody)"/>: one call per index.
/// </summary>
/// <remarks>
/// Implement it on a struct holding whatever the loop needs (pointers to pinned data, sizes, arrays).
/// The pool calls <see cref="Run"/> from several threads at once, each with a distinct index, on one shared
/// instance of the struct, so <see cref="Run"/> must only write to state that belongs to its own index.
/// </remarks>
public interface IParallelBody
{
    /// <summary>Does the work of one index in [0, count).</summary>
    void Run(int index);
}

/// <summary>
/// A persistent pool of worker threads sized to the machine (<see cref="Environment.ProcessorCount"/> − 1
/// background threads plus the calling thread) that runs data-parallel loops without allocating: kernels hand
/// it a struct implementing <see cref="IParallelBody"/> and the pool calls it for every index of a range,
/// spreading the indices over the worker threads and the calling thread.
/// </summary>
/// <remarks>
/// <para>
/// Typical use, with spans pinned because worker threads cannot capture them:
/// <code>
/// private unsafe struct ScaleBody : IParallelBody
/// {
///     public float* Data;
///     public int Length, ChunkSize;
///     public float Factor;
///
///     public readonly void Run(int chunk)
///     {
///         int start = chunk * ChunkSize, end = Math.Min(Length, start + ChunkSize);
///         for (int i = start; i &lt; end; i++) Data[i] *= Factor;
///     }
/// }
///
/// fixed (float* data = span)
/// {
///     var body = new ScaleBody { Data = data, Length = span.Length, ChunkSize = 16384, Factor = 0.5f };
///     WorkerPool.For((span.Length + body.ChunkSize - 1) / body.ChunkSize, ref body);
/// }
/// </code>
/// </para>
/// <para>
/// The threads are started on first use and live for the whole process as background threads. Between
/// loops a worker polls for about a millisecond (so back-to-back kernels of a training step start without a
/// wake-up latency), then sleeps until the next loop.
/// </para>
/// <para>
/// Indices are handed out in contiguous runs from a shared counter, so a thread that finishes early takes
/// over work that another thread has not started: one slow core (a noisy neighbour, a GC pause) does not
/// hold back the whole loop, and a worker that is not running at all costs the loop nothing. Give each index
/// a meaningful amount of work (tens of microseconds: a row block, a tile, an image, a chunk of 16K
/// elements); the pool groups consecutive indices itself when the count is large.
/// </para>
/// <para>
/// A loop runs on the calling thread alone when the count is 1, when the machine has one processor, when
/// it is started from inside another loop's body (nested loops would otherwise wait on threads that are
/// busy running their parent), or when another thread is already running a loop on the pool. Results are
/// identical either way; only the speed differs. <see cref="CanParallelize"/> tells a kernel in advance.
/// </para>
/// <para>
/// An exception thrown by a body is caught on whichever thread ran it; the loop still finishes, and the
/// first exception is rethrown on the calling thread.
/// </para>
/// </remarks>
public static unsafe class WorkerPool
{
    /// <summary>
    /// How long an idle worker keeps polling for the next loop before it goes to sleep: one millisecond covers
    /// the gaps between the kernels of a training step, and waking a sleeping thread can cost far more than
    /// that on a virtual machine whose idle processor the host has descheduled.
    /// </summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 1000;

    private static readonly object StartLock = new();
    private static volatile bool _started;
    private static Worker[] _workers = [];

    /// <summary>1 while a loop owns the pool; a second loop started meanwhile runs inline.</summary>
    private static int _busy;

    /// <summary>
    /// Generation of the current loop in the high 32 bits, next unclaimed index in the low 32 bits: a worker
    /// that read a previous loop's description fails its compare-and-swap instead of running stale work.
    /// </summary>
    private static long _claim;

    private static volatile int _generation;
    private static int _count;
    private static int _grain;
    private static delegate*<int, int, void> _runRange;
    private static int _completed;
    private static ExceptionDispatchInfo? _failure;

    /// <summary>Set on a thread while it runs a body inside a parallel loop; nested loops then run inline.</summary>
    [ThreadStatic] private static bool _insideLoop;

    [ThreadStatic] private static int _slot;

    /// <summary>Number of threads that take part in a parallel loop: the workers plus the calling thread.</summary>
    public static int Workers { get; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// Index in [0, <see cref="Workers"/>) of the thread running the current body; distinct among the threads
    /// of one loop, so a body can keep per-thread partial results (for example gradient sums) in
    /// <c>partials[WorkerPool.CurrentSlot]</c> and reduce them after the loop. It is 0 outside loops and for
    /// loops that run inline.
    /// </summary>
    public static int CurrentSlot => _slot;

    /// <summary>
    /// Whether a loop started now on this thread could run on several threads: false inside a loop body and
    /// on single-processor machines. Kernels use it to choose between a parallel decomposition and a cheaper
    /// sequential one.
    /// </summary>
    public static bool CanParallelize => Workers > 1 && !_insideLoop && Volatile.Read(ref _busy) == 0;

    /// <summary>
    /// Calls <c>body.Run(i)</c> once for every i in [0, <paramref name="count"/>), on the worker threads and
    /// the calling thread, and returns when all calls have finished. The order of the calls is unspecified.
    /// </summary>
    /// <param name="count">Number of indices; nothing runs when it is zero or negative.</param>
    /// <param name="body">
    /// The loop body. While the loop runs in parallel the threads share a copy of it; changes they make to its
    /// fields are copied back into <paramref name="body"/> when the loop returns.
    /// </param>
    public static void For<TBody>(int count, ref TBody body) where TBody : struct, IParallelBody
    {
        if (count <= 0) return;
        if (count == 1 || Workers == 1 || _insideLoop || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            RunInline(count, ref body);
            return;
        }
        try
        {
            EnsureStarted();
            SharedBody<TBody>.Value = body;
            Dispatch(count, &RunRange<TBody>);
            body = SharedBody<TBody>.Value;
        }
        finally
        {
            SharedBody<TBody>.Value = default;
            Volatile.Write(ref _busy, 0);
        }
        var failure = _failure;
        if (failure is not null)
        {
            _failure = null;
            failure.Throw();
        }
    }

    private static void RunInline<TBody>(int count, ref TBody body) where TBody : struct, IParallelBody
    {
        bool wasInside = _insideLoop;
        _insideLoop = true;
        try
        {
            for (int i = 0; i < count; i++) body.Run(i);
        }
        finally
        {
            _insideLoop = wasInside;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunRange<TBody>(int start, int end) where TBody : struct, IParallelBody
    {
        ref TBody body = ref SharedBody<TBody>.Value;
        for (int i = start; i < end; i++) body.Run(i);
    }

    /// <summary>Holds the body of the running loop where every thread can reach it by its type alone.</summary>
    private static class SharedBody<TBody> where TBody : struct
    {
        public static TBody Value;
    }

    private static void Dispatch(int count, delegate*<int, int, void> runRange)
    {
        int generation = _generation + 1;
        // Close the claim counter before touching the loop description: a worker still inside the previous
        // loop may hold that loop's last claim value; without this its compare-and-swap could succeed against
        // the new description and run (and count) indices of the new loop twice.
        Interlocked.Exchange(ref _claim, ((long)generation << 32) | int.MaxValue);
        _count = count;
        // Several runs per thread let a fast thread take over a slow one's share; runs of consecutive indices
        // keep the claim counter cold when the count is large.
        _grain = Math.Max(1, count / (Workers * 4));
        _runRange = runRange;
        _completed = 0;
        Volatile.Write(ref _claim, (long)generation << 32);
        _generation = generation; // volatile write publishes everything above to the workers

        foreach (var worker in _workers) worker.WakeIfSleeping();

        _slot = 0;
        _insideLoop = true;
        try
        {
            RunClaims(generation);
        }
        finally
        {
            _insideLoop = false;
        }

        var spinner = new SpinWait();
        while (Volatile.Read(ref _completed) < count) spinner.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Claims and runs runs of indices of loop <paramref name="generation"/> until none are left.</summary>
    private static void RunClaims(int generation)
    {
        while (true)
        {
            long claim = Volatile.Read(ref _claim);
            if ((int)(claim >> 32) != generation) return;
            // Read after the claim and confirmed by the compare-and-swap below: a successful swap proves the
            // loop was still unfinished, so no later loop can have overwritten its description yet.
            int count = _count, grain = _grain;
            var runRange = _runRange;
            int start = (int)claim;
            if (start >= count) return;
            int end = Math.Min(count, start + grain);
            long next = ((long)generation << 32) | (uint)end;
            if (Interlocked.CompareExchange(ref _claim, next, claim) != claim) continue;
            try
            {
                runRange(start, end);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            }
            Interlocked.Add(ref _completed, end - start);
        }
    }

    private static void EnsureStarted()
    {
        if (_started) return;
        lock (StartLock)
        {
            if (_started) return;
            var workers = new Worker[Workers - 1];
            for (int i = 0; i < workers.Length; i++) workers[i] = new Worker(i + 1);
            _workers = workers;
            _started = true;
        }
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);
        private int _sleeping;

        public Worker(int slot)
        {
            var thread = new Thread(() => Loop(slot))
            {
                IsBackground = true,
                Name = $"Descent worker {slot}",
            };
            thread.Start();
        }

        public void WakeIfSleeping()
        {
            if (Interlocked.Exchange(ref _sleeping, 0) == 1) _wake.Release();
        }

        private void Loop(int slot)
        {
            _slot = slot;
            _insideLoop = true;
            int seen = 0;
            while (true)
            {
                int generation = WaitForLoop(seen);
                seen = generation;
                RunClaims(generation);
            }
        }

        private int WaitForLoop(int seen)
        {
            long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            while (true)
            {
                int generation = _generation;
                if (generation != seen) return generation;
                if (Stopwatch.GetTimestamp() < spinUntil)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                // A full fence, not a release store: the re-check below must not be served before the flag is
                // visible, or a loop published in between would neither be seen here nor wake this worker.
                Interlocked.Exchange(ref _sleeping, 1);
                if (_generation != seen)
                {
                    Interlocked.Exchange(ref _sleeping, 0);
                    continue;
                }
                // A release meant for an earlier sleep can make this return early; the loop just checks again.
                _wake.Wait();
                spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            }
        }
    }
}
