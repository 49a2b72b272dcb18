using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>
/// Computes one rectangle C[i0..i1, j0..j1] of a float multiply on the current thread. Three strategies:
/// <list type="bullet">
/// <item><b>Packed</b> (BLIS/Goto): for each NC column block and KC depth block pack op(B) into NR-wide strips,
/// then for each MR-row strip pack op(A) and run the MR×NR micro-kernel over the strips.</item>
/// <item><b>Direct B</b> (op(B) = B, small m or small k): A strips are packed, B rows are read in place
/// (row stride n); only a partial last column strip is copied.</item>
/// <item><b>Dot</b> (op(B) = Bᵀ, op(A) = A, small m): rows of A and rows of B are both contiguous along k,
/// so C[i,j] is a dot product; tiles of up to 4 A rows × 8 B rows, nothing packed.</item>
/// </list>
/// </summary>
internal static unsafe class GemmDriver
{
    // Why these thresholds (measured, see benchmarks/gemm-notes.md): packing op(B) costs about one pass over
    // k×n, which the packed kernel repays only when every packed element is reused by enough rows of A.
    // Below that, reading B in place (direct) or as dot products (B transposed) is faster:
    // - Dot (Bᵀ): m=4, n=128, k=784: 8.4 µs dot vs 19.8 packed; at m=32 both ~68 µs, so m <= 16. For n <= 16 the
    //   48-wide packed tile is mostly padding: m=32, n=10, k=128: 1.5 µs dot vs 2.2 packed.
    // - Gemv (B, m = 1): see GemmGemv. Direct (B): A is packed anyway; B rows are read in place when few rows of
    //   A reuse them (m <= 32) or when k is so small that a packed copy would be most of the work.
    internal static int DotMaxM = 16, DotMaxN = 16;
    internal static int GemvMaxM = 1;
    internal static int DirectMaxM = 32;
    internal static int DirectMaxK = 64;

    public static void Execute(in GemmProblem p, int i0, int i1, int j0, int j1, GemmBuffers buf)
    {
        if (i0 >= i1 || j0 >= j1) return;
        if (p.K == 0)
        {
            if (!p.Accumulate)
                for (int i = i0; i < i1; i++) new Span<float>(p.C + (nint)i * p.N + j0, j1 - j0).Clear();
            return;
        }
        int m = i1 - i0;
        // The dot and gemv paths read A in place, so they cannot scale it while packing: a scaled product takes the
        // packed paths (the fused SGD step's weight gradients, A transposed, never reach these two anyway).
        bool unscaled = p.Alpha == 1f;
        if (p.K == 1)
            Rank1(in p, i0, i1, j0, j1);
        else if (unscaled && p.TransB && !p.TransA && (m <= DotMaxM || j1 - j0 <= DotMaxN) && GemmBlocking.DotWidth != 0 && p.K >= GemmBlocking.DotWidth)
            Dot(in p, i0, i1, j0, j1);
        else if (unscaled && !p.TransB && m <= GemvMaxM && GemmBlocking.DotWidth != 0)
        {
            for (int i = i0; i < i1; i++)
                GemmGemv.Run(p.TransA ? p.A + i : p.A + (nint)i * p.K, p.TransA ? p.M : 1, p.B, p.K, p.N,
                    p.C + (nint)i * p.N, j0, j1, p.Accumulate);
        }
        else if (!p.TransB && (m <= DirectMaxM || p.K <= DirectMaxK))
            Direct(in p, i0, i1, j0, j1, buf);
        else
            Packed(in p, i0, i1, j0, j1, buf);
        buf.KeepAlive();
    }

    /// <summary>k = 1: C[i, j] (+)= a_i · b_j, an outer product (the weight gradient, or the fused SGD update, of a
    /// layer at batch 1). With k = 1 both operands are contiguous vectors whatever the transposes, and the work is one
    /// streaming pass over C: packing would only add traffic (batch-1 784x128 update: 11.6 µs packed-direct, measured).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rank1(in GemmProblem p, int i0, int i1, int j0, int j1)
    {
        int n = p.N;
        float* a = p.A, b = p.B, cBase = p.C;
        bool accumulate = p.Accumulate;
        for (int i = i0; i < i1; i++)
        {
            float ai = a[i] * p.Alpha;
            float* c = cBase + (nint)i * n;
            int j = j0;
            if (Vector512.IsHardwareAccelerated)
            {
                var va = Vector512.Create(ai);
                if (accumulate)
                    for (; j <= j1 - 16; j += 16) Vector512.FusedMultiplyAdd(va, Vector512.Load(b + j), Vector512.Load(c + j)).Store(c + j);
                else
                    for (; j <= j1 - 16; j += 16) (va * Vector512.Load(b + j)).Store(c + j);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var va = Vector256.Create(ai);
                if (accumulate)
                    for (; j <= j1 - 8; j += 8) Vector256.FusedMultiplyAdd(va, Vector256.Load(b + j), Vector256.Load(c + j)).Store(c + j);
                else
                    for (; j <= j1 - 8; j += 8) (va * Vector256.Load(b + j)).Store(c + j);
            }
            if (accumulate) for (; j < j1; j++) c[j] = MathF.FusedMultiplyAdd(ai, b[j], c[j]);
            else for (; j < j1; j++) c[j] = ai * b[j];
        }
    }

