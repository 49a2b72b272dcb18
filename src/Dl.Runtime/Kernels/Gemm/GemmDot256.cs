// Accumulators are spelled out one local per register on purpose: RyuJIT enregisters named locals, not arrays.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

/// <summary>Vector256 dot-product GEMM tile for op(B) = Bᵀ at small m: RA rows of A against RB rows of B, RA ≤ 4, RB ≤ 8.</summary>
/// <remarks>
/// C[r·ldc + s] (+)= Σ_p A[r·k + p] · B[s·k + p] for r &lt; RA, s &lt; RB: rows of A and rows of B are both contiguous
/// along k (the y = x·Wᵀ forward of a Linear layer), so no packing is needed. Requires k ≥ the vector width; the
/// k remainder is done with one overlapping load whose already-counted lanes are masked to zero.
/// </remarks>
internal static unsafe class GemmDot256
{
    public const int MaxRowsA = 4, MaxRowsB = 8, Width = 8;

    // Lane l of the mask loaded at offset r is all-ones iff l >= Width - r, i.e. it keeps the last r lanes.
    private static ReadOnlySpan<uint> TailMask => [0, 0, 0, 0, 0, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TA, TB>(float* a, float* b, int k, float* c, nint ldc, bool load)
        where TA : struct, IGemmConst where TB : struct, IGemmConst
    {
        Vector256<float> s0_0, s0_1, s0_2, s0_3, s0_4, s0_5, s0_6, s0_7, s1_0, s1_1, s1_2, s1_3, s1_4, s1_5, s1_6, s1_7, s2_0, s2_1, s2_2, s2_3, s2_4, s2_5, s2_6, s2_7, s3_0, s3_1, s3_2, s3_3, s3_4, s3_5, s3_6, s3_7;
        s0_0 = s0_1 = s0_2 = s0_3 = s0_4 = s0_5 = s0_6 = s0_7 = s1_0 = s1_1 = s1_2 = s1_3 = s1_4 = s1_5 = s1_6 = s1_7 = s2_0 = s2_1 = s2_2 = s2_3 = s2_4 = s2_5 = s2_6 = s2_7 = s3_0 = s3_1 = s3_2 = s3_3 = s3_4 = s3_5 = s3_6 = s3_7 = Vector256<float>.Zero;
        nint kk = k;
        nint q = 0;
        Vector256<float> mask = Vector256<float>.AllBitsSet;
        while (true)
        {
            if (q > kk - 8)
            {
                if (q == kk) break;
                // Tail: step back so the load ends at k, and zero the lanes already accumulated.
                mask = Vector256.LoadUnsafe(ref Unsafe.As<uint, float>(ref MemoryMarshal.GetReference(TailMask)), (nuint)(kk - q));
                q = kk - 8;
            }
            Vector256<float> a0 = Vector256.Load(a + 0 * kk + q) & mask;
            Vector256<float> a1 = TA.Value > 1 ? Vector256.Load(a + 1 * kk + q) & mask : Vector256<float>.Zero;
            Vector256<float> a2 = TA.Value > 2 ? Vector256.Load(a + 2 * kk + q) & mask : Vector256<float>.Zero;
            Vector256<float> a3 = TA.Value > 3 ? Vector256.Load(a + 3 * kk + q) & mask : Vector256<float>.Zero;
            Vector256<float> b0 = Vector256.Load(b + 0 * kk + q);
            s0_0 = Fma.MultiplyAdd(a0, b0, s0_0);
            if (TA.Value > 1) s1_0 = Fma.MultiplyAdd(a1, b0, s1_0);
            if (TA.Value > 2) s2_0 = Fma.MultiplyAdd(a2, b0, s2_0);
            if (TA.Value > 3) s3_0 = Fma.MultiplyAdd(a3, b0, s3_0);
            if (TB.Value > 1)
            {
                Vector256<float> b1 = Vector256.Load(b + 1 * kk + q);
                s0_1 = Fma.MultiplyAdd(a0, b1, s0_1);
                if (TA.Value > 1) s1_1 = Fma.MultiplyAdd(a1, b1, s1_1);
                if (TA.Value > 2) s2_1 = Fma.MultiplyAdd(a2, b1, s2_1);
                if (TA.Value > 3) s3_1 = Fma.MultiplyAdd(a3, b1, s3_1);
            }
            if (TB.Value > 2)
            {
                Vector256<float> b2 = Vector256.Load(b + 2 * kk + q);
                s0_2 = Fma.MultiplyAdd(a0, b2, s0_2);
                if (TA.Value > 1) s1_2 = Fma.MultiplyAdd(a1, b2, s1_2);
                if (TA.Value > 2) s2_2 = Fma.MultiplyAdd(a2, b2, s2_2);
                if (TA.Value > 3) s3_2 = Fma.MultiplyAdd(a3, b2, s3_2);
            }
            if (TB.Value > 3)
            {
                Vector256<float> b3 = Vector256.Load(b + 3 * kk + q);
                s0_3 = Fma.MultiplyAdd(a0, b3, s0_3);
                if (TA.Value > 1) s1_3 = Fma.MultiplyAdd(a1, b3, s1_3);
                if (TA.Value > 2) s2_3 = Fma.MultiplyAdd(a2, b3, s2_3);
                if (TA.Value > 3) s3_3 = Fma.MultiplyAdd(a3, b3, s3_3);
            }
            if (TB.Value > 4)
            {
                Vector256<float> b4 = Vector256.Load(b + 4 * kk + q);
                s0_4 = Fma.MultiplyAdd(a0, b4, s0_4);
                if (TA.Value > 1) s1_4 = Fma.MultiplyAdd(a1, b4, s1_4);
                if (TA.Value > 2) s2_4 = Fma.MultiplyAdd(a2, b4, s2_4);
                if (TA.Value > 3) s3_4 = Fma.MultiplyAdd(a3, b4, s3_4);
            }
            if (TB.Value > 5)
            {
                Vector256<float> b5 = Vector256.Load(b + 5 * kk + q);
                s0_5 = Fma.MultiplyAdd(a0, b5, s0_5);
                if (TA.Value > 1) s1_5 = Fma.MultiplyAdd(a1, b5, s1_5);
                if (TA.Value > 2) s2_5 = Fma.MultiplyAdd(a2, b5, s2_5);
                if (TA.Value > 3) s3_5 = Fma.MultiplyAdd(a3, b5, s3_5);
            }
            if (TB.Value > 6)
            {
                Vector256<float> b6 = Vector256.Load(b + 6 * kk + q);
                s0_6 = Fma.MultiplyAdd(a0, b6, s0_6);
                if (TA.Value > 1) s1_6 = Fma.MultiplyAdd(a1, b6, s1_6);
                if (TA.Value > 2) s2_6 = Fma.MultiplyAdd(a2, b6, s2_6);
                if (TA.Value > 3) s3_6 = Fma.MultiplyAdd(a3, b6, s3_6);
            }
            if (TB.Value > 7)
            {
                Vector256<float> b7 = Vector256.Load(b + 7 * kk + q);
                s0_7 = Fma.MultiplyAdd(a0, b7, s0_7);
                if (TA.Value > 1) s1_7 = Fma.MultiplyAdd(a1, b7, s1_7);
                if (TA.Value > 2) s2_7 = Fma.MultiplyAdd(a2, b7, s2_7);
                if (TA.Value > 3) s3_7 = Fma.MultiplyAdd(a3, b7, s3_7);
            }
            q += 8;
        }

        Store(c + 0 * ldc + 0, Vector256.Sum(s0_0), load);
        if (TB.Value > 1) Store(c + 0 * ldc + 1, Vector256.Sum(s0_1), load);
        if (TB.Value > 2) Store(c + 0 * ldc + 2, Vector256.Sum(s0_2), load);
        if (TB.Value > 3) Store(c + 0 * ldc + 3, Vector256.Sum(s0_3), load);
        if (TB.Value > 4) Store(c + 0 * ldc + 4, Vector256.Sum(s0_4), load);
        if (TB.Value > 5) Store(c + 0 * ldc + 5, Vector256.Sum(s0_5), load);
        if (TB.Value > 6) Store(c + 0 * ldc + 6, Vector256.Sum(s0_6), load);
        if (TB.Value > 7) Store(c + 0 * ldc + 7, Vector256.Sum(s0_7), load);
        if (TA.Value > 1) Store(c + 1 * ldc + 0, Vector256.Sum(s1_0), load);
        if (TA.Value > 1 && TB.Value > 1) Store(c + 1 * ldc + 1, Vector256.Sum(s1_1), load);
        if (TA.Value > 1 && TB.Value > 2) Store(c + 1 * ldc + 2, Vector256.Sum(s1_2), load);
        if (TA.Value > 1 && TB.Value > 3) Store(c + 1 * ldc + 3, Vector256.Sum(s1_3), load);
        if (TA.Value > 1 && TB.Value > 4) Store(c + 1 * ldc + 4, Vector256.Sum(s1_4), load);
        if (TA.Value > 1 && TB.Value > 5) Store(c + 1 * ldc + 5, Vector256.Sum(s1_5), load);
        if (TA.Value > 1 && TB.Value > 6) Store(c + 1 * ldc + 6, Vector256.Sum(s1_6), load);
        if (TA.Value > 1 && TB.Value > 7) Store(c + 1 * ldc + 7, Vector256.Sum(s1_7), load);
        if (TA.Value > 2) Store(c + 2 * ldc + 0, Vector256.Sum(s2_0), load);
        if (TA.Value > 2 && TB.Value > 1) Store(c + 2 * ldc + 1, Vector256.Sum(s2_1), load);
        if (TA.Value > 2 && TB.Value > 2) Store(c + 2 * ldc + 2, Vector256.Sum(s2_2), load);
        if (TA.Value > 2 && TB.Value > 3) Store(c + 2 * ldc + 3, Vector256.Sum(s2_3), load);
        if (TA.Value > 2 && TB.Value > 4) Store(c + 2 * ldc + 4, Vector256.Sum(s2_4), load);
        if (TA.Value > 2 && TB.Value > 5) Store(c + 2 * ldc + 5, Vector256.Sum(s2_5), load);
        if (TA.Value > 2 && TB.Value > 6) Store(c + 2 * ldc + 6, Vector256.Sum(s2_6), load);
        if (TA.Value > 2 && TB.Value > 7) Store(c + 2 * ldc + 7, Vector256.Sum(s2_7), load);
        if (TA.Value > 3) Store(c + 3 * ldc + 0, Vector256.Sum(s3_0), load);
        if (TA.Value > 3 && TB.Value > 1) Store(c + 3 * ldc + 1, Vector256.Sum(s3_1), load);
        if (TA.Value > 3 && TB.Value > 2) Store(c + 3 * ldc + 2, Vector256.Sum(s3_2), load);
        if (TA.Value > 3 && TB.Value > 3) Store(c + 3 * ldc + 3, Vector256.Sum(s3_3), load);
        if (TA.Value > 3 && TB.Value > 4) Store(c + 3 * ldc + 4, Vector256.Sum(s3_4), load);
        if (TA.Value > 3 && TB.Value > 5) Store(c + 3 * ldc + 5, Vector256.Sum(s3_5), load);
        if (TA.Value > 3 && TB.Value > 6) Store(c + 3 * ldc + 6, Vector256.Sum(s3_6), load);
        if (TA.Value > 3 && TB.Value > 7) Store(c + 3 * ldc + 7, Vector256.Sum(s3_7), load);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, float value, bool load) => *c = load ? *c + value : value;
}
