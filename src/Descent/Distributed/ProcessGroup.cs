using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Descent.Distributed;

/// <summary>
/// The processes of an MPI job, like <c>torch.distributed</c>'s default process group with the <c>mpi</c> backend:
/// this process's <see cref="Rank"/>, the <see cref="WorldSize"/>, and the collectives data-parallel training needs
/// (broadcast, sum all-reduce, blocking or started now and waited for later).
/// </summary>
/// <remarks>
/// <para>
/// Start the job with the MPI launcher (<c>mpiexec -n 4 dotnet app.dll</c>) and call <see cref="Initialize"/> once;
/// <see cref="LaunchedByMpi"/> tells whether the launcher started this process. Only the thread that called
/// <see cref="Initialize"/> may use the group (<c>MPI_THREAD_FUNNELED</c>).
/// </para>
/// <para>
/// No collective waits forever: every wait polls its request and, after <see cref="Timeout"/>, ends the whole job
/// with <see cref="Abort"/> naming the collective. A rank that died would otherwise leave the others blocked in
/// their next collective for good.
/// </para>
/// </remarks>
public sealed class ProcessGroup
{
    private ProcessGroup(int rank, int worldSize)
    {
        Rank = rank;
        WorldSize = worldSize;
    }

    /// <summary>This process's index in the job, 0 to <see cref="WorldSize"/> − 1 (<c>dist.get_rank()</c>).</summary>
    public int Rank { get; }

    /// <summary>Number of processes in the job (<c>dist.get_world_size()</c>).</summary>
    public int WorldSize { get; }

    /// <summary>Whether this is rank 0, the one process that prints, logs and saves.</summary>
    public bool IsMain => Rank == 0;

