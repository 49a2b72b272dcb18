namespace Dl.Kernels;

/// <summary>
/// Dense matrix multiply, row-major: C[m×n] = (accumulate ? C : 0) + alpha·op(A)·op(B) (alpha = 1 unless given).
/// </summary>
/// <remarks>
/// op(A) is m×k: A is stored m×k (row stride k) or, when <c>transA</c>, k×m (row stride m).
/// op(B) is k×n: B is stored k×n (row stride n) or, when <c>transB</c>, n×k (row stride k). C has row stride n.
/// For a Linear layer with W stored [out, in]: forward Y = X·Wᵀ is (transB: true); the weight gradient
/// dW = dYᵀ·X is (transA: true); the input gradient dX = dY·W has no transpose.
/// C must not overlap A or B. The float overload allocates nothing; it uses the packing buffers and worker
/// threads of its <see cref="GemmContext"/>.
/// </remarks>
public static unsafe class Gemm
{
    // Why 2 MFLOP: handing work to the worker costs ~1-3 µs (cache-line round trips plus the worker's cold L1/L2);
    // 1 MFLOP per thread takes ~8 µs at 130 GFLOP/s, so smaller products run faster on one thread.
    internal static long ParallelMinFlops = 2_000_000;

    [ThreadStatic] private static GemmContext? t_defaultContext;

