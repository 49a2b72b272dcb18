// Accumulators are spelled out one local per register on purpose: RyuJIT enregisters named locals, not arrays.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

/// <summary>
/// The batch-1 products of a recurrent step with the hidden vector (H = 16·V floats, V ≤ 8) held in registers, and the
/// transposition of W_hh the batched steps multiply with.
/// </summary>
/// <remarks>
/// Why dedicated kernels: at batch 1 each step is a matrix-vector product with W_hh (G·H × H; 256 KB for an LSTM with
/// H = 128), which lives in L2 and has to be streamed once per step, so the step costs at least |W_hh| / L2 bandwidth
/// (measured here ~120 GB/s: 2.15 µs for 256 KB). Gemm.Multiply's m = 1 paths re-load the vector operand or the output
/// with every few rows of W and reach 4.1 µs (transB, dot tiles) and 3.2 µs (gemv) for that shape; these kernels keep the
/// vector (forward) or the output (backward) in zmm registers and stream W exactly once in memory order: 2.25 µs each.
/// </remarks>
internal static unsafe class RecurrentGemv
{
    /// <summary>The register kernels apply: AVX-512 and H a multiple of 16 in [16, 128].</summary>
    public static bool Supports(int hidden) => !AvoidVector512 && Vector512.IsHardwareAccelerated && hidden % 16 == 0 && hidden is >= 16 and <= 128;

    /// <summary>The AVX2 (Vector256) kernels apply: FMA and H a multiple of 8 in [8, 256].</summary>
    /// <remarks>Why the bound: beyond 256 W_hh (4·H² floats for an LSTM, 1 MB at 256) no longer stays in L2, and the step is
    /// bound by memory whichever way it is read.</remarks>
    public static bool SupportsSlabs(int hidden) => Fma.IsSupported && hidden % 8 == 0 && hidden is >= 8 and <= 256;

    /// <summary>Set by the tests (through reflection: the assembly exposes no internals) so that the Vector256 kernels also
    /// run, and are checked, on a machine with AVX-512.</summary>
    internal static bool AvoidVector512 { get; set; }

    /// <summary>g[r] (+)= Σ_k w[r·H + k]·v[k] for r &lt; rows: W (rows × H, row-major) times a column vector.
    /// rows must be a multiple of 16, H = 16·V with V ≤ 8 (<see cref="Supports"/>).</summary>
    public static void RowsTimesVector(float* w, int rows, int hidden, float* v, float* g, bool accumulate)
    {
        switch (hidden >> 4)
        {
            case 1: RowsTimesVector<GemmC1>(w, rows, v, g, accumulate); break;
            case 2: RowsTimesVector<GemmC2>(w, rows, v, g, accumulate); break;
            case 3: RowsTimesVector<GemmC3>(w, rows, v, g, accumulate); break;
            case 4: RowsTimesVector<GemmC4>(w, rows, v, g, accumulate); break;
            case 5: RowsTimesVector<GemmC5>(w, rows, v, g, accumulate); break;
            case 6: RowsTimesVector<GemmC6>(w, rows, v, g, accumulate); break;
            case 7: RowsTimesVector<GemmC7>(w, rows, v, g, accumulate); break;
            default: RowsTimesVector<GemmC8>(w, rows, v, g, accumulate); break;
        }
    }

    /// <summary>o[k] (+)= Σ_r u[r]·w[r·H + k] for k &lt; H: a row vector times W (rows × H). rows must be even,
    /// H = 16·V with V ≤ 8 (<see cref="Supports"/>).</summary>
    public static void VectorTimesRows(float* u, float* w, int rows, int hidden, float* o, bool accumulate)
    {
        switch (hidden >> 4)
        {
            case 1: VectorTimesRows<GemmC1>(u, w, rows, o, accumulate); break;
            case 2: VectorTimesRows<GemmC2>(u, w, rows, o, accumulate); break;
            case 3: VectorTimesRows<GemmC3>(u, w, rows, o, accumulate); break;
            case 4: VectorTimesRows<GemmC4>(u, w, rows, o, accumulate); break;
            case 5: VectorTimesRows<GemmC5>(u, w, rows, o, accumulate); break;
            case 6: VectorTimesRows<GemmC6>(u, w, rows, o, accumulate); break;
            case 7: VectorTimesRows<GemmC7>(u, w, rows, o, accumulate); break;
            default: VectorTimesRows<GemmC8>(u, w, rows, o, accumulate); break;
        }
    }