    /// <summary>
    /// How long a collective may wait for the other ranks before the job is aborted (default 60 s, like the timeout
    /// of <c>init_process_group</c>, which defaults to 30 minutes there).
    /// </summary>
    public TimeSpan Timeout
    {
        get;
        set => field = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), $"timeout must be positive, got {value}");
    } = TimeSpan.FromSeconds(60);

    /// <summary>The group of this job once <see cref="Initialize"/> has run; null before.</summary>
    public static ProcessGroup? World { get; private set; }

    /// <summary>
    /// Whether an MPI launcher started this process: MPICH's Hydra (<c>mpiexec</c>) and other PMI launchers set
    /// <c>PMI_RANK</c> and <c>PMI_SIZE</c>.
    /// </summary>
    public static bool LaunchedByMpi =>
        Environment.GetEnvironmentVariable("PMI_RANK") is not null && Environment.GetEnvironmentVariable("PMI_SIZE") is not null;

    /// <summary>The rank the launcher gave this process (<c>PMI_RANK</c>), readable before <see cref="Initialize"/>; 0 without a launcher.</summary>
    public static int LauncherRank => int.TryParse(Environment.GetEnvironmentVariable("PMI_RANK"), out int rank) ? rank : 0;

    /// <summary>
    /// Joins the MPI job (<c>MPI_Init_thread</c> with <c>MPI_THREAD_FUNNELED</c>), like
    /// <c>dist.init_process_group("mpi")</c>; a second call returns the same group. MPI is finalized when the process
    /// exits.
    /// </summary>
    /// <exception cref="DllNotFoundException">No MPI library of the MPICH ABI is installed.</exception>
    /// <exception cref="InvalidOperationException">MPI could not start.</exception>
    public static ProcessGroup Initialize()
    {
        if (World is { } world) return world;
        Check(Mpi.Initialized(out int initialized), "MPI_Initialized");
        if (initialized == 0)
        {
            Check(Mpi.InitThread(0, 0, Mpi.ThreadFunneled, out int provided), "MPI_Init_thread");
            if (provided < Mpi.ThreadFunneled)
                throw new InvalidOperationException($"MPI provides thread level {provided}; Descent needs MPI_THREAD_FUNNELED");
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                if (Mpi.Finalized(out int done) == Mpi.Success && done == 0) Mpi.Finalize();
            };
        }
        Check(Mpi.CommRank(Mpi.CommWorld, out int rank), "MPI_Comm_rank");
        Check(Mpi.CommSize(Mpi.CommWorld, out int size), "MPI_Comm_size");
        World = new ProcessGroup(rank, size);
        return World;
    }

    /// <summary>The MPI library's own description of itself (<c>MPI_Get_library_version</c>), first line.</summary>
    public static unsafe string LibraryVersion()
    {
        var buffer = new byte[8192];
        fixed (byte* p = buffer)
            Check(Mpi.GetLibraryVersion(p, out int length), "MPI_Get_library_version");
        var text = System.Text.Encoding.ASCII.GetString(buffer).TrimEnd('\0');
        return string.Join(' ', text.Split('\n')[0].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="values"/> into every rank's (<c>dist.broadcast</c>).</summary>
    /// <param name="values">The buffer, of the same length on every rank.</param>
    /// <param name="root">The rank whose values everyone gets.</param>
    /// <param name="what">Names the data in the message if the broadcast times out.</param>
    public unsafe void Broadcast(Span<float> values, int root = 0, string what = "broadcast")
    {
        if (WorldSize == 1 || values.IsEmpty) return;
        fixed (float* p = values)
        {
            Check(Mpi.Ibcast((nint)p, values.Length, Mpi.Float, root, Mpi.CommWorld, out int request), "MPI_Ibcast");
            Wait(ref request, what);
        }
    }

    /// <summary>Replaces <paramref name="values"/> with their element-wise sum over all ranks (<c>dist.all_reduce</c>, SUM).</summary>
    public unsafe void AllReduceSum(Span<float> values, string what = "all-reduce")
    {
        if (WorldSize == 1 || values.IsEmpty) return;
        fixed (float* p = values)
        {
            Check(Mpi.Iallreduce(Mpi.InPlace, (nint)p, values.Length, Mpi.Float, Mpi.Sum, Mpi.CommWorld, out int request), "MPI_Iallreduce");
            Wait(ref request, what);
        }
    }

    /// <summary>Replaces <paramref name="values"/> with their element-wise sum over all ranks, in double precision.</summary>
    public unsafe void AllReduceSum(Span<double> values, string what = "all-reduce")
    {
        if (WorldSize == 1 || values.IsEmpty) return;
        fixed (double* p = values)
        {
            Check(Mpi.Iallreduce(Mpi.InPlace, (nint)p, values.Length, Mpi.Double, Mpi.Sum, Mpi.CommWorld, out int request), "MPI_Iallreduce");
            Wait(ref request, what);
        }
    }

    /// <summary>
    /// Starts summing <paramref name="count"/> floats of <paramref name="pinned"/> from <paramref name="offset"/> over all
    /// ranks in place and returns at once (<c>dist.all_reduce(..., async_op=True)</c>); <see cref="Wait(PendingReduction)"/>
    /// finishes it. The array must stay pinned until then.
    /// </summary>
    internal unsafe PendingReduction StartAllReduceSum(float[] pinned, int offset, int count, string what)
    {
        nint address = Marshal.UnsafeAddrOfPinnedArrayElement(pinned, offset);
        Check(Mpi.Iallreduce(Mpi.InPlace, address, count, Mpi.Float, Mpi.Sum, Mpi.CommWorld, out int request), "MPI_Iallreduce");
        return new PendingReduction(request, what);
    }

    /// <summary>Lets MPI move a started reduction along without waiting for it; true once it has completed.</summary>
    internal bool Progress(PendingReduction pending)
    {
        if (pending.Request == Mpi.RequestNull) return true;
        Check(Mpi.Test(ref pending.Request, out int done, Mpi.StatusIgnore), "MPI_Test");
        return done != 0;
    }

    /// <summary>Waits for a started reduction, at most <see cref="Timeout"/>.</summary>
    internal void Wait(PendingReduction pending) => Wait(ref pending.Request, pending.What);

    /// <summary>
    /// Polls <paramref name="request"/> until it completes; after <see cref="Timeout"/> aborts the job naming
    /// <paramref name="what"/>. Polling rather than <c>MPI_Wait</c> is what makes the timeout possible.
    /// </summary>
    private void Wait(ref int request, string what)
    {
        long start = Stopwatch.GetTimestamp();
        for (int polls = 0; ; polls++)
        {
            Check(Mpi.Test(ref request, out int done, Mpi.StatusIgnore), "MPI_Test");
            if (done != 0) return;
            if ((polls & 255) == 255)
            {
                if (Stopwatch.GetElapsedTime(start) > Timeout)
                    Abort(FormattableString.Invariant($"{what} did not complete within {Timeout.TotalSeconds:G} s; another rank stopped responding"));
                // On an oversubscribed machine the rank we wait for may need this core.
                Thread.Yield();
            }
        }
    }

    /// <summary>
    /// Ends the whole job (<c>MPI_Abort</c>) after writing <c>rank R: </c><paramref name="message"/> as one line to
    /// standard error: what a rank does when it cannot go on, so the other ranks do not wait for it.
    /// </summary>
    [DoesNotReturn]
    public void Abort(string message, int exitCode = 1)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"rank {Rank}: {message}");
        Console.Error.Flush();
        // The launcher forwards each rank's output through a pipe and stops reading once MPI_Abort kills the job:
        // give it a moment to pass the line on, or on a busy machine the job can end without saying why.
        Thread.Sleep(250);
        Mpi.Abort(Mpi.CommWorld, exitCode);
        Environment.Exit(exitCode);
    }

    private static void Check(int code, string call)
    {
        if (code != Mpi.Success) throw new InvalidOperationException($"{call} failed with MPI error {code}");
    }
}

/// <summary>A collective started with <see cref="ProcessGroup.StartAllReduceSum"/> and not yet waited for.</summary>
internal sealed class PendingReduction(int request, string what)
{
    public int Request = request;
    public string What { get; } = what;
}