    /// <summary>C[m×n] = (accumulate ? C : 0) + op(A)·op(B) in single precision (see <see cref="Gemm"/>).</summary>
    /// <param name="a">A, m×k row-major, or k×m when <paramref name="transA"/>.</param>
    /// <param name="b">B, k×n row-major, or n×k when <paramref name="transB"/>.</param>
    /// <param name="c">C, m×n row-major; read only when <paramref name="accumulate"/>.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">Columns of op(A) = rows of op(B).</param>
    /// <param name="transA">A is stored transposed (k×m).</param>
    /// <param name="transB">B is stored transposed (n×k).</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    /// <param name="context">Packing buffers and worker threads, created once per model.</param>
    /// <param name="alpha">Scales the product: C = (accumulate ? C : 0) + alpha·op(A)·op(B). The fused SGD step passes
    /// −lr to add a weight gradient into the weights without a pass that scales the upstream gradient first. Applied
    /// to op(A) as it is packed (the same rounding as scaling A beforehand), so it costs nothing measurable.</param>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c,
        int m, int n, int k, bool transA, bool transB, bool accumulate, GemmContext context, float alpha = 1f)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(a.Length, b.Length, c.Length, m, n, k, transA, transB);
        context.ThrowIfDisposed();
        if (m == 0 || n == 0) return;
        fixed (float* pa = a, pb = b, pc = c)
        {
            var problem = new GemmProblem
            {
                A = pa, B = pb, C = pc, M = m, N = n, K = k,
                TransA = transA, TransB = transB, Accumulate = accumulate, Alpha = alpha,
            };
            Run(in problem, context);
        }
    }

    /// <summary>
    /// C[m×n] = (accumulate ? C : 0) + op(A)·op(B) in single precision on the calling thread, using a
    /// single-threaded <see cref="GemmContext"/> owned by that thread (created on first use).
    /// </summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c,
        int m, int n, int k, bool transA, bool transB, bool accumulate)
        => Multiply(a, b, c, m, n, k, transA, transB, accumulate, t_defaultContext ??= new GemmContext(1));

    private static void Run(in GemmProblem p, GemmContext context)
    {
        int threads = context.Threads;
        long flops = 2L * p.M * p.N * p.K;
        if (threads > 1 && flops >= ParallelMinFlops)
        {
            // Split the longer usable dimension into aligned ranges, one per thread; the caller takes the first.
            int nr = GemmBlocking.NR, mr = GemmBlocking.MR;
            // A small k (a weight gradient over a small batch) means C is large and touched once: give each thread
            // whole rows of C, not column strips of every row (measured 512x1024x32: column split 619 µs, row split faster).
            bool smallK = p.K <= GemmDriver.DirectMaxK && p.M >= 2 * mr;
            bool byColumns = p.N >= 2 * nr && (p.N >= p.M || p.M < 2 * mr) && !smallK;
            bool byRows = !byColumns && p.M >= 2 * mr;
            if (byColumns || byRows)
            {
                // About 4 chunks per thread: small enough to rebalance when a core is busy with something else,
                // large enough that each chunk still amortises its packing.
                int extent = byColumns ? p.N : p.M, align = byColumns ? nr : mr;
                int chunk = Math.Max(1, (extent + 4 * threads - 1) / (4 * threads) / align) * align;
                GemmJob job = context.Job;
                job.Reset(in p, byColumns, extent, chunk);
                ReadOnlySpan<GemmWorker> workers = context.Workers;
                int posted = Math.Min(workers.Length, job.Count - 1);
                for (int t = 0; t < posted; t++) workers[t].Post();
                try
                {
                    job.RunChunks(context.MainBuffers);
                }
                finally
                {
                    // Operands are pinned only for this call: never return while a worker may still read them.
                    for (int t = 0; t < posted; t++) workers[t].Wait();
                }
                return;
            }
        }
        GemmDriver.Execute(in p, 0, p.M, 0, p.N, context.MainBuffers);
    }

    /// <summary>C[m×n] = (accumulate ? C : 0) + op(A)·op(B) in double precision (the dynamic tape's oracle).</summary>
    /// <remarks>Plain cache-blocked loops: correct for every shape, not tuned for speed.</remarks>
    public static void Multiply(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> c,
        int m, int n, int k, bool transA, bool transB, bool accumulate)
    {
        Validate(a.Length, b.Length, c.Length, m, n, k, transA, transB);
        if (m == 0 || n == 0) return;
        Span<double> cm = c[..(m * n)];
        if (!accumulate) cm.Clear();
        if (k == 0) return;
        const int KBlock = 256, NBlock = 512;
        for (int p0 = 0; p0 < k; p0 += KBlock)
        {
            int p1 = Math.Min(k, p0 + KBlock);
            if (!transB)
            {
                // C[i, j-block] += Σ_p op(A)[i,p] · B[p, j-block]: B rows are contiguous.
                for (int j0 = 0; j0 < n; j0 += NBlock)
                {
                    int len = Math.Min(NBlock, n - j0);
                    for (int i = 0; i < m; i++)
                    {
                        Span<double> ci = cm.Slice(i * n + j0, len);
                        for (int p = p0; p < p1; p++)
                        {
                            double aip = transA ? a[p * m + i] : a[i * k + p];
                            ReadOnlySpan<double> bp = b.Slice(p * n + j0, len);
                            for (int j = 0; j < len; j++) ci[j] += aip * bp[j];
                        }
                    }
                }
            }
            else
            {
                // C[i,j] += Σ_p op(A)[i,p] · B[j,p]: B rows are contiguous along k.
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        ReadOnlySpan<double> bj = b.Slice(j * k, k);
                        double sum = 0;
                        if (!transA)
                        {
                            ReadOnlySpan<double> ai = a.Slice(i * k, k);
                            for (int p = p0; p < p1; p++) sum += ai[p] * bj[p];
                        }
                        else
                        {
                            for (int p = p0; p < p1; p++) sum += a[p * m + i] * bj[p];
                        }
                        cm[i * n + j] += sum;
                    }
                }
            }
        }
    }

    private static void Validate(int aLength, int bLength, int cLength, int m, int n, int k, bool transA, bool transB)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if ((long)m * n > int.MaxValue || (long)m * k > int.MaxValue || (long)k * n > int.MaxValue)
            throw new ArgumentException($"GEMM sizes m={m}, n={n}, k={k} give a matrix with more than int.MaxValue elements.");
        if (aLength < m * k)
            throw new ArgumentException(
                $"A has {aLength} elements but op(A) is {m}×{k} (stored {(transA ? $"{k}×{m}, transposed" : $"{m}×{k}")}); expected at least {m * k}.", "a");
        if (bLength < k * n)
            throw new ArgumentException(
                $"B has {bLength} elements but op(B) is {k}×{n} (stored {(transB ? $"{n}×{k}, transposed" : $"{k}×{n}")}); expected at least {k * n}.", "b");
        if (cLength < m * n)
            throw new ArgumentException($"C has {cLength} elements but must hold {m}×{n} = {m * n}.", "c");
    }
}
