using System.Globalization;

namespace Dl.Kernels;

/// <summary>
/// Batch chunking of a training step: a batch whose activations do not fit in the core's L2 cache is run as chunks
/// of a few samples, each chunk's forward, loss and backward back to back (its activations are still in L2 when the
/// backward reads them), the weight gradients summed over the chunks, then one optimizer step.
/// </summary>
/// <remarks>
/// <para>Why: a generated step streams every activation of the batch through memory several times (each op writes its
/// result, the next reads it, the backward reads it again). Beyond L2 (1 MB per core here) that traffic goes to the
/// shared L3, where it is slower and at the mercy of whatever else runs on the machine: attn_s64_d64_h4 at batch 32
/// (574 KB of activations and gradients per sample, 18 MB per step) took 8.6–16 ms per step from run to run, while
/// 32 batch-1 steps take 7.0 ms.</para>
/// <para>When: only for models whose samples are independent (the generator decides: one input, no batch norm, no
/// dropout, no op that mixes samples), on one thread, and only when the parameters take at most a quarter of L2 (each chunk reads
/// every weight again; a larger model, e.g. a 784-128-10 MLP at 400 KB, keeps its batch whole, where the product's
/// rows amortise the weights). The results equal the whole batch's up to float summation order.</para>
/// </remarks>
public static class BatchChunking
{
    /// <summary>The per-core L2 size: read from Linux's sysfs (cpu0, level 2), else 1 MB.</summary>
    public static int L2Bytes { get; } = ReadL2Bytes() ?? (1 << 20);

    /// <summary>Largest samples per chunk for a model; 0 when the model should not chunk (its parameters take more
    /// than a quarter of L2): as many samples as fit in L2 beside the parameters, at least 1.</summary>
    /// <param name="arenaFloatsPerSample">Floats of activations and gradients per sample.</param>
    /// <param name="parameterFloats">Parameters.</param>
    /// <param name="option">The model's <see cref="ModelOptions.ChunkSamples"/>: null = this choice, 0 = off, N = N.</param>
    /// <param name="threads">The model's GEMM threads: with more than one, no automatic chunking (the products are
    /// split between the threads by rows, which wants the whole batch; measured at attn_s64_d64_h4 batch 32, chunks of
    /// 2 were slower on two threads), though <paramref name="option"/> still forces it.</param>
    public static int Samples(int arenaFloatsPerSample, int parameterFloats, int? option = null, int threads = 1)
    {
        if (option is int forced)
        {
            if (forced < 0) throw new ArgumentOutOfRangeException(nameof(option), forced, "ChunkSamples must be null (automatic), 0 (off) or a positive number of samples.");
            return forced;
        }
        long parameterBytes = 4L * parameterFloats, sampleBytes = 4L * Math.Max(arenaFloatsPerSample, 1);
        if (threads > 1 || parameterBytes > L2Bytes / 4) return 0;
        return (int)Math.Clamp((L2Bytes - parameterBytes) / sampleBytes, 1, int.MaxValue);
    }

    /// <summary>Chunk size for <paramref name="batch"/> samples at most <paramref name="limit"/> per chunk: the batch
    /// split into equal chunks (the last one possibly smaller), e.g. 32 at most 10 → 4 chunks of 8. 0 when the batch is
    /// one chunk.</summary>
    public static int ChunkSize(int batch, int limit)
    {
        if (limit <= 0 || batch <= limit) return 0;
        int chunks = (batch + limit - 1) / limit;
        return (batch + chunks - 1) / chunks;
    }

    /// <summary>sum[i] += x[i] (the chunks' gradients).</summary>
    public static void Add(Span<float> sum, ReadOnlySpan<float> x)
    {
        if (x.Length != sum.Length) throw new ArgumentException($"x has {x.Length} floats; expected {sum.Length} like sum.", nameof(x));
        Dynamic.TapeKernels.AddInto(sum, x);
    }

    private static int? ReadL2Bytes()
    {
        try
        {
            const string Dir = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(Dir)) return null;
            foreach (string index in Directory.EnumerateDirectories(Dir, "index*"))
            {
                string level = File.ReadAllText(Path.Combine(index, "level")).Trim();
                string type = File.ReadAllText(Path.Combine(index, "type")).Trim();
                if (level != "2" || type is not ("Unified" or "Data")) continue;
                string size = File.ReadAllText(Path.Combine(index, "size")).Trim();   // e.g. "1024K"
                int scale = size.EndsWith('K') ? 1 << 10 : size.EndsWith('M') ? 1 << 20 : 1;
                if (int.TryParse(size.TrimEnd('K', 'M'), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0)
                    return (int)Math.Min((long)n * scale, 64 << 20);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }
}
