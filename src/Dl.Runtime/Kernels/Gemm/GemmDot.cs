// Accumulators are spelled out one local per register on purpose: RyuJIT enregisters named locals, not arrays.
using System.Runtime.CompilerServices;

namespace Dl.Kernels;

/// <summary>Dot-product GEMM tile for op(B) = Bᵀ at small m: RA rows of A against RB rows of B, RA ≤ 4, RB ≤ 8, at the
/// vector width of the ISimd type argument.</summary>
/// <remarks>
/// C[r·ldc + s] (+)= Σ_p A[r·k + p] · B[s·k + p] for r &lt; RA, s &lt; RB: rows of A and rows of B are both contiguous
/// along k (the y = x·Wᵀ forward of a Linear layer), so no packing is needed. Requires k ≥ the vector width; the
/// k remainder is done with one overlapping load whose already-counted lanes are masked to zero.
/// </remarks>
internal static unsafe class GemmDot
{
    public const int MaxRowsA = 4, MaxRowsB = 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TS, TV, TA, TB>(float* a, float* b, int k, float* c, nint ldc, bool load)
        where TS : struct, ISimd<TV> where TV : unmanaged where TA : struct, IGemmConst where TB : struct, IGemmConst
    {
        int w = TS.Count;
        TV s0_0, s0_1, s0_2, s0_3, s0_4, s0_5, s0_6, s0_7, s1_0, s1_1, s1_2, s1_3, s1_4, s1_5, s1_6, s1_7, s2_0, s2_1, s2_2, s2_3, s2_4, s2_5, s2_6, s2_7, s3_0, s3_1, s3_2, s3_3, s3_4, s3_5, s3_6, s3_7;
        s0_0 = s0_1 = s0_2 = s0_3 = s0_4 = s0_5 = s0_6 = s0_7 = s1_0 = s1_1 = s1_2 = s1_3 = s1_4 = s1_5 = s1_6 = s1_7 = s2_0 = s2_1 = s2_2 = s2_3 = s2_4 = s2_5 = s2_6 = s2_7 = s3_0 = s3_1 = s3_2 = s3_3 = s3_4 = s3_5 = s3_6 = s3_7 = TS.Zero;
        nint kk = k;
        nint q = 0;
        TV mask = TS.AllBitsSet;
        while (true)
        {
            if (q > kk - w)
            {
                if (q == kk) break;
                // Tail: step back so the load ends at k, and zero the lanes already accumulated.
                mask = TS.LastLanes((int)(kk - q));
                q = kk - w;
            }
            TV a0 = TS.And(TS.Load(a + 0 * kk + q), mask);
            TV a1 = TA.Value > 1 ? TS.And(TS.Load(a + 1 * kk + q), mask) : TS.Zero;
            TV a2 = TA.Value > 2 ? TS.And(TS.Load(a + 2 * kk + q), mask) : TS.Zero;
            TV a3 = TA.Value > 3 ? TS.And(TS.Load(a + 3 * kk + q), mask) : TS.Zero;
            TV b0 = TS.Load(b + 0 * kk + q);
            s0_0 = TS.Fma(a0, b0, s0_0);
            if (TA.Value > 1) s1_0 = TS.Fma(a1, b0, s1_0);
            if (TA.Value > 2) s2_0 = TS.Fma(a2, b0, s2_0);
            if (TA.Value > 3) s3_0 = TS.Fma(a3, b0, s3_0);
            if (TB.Value > 1)
            {
                TV b1 = TS.Load(b + 1 * kk + q);
                s0_1 = TS.Fma(a0, b1, s0_1);
                if (TA.Value > 1) s1_1 = TS.Fma(a1, b1, s1_1);
                if (TA.Value > 2) s2_1 = TS.Fma(a2, b1, s2_1);
                if (TA.Value > 3) s3_1 = TS.Fma(a3, b1, s3_1);
            }
            if (TB.Value > 2)
            {
                TV b2 = TS.Load(b + 2 * kk + q);
                s0_2 = TS.Fma(a0, b2, s0_2);
                if (TA.Value > 1) s1_2 = TS.Fma(a1, b2, s1_2);
                if (TA.Value > 2) s2_2 = TS.Fma(a2, b2, s2_2);
                if (TA.Value > 3) s3_2 = TS.Fma(a3, b2, s3_2);
            }
            if (TB.Value > 3)
            {
                TV b3 = TS.Load(b + 3 * kk + q);
                s0_3 = TS.Fma(a0, b3, s0_3);
                if (TA.Value > 1) s1_3 = TS.Fma(a1, b3, s1_3);
                if (TA.Value > 2) s2_3 = TS.Fma(a2, b3, s2_3);
                if (TA.Value > 3) s3_3 = TS.Fma(a3, b3, s3_3);
            }
            if (TB.Value > 4)
            {
                TV b4 = TS.Load(b + 4 * kk + q);
                s0_4 = TS.Fma(a0, b4, s0_4);
                if (TA.Value > 1) s1_4 = TS.Fma(a1, b4, s1_4);
                if (TA.Value > 2) s2_4 = TS.Fma(a2, b4, s2_4);
                if (TA.Value > 3) s3_4 = TS.Fma(a3, b4, s3_4);
            }
            if (TB.Value > 5)
            {
                TV b5 = TS.Load(b + 5 * kk + q);
                s0_5 = TS.Fma(a0, b5, s0_5);
                if (TA.Value > 1) s1_5 = TS.Fma(a1, b5, s1_5);
                if (TA.Value > 2) s2_5 = TS.Fma(a2, b5, s2_5);
                if (TA.Value > 3) s3_5 = TS.Fma(a3, b5, s3_5);
            }
            if (TB.Value > 6)
            {
                TV b6 = TS.Load(b + 6 * kk + q);
                s0_6 = TS.Fma(a0, b6, s0_6);
                if (TA.Value > 1) s1_6 = TS.Fma(a1, b6, s1_6);
                if (TA.Value > 2) s2_6 = TS.Fma(a2, b6, s2_6);
                if (TA.Value > 3) s3_6 = TS.Fma(a3, b6, s3_6);
            }
            if (TB.Value > 7)
            {
                TV b7 = TS.Load(b + 7 * kk + q);
                s0_7 = TS.Fma(a0, b7, s0_7);
                if (TA.Value > 1) s1_7 = TS.Fma(a1, b7, s1_7);
                if (TA.Value > 2) s2_7 = TS.Fma(a2, b7, s2_7);
                if (TA.Value > 3) s3_7 = TS.Fma(a3, b7, s3_7);
            }
            q += w;
        }

        Store(c + 0 * ldc + 0, TS.SumAcross(s0_0), load);
        if (TB.Value > 1) Store(c + 0 * ldc + 1, TS.SumAcross(s0_1), load);
        if (TB.Value > 2) Store(c + 0 * ldc + 2, TS.SumAcross(s0_2), load);
        if (TB.Value > 3) Store(c + 0 * ldc + 3, TS.SumAcross(s0_3), load);
        if (TB.Value > 4) Store(c + 0 * ldc + 4, TS.SumAcross(s0_4), load);
        if (TB.Value > 5) Store(c + 0 * ldc + 5, TS.SumAcross(s0_5), load);
        if (TB.Value > 6) Store(c + 0 * ldc + 6, TS.SumAcross(s0_6), load);
        if (TB.Value > 7) Store(c + 0 * ldc + 7, TS.SumAcross(s0_7), load);
        if (TA.Value > 1) Store(c + 1 * ldc + 0, TS.SumAcross(s1_0), load);
        if (TA.Value > 1 && TB.Value > 1) Store(c + 1 * ldc + 1, TS.SumAcross(s1_1), load);
        if (TA.Value > 1 && TB.Value > 2) Store(c + 1 * ldc + 2, TS.SumAcross(s1_2), load);
        if (TA.Value > 1 && TB.Value > 3) Store(c + 1 * ldc + 3, TS.SumAcross(s1_3), load);
        if (TA.Value > 1 && TB.Value > 4) Store(c + 1 * ldc + 4, TS.SumAcross(s1_4), load);
        if (TA.Value > 1 && TB.Value > 5) Store(c + 1 * ldc + 5, TS.SumAcross(s1_5), load);
        if (TA.Value > 1 && TB.Value > 6) Store(c + 1 * ldc + 6, TS.SumAcross(s1_6), load);
        if (TA.Value > 1 && TB.Value > 7) Store(c + 1 * ldc + 7, TS.SumAcross(s1_7), load);
        if (TA.Value > 2) Store(c + 2 * ldc + 0, TS.SumAcross(s2_0), load);
        if (TA.Value > 2 && TB.Value > 1) Store(c + 2 * ldc + 1, TS.SumAcross(s2_1), load);
        if (TA.Value > 2 && TB.Value > 2) Store(c + 2 * ldc + 2, TS.SumAcross(s2_2), load);
        if (TA.Value > 2 && TB.Value > 3) Store(c + 2 * ldc + 3, TS.SumAcross(s2_3), load);
        if (TA.Value > 2 && TB.Value > 4) Store(c + 2 * ldc + 4, TS.SumAcross(s2_4), load);
        if (TA.Value > 2 && TB.Value > 5) Store(c + 2 * ldc + 5, TS.SumAcross(s2_5), load);
        if (TA.Value > 2 && TB.Value > 6) Store(c + 2 * ldc + 6, TS.SumAcross(s2_6), load);
        if (TA.Value > 2 && TB.Value > 7) Store(c + 2 * ldc + 7, TS.SumAcross(s2_7), load);
        if (TA.Value > 3) Store(c + 3 * ldc + 0, TS.SumAcross(s3_0), load);
        if (TA.Value > 3 && TB.Value > 1) Store(c + 3 * ldc + 1, TS.SumAcross(s3_1), load);
        if (TA.Value > 3 && TB.Value > 2) Store(c + 3 * ldc + 2, TS.SumAcross(s3_2), load);
        if (TA.Value > 3 && TB.Value > 3) Store(c + 3 * ldc + 3, TS.SumAcross(s3_3), load);
        if (TA.Value > 3 && TB.Value > 4) Store(c + 3 * ldc + 4, TS.SumAcross(s3_4), load);
        if (TA.Value > 3 && TB.Value > 5) Store(c + 3 * ldc + 5, TS.SumAcross(s3_5), load);
        if (TA.Value > 3 && TB.Value > 6) Store(c + 3 * ldc + 6, TS.SumAcross(s3_6), load);
        if (TA.Value > 3 && TB.Value > 7) Store(c + 3 * ldc + 7, TS.SumAcross(s3_7), load);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, float value, bool load) => *c = load ? *c + value : value;
}
