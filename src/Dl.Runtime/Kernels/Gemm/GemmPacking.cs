using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

/// <summary>
/// Packing of op(A) and op(B) blocks into the contiguous layouts the micro-kernels stream:
/// A micro-panel: dst[p·MR + r] = op(A)[i0 + r, p0 + p]; B block: NR-wide strips, strip s at dst + s·kc·NR with
/// dst[p·NR + j] = op(B)[p0 + p, j0 + s·NR + j], zero-padded past the last column.
/// </summary>
/// <remarks>
/// The two transposing cases (A not transposed: rows of A become columns of the panel; B transposed: rows of B
/// become columns of the strip) go through an 8×8 in-register transpose: a scalar strided copy measured
/// 2.4 ns/element for A (4 KB-strided rows alias in L1), the transpose about 0.2.
/// </remarks>
internal static unsafe class GemmPacking
{
    public static void PackA(in GemmProblem p, int i0, int rows, int p0, int kc, float* dst, int mr)
    {
        Copy(in p, i0, rows, p0, kc, dst, mr);
        // The panel is in L1 right after packing.
        if (p.Alpha != 1f) Rows.Scale(new ReadOnlySpan<float>(dst, kc * mr), p.Alpha, new Span<float>(dst, kc * mr));
    }

    private static void Copy(in GemmProblem p, int i0, int rows, int p0, int kc, float* dst, int mr)
    {
        if (!p.TransA)
        {
            // A is m×k (row stride k): each op(A) row is contiguous along k and becomes a column of the panel.
            nint lda = p.K;
            float* src = p.A + i0 * lda + p0;
            int q = 0;
            if (Avx.IsSupported && rows == 8)
                for (; q + 8 <= kc; q += 8) Transpose8x8(src + q, lda, dst + (nint)q * mr, mr);
            for (int r = 0; r < rows; r++)
            {
                float* s = src + r * lda, d = dst + r;
                for (int qq = q; qq < kc; qq++) d[(nint)qq * mr] = s[qq];
            }
        }
        else
        {
            // A is k×m (row stride m): the MR values of one k step are contiguous.
            nint lda = p.M;
            float* src = p.A + p0 * lda + i0;
            if (Vector256.IsHardwareAccelerated && rows == 8)
            {
                for (int q = 0; q < kc; q++) Vector256.Load(src + q * lda).Store(dst + (nint)q * mr);
            }
            else
            {
                for (int q = 0; q < kc; q++)
                {
                    float* s = src + q * lda, d = dst + (nint)q * mr;
                    for (int r = 0; r < rows; r++) d[r] = s[r];
                }
            }
        }
    }

    public static void PackB(in GemmProblem p, int p0, int kc, int j0, int nc, float* dst, int nr)
    {
        for (int s = 0; s < nc; s += nr)
        {
            int cols = Math.Min(nr, nc - s);
            float* d = dst + (nint)(s / nr) * kc * nr;
            if (!p.TransB)
            {
                // B is k×n (row stride n): a strip row is a contiguous copy.
                nint ldb = p.N;
                float* src = p.B + p0 * ldb + j0 + s;
                if (cols == nr && nr == 48 && Vector512.IsHardwareAccelerated)
                {
                    for (int q = 0; q < kc; q++)
                    {
                        float* sq = src + q * ldb, dq = d + (nint)q * 48;
                        Vector512.Load(sq).Store(dq);
                        Vector512.Load(sq + 16).Store(dq + 16);
                        Vector512.Load(sq + 32).Store(dq + 32);
                    }
                }
                else if (cols == nr && nr == 32 && Vector512.IsHardwareAccelerated)
                {
                    for (int q = 0; q < kc; q++)
                    {
                        float* sq = src + q * ldb, dq = d + (nint)q * 32;
                        Vector512.Load(sq).Store(dq);
                        Vector512.Load(sq + 16).Store(dq + 16);
                    }
                }
                else if (cols == nr && nr == 16 && Vector256.IsHardwareAccelerated)
                {
                    for (int q = 0; q < kc; q++)
                    {
                        float* sq = src + q * ldb, dq = d + (nint)q * 16;
                        Vector256.Load(sq).Store(dq);
                        Vector256.Load(sq + 8).Store(dq + 8);
                    }
                }
                else
                {
                    for (int q = 0; q < kc; q++)
                    {
                        float* sq = src + q * ldb, dq = d + (nint)q * nr;
                        for (int j = 0; j < cols; j++) dq[j] = sq[j];
                        for (int j = cols; j < nr; j++) dq[j] = 0;
                    }
                }
            }
            else
            {
                // B is n×k (row stride k): transpose; each source row becomes one column of the strip.
                nint ldb = p.K;
                float* src = p.B + (nint)(j0 + s) * ldb + p0;
                int j = 0;
                if (Avx.IsSupported)
                {
                    int kc8 = kc & ~7;
                    for (; j + 8 <= cols; j += 8)
                        for (int q = 0; q < kc8; q += 8)
                            Transpose8x8(src + j * ldb + q, ldb, d + (nint)q * nr + j, nr);
                    for (int jj = 0; jj < j; jj++)
                    {
                        float* sj = src + jj * ldb, dj = d + jj;
                        for (int q = kc8; q < kc; q++) dj[(nint)q * nr] = sj[q];
                    }
                }
                for (; j < cols; j++)
                {
                    float* sj = src + j * ldb, dj = d + j;
                    for (int q = 0; q < kc; q++) dj[(nint)q * nr] = sj[q];
                }
                if (cols < nr)
                    for (int q = 0; q < kc; q++) new Span<float>(d + (nint)q * nr + cols, nr - cols).Clear();
            }
        }
    }

    /// <summary>dst[c·dstStride + r] = src[r·srcStride + c] for r, c &lt; 8 (unpack / shuffle / lane-permute).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * srcStride), r7 = Avx.LoadVector256(src + 7 * srcStride);
        // Interleave pairs of rows: t0 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5] ...
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // Gather 4-row columns within each 128-bit lane.
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Join rows 0-3 and 4-7: low lanes give columns 0-3, high lanes columns 4-7.
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
