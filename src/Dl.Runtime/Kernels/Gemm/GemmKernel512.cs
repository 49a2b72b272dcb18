// Accumulators are spelled out one local per register on purpose: RyuJIT enregisters named locals, not arrays.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

/// <summary>Vector512 (AVX-512) register-blocked GEMM micro-kernel: an R×(16·V) tile of C, R ≤ 8, V ≤ 3.</summary>
/// <remarks>
/// C[r, 0..16·V) (+)= Σ_p A[p·aStep + r] · B[p·bStep + 0..16·V) for r &lt; R. A is a packed micro-panel (R rows
/// interleaved per k step); B is a packed micro-panel or rows of the original matrix (bStep = row stride).
/// R and V are compile-time constants (struct type arguments), so the JIT drops the unused accumulators and
/// keeps the rest in registers. The caller guarantees every pointer is valid for the whole tile.
/// </remarks>
internal static unsafe class GemmKernel512
{
    /// <summary>Maximum rows (R) and vectors per row (V) this kernel supports.</summary>
    public const int MaxRows = 8, MaxVectors = 3, Width = 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TR, TV>(float* a, nint aStep, float* b, nint bStep, int kc, float* c, nint ldc, bool load)
        where TR : struct, IGemmConst where TV : struct, IGemmConst
    {
        Vector512<float> c0_0, c0_1, c0_2, c1_0, c1_1, c1_2, c2_0, c2_1, c2_2, c3_0, c3_1, c3_2, c4_0, c4_1, c4_2, c5_0, c5_1, c5_2, c6_0, c6_1, c6_2, c7_0, c7_1, c7_2;
        c0_0 = c0_1 = c0_2 = c1_0 = c1_1 = c1_2 = c2_0 = c2_1 = c2_2 = c3_0 = c3_1 = c3_2 = c4_0 = c4_1 = c4_2 = c5_0 = c5_1 = c5_2 = c6_0 = c6_1 = c6_2 = c7_0 = c7_1 = c7_2 = Vector512<float>.Zero;
        if (Sse.IsSupported)
        {
            // Start fetching the C tile now: it is touched once per KC block, usually from L3, and its
            // misses would otherwise stall the final load/store after the k loop.
            if (TR.Value > 0) PrefetchRow<TV>(c + 0 * ldc);
            if (TR.Value > 1) PrefetchRow<TV>(c + 1 * ldc);
            if (TR.Value > 2) PrefetchRow<TV>(c + 2 * ldc);
            if (TR.Value > 3) PrefetchRow<TV>(c + 3 * ldc);
            if (TR.Value > 4) PrefetchRow<TV>(c + 4 * ldc);
            if (TR.Value > 5) PrefetchRow<TV>(c + 5 * ldc);
            if (TR.Value > 6) PrefetchRow<TV>(c + 6 * ldc);
            if (TR.Value > 7) PrefetchRow<TV>(c + 7 * ldc);
        }
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> b1 = TV.Value > 1 ? Vector512.Load(b + 16) : Vector512<float>.Zero;
            Vector512<float> b2 = TV.Value > 2 ? Vector512.Load(b + 32) : Vector512<float>.Zero;
            if (TR.Value > 0)
            {
                Vector512<float> ar = Vector512.Create(a[0]);
                c0_0 = Vector512.FusedMultiplyAdd(ar, b0, c0_0);
                if (TV.Value > 1) c0_1 = Vector512.FusedMultiplyAdd(ar, b1, c0_1);
                if (TV.Value > 2) c0_2 = Vector512.FusedMultiplyAdd(ar, b2, c0_2);
            }
            if (TR.Value > 1)
            {
                Vector512<float> ar = Vector512.Create(a[1]);
                c1_0 = Vector512.FusedMultiplyAdd(ar, b0, c1_0);
                if (TV.Value > 1) c1_1 = Vector512.FusedMultiplyAdd(ar, b1, c1_1);
                if (TV.Value > 2) c1_2 = Vector512.FusedMultiplyAdd(ar, b2, c1_2);
            }
            if (TR.Value > 2)
            {
                Vector512<float> ar = Vector512.Create(a[2]);
                c2_0 = Vector512.FusedMultiplyAdd(ar, b0, c2_0);
                if (TV.Value > 1) c2_1 = Vector512.FusedMultiplyAdd(ar, b1, c2_1);
                if (TV.Value > 2) c2_2 = Vector512.FusedMultiplyAdd(ar, b2, c2_2);
            }
            if (TR.Value > 3)
            {
                Vector512<float> ar = Vector512.Create(a[3]);
                c3_0 = Vector512.FusedMultiplyAdd(ar, b0, c3_0);
                if (TV.Value > 1) c3_1 = Vector512.FusedMultiplyAdd(ar, b1, c3_1);
                if (TV.Value > 2) c3_2 = Vector512.FusedMultiplyAdd(ar, b2, c3_2);
            }
            if (TR.Value > 4)
            {
                Vector512<float> ar = Vector512.Create(a[4]);
                c4_0 = Vector512.FusedMultiplyAdd(ar, b0, c4_0);
                if (TV.Value > 1) c4_1 = Vector512.FusedMultiplyAdd(ar, b1, c4_1);
                if (TV.Value > 2) c4_2 = Vector512.FusedMultiplyAdd(ar, b2, c4_2);
            }
            if (TR.Value > 5)
            {
                Vector512<float> ar = Vector512.Create(a[5]);
                c5_0 = Vector512.FusedMultiplyAdd(ar, b0, c5_0);
                if (TV.Value > 1) c5_1 = Vector512.FusedMultiplyAdd(ar, b1, c5_1);
                if (TV.Value > 2) c5_2 = Vector512.FusedMultiplyAdd(ar, b2, c5_2);
            }
            if (TR.Value > 6)
            {
                Vector512<float> ar = Vector512.Create(a[6]);
                c6_0 = Vector512.FusedMultiplyAdd(ar, b0, c6_0);
                if (TV.Value > 1) c6_1 = Vector512.FusedMultiplyAdd(ar, b1, c6_1);
                if (TV.Value > 2) c6_2 = Vector512.FusedMultiplyAdd(ar, b2, c6_2);
            }
            if (TR.Value > 7)
            {
                Vector512<float> ar = Vector512.Create(a[7]);
                c7_0 = Vector512.FusedMultiplyAdd(ar, b0, c7_0);
                if (TV.Value > 1) c7_1 = Vector512.FusedMultiplyAdd(ar, b1, c7_1);
                if (TV.Value > 2) c7_2 = Vector512.FusedMultiplyAdd(ar, b2, c7_2);
            }
            a += aStep;
            b += bStep;
        }