    /// <summary>Splits k into equal blocks of at most KC (so the last block is not a sliver).</summary>
    private static int BalancedKc(int k)
    {
        int kc = GemmBlocking.KC;
        int blocks = (k + kc - 1) / kc;
        return (k + blocks - 1) / blocks;
    }

    private static void Packed(in GemmProblem p, int i0, int i1, int j0, int j1, GemmBuffers buf)
    {
        int mr = GemmBlocking.MR, nr = StripWidth(j1 - j0), ncMax = GemmBlocking.NC, vectors = VectorWidth == 0 ? 1 : nr / VectorWidth;
        int k = p.K, kcStd = BalancedKc(k);
        float* packA = buf.PackA, packB = buf.PackB, tile = buf.Tile;
        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, j1 - jc);
            for (int pc = 0; pc < k; pc += kcStd)
            {
                int kc = Math.Min(kcStd, k - pc);
                GemmPacking.PackB(in p, pc, kc, jc, nc, packB, nr);
                bool load = p.Accumulate || pc > 0;
                for (int ir = i0; ir < i1; ir += mr)
                {
                    int rows = Math.Min(mr, i1 - ir);
                    GemmPacking.PackA(in p, ir, rows, pc, kc, packA, mr);
                    float* cRow = p.C + (nint)ir * p.N + jc;
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        float* bp = packB + (nint)(jr / nr) * kc * nr;
                        if (cols == nr)
                            Kernel(rows, vectors, packA, bp, nr, kc, cRow + jr, p.N, load);
                        else
                            EdgeStrip(rows, cols, packA, bp, nr, kc, cRow + jr, p.N, load, tile);
                    }
                }
            }
        }
    }

    private static void Direct(in GemmProblem p, int i0, int i1, int j0, int j1, GemmBuffers buf)
    {
        int mr = GemmBlocking.MR, nr = GemmBlocking.NR;
        int k = p.K, n = p.N, kcStd = BalancedKc(k);
        int fullEnd = j0 + (j1 - j0) / nr * nr;
        float* packA = buf.PackA, packB = buf.PackB, tile = buf.Tile;
        // A last strip that is a whole number of vectors is read in place with a narrower kernel.
        int width = VectorWidth, edgeCols = j1 - fullEnd;
        int edgeVectors = width == 0 ? 0 : edgeCols / width;
        bool edgeInPlace = edgeCols > 0 && width > 0 && edgeVectors * width == edgeCols;
        for (int pc = 0; pc < k; pc += kcStd)
        {
            int kc = Math.Min(kcStd, k - pc);
            bool load = p.Accumulate || pc > 0;
            if (fullEnd < j1 && !edgeInPlace) GemmPacking.PackB(in p, pc, kc, fullEnd, j1 - fullEnd, packB, nr);
            for (int ir = i0; ir < i1; ir += mr)
            {
                int rows = Math.Min(mr, i1 - ir);
                GemmPacking.PackA(in p, ir, rows, pc, kc, packA, mr);
                float* cRow = p.C + (nint)ir * n;
                float* bRow = p.B + (nint)pc * n;
                for (int j = j0; j < fullEnd; j += nr)
                    Kernel(rows, FullVectors, packA, bRow + j, n, kc, cRow + j, n, load);
                if (edgeInPlace)
                    Kernel(rows, edgeVectors, packA, bRow + fullEnd, n, kc, cRow + fullEnd, n, load);
                else if (fullEnd < j1)
                    EdgeStrip(rows, j1 - fullEnd, packA, packB, nr, kc, cRow + fullEnd, n, load, tile);
            }
        }
    }

    private static void Dot(in GemmProblem p, int i0, int i1, int j0, int j1)
    {
        int k = p.K, n = p.N;
        // Why 8 B rows for m <= 2: a 1×4 tile has only 4 independent FMA chains (latency bound); 1×8 or 2×8
        // keeps 8..16 in flight. With 3-4 A rows, 4×4 = 16 accumulators already suffice and 4×8 would spill.
        int bBlock = i1 - i0 <= 2 ? 8 : 4;
        for (int jb = j0; jb < j1; jb += bBlock)
        {
            int rb = Math.Min(bBlock, j1 - jb);
            float* bp = p.B + (nint)jb * k;
            for (int ib = i0; ib < i1; ib += 4)
            {
                int ra = Math.Min(4, i1 - ib);
                float* ap = p.A + (nint)ib * k;
                float* cp = p.C + (nint)ib * n + jb;
                if (GemmBlocking.Isa == GemmIsa.Avx512) Dot<V512, Vector512<float>>(ra, rb, ap, bp, k, cp, n, p.Accumulate);
                else Dot<V256, Vector256<float>>(ra, rb, ap, bp, k, cp, n, p.Accumulate);
            }
        }
    }

    private static void Dot<TS, TV>(int ra, int rb, float* a, float* b, int k, float* c, nint ldc, bool load)
        where TS : struct, ISimd<TV> where TV : unmanaged
    {
        switch (ra)
        {
            case 1: Dot<TS, TV, GemmC1>(rb, a, b, k, c, ldc, load); break;
            case 2: Dot<TS, TV, GemmC2>(rb, a, b, k, c, ldc, load); break;
            case 3: Dot<TS, TV, GemmC3>(rb, a, b, k, c, ldc, load); break;
            default: Dot<TS, TV, GemmC4>(rb, a, b, k, c, ldc, load); break;
        }
    }

    private static void Dot<TS, TV, TA>(int rb, float* a, float* b, int k, float* c, nint ldc, bool load)
        where TS : struct, ISimd<TV> where TV : unmanaged where TA : struct, IGemmConst
    {
        switch (rb)
        {
            case 1: GemmDot.Run<TS, TV, TA, GemmC1>(a, b, k, c, ldc, load); break;
            case 2: GemmDot.Run<TS, TV, TA, GemmC2>(a, b, k, c, ldc, load); break;
            case 3: GemmDot.Run<TS, TV, TA, GemmC3>(a, b, k, c, ldc, load); break;
            case 4: GemmDot.Run<TS, TV, TA, GemmC4>(a, b, k, c, ldc, load); break;
            case 5: GemmDot.Run<TS, TV, TA, GemmC5>(a, b, k, c, ldc, load); break;
            case 6: GemmDot.Run<TS, TV, TA, GemmC6>(a, b, k, c, ldc, load); break;
            case 7: GemmDot.Run<TS, TV, TA, GemmC7>(a, b, k, c, ldc, load); break;
            default: GemmDot.Run<TS, TV, TA, GemmC8>(a, b, k, c, ldc, load); break;
        }
    }

    /// <summary>C[0..rows, 0..cols] = (load ? C : 0) + tile (tile row stride ldt).</summary>
    private static void AddTile(float* tile, int ldt, float* c, nint ldc, int rows, int cols, bool load)
    {
        for (int r = 0; r < rows; r++)
        {
            float* t = tile + (nint)r * ldt, cr = c + r * ldc;
            if (load) for (int j = 0; j < cols; j++) cr[j] += t[j];
            else for (int j = 0; j < cols; j++) cr[j] = t[j];
        }
    }

    /// <summary>Vectors per full-width tile row (NR / width) and the vector width in floats (0: scalar).</summary>
    /// <summary>The packed strip width for <paramref name="n"/> columns: NR, or with AVX-512 two vectors (32) when 48-wide
    /// strips would leave a last strip of one vector (n = 64, 160: 48 + 16) and 32-wide strips leave none. A one-vector
    /// strip of 8 rows loads a B vector and 8 broadcasts per 8 multiply-adds; measured on 64 x 64 x 128:
    /// 48 + 16 strips 69 GFLOP/s, two 32-wide strips (see benchmarks/gemm-notes.md).</summary>
    private static int StripWidth(int n) =>
        GemmBlocking.Isa == GemmIsa.Avx512 && n % 48 == 16 && n % 32 == 0 ? 32 : GemmBlocking.NR;

    private static int FullVectors => GemmBlocking.Isa switch { GemmIsa.Avx512 => 3, GemmIsa.Avx2 => 2, _ => 1 };
    private static int VectorWidth => GemmBlocking.Isa switch { GemmIsa.Avx512 => 16, GemmIsa.Avx2 => 8, _ => 0 };

    /// <summary>
    /// A strip narrower than NR: run a kernel only as wide as needed (fewer vectors per row), into C when the
    /// width is a whole number of vectors, else into the scratch tile and then add the valid columns.
    /// </summary>
    private static void EdgeStrip(int rows, int cols, float* a, float* b, nint bStep, int kc, float* c, nint ldc, bool load, float* tile)
    {
        int width = VectorWidth;
        if (width == 0)
        {
            KernelScalar(rows, a, b, bStep, kc, tile, GemmBlocking.NR, false);
            AddTile(tile, GemmBlocking.NR, c, ldc, rows, cols, load);
            return;
        }
        int vectors = (cols + width - 1) / width;
        if (vectors * width == cols)
            Kernel(rows, vectors, a, b, bStep, kc, c, ldc, load);
        else
        {
            Kernel(rows, vectors, a, b, bStep, kc, tile, GemmBlocking.NR, false);
            AddTile(tile, GemmBlocking.NR, c, ldc, rows, cols, load);
        }
    }

    /// <summary>
    /// rows×(vectors·width) tile: C (+)= Σ_p a[p·MR + r]·b[p·bStep + j]. A is a packed micro-panel (row step MR),
    /// B a packed strip (bStep = NR) or rows of B in place (bStep = n).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel(int rows, int vectors, float* a, float* b, nint bStep, int kc, float* c, nint ldc, bool load)
    {
        switch (GemmBlocking.Isa)
        {
            case GemmIsa.Avx512:
                if (vectors == 3) Kernel<V512, Vector512<float>, GemmC3>(rows, a, b, bStep, kc, c, ldc, load);
                else if (vectors == 2) Kernel<V512, Vector512<float>, GemmC2>(rows, a, b, bStep, kc, c, ldc, load);
                else Kernel<V512, Vector512<float>, GemmC1>(rows, a, b, bStep, kc, c, ldc, load);
                break;
            case GemmIsa.Avx2:
                if (vectors == 2) Kernel<V256, Vector256<float>, GemmC2>(rows, a, b, bStep, kc, c, ldc, load);
                else Kernel<V256, Vector256<float>, GemmC1>(rows, a, b, bStep, kc, c, ldc, load);
                break;
            default: KernelScalar(rows, a, b, bStep, kc, c, ldc, load); break;
        }
    }

    /// <summary>A rows×TN-vector tile; MR = 8 with Vector512, 6 with Vector256 (see <see cref="GemmBlocking"/>).</summary>
    private static void Kernel<TS, TV, TN>(int rows, float* a, float* b, nint bStep, int kc, float* c, nint ldc, bool load)
        where TS : struct, ISimd<TV> where TV : unmanaged where TN : struct, IGemmConst
    {
        nint mr = TS.Count == 16 ? 8 : 6;
        switch (rows)
        {
            case 8: GemmKernel.Run<TS, TV, GemmC8, TN>(a, mr, b, bStep, kc, c, ldc, load); break;
            case 7: GemmKernel.Run<TS, TV, GemmC7, TN>(a, mr, b, bStep, kc, c, ldc, load); break;
            case 6: GemmKernel.Run<TS, TV, GemmC6, TN>(a, mr, b, bStep, kc, c, ldc, load); break;
            case 1: GemmKernel.Run<TS, TV, GemmC1, TN>(a, mr, b, bStep, kc, c, ldc, load); break;
            case 2: GemmKernel.Run<TS, TV, GemmC2, TN>(a, mr, b, bStep, kc, c, ldc, load); break;
            case 3: GemmKernel.Run<TS, TV, GemmC3, TN>(a, mr, b, bStep, kc, c, ldc, load); break;
            case 4: GemmKernel.Run<TS, TV, GemmC4, TN>(a, mr, b, bStep, kc, c, ldc, load); break;
            default: GemmKernel.Run<TS, TV, GemmC5, TN>(a, mr, b, bStep, kc, c, ldc, load); break;
        }
    }

    /// <summary>Portable fallback (no SIMD): a 4×4 register tile in scalar code.</summary>
    private static void KernelScalar(int rows, float* a, float* b, nint bStep, int kc, float* c, nint ldc, bool load)
    {
        const int mr = 4;
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            a += mr;
            b += bStep;
        }
        StoreRow(c, load, c00, c01, c02, c03);
        if (rows > 1) StoreRow(c + ldc, load, c10, c11, c12, c13);
        if (rows > 2) StoreRow(c + 2 * ldc, load, c20, c21, c22, c23);
        if (rows > 3) StoreRow(c + 3 * ldc, load, c30, c31, c32, c33);

        static void StoreRow(float* c, bool load, float v0, float v1, float v2, float v3)
        {
            if (load) { v0 += c[0]; v1 += c[1]; v2 += c[2]; v3 += c[3]; }
            c[0] = v0; c[1] = v1; c[2] = v2; c[3] = v3;
        }
    }
}