    // Sixteen rows at a time: one accumulator per row (16 independent FMA chains), then a transposing reduction tree
    // (15 adds, 30 shuffles, 1 permute) leaves the 16 dot products in one vector.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsTimesVector<TV>(float* w, int rows, float* v, float* g, bool accumulate) where TV : struct, IGemmConst
    {
        int hidden = 16 * TV.Value;
        Vector512<float> v0 = Vector512.Load(v), v1 = default, v2 = default, v3 = default, v4 = default, v5 = default, v6 = default, v7 = default;
        if (TV.Value > 1) v1 = Vector512.Load(v + 16);
        if (TV.Value > 2) v2 = Vector512.Load(v + 32);
        if (TV.Value > 3) v3 = Vector512.Load(v + 48);
        if (TV.Value > 4) v4 = Vector512.Load(v + 64);
        if (TV.Value > 5) v5 = Vector512.Load(v + 80);
        if (TV.Value > 6) v6 = Vector512.Load(v + 96);
        if (TV.Value > 7) v7 = Vector512.Load(v + 112);
        for (int r = 0; r < rows; r += 16)
        {
            Vector512<float> sum = Dot16<TV>(w + (nint)r * hidden, v0, v1, v2, v3, v4, v5, v6, v7);
            if (accumulate) sum += Vector512.Load(g + r);
            sum.Store(g + r);
        }
    }