        if (TR.Value > 0)
        {
            float* cr = c + 0 * ldc;
            { if (load) c0_0 += Vector512.Load(cr + 0); c0_0.Store(cr + 0); }
            if (TV.Value > 1) { if (load) c0_1 += Vector512.Load(cr + 16); c0_1.Store(cr + 16); }
            if (TV.Value > 2) { if (load) c0_2 += Vector512.Load(cr + 32); c0_2.Store(cr + 32); }
        }
        if (TR.Value > 1)
        {
            float* cr = c + 1 * ldc;
            { if (load) c1_0 += Vector512.Load(cr + 0); c1_0.Store(cr + 0); }
            if (TV.Value > 1) { if (load) c1_1 += Vector512.Load(cr + 16); c1_1.Store(cr + 16); }
            if (TV.Value > 2) { if (load) c1_2 += Vector512.Load(cr + 32); c1_2.Store(cr + 32); }
        }
        if (TR.Value > 2)
        {
            float* cr = c + 2 * ldc;
            { if (load) c2_0 += Vector512.Load(cr + 0); c2_0.Store(cr + 0); }
            if (TV.Value > 1) { if (load) c2_1 += Vector512.Load(cr + 16); c2_1.Store(cr + 16); }
            if (TV.Value > 2) { if (load) c2_2 += Vector512.Load(cr + 32); c2_2.Store(cr + 32); }
        }
        if (TR.Value > 3)
        {
            float* cr = c + 3 * ldc;
            { if (load) c3_0 += Vector512.Load(cr + 0); c3_0.Store(cr + 0); }
            if (TV.Value > 1) { if (load) c3_1 += Vector512.Load(cr + 16); c3_1.Store(cr + 16); }
            if (TV.Value > 2) { if (load) c3_2 += Vector512.Load(cr + 32); c3_2.Store(cr + 32); }
        }
        if (TR.Value > 4)
        {
            float* cr = c + 4 * ldc;
            { if (load) c4_0 += Vector512.Load(cr + 0); c4_0.Store(cr + 0); }
            if (TV.Value > 1) { if (load) c4_1 += Vector512.Load(cr + 16); c4_1.Store(cr + 16); }
            if (TV.Value > 2) { if (load) c4_2 += Vector512.Load(cr + 32); c4_2.Store(cr + 32); }
        }
        if (TR.Value > 5)
        {
            float* cr = c + 5 * ldc;
            { if (load) c5_0 += Vector512.Load(cr + 0); c5_0.Store(cr + 0); }
            if (TV.Value > 1) { if (load) c5_1 += Vector512.Load(cr + 16); c5_1.Store(cr + 16); }
            if (TV.Value > 2) { if (load) c5_2 += Vector512.Load(cr + 32); c5_2.Store(cr + 32); }
        }
        if (TR.Value > 6)
        {
            float* cr = c + 6 * ldc;
            { if (load) c6_0 += Vector512.Load(cr + 0); c6_0.Store(cr + 0); }
            if (TV.Value > 1) { if (load) c6_1 += Vector512.Load(cr + 16); c6_1.Store(cr + 16); }
            if (TV.Value > 2) { if (load) c6_2 += Vector512.Load(cr + 32); c6_2.Store(cr + 32); }
        }
        if (TR.Value > 7)
        {
            float* cr = c + 7 * ldc;
            { if (load) c7_0 += Vector512.Load(cr + 0); c7_0.Store(cr + 0); }
            if (TV.Value > 1) { if (load) c7_1 += Vector512.Load(cr + 16); c7_1.Store(cr + 16); }
            if (TV.Value > 2) { if (load) c7_2 += Vector512.Load(cr + 32); c7_2.Store(cr + 32); }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow<TV>(float* c) where TV : struct, IGemmConst
    {
        // A row may straddle one more cache line than it has vectors when C is not 64-byte aligned.
        for (int v = 0; v < TV.Value; v++) Sse.Prefetch0(c + v * Width);
        Sse.Prefetch0(c + TV.Value * Width - 1);
    }
}
