using System.Reflection;
using System.Runtime.InteropServices;

namespace Descent.Distributed;

/// <summary>
/// The few MPI calls Descent makes, bound with P/Invoke against the MPICH ABI (<c>libmpi.so.12</c>, shared by MPICH,
/// Intel MPI, MVAPICH and Cray MPICH; Debian's <c>mpich</c> package names it <c>libmpich.so.12</c>). In this ABI every
/// handle is a 32-bit integer, so the constants below are plain numbers, copied from MPICH's <c>mpi.h</c>.
/// </summary>
internal static partial class Mpi
{
    private const string Library = "mpi";

    public const int CommWorld = 0x44000000;
    public const int Float = 0x4c00040a;
    public const int Double = 0x4c00080b;
    public const int Sum = 0x58000003;
    public const int ThreadFunneled = 1;
    public const int Success = 0;
    public const int RequestNull = 0x2c000000;
    /// <summary><c>MPI_IN_PLACE</c>, <c>(void*)-1</c>.</summary>
    public static readonly nint InPlace = -1;
    /// <summary><c>MPI_STATUS_IGNORE</c>, <c>(MPI_Status*)1</c>.</summary>
    public static readonly nint StatusIgnore = 1;

    /// <summary>The file names the MPICH ABI goes by, tried in order.</summary>
    public static readonly string[] LibraryNames = ["libmpi.so.12", "libmpich.so.12"];

    static Mpi() => NativeLibrary.SetDllImportResolver(typeof(Mpi).Assembly, Resolve);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library) return 0;
        // MPICH's UCX transport installs a SIGSEGV handler as the library loads, which would turn the runtime's
        // NullReferenceException (a caught SIGSEGV) into a crash; without it a failing rank still reports its cause.
        // The user's own setting wins.
        SetEnv("UCX_HANDLE_ERRORS", "none", overwrite: 0);
        foreach (var candidate in LibraryNames)
            if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
        throw new DllNotFoundException($"no MPI library of the MPICH ABI ({string.Join(" or ", LibraryNames)}); install MPICH (Debian: apt-get install mpich)");
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport(Library, EntryPoint = "MPI_Init_thread")]
    public static partial int InitThread(nint argc, nint argv, int required, out int provided);

    [LibraryImport(Library, EntryPoint = "MPI_Initialized")]
    public static partial int Initialized(out int flag);

    [LibraryImport(Library, EntryPoint = "MPI_Finalized")]
    public static partial int Finalized(out int flag);

    [LibraryImport(Library, EntryPoint = "MPI_Finalize")]
    public static partial int Finalize();

    [LibraryImport(Library, EntryPoint = "MPI_Comm_rank")]
    public static partial int CommRank(int comm, out int rank);

    [LibraryImport(Library, EntryPoint = "MPI_Comm_size")]
    public static partial int CommSize(int comm, out int size);

    [LibraryImport(Library, EntryPoint = "MPI_Ibcast")]
    public static partial int Ibcast(nint buffer, int count, int datatype, int root, int comm, out int request);

    [LibraryImport(Library, EntryPoint = "MPI_Iallreduce")]
    public static partial int Iallreduce(nint sendBuffer, nint receiveBuffer, int count, int datatype, int op, int comm, out int request);

    [LibraryImport(Library, EntryPoint = "MPI_Test")]
    public static partial int Test(ref int request, out int flag, nint status);

    [LibraryImport(Library, EntryPoint = "MPI_Abort")]
    public static partial int Abort(int comm, int errorCode);

    [LibraryImport(Library, EntryPoint = "MPI_Get_library_version")]
    public static unsafe partial int GetLibraryVersion(byte* version, out int length);
}