    /// <summary>The dot products of 16 consecutive rows of W (row length H = 16·V) with the vector v0…v(V−1), in lane order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Dot16<TV>(float* p, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7) where TV : struct, IGemmConst
    {
        nint s = 16 * TV.Value;
        Vector512<float> a0 = Row<TV>(p, v0, v1, v2, v3, v4, v5, v6, v7), a1 = Row<TV>(p + s, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> a2 = Row<TV>(p + 2 * s, v0, v1, v2, v3, v4, v5, v6, v7), a3 = Row<TV>(p + 3 * s, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> a4 = Row<TV>(p + 4 * s, v0, v1, v2, v3, v4, v5, v6, v7), a5 = Row<TV>(p + 5 * s, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> a6 = Row<TV>(p + 6 * s, v0, v1, v2, v3, v4, v5, v6, v7), a7 = Row<TV>(p + 7 * s, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> a8 = Row<TV>(p + 8 * s, v0, v1, v2, v3, v4, v5, v6, v7), a9 = Row<TV>(p + 9 * s, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> a10 = Row<TV>(p + 10 * s, v0, v1, v2, v3, v4, v5, v6, v7), a11 = Row<TV>(p + 11 * s, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> a12 = Row<TV>(p + 12 * s, v0, v1, v2, v3, v4, v5, v6, v7), a13 = Row<TV>(p + 13 * s, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> a14 = Row<TV>(p + 14 * s, v0, v1, v2, v3, v4, v5, v6, v7), a15 = Row<TV>(p + 15 * s, v0, v1, v2, v3, v4, v5, v6, v7);
        // 256-bit halves, then 128-bit quarters, then 64-bit pairs, then single lanes.
        Vector512<float> s0 = Halves(a0, a8), s1 = Halves(a1, a9), s2 = Halves(a2, a10), s3 = Halves(a3, a11);
        Vector512<float> s4 = Halves(a4, a12), s5 = Halves(a5, a13), s6 = Halves(a6, a14), s7 = Halves(a7, a15);
        Vector512<float> u0 = Quarters(s0, s4), u1 = Quarters(s1, s5), u2 = Quarters(s2, s6), u3 = Quarters(s3, s7);
        Vector512<float> q0 = Pairs(u0, u2), q1 = Pairs(u1, u3);
        Vector512<float> sum = Avx512F.Shuffle(q0, q1, 0b10_00_10_00) + Avx512F.Shuffle(q0, q1, 0b11_01_11_01);
        // The tree leaves row order 0 2 1 3 8 10 9 11 4 6 5 7 12 14 13 15 in the lanes; this permutation restores it.
        return Avx512F.PermuteVar16x32(sum, Vector512.Create(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row<TV>(float* q, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7) where TV : struct, IGemmConst
    {
        Vector512<float> s = Vector512.Load(q) * v0;
        if (TV.Value > 1) s = Vector512.FusedMultiplyAdd(Vector512.Load(q + 16), v1, s);
        if (TV.Value > 2) s = Vector512.FusedMultiplyAdd(Vector512.Load(q + 32), v2, s);
        if (TV.Value > 3) s = Vector512.FusedMultiplyAdd(Vector512.Load(q + 48), v3, s);
        if (TV.Value > 4) s = Vector512.FusedMultiplyAdd(Vector512.Load(q + 64), v4, s);
        if (TV.Value > 5) s = Vector512.FusedMultiplyAdd(Vector512.Load(q + 80), v5, s);
        if (TV.Value > 6) s = Vector512.FusedMultiplyAdd(Vector512.Load(q + 96), v6, s);
        if (TV.Value > 7) s = Vector512.FusedMultiplyAdd(Vector512.Load(q + 112), v7, s);
        return s;
    }

    // [a.lo + a.hi | b.lo + b.hi] by 256-bit halves: 8 partial sums of a, then 8 of b.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves(Vector512<float> a, Vector512<float> b)
        => Avx512F.Shuffle4x128(a, b, 0b01_00_01_00) + Avx512F.Shuffle4x128(a, b, 0b11_10_11_10);

    // Per operand, the two 128-bit blocks of each half added: 4 partial sums per row, rows of a then b.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quarters(Vector512<float> a, Vector512<float> b)
        => Avx512F.Shuffle4x128(a, b, 0b10_00_10_00) + Avx512F.Shuffle4x128(a, b, 0b11_01_11_01);

    // Within each 128-bit block, the 64-bit pairs of a and b added: 2 partial sums per row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pairs(Vector512<float> a, Vector512<float> b)
        => Avx512F.UnpackLow(a.AsDouble(), b.AsDouble()).AsSingle() + Avx512F.UnpackHigh(a.AsDouble(), b.AsDouble()).AsSingle();

    // The output (V vectors) stays in registers; two accumulator sets (even and odd rows) give 2·V independent chains.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VectorTimesRows<TV>(float* u, float* w, int rows, float* o, bool accumulate) where TV : struct, IGemmConst
    {
        nint hidden = 16 * TV.Value;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
        for (int j = 0; j < rows; j += 2)
        {
            float* p = w + j * hidden;
            Vector512<float> x = Vector512.Create(u[j]);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p), c0);
            if (TV.Value > 1) c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p + 16), c1);
            if (TV.Value > 2) c2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p + 32), c2);
            if (TV.Value > 3) c3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p + 48), c3);
            if (TV.Value > 4) c4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p + 64), c4);
            if (TV.Value > 5) c5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p + 80), c5);
            if (TV.Value > 6) c6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p + 96), c6);
            if (TV.Value > 7) c7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p + 112), c7);
            p += hidden;
            Vector512<float> y = Vector512.Create(u[j + 1]);
            e0 = Vector512.FusedMultiplyAdd(y, Vector512.Load(p), e0);
            if (TV.Value > 1) e1 = Vector512.FusedMultiplyAdd(y, Vector512.Load(p + 16), e1);
            if (TV.Value > 2) e2 = Vector512.FusedMultiplyAdd(y, Vector512.Load(p + 32), e2);
            if (TV.Value > 3) e3 = Vector512.FusedMultiplyAdd(y, Vector512.Load(p + 48), e3);
            if (TV.Value > 4) e4 = Vector512.FusedMultiplyAdd(y, Vector512.Load(p + 64), e4);
            if (TV.Value > 5) e5 = Vector512.FusedMultiplyAdd(y, Vector512.Load(p + 80), e5);
            if (TV.Value > 6) e6 = Vector512.FusedMultiplyAdd(y, Vector512.Load(p + 96), e6);
            if (TV.Value > 7) e7 = Vector512.FusedMultiplyAdd(y, Vector512.Load(p + 112), e7);
        }
        Put(o, c0 + e0, accumulate);
        if (TV.Value > 1) Put(o + 16, c1 + e1, accumulate);
        if (TV.Value > 2) Put(o + 32, c2 + e2, accumulate);
        if (TV.Value > 3) Put(o + 48, c3 + e3, accumulate);
        if (TV.Value > 4) Put(o + 64, c4 + e4, accumulate);
        if (TV.Value > 5) Put(o + 80, c5 + e5, accumulate);
        if (TV.Value > 6) Put(o + 96, c6 + e6, accumulate);
        if (TV.Value > 7) Put(o + 112, c7 + e7, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* o, Vector512<float> v, bool accumulate)
    {
        if (accumulate) v += Vector512.Load(o);
        v.Store(o);
    }

    // ---- AVX2: 16 ymm registers cannot hold H = 128 floats of h plus accumulators, so these keep the OUTPUT in registers,
    // 64 floats (8 ymm) at a time, and broadcast the input one element per FMA row. Each output block is a "slab". ----

    /// <summary>Output rows per slab: 8 ymm accumulators, which leave 8 registers for the broadcast and the loads, and are
    /// just enough independent FMA chains (latency 4, 2 per cycle) to keep the FMA units busy.</summary>
    public const int SlabRows = 64;

    /// <summary>Lays W (rows × H, row-major; rows a multiple of 8) out for <see cref="RowsTimesVectorSlabs"/>: slab s (rows
    /// [64·s, 64·s + w), w = min(64, rows − 64·s)) is stored transposed, [H, w], at dst + 64·s·H, so that the kernel reads
    /// each slab, and the whole of W, front to back.</summary>
    public static void TransposeSlabs(float* w, int rows, int hidden, float* dst)
    {
        for (int r = 0; r < rows; r += SlabRows)
            Transpose(w + (nint)r * hidden, Math.Min(SlabRows, rows - r), hidden, dst + (nint)r * hidden);
    }

    /// <summary>g[r] (+)= Σ_k w[r·H + k]·v[k] for r &lt; rows, with W given as <see cref="TransposeSlabs"/> lays it out.
    /// rows a multiple of 8, H a multiple of 8 (<see cref="SupportsSlabs"/>).</summary>
    /// <remarks>Why slabs rather than 16-row dot products on W in place: a dot product needs the vector re-loaded with every
    /// load of W (16 ymm cannot hold both it and the accumulators), which makes the loads, not L2, the limit (2 loads per
    /// FMA), and then needs a reduction per row. Broadcasting v[k] over a contiguous row of the transposed slab costs one
    /// broadcast per 8 FMAs, whose other operand is a memory load.</remarks>
    public static void RowsTimesVectorSlabs(float* slabs, int rows, int hidden, float* v, float* g, bool accumulate)
        => BroadcastSlabs(v, hidden, slabs, rows, g, accumulate);

    /// <summary>Lays W (rows × H, row-major; H a multiple of 8) out for <see cref="VectorTimesRowsSlabs"/>: column slab s
    /// (columns [64·s, 64·s + w), w = min(64, H − 64·s)) of every row, [rows, w], at dst + 64·s·rows.</summary>
    public static void CopySlabs(float* w, int rows, int hidden, float* dst)
    {
        for (int c = 0; c < hidden; c += SlabRows)
        {
            int width = Math.Min(SlabRows, hidden - c);
            float* d = dst + (nint)c * rows;
            for (int r = 0; r < rows; r++, d += width)
                Unsafe.CopyBlockUnaligned(d, w + (nint)r * hidden + c, (uint)(width * sizeof(float)));
        }
    }

    /// <summary>o[k] (+)= Σ_r u[r]·w[r·H + k] for k &lt; H: a row vector times W (rows × H), with W given as
    /// <see cref="CopySlabs"/> lays it out; H a multiple of 8 (<see cref="SupportsSlabs"/>), any rows.</summary>
    /// <remarks>The output is made 64 columns (8 ymm) at a time, each from one contiguous slab. Why the copy: reading the
    /// 64 columns in place (256 bytes out of every 512-byte row for H = 128) is slower than reading contiguous slabs, by more
    /// than the copy (one pass over W_hh per call) costs: measured LSTM D = 32, H = 128, T = 35 training step at batch 1,
    /// 295 µs in place, 281 µs with the copy.</remarks>
    public static void VectorTimesRowsSlabs(float* u, float* slabs, int rows, int hidden, float* o, bool accumulate)
        => BroadcastSlabs(u, rows, slabs, hidden, o, accumulate);

    // Both slab layouts are the same product: output block b (64 wide, narrower last) is stored [count, width] at
    // slabs + b·count, and out[b .. b + width] (+)= Σ_i s[i]·slab[i, :].
    private static void BroadcastSlabs(float* s, int count, float* slabs, int outputs, float* o, bool accumulate)
    {
        int c = 0;
        for (; c + SlabRows <= outputs; c += SlabRows) BroadcastSlab<GemmC8>(s, slabs + (nint)c * count, count, o + c, accumulate);
        float* p = slabs + (nint)c * count;
        switch ((outputs - c) >> 3)
        {
            case 1: BroadcastSlab<GemmC1>(s, p, count, o + c, accumulate); break;
            case 2: BroadcastSlab<GemmC2>(s, p, count, o + c, accumulate); break;
            case 3: BroadcastSlab<GemmC3>(s, p, count, o + c, accumulate); break;
            case 4: BroadcastSlab<GemmC4>(s, p, count, o + c, accumulate); break;
            case 5: BroadcastSlab<GemmC5>(s, p, count, o + c, accumulate); break;
            case 6: BroadcastSlab<GemmC6>(s, p, count, o + c, accumulate); break;
            case 7: BroadcastSlab<GemmC7>(s, p, count, o + c, accumulate); break;
        }
    }

    // One slab of width 8·TB, stored [count, 8·TB]: TB accumulators, one broadcast of s[i] per row i of the slab.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BroadcastSlab<TB>(float* s, float* p, int count, float* o, bool accumulate) where TB : struct, IGemmConst
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        nint width = 8 * TB.Value;
        for (int i = 0; i < count; i++, p += width)
        {
            Vector256<float> x = Vector256.Create(s[i]);
            a0 = Vector256.FusedMultiplyAdd(Vector256.Load(p), x, a0);
            if (TB.Value > 1) a1 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 8), x, a1);
            if (TB.Value > 2) a2 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 16), x, a2);
            if (TB.Value > 3) a3 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 24), x, a3);
            if (TB.Value > 4) a4 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 32), x, a4);
            if (TB.Value > 5) a5 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 40), x, a5);
            if (TB.Value > 6) a6 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 48), x, a6);
            if (TB.Value > 7) a7 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 56), x, a7);
        }
        Put8(o, a0, accumulate);
        if (TB.Value > 1) Put8(o + 8, a1, accumulate);
        if (TB.Value > 2) Put8(o + 16, a2, accumulate);
        if (TB.Value > 3) Put8(o + 24, a3, accumulate);
        if (TB.Value > 4) Put8(o + 32, a4, accumulate);
        if (TB.Value > 5) Put8(o + 40, a5, accumulate);
        if (TB.Value > 6) Put8(o + 48, a6, accumulate);
        if (TB.Value > 7) Put8(o + 56, a7, accumulate);
    }

    /// <summary>dst[c·rows + r] (+)= src[r·cols + c]: a rows × cols block (row stride cols) written (or added) transposed.</summary>
    public static void Transpose(float* src, int rows, int cols, float* dst, bool accumulate = false)
    {
        int r = 0;
        if (Avx.IsSupported && cols % 8 == 0)
        {
            // 8×8 tiles through registers (the classic unpack / shuffle / permute2f128 transpose).
            for (; r + 8 <= rows; r += 8)
                for (int c = 0; c < cols; c += 8)
                    Transpose8x8(src + (nint)r * cols + c, cols, dst + (nint)c * rows + r, rows, accumulate);
        }
        for (; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                float* d = dst + (nint)c * rows + r;
                *d = accumulate ? *d + src[(nint)r * cols + c] : src[(nint)r * cols + c];
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, nint ls, float* d, nint ld, bool accumulate)
    {
        Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + ls), r2 = Avx.LoadVector256(s + 2 * ls), r3 = Avx.LoadVector256(s + 3 * ls);
        Vector256<float> r4 = Avx.LoadVector256(s + 4 * ls), r5 = Avx.LoadVector256(s + 5 * ls), r6 = Avx.LoadVector256(s + 6 * ls), r7 = Avx.LoadVector256(s + 7 * ls);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Put8(d, Avx.Permute2x128(u0, u4, 0x20), accumulate);
        Put8(d + ld, Avx.Permute2x128(u1, u5, 0x20), accumulate);
        Put8(d + 2 * ld, Avx.Permute2x128(u2, u6, 0x20), accumulate);
        Put8(d + 3 * ld, Avx.Permute2x128(u3, u7, 0x20), accumulate);
        Put8(d + 4 * ld, Avx.Permute2x128(u0, u4, 0x31), accumulate);
        Put8(d + 5 * ld, Avx.Permute2x128(u1, u5, 0x31), accumulate);
        Put8(d + 6 * ld, Avx.Permute2x128(u2, u6, 0x31), accumulate);
        Put8(d + 7 * ld, Avx.Permute2x128(u3, u7, 0x31), accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put8(float* d, Vector256<float> v, bool accumulate)
    {
        if (accumulate) v = Avx.Add(v, Avx.LoadVector256(d));
        Avx.Store(d, v);
    }
}
