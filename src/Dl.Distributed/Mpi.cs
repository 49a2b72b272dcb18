using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Dl.Distributed;

/// <summary>
/// A thin binding to the few MPI calls data-parallel training needs, on <c>MPI_COMM_WORLD</c> of Open MPI
/// (<c>libmpi.so.40</c>, Debian/Ubuntu packages <c>openmpi-bin libopenmpi-dev</c>): initialization, rank and size,
/// in-place sum allreduce (blocking and not), broadcast, allgather, barrier and abort.
/// </summary>
/// <remarks>
/// <para>Every call checks MPI's return code (the world communicator is switched to <c>MPI_ERRORS_RETURN</c> at
/// <see cref="Initialize"/>) and throws <see cref="MpiException"/> naming the call and MPI's error text.</para>
/// <para>Threads: MPI is initialized with <c>MPI_THREAD_FUNNELED</c>: make every call from the thread that called
/// <see cref="Initialize"/>.</para>
/// <para>The library is loaded by the first call, so referencing this assembly costs nothing in a run without MPI.</para>
/// </remarks>
public static unsafe class Mpi
{
    private static int s_rank = -1, s_size;

    /// <summary>True when this process was started by Open MPI's <c>mpirun</c>/<c>mpiexec</c> (it sets
    /// <c>OMPI_COMM_WORLD_SIZE</c>). Does not load the library.</summary>
    public static bool IsLaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>True between <see cref="Initialize"/> and <see cref="Shutdown"/>.</summary>
    public static bool IsInitialized
    {
        get
        {
            if (s_rank < 0) return false;
            MpiLibrary mpi = MpiLibrary.Instance;
            int done;
            Check(mpi.Finalized(&done), "MPI_Finalized");
            return done == 0;
        }
    }

    /// <summary>This process's rank in <c>MPI_COMM_WORLD</c>, from 0.</summary>
    public static int Rank => s_rank >= 0 ? s_rank : throw NotInitialized();
    /// <summary>The number of processes in <c>MPI_COMM_WORLD</c>.</summary>
    public static int Size => s_rank >= 0 ? s_size : throw NotInitialized();

