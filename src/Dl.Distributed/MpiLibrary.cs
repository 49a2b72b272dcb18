using System.Runtime.InteropServices;

namespace Dl.Distributed;

/// <summary>
/// The entry points of Open MPI's <c>libmpi.so.40</c>, resolved once by name into unmanaged function pointers (no
/// reflection, no marshalling stubs: Native AOT and trimming safe). The library is loaded the first time anything in
/// <see cref="Mpi"/> is used, never by merely referencing this assembly.
/// </summary>
/// <remarks>Open MPI's handles are pointers to global objects (<c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>,
/// <c>MPI_FLOAT</c> is <c>&amp;ompi_mpi_float</c>, <c>MPI_SUM</c> is <c>&amp;ompi_mpi_op_sum</c>), so they are the
/// addresses of exported data symbols. This binds Open MPI's ABI only; MPICH and MS-MPI use integer handles.</remarks>
internal sealed unsafe class MpiLibrary
{
    /// <summary>The library names tried in order.</summary>
    public static readonly string[] Names = ["libmpi.so.40", "libmpi.so"];

    // Open MPI's constants (mpi.h of 4.x): MPI_IN_PLACE is (void*)1, MPI_STATUS_IGNORE is NULL, MPI_THREAD_FUNNELED 1.
    public static readonly nint InPlace = 1;
    public const int ThreadFunneled = 1;

    private static MpiLibrary? s_instance;
    private static readonly object s_lock = new();

    public readonly nint Handle;
    public readonly nint CommWorld, Float, Double, Byte, Sum, ErrorsReturn;

    public readonly delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<nint, nint, int> CommSetErrhandler;
    public readonly delegate* unmanaged<nint, void*, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<nint, void*, int, nint, nint, nint, nint*, int> Iallreduce;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> Allgather;
    public readonly delegate* unmanaged<nint*, void*, int> Wait;
    public readonly delegate* unmanaged<nint*, int*, void*, int> Test;
    public readonly delegate* unmanaged<nint, int> Barrier;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<int, byte*, int*, int> ErrorString;

    private MpiLibrary(nint handle)
    {
        Handle = handle;
        CommWorld = Export("ompi_mpi_comm_world");
        Float = Export("ompi_mpi_float");
        Double = Export("ompi_mpi_double");
        Byte = Export("ompi_mpi_byte");
        Sum = Export("ompi_mpi_op_sum");
        ErrorsReturn = Export("ompi_mpi_errors_return");
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)Export("MPI_Comm_set_errhandler");
        Allreduce = (delegate* unmanaged<nint, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        Iallreduce = (delegate* unmanaged<nint, void*, int, nint, nint, nint, nint*, int>)Export("MPI_Iallreduce");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        Allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export("MPI_Allgather");
        Wait = (delegate* unmanaged<nint*, void*, int>)Export("MPI_Wait");
        Test = (delegate* unmanaged<nint*, int*, void*, int>)Export("MPI_Test");
        Barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
    }

    private nint Export(string name) =>
        NativeLibrary.TryGetExport(Handle, name, out nint address)
            ? address
            : throw new MpiException($"The MPI library has no symbol '{name}': Dl.Distributed binds Open MPI 4.x or later (libmpi.so.40), not MPICH or MS-MPI.");

    /// <summary>The loaded library, loading it on first use.</summary>
    /// <exception cref="MpiException">Open MPI is not installed; the message names the packages.</exception>
    public static MpiLibrary Instance
    {
        get
        {
            if (Volatile.Read(ref s_instance) is { } loaded) return loaded;
            lock (s_lock)
            {
                if (s_instance is not null) return s_instance;
                if (!OperatingSystem.IsLinux())
                    throw new MpiException("Dl.Distributed binds Open MPI on Linux; this operating system is not supported.");
                foreach (string name in Names)
                {
                    if (NativeLibrary.TryLoad(name, out nint handle))
                        return s_instance = new MpiLibrary(handle);
                }
                throw new MpiException(
                    "Open MPI was not found (libmpi.so.40): install it, e.g. `apt-get install openmpi-bin libopenmpi-dev` on Debian or Ubuntu, and start the program with mpirun.");
            }
        }
    }
}

/// <summary>An MPI call failed, or MPI is missing or not usable; the message names the call.</summary>
public sealed class MpiException : Exception
{
    /// <summary>A failure with no MPI error code (a missing library, a misuse).</summary>
    public MpiException(string message) : base(message) { }

    /// <summary>The failure of <paramref name="call"/> with MPI error code <paramref name="errorCode"/>.</summary>
    public MpiException(string call, int errorCode, string errorText)
        : base($"{call} failed with MPI error {errorCode}: {errorText}")
    {
        Call = call;
        ErrorCode = errorCode;
    }

    /// <summary>The MPI function that failed (e.g. <c>MPI_Allreduce</c>), or null.</summary>
    public string? Call { get; }
    /// <summary>The MPI error code the call returned (0 when there is none).</summary>
    public int ErrorCode { get; }
}
