using System.Runtime.InteropServices;

namespace Dl.Kernels;

/// <summary>
/// Per-model state for <see cref="Gemm"/>: pre-allocated packing buffers (one set per thread) and, when
/// <see cref="Threads"/> &gt; 1, persistent worker threads. Buffer sizes depend only on the blocking parameters
/// (MR, NR, KC, NC), never on m/n/k, so after construction <c>Gemm.Multiply</c> allocates nothing.
/// </summary>
/// <remarks>
/// Work split: C is cut into a few aligned column (or row) chunks per thread that the caller and the workers claim
/// with an atomic counter, so a worker that the OS has not scheduled yet (the cores may be shared) just gets fewer
/// chunks; a worker that has not started when the chunks run out is cancelled instead of waited for. Hand-off is
/// spin-then-wait: a worker spins briefly on a volatile request counter (back-to-back layer calls find it awake)
/// and then sleeps on an event; the caller spins until the worker's claim on the job returns to idle.
/// A context is not safe for concurrent <c>Multiply</c> calls from several threads.
/// </remarks>
public sealed unsafe class GemmContext : IDisposable
{
    private readonly GemmBuffers[] _buffers;
    private readonly GemmWorker[] _workers;
    private readonly GemmJob _job = new();
    private bool _disposed;

    /// <summary>Creates buffers for <paramref name="threads"/> threads and starts <c>threads - 1</c> workers.</summary>
    /// <param name="threads">Number of threads a multiply may use, including the caller (1..64).</param>
    public GemmContext(int threads = 1)
    {
        if (threads < 1 || threads > 64)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "GemmContext threads must be between 1 and 64.");
        Threads = threads;
        _buffers = new GemmBuffers[threads];
        for (int i = 0; i < threads; i++) _buffers[i] = new GemmBuffers();
        _workers = new GemmWorker[threads - 1];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = new GemmWorker(_job, _buffers[i + 1], i + 1);
    }

    /// <summary>Number of threads a multiply may use, including the calling thread.</summary>
    public int Threads { get; }

    internal GemmBuffers MainBuffers => _buffers[0];

    private float[] _recurrentWeights = [];

    /// <summary>A buffer of at least <paramref name="length"/> floats for the recurrent kernels' per-call copy of W_hh
    /// (transposed or in slabs); allocated on first use and when a larger layer needs more, never per call.</summary>
    internal float[] RecurrentWeights(int length)
    {
        if (_recurrentWeights.Length < length) _recurrentWeights = new float[length];
        return _recurrentWeights;
    }

    internal ReadOnlySpan<GemmWorker> Workers => _workers;

    internal GemmJob Job => _job;

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Stops the worker threads. Buffers are released with the object.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (GemmWorker w in _workers) w.Stop();
    }
}

/// <summary>One thread's packing buffers, 64-byte aligned inside pinned arrays (pinned: workers use raw pointers).</summary>
internal sealed unsafe class GemmBuffers
{
    private readonly float[] _storage;

    public GemmBuffers()
    {
        int packA = GemmBlocking.MaxMR * GemmBlocking.MaxKC;
        int packB = GemmBlocking.MaxKC * (GemmBlocking.MaxNC + GemmBlocking.MaxNR);
        int tile = GemmBlocking.MaxMR * GemmBlocking.MaxNR;
        _storage = GC.AllocateUninitializedArray<float>(packA + packB + tile + 3 * 16, pinned: true);
        float* p = (float*)Marshal.UnsafeAddrOfPinnedArrayElement(_storage, 0);
        p = (float*)(((nint)p + 63) & ~(nint)63);
        PackA = p;
        PackB = PackA + ((packA + 15) & ~15);
        Tile = PackB + ((packB + 15) & ~15);
        new Span<float>(_storage).Clear();
    }

    /// <summary>MR×KC: one packed A micro-panel.</summary>
    public float* PackA { get; }
    /// <summary>KC×NC (+ one padded strip): a packed B block, NR-wide strips each stored kc×NR.</summary>
    public float* PackB { get; }
    /// <summary>MR×NR scratch tile for partial-width C tiles.</summary>
    public float* Tile { get; }

