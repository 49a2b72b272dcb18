// Accumulators are spelled out one local per register on purpose: RyuJIT enregisters named locals, not arrays.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

/// <summary>Register-blocked GEMM micro-kernel: an R×(W·V) tile of C, R ≤ 8, V ≤ 3, W the vector width of
/// the ISimd type argument (16 with Vector512, 8 with Vector256).</summary>
/// <remarks>
/// C[r, 0..W·V) (+)= Σ_p A[p·aStep + r] · B[p·bStep + 0..W·V) for r &lt; R. A is a packed micro-panel (R rows
/// interleaved per k step); B is a packed micro-panel or rows of the original matrix (bStep = row stride).
/// R and V are compile-time constants (struct type arguments), as is the width, so the JIT drops the unused accumulators
/// and keeps the rest in registers. The caller guarantees every pointer is valid for the whole tile.
/// </remarks>
internal static unsafe class GemmKernel
{
    /// <summary>Maximum rows (R) and vectors per row (V) this kernel supports.</summary>
    public const int MaxRows = 8, MaxVectors = 3;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TS, TV, TR, TN>(float* a, nint aStep, float* b, nint bStep, int kc, float* c, nint ldc, bool load)
        where TS : struct, ISimd<TV> where TV : unmanaged where TR : struct, IGemmConst where TN : struct, IGemmConst
    {
        int w = TS.Count;
        TV c0_0, c0_1, c0_2, c1_0, c1_1, c1_2, c2_0, c2_1, c2_2, c3_0, c3_1, c3_2, c4_0, c4_1, c4_2, c5_0, c5_1, c5_2, c6_0, c6_1, c6_2, c7_0, c7_1, c7_2;
        c0_0 = c0_1 = c0_2 = c1_0 = c1_1 = c1_2 = c2_0 = c2_1 = c2_2 = c3_0 = c3_1 = c3_2 = c4_0 = c4_1 = c4_2 = c5_0 = c5_1 = c5_2 = c6_0 = c6_1 = c6_2 = c7_0 = c7_1 = c7_2 = TS.Zero;
        if (Sse.IsSupported)
        {
            // Start fetching the C tile now: it is touched once per KC block, usually from L3, and its
            // misses would otherwise stall the final load/store after the k loop.
            if (TR.Value > 0) PrefetchRow<TN>(c + 0 * ldc, w);
            if (TR.Value > 1) PrefetchRow<TN>(c + 1 * ldc, w);
            if (TR.Value > 2) PrefetchRow<TN>(c + 2 * ldc, w);
            if (TR.Value > 3) PrefetchRow<TN>(c + 3 * ldc, w);
            if (TR.Value > 4) PrefetchRow<TN>(c + 4 * ldc, w);
            if (TR.Value > 5) PrefetchRow<TN>(c + 5 * ldc, w);
            if (TR.Value > 6) PrefetchRow<TN>(c + 6 * ldc, w);
            if (TR.Value > 7) PrefetchRow<TN>(c + 7 * ldc, w);
        }
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TS.Load(b);
            TV b1 = TN.Value > 1 ? TS.Load(b + w) : TS.Zero;
            TV b2 = TN.Value > 2 ? TS.Load(b + 2 * w) : TS.Zero;
            if (TR.Value > 0)
            {
                TV ar = TS.Splat(a[0]);
                c0_0 = TS.Fma(ar, b0, c0_0);
                if (TN.Value > 1) c0_1 = TS.Fma(ar, b1, c0_1);
                if (TN.Value > 2) c0_2 = TS.Fma(ar, b2, c0_2);
            }
            if (TR.Value > 1)
            {
                TV ar = TS.Splat(a[1]);
                c1_0 = TS.Fma(ar, b0, c1_0);
                if (TN.Value > 1) c1_1 = TS.Fma(ar, b1, c1_1);
                if (TN.Value > 2) c1_2 = TS.Fma(ar, b2, c1_2);
            }
            if (TR.Value > 2)
            {
                TV ar = TS.Splat(a[2]);
                c2_0 = TS.Fma(ar, b0, c2_0);
                if (TN.Value > 1) c2_1 = TS.Fma(ar, b1, c2_1);
                if (TN.Value > 2) c2_2 = TS.Fma(ar, b2, c2_2);
            }
            if (TR.Value > 3)
            {
                TV ar = TS.Splat(a[3]);
                c3_0 = TS.Fma(ar, b0, c3_0);
                if (TN.Value > 1) c3_1 = TS.Fma(ar, b1, c3_1);
                if (TN.Value > 2) c3_2 = TS.Fma(ar, b2, c3_2);
            }
            if (TR.Value > 4)
            {
                TV ar = TS.Splat(a[4]);
                c4_0 = TS.Fma(ar, b0, c4_0);
                if (TN.Value > 1) c4_1 = TS.Fma(ar, b1, c4_1);
                if (TN.Value > 2) c4_2 = TS.Fma(ar, b2, c4_2);
            }
            if (TR.Value > 5)
            {
                TV ar = TS.Splat(a[5]);
                c5_0 = TS.Fma(ar, b0, c5_0);
                if (TN.Value > 1) c5_1 = TS.Fma(ar, b1, c5_1);
                if (TN.Value > 2) c5_2 = TS.Fma(ar, b2, c5_2);
            }
            if (TR.Value > 6)
            {
                TV ar = TS.Splat(a[6]);
                c6_0 = TS.Fma(ar, b0, c6_0);
                if (TN.Value > 1) c6_1 = TS.Fma(ar, b1, c6_1);
                if (TN.Value > 2) c6_2 = TS.Fma(ar, b2, c6_2);
            }
            if (TR.Value > 7)
            {
                TV ar = TS.Splat(a[7]);
                c7_0 = TS.Fma(ar, b0, c7_0);
                if (TN.Value > 1) c7_1 = TS.Fma(ar, b1, c7_1);
                if (TN.Value > 2) c7_2 = TS.Fma(ar, b2, c7_2);
            }
            a += aStep;
            b += bStep;
        }