    /// <summary><c>MPI_Init_thread</c> with <c>MPI_THREAD_FUNNELED</c> (once per process; later calls do nothing), then
    /// errors-return on the world communicator, rank and size.</summary>
    /// <exception cref="MpiException">Open MPI is missing (the message names the packages) or initialization failed.</exception>
    public static void Initialize()
    {
        if (s_rank >= 0) return;
        MpiLibrary mpi = MpiLibrary.Instance;
        int already;
        Check(mpi.Initialized(&already), "MPI_Initialized");
        if (already == 0)
        {
            int provided;
            Check(mpi.InitThread(null, null, MpiLibrary.ThreadFunneled, &provided), "MPI_Init_thread");
        }
        Check(mpi.CommSetErrhandler(mpi.CommWorld, mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        int rank, size;
        Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        s_size = size;
        s_rank = rank;
    }

    /// <summary><c>MPI_Finalize</c>: every rank must call it before exiting normally (after it no MPI call is allowed).</summary>
    public static void Shutdown()
    {
        if (s_rank < 0) return;
        MpiLibrary mpi = MpiLibrary.Instance;
        int done;
        Check(mpi.Finalized(&done), "MPI_Finalized");
        if (done == 0) Check(mpi.Finalize(), "MPI_Finalize");
    }

    /// <summary>Sums <paramref name="buffer"/> over all ranks, in place (<c>MPI_Allreduce</c>, <c>MPI_IN_PLACE</c>,
    /// <c>MPI_FLOAT</c>, <c>MPI_SUM</c>): every rank ends with the same sums.</summary>
    public static void AllreduceSum(Span<float> buffer)
    {
        MpiLibrary mpi = Library();
        fixed (float* p = buffer)
            Check(mpi.Allreduce(MpiLibrary.InPlace, p, buffer.Length, mpi.Float, mpi.Sum, mpi.CommWorld), "MPI_Allreduce");
    }

    /// <summary>Sums <paramref name="buffer"/> over all ranks, in place, in double precision (<c>MPI_DOUBLE</c>).</summary>
    public static void AllreduceSum(Span<double> buffer)
    {
        MpiLibrary mpi = Library();
        fixed (double* p = buffer)
            Check(mpi.Allreduce(MpiLibrary.InPlace, p, buffer.Length, mpi.Double, mpi.Sum, mpi.CommWorld), "MPI_Allreduce");
    }

    /// <summary>Starts an in-place float sum over all ranks (<c>MPI_Iallreduce</c>) and returns at once; the buffer is pinned
    /// until <see cref="MpiRequest.Wait"/> (or a <see cref="MpiRequest.Test"/> that returns true), and must not be read or
    /// written before. Every rank must start the same reductions in the same order.</summary>
    public static MpiRequest StartAllreduceSum(Memory<float> buffer)
    {
        MpiLibrary mpi = Library();
        MemoryHandle pin = buffer.Pin();
        nint request;
        int code = mpi.Iallreduce(MpiLibrary.InPlace, pin.Pointer, buffer.Length, mpi.Float, mpi.Sum, mpi.CommWorld, &request);
        if (code != 0)
        {
            pin.Dispose();
            Check(code, "MPI_Iallreduce");
        }
        return new MpiRequest(request, pin);
    }

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="buffer"/> into every other rank's (<c>MPI_Bcast</c>).</summary>
    public static void Broadcast(Span<float> buffer, int root = 0)
    {
        MpiLibrary mpi = Library();
        fixed (float* p = buffer)
            Check(mpi.Bcast(p, buffer.Length, mpi.Float, root, mpi.CommWorld), "MPI_Bcast");
    }

    /// <summary>Copies rank <paramref name="root"/>'s bytes into every other rank's (<c>MPI_Bcast</c>, <c>MPI_BYTE</c>).</summary>
    public static void Broadcast(Span<byte> buffer, int root = 0)
    {
        MpiLibrary mpi = Library();
        fixed (byte* p = buffer)
            Check(mpi.Bcast(p, buffer.Length, mpi.Byte, root, mpi.CommWorld), "MPI_Bcast");
    }

    /// <summary>Gathers every rank's <paramref name="mine"/> (the same length on all ranks) into <paramref name="all"/>,
    /// rank r's at <c>r · mine.Length</c>, on every rank (<c>MPI_Allgather</c>).</summary>
    public static void Allgather(ReadOnlySpan<byte> mine, Span<byte> all)
    {
        MpiLibrary mpi = Library();
        if (all.Length != mine.Length * s_size)
            throw new ArgumentException($"Allgather of {mine.Length} bytes from {s_size} ranks needs {mine.Length * s_size} bytes; got {all.Length}.", nameof(all));
        fixed (byte* s = mine)
        fixed (byte* r = all)
            Check(mpi.Allgather(s, mine.Length, mpi.Byte, r, mine.Length, mpi.Byte, mpi.CommWorld), "MPI_Allgather");
    }

    /// <summary>Waits until every rank has called it (<c>MPI_Barrier</c>).</summary>
    public static void Barrier()
    {
        MpiLibrary mpi = Library();
        Check(mpi.Barrier(mpi.CommWorld), "MPI_Barrier");
    }

    /// <summary>Ends every process of the job (<c>MPI_Abort</c> on <c>MPI_COMM_WORLD</c>) with <paramref name="exitCode"/>;
    /// it does not return. Before initialization (or without Open MPI) it exits this process only.</summary>
    public static void Abort(int exitCode)
    {
        if (s_rank >= 0)
        {
            MpiLibrary mpi = MpiLibrary.Instance;
            mpi.Abort(mpi.CommWorld, exitCode);
        }
        Environment.Exit(exitCode);
    }

    internal static MpiLibrary Library() => s_rank >= 0 ? MpiLibrary.Instance : throw NotInitialized();

    private static MpiException NotInitialized() => new("MPI is not initialized: call Mpi.Initialize() first (in a process started by mpirun).");

    internal static void Check(int code, string call)
    {
        if (code != 0) throw new MpiException(call, code, ErrorText(code));
    }

    private static string ErrorText(int code)
    {
        const int MaxErrorString = 256; // MPI_MAX_ERROR_STRING is 256 in Open MPI
        byte* text = stackalloc byte[MaxErrorString + 1];
        int length = 0;
        MpiLibrary mpi = MpiLibrary.Instance;
        if (mpi.ErrorString(code, text, &length) != 0 || length <= 0) return "(no description)";
        return Encoding.UTF8.GetString(text, Math.Min(length, MaxErrorString));
    }
}

/// <summary>A non-blocking reduction in flight (<see cref="Mpi.StartAllreduceSum"/>): complete it with <see cref="Wait"/>
/// or poll it with <see cref="Test"/>, exactly once to completion.</summary>
public unsafe struct MpiRequest
{
    private nint _request;
    private MemoryHandle _pin;

    internal MpiRequest(nint request, MemoryHandle pin)
    {
        _request = request;
        _pin = pin;
    }

    /// <summary>True once the reduction has completed (by <see cref="Wait"/> or <see cref="Test"/>).</summary>
    public readonly bool IsCompleted => _request == 0;

    /// <summary>Blocks until the reduction is done (<c>MPI_Wait</c>); then the buffer holds the sums. Idempotent.</summary>
    public void Wait()
    {
        if (_request == 0) return;
        MpiLibrary mpi = Mpi.Library();
        nint request = _request;
        int code = mpi.Wait(&request, null);
        Release();
        Mpi.Check(code, "MPI_Wait");
    }

    /// <summary>Progresses the reduction without blocking (<c>MPI_Test</c>); true when it is done.</summary>
    public bool Test()
    {
        if (_request == 0) return true;
        MpiLibrary mpi = Mpi.Library();
        nint request = _request;
        int flag;
        Mpi.Check(mpi.Test(&request, &flag, null), "MPI_Test");
        if (flag == 0) return false;
        Release();
        return true;
    }

    private void Release()
    {
        _request = 0;
        _pin.Dispose();
        _pin = default;
    }
}