    /// <summary>Keeps the pinned storage reachable while pointers into it are in use.</summary>
    public void KeepAlive() => GC.KeepAlive(_storage);
}

/// <summary>One multiply split into chunks of C (column or row ranges) claimed by the threads in any order.</summary>
internal sealed class GemmJob
{
    public GemmProblem Problem;
    public bool ByColumns;
    public int Extent, Chunk, Count;
    private int _next;

    public void Reset(in GemmProblem problem, bool byColumns, int extent, int chunk)
    {
        Problem = problem;
        (ByColumns, Extent, Chunk) = (byColumns, extent, chunk);
        Count = (extent + chunk - 1) / chunk;
        Volatile.Write(ref _next, 0);
    }

    /// <summary>Claims and computes chunks until none is left.</summary>
    public void RunChunks(GemmBuffers buffers)
    {
        int c;
        while ((c = Interlocked.Increment(ref _next) - 1) < Count)
        {
            int s = c * Chunk, e = Math.Min(Extent, s + Chunk);
            if (ByColumns) GemmDriver.Execute(in Problem, 0, Problem.M, s, e, buffers);
            else GemmDriver.Execute(in Problem, s, e, 0, Problem.N, buffers);
        }
    }
}

/// <summary>A persistent worker thread that helps with the chunks of each posted <see cref="GemmJob"/>.</summary>
internal sealed class GemmWorker
{
    // Why spin ~50 µs: a network runs its layer GEMMs back to back, a few µs apart; waking a sleeping thread costs
    // tens of µs, so a short spin keeps the hand-off cheap without burning a core between training steps.
    private const int SpinIterations = 20_000;
    private const int Idle = 0, Posted = 1, Running = 2;

    private readonly GemmJob _job;
    private readonly GemmBuffers _buffers;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _wake = new(false, 1);
    private int _requested, _claim;
    private volatile bool _stop;
    private Exception? _error;

    public GemmWorker(GemmJob job, GemmBuffers buffers, int index)
    {
        _job = job;
        _buffers = buffers;
        _thread = new Thread(Loop) { IsBackground = true, Name = "Dl.Gemm worker " + index };
        _thread.Start();
    }

    /// <summary>Invites the worker to the current job; the caller must call <see cref="Wait"/> before returning.</summary>
    public void Post()
    {
        Volatile.Write(ref _claim, Posted);
        Volatile.Write(ref _requested, _requested + 1);
        _wake.Set();
    }

    /// <summary>
    /// Cancels the invitation if the worker has not started, else spins (then yields) until it is done with its
    /// chunks; rethrows a worker failure.
    /// </summary>
    public void Wait()
    {
        if (Interlocked.CompareExchange(ref _claim, Idle, Posted) == Posted) return;
        SpinWait spin = default;
        while (Volatile.Read(ref _claim) != Idle) spin.SpinOnce(sleep1Threshold: -1);
        if (_error is { } e)
        {
            _error = null;
            throw new InvalidOperationException("A GEMM worker thread failed.", e);
        }
    }

    public void Stop()
    {
        _stop = true;
        Volatile.Write(ref _requested, _requested + 1);
        _wake.Set();
        _thread.Join();
        _wake.Dispose();
    }

    private void Loop()
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _requested) == seen)
            {
                if (++spins < SpinIterations) { Thread.SpinWait(8); continue; }
                _wake.Reset();
                if (Volatile.Read(ref _requested) != seen) break;
                _wake.Wait();
                spins = 0;
            }
            seen = Volatile.Read(ref _requested);
            if (_stop) return;
            if (Interlocked.CompareExchange(ref _claim, Running, Posted) != Posted) continue; // cancelled: caller finished alone
            try
            {
                _job.RunChunks(_buffers);
            }
            catch (Exception e)
            {
                _error = e;
            }
            Volatile.Write(ref _claim, Idle);
        }
    }
}