        if (TR.Value > 0)
        {
            float* cr = c + 0 * ldc;
            { if (load) c0_0 = TS.Add(c0_0, TS.Load(cr)); TS.Store(cr, c0_0); }
            if (TN.Value > 1) { if (load) c0_1 = TS.Add(c0_1, TS.Load(cr + w)); TS.Store(cr + w, c0_1); }
            if (TN.Value > 2) { if (load) c0_2 = TS.Add(c0_2, TS.Load(cr + 2 * w)); TS.Store(cr + 2 * w, c0_2); }
        }
        if (TR.Value > 1)
        {
            float* cr = c + 1 * ldc;
            { if (load) c1_0 = TS.Add(c1_0, TS.Load(cr)); TS.Store(cr, c1_0); }
            if (TN.Value > 1) { if (load) c1_1 = TS.Add(c1_1, TS.Load(cr + w)); TS.Store(cr + w, c1_1); }
            if (TN.Value > 2) { if (load) c1_2 = TS.Add(c1_2, TS.Load(cr + 2 * w)); TS.Store(cr + 2 * w, c1_2); }
        }
        if (TR.Value > 2)
        {
            float* cr = c + 2 * ldc;
            { if (load) c2_0 = TS.Add(c2_0, TS.Load(cr)); TS.Store(cr, c2_0); }
            if (TN.Value > 1) { if (load) c2_1 = TS.Add(c2_1, TS.Load(cr + w)); TS.Store(cr + w, c2_1); }
            if (TN.Value > 2) { if (load) c2_2 = TS.Add(c2_2, TS.Load(cr + 2 * w)); TS.Store(cr + 2 * w, c2_2); }
        }
        if (TR.Value > 3)
        {
            float* cr = c + 3 * ldc;
            { if (load) c3_0 = TS.Add(c3_0, TS.Load(cr)); TS.Store(cr, c3_0); }
            if (TN.Value > 1) { if (load) c3_1 = TS.Add(c3_1, TS.Load(cr + w)); TS.Store(cr + w, c3_1); }
            if (TN.Value > 2) { if (load) c3_2 = TS.Add(c3_2, TS.Load(cr + 2 * w)); TS.Store(cr + 2 * w, c3_2); }
        }
        if (TR.Value > 4)
        {
            float* cr = c + 4 * ldc;
            { if (load) c4_0 = TS.Add(c4_0, TS.Load(cr)); TS.Store(cr, c4_0); }
            if (TN.Value > 1) { if (load) c4_1 = TS.Add(c4_1, TS.Load(cr + w)); TS.Store(cr + w, c4_1); }
            if (TN.Value > 2) { if (load) c4_2 = TS.Add(c4_2, TS.Load(cr + 2 * w)); TS.Store(cr + 2 * w, c4_2); }
        }
        if (TR.Value > 5)
        {
            float* cr = c + 5 * ldc;
            { if (load) c5_0 = TS.Add(c5_0, TS.Load(cr)); TS.Store(cr, c5_0); }
            if (TN.Value > 1) { if (load) c5_1 = TS.Add(c5_1, TS.Load(cr + w)); TS.Store(cr + w, c5_1); }
            if (TN.Value > 2) { if (load) c5_2 = TS.Add(c5_2, TS.Load(cr + 2 * w)); TS.Store(cr + 2 * w, c5_2); }
        }
        if (TR.Value > 6)
        {
            float* cr = c + 6 * ldc;
            { if (load) c6_0 = TS.Add(c6_0, TS.Load(cr)); TS.Store(cr, c6_0); }
            if (TN.Value > 1) { if (load) c6_1 = TS.Add(c6_1, TS.Load(cr + w)); TS.Store(cr + w, c6_1); }
            if (TN.Value > 2) { if (load) c6_2 = TS.Add(c6_2, TS.Load(cr + 2 * w)); TS.Store(cr + 2 * w, c6_2); }
        }
        if (TR.Value > 7)
        {
            float* cr = c + 7 * ldc;
            { if (load) c7_0 = TS.Add(c7_0, TS.Load(cr)); TS.Store(cr, c7_0); }
            if (TN.Value > 1) { if (load) c7_1 = TS.Add(c7_1, TS.Load(cr + w)); TS.Store(cr + w, c7_1); }
            if (TN.Value > 2) { if (load) c7_2 = TS.Add(c7_2, TS.Load(cr + 2 * w)); TS.Store(cr + 2 * w, c7_2); }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow<TN>(float* c, int width) where TN : struct, IGemmConst
    {
        // A row may straddle one more cache line than it has vectors when C is not 64-byte aligned.
        for (int v = 0; v < TN.Value; v++) Sse.Prefetch0(c + v * width);
        Sse.Prefetch0(c + TN.Value * width - 1);
    }
}
