using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Dl.Training;

namespace Dl.Distributed;

/// <summary>
/// <see cref="IDataParallel"/> on <c>MPI_COMM_WORLD</c>: the trainer's hooks as MPI collectives.
/// </summary>
/// <remarks>
/// <para>Start: an allgather of a 64-bit hash (FNV-1a) of the run's settings refuses ranks started differently, naming
/// the first rank that differs from rank 0; then rank 0's parameters and running statistics are broadcast.</para>
/// <para>Each step: the rank's mean gradient is scaled by its shard's sample count, the gradient block and the running
/// statistics are summed in one in-place allreduce, and the sum is scaled by 1/B (gradients: the global batch's mean,
/// exact for unequal shards) and 1/R (running statistics: the mean of the ranks' statistics). Every rank gets the same
/// sums, so the update is bit-identical on all ranks. Batch norm normalizes each shard with its own batch statistics
/// (as PyTorch's DistributedDataParallel without SyncBatchNorm).</para>
/// <para>The gradient reduction is one blocking allreduce after the whole backward pass: the generated backward has no
/// per-layer completion hook yet to start bucket reductions early (see docs/distributed.md).</para>
/// </remarks>
public sealed class MpiDataParallel : IDataParallel
{
    private readonly DistributedOptions _options;
    private float[] _buffer = [];
    private readonly double[] _scalar = new double[1];
    private readonly byte[] _mine = new byte[8];
    private byte[] _all = [];
    private long _steps;
    private long _lastProgress = Stopwatch.GetTimestamp();
    private Thread? _watchdog;

    /// <summary>Initializes MPI (<see cref="Mpi.Initialize"/>) if needed.</summary>
    public MpiDataParallel(DistributedOptions? options = null)
    {
        _options = options ?? new DistributedOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.HashCheckInterval, "options.HashCheckInterval");
        if (_options.Timeout is { } t && t <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("options.Timeout", t, "The timeout must be positive (null: none).");
        Mpi.Initialize();
        Rank = Mpi.Rank;
        Ranks = Mpi.Size;
    }

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Ranks { get; }
    /// <summary>Seconds spent in the gradient allreduce so far (communication, including waiting for slower ranks).</summary>
    public double ReduceSeconds { get; private set; }
    /// <summary>Gradient reductions so far.</summary>
    public long Steps => _steps;

    /// <inheritdoc/>
    public void Start(IModel model, string settings)
    {
        string all = settings + $", distributed hash check {_options.HashCheckInterval}, ranks {Ranks}";
        int differing = FirstDiffering(Fnv1a(Encoding.UTF8.GetBytes(all)));
        if (differing >= 0)
            throw new InvalidOperationException(
                $"Rank {differing} was started with different settings than rank 0 (model, data, optimizer or options); start every rank with the same command. Rank {Rank}'s settings: {all}");
        Mpi.Broadcast(model.Parameters, 0);
        if (model.State.Length > 0) Mpi.Broadcast(model.State, 0);
        int total = model.Gradients.Length + model.State.Length;
        if (model.State.Length > 0 && _buffer.Length != total) _buffer = new float[total];
        StartWatchdog();
    }

    /// <inheritdoc/>
    public void ReduceGradients(IModel model, int localSamples, int globalSamples)
    {
        long start = Stopwatch.GetTimestamp();
        Span<float> gradients = model.Gradients, state = model.State;
        float weight = localSamples, scale = 1f / globalSamples;
        if (state.Length == 0)
        {
            Scale(gradients, weight);
            Mpi.AllreduceSum(gradients);
            Scale(gradients, scale);
        }
        else
        {
            // One collective for both blocks: [n_r·g_r | running statistics].
            Span<float> buffer = _buffer;
            Span<float> g = buffer[..gradients.Length], s = buffer[gradients.Length..];
            for (int i = 0; i < g.Length; i++) g[i] = gradients[i] * weight;
            state.CopyTo(s);
            Mpi.AllreduceSum(buffer);
            for (int i = 0; i < g.Length; i++) gradients[i] = g[i] * scale;
            float perRank = 1f / Ranks;
            for (int i = 0; i < s.Length; i++) state[i] = s[i] * perRank;
        }
        ReduceSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
        _steps++;
        Volatile.Write(ref _lastProgress, Stopwatch.GetTimestamp());
        if (_options.HashCheckInterval > 0 && _steps % _options.HashCheckInterval == 0) CheckIdentical(model);
    }

    /// <inheritdoc/>
    public double Sum(double value)
    {
        _scalar[0] = value;
        Mpi.AllreduceSum(_scalar);
        return _scalar[0];
    }

    /// <inheritdoc/>
    public double FromLeader(double value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        Mpi.Broadcast(bytes, 0);
        Volatile.Write(ref _lastProgress, Stopwatch.GetTimestamp());
        return BinaryPrimitives.ReadDoubleLittleEndian(bytes);
    }

    /// <summary>Throws on every rank when a rank's parameters or running statistics differ from rank 0's (bitwise).</summary>
    public void CheckIdentical(IModel model)
    {
        ulong hash = Fnv1a(MemoryMarshal.AsBytes((ReadOnlySpan<float>)model.Parameters));
        hash ^= Fnv1a(MemoryMarshal.AsBytes((ReadOnlySpan<float>)model.State)) * 31;
        int differing = FirstDiffering(hash);
        if (differing >= 0)
            throw new InvalidOperationException($"After step {_steps} rank {differing}'s parameters differ from rank 0's: the ranks diverged.");
    }

    // The first rank whose value differs from rank 0's, or -1; the same answer on every rank.
    private int FirstDiffering(ulong value)
    {
        if (_all.Length != 8 * Ranks) _all = new byte[8 * Ranks];
        BinaryPrimitives.WriteUInt64LittleEndian(_mine, value);
        Mpi.Allgather(_mine, _all);
        ulong leader = BinaryPrimitives.ReadUInt64LittleEndian(_all);
        for (int r = 1; r < Ranks; r++)
            if (BinaryPrimitives.ReadUInt64LittleEndian(_all.AsSpan(8 * r)) != leader) return r;
        return -1;
    }

    private static void Scale(Span<float> values, float factor)
    {
        for (int i = 0; i < values.Length; i++) values[i] *= factor;
    }

    internal static ulong Fnv1a(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in bytes) hash = (hash ^ b) * 1099511628211UL;
        return hash;
    }

    private void StartWatchdog()
    {
        if (_options.Timeout is not { } timeout || _watchdog is not null) return;
        Volatile.Write(ref _lastProgress, Stopwatch.GetTimestamp());
        _watchdog = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 4, 10, 1000)));
                TimeSpan idle = Stopwatch.GetElapsedTime(Volatile.Read(ref _lastProgress));
                if (idle > timeout)
                {
                    Console.Error.WriteLine($"rank {Rank} of {Ranks}: no training step completed for {idle.TotalSeconds:0.#} s (timeout {timeout.TotalSeconds:0.#} s): another rank died or hangs; aborting the job.");
                    Console.Error.Flush();
                    Mpi.Abort(3);
                }
            }
        }) { IsBackground = true, Name = "Dl.Distributed watchdog" };
        _watchdog.Start();
    }
}
