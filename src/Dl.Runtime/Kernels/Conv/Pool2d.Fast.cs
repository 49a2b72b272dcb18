using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

public static partial class Pool2d
{
    /// <summary>The CNN workhorse, 2×2 windows with stride 2 and no padding, has dedicated float loops.</summary>
    private static bool FastMax2x2(in Window2d g)
        => g is { KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, PadTop: 0, PadBottom: 0, PadLeft: 0, PadRight: 0 };

    // Why vectors even for 7-wide rows: with random data the scalar "first maximum" comparisons are unpredictable
    // branches (measured 13 ns per output at batch 256 vs ~1 ns vectorised). A row is covered by 8-wide (AVX2) then
    // 4-wide (SSE) steps; a row that is not a multiple of the width ends with a step overlapping the previous one
    // (it rewrites the same values). Shuffles split even and odd columns; the 256-bit form works per 128-bit lane,
    // so its outputs come out in 64-bit chunk order 0,2,1,3, fixed by one permute. A block holding a NaN falls back
    // to the scalar rule (a NaN anywhere in the window wins, as in PyTorch).

    private static unsafe void MaxForward2x2(in Window2d g, int batch, ReadOnlySpan<float> x, Span<float> y)
    {
        int planes = batch * g.Channels, w = g.Width, oh = g.OutH, ow = g.OutW;
        fixed (float* px = x, py = y)
        {
            for (int p = 0; p < planes; p++)
            {
                float* xp = px + (nint)p * g.Height * w;
                float* yp = py + (nint)p * oh * ow;
                for (int oy = 0; oy < oh; oy++)
                {
                    float* r0 = xp + 2 * oy * w, r1 = r0 + w, yr = yp + oy * ow;
                    int ox = 0;
                    if (Avx2.IsSupported && ow >= 8)
                    {
                        for (; ox < ow; ox += 8)
                            if (!Forward8(r0, r1, yr, Math.Min(ox, ow - 8))) break;
                    }
                    else if (Sse.IsSupported && ow >= 4)
                    {
                        for (; ox < ow; ox += 4)
                            if (!Forward4(r0, r1, yr, Math.Min(ox, ow - 4))) break;
                    }
                    for (; ox < ow; ox++) yr[ox] = Max4(r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1], out _);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool Forward8(float* r0, float* r1, float* yr, int ox)
    {
        Vector256<float> a0 = Avx.LoadVector256(r0 + 2 * ox), a1 = Avx.LoadVector256(r0 + 2 * ox + 8);
        Vector256<float> b0 = Avx.LoadVector256(r1 + 2 * ox), b1 = Avx.LoadVector256(r1 + 2 * ox + 8);
        Vector256<float> nan = Avx.CompareUnordered(a0, b0) | Avx.CompareUnordered(a1, b1);
        if (!Avx.TestZ(nan, nan)) return false;
        Vector256<float> m0 = Avx.Max(a0, b0), m1 = Avx.Max(a1, b1);
        Vector256<float> m = Avx.Max(Avx.Shuffle(m0, m1, 0b10_00_10_00), Avx.Shuffle(m0, m1, 0b11_01_11_01));
        Avx2.Permute4x64(m.AsDouble(), 0b11_01_10_00).AsSingle().Store(yr + ox);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool Forward4(float* r0, float* r1, float* yr, int ox)
    {
        Vector128<float> a0 = Sse.LoadVector128(r0 + 2 * ox), a1 = Sse.LoadVector128(r0 + 2 * ox + 4);
        Vector128<float> b0 = Sse.LoadVector128(r1 + 2 * ox), b1 = Sse.LoadVector128(r1 + 2 * ox + 4);
        Vector128<float> nan = Sse.CompareUnordered(a0, b0) | Sse.CompareUnordered(a1, b1);
        if (Sse.MoveMask(nan) != 0) return false;
        Vector128<float> m0 = Sse.Max(a0, b0), m1 = Sse.Max(a1, b1);
        Sse.Max(Sse.Shuffle(m0, m1, 0b10_00_10_00), Sse.Shuffle(m0, m1, 0b11_01_11_01)).Store(yr + ox);
        return true;
    }

    /// <summary>Max of a 2×2 window in row-major order (a, b / c, d) and which one is the first maximum (PyTorch rule).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max4(float a, float b, float c, float d, out int index)
    {
        float m = a;
        index = 0;
        if (b > m || float.IsNaN(b)) { m = b; index = 1; }
        if (c > m || float.IsNaN(c)) { m = c; index = 2; }
        if (d > m || float.IsNaN(d)) { m = d; index = 3; }
        return m;
    }

    /// <summary>2×2/2 max-pool backward: each dy goes to its window's first maximum, found by comparing the window with
    /// its maximum in mask form (a, then b if not a, ...). Windows do not overlap, so when overwriting every covered cell
    /// is stored (0 or dy) and only rows/columns no window covers (odd H or W) are cleared. When accumulating, a row
    /// tail is done in scalar code rather than by an overlapping step (which would add twice).</summary>
    /// <remarks><paramref name="reluOutput"/> is empty, or the fused ReLU's pooled output: dy is masked to its positive
    /// windows first.</remarks>
    private static unsafe void MaxBackward2x2(in Window2d g, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> reluOutput,
        ReadOnlySpan<float> dy, Span<float> dx, bool accumulate)
    {
        int planes = batch * g.Channels, h = g.Height, w = g.Width, oh = g.OutH, ow = g.OutW;
        bool relu = !reluOutput.IsEmpty;
        fixed (float* px = x, pg = dy, pd = dx, py = reluOutput)
        {
            for (int p = 0; p < planes; p++)
            {
                float* xp = px + (nint)p * h * w, dp = pd + (nint)p * h * w;
                float* gp = pg + (nint)p * oh * ow;
                float* yp = relu ? py + (nint)p * oh * ow : null;
                for (int oy = 0; oy < oh; oy++)
                {
                    float* r0 = xp + 2 * oy * w, r1 = r0 + w, d0 = dp + 2 * oy * w, d1 = d0 + w, gr = gp + oy * ow;
                    float* yr = relu ? yp + oy * ow : null;
                    int ox = 0;
                    if (Avx2.IsSupported && ow >= 8)
                    {
                        int end = accumulate ? ow & ~7 : ow;
                        for (; ox < end; ox += 8)
                            if (!Backward8(r0, r1, d0, d1, gr, yr, Math.Min(ox, ow - 8), accumulate)) break;
                        ox = Math.Min(ox, ow);
                    }
                    else if (Sse.IsSupported && ow >= 4)
                    {
                        int end = accumulate ? ow & ~3 : ow;
                        for (; ox < end; ox += 4)
                            if (!Backward4(r0, r1, d0, d1, gr, yr, Math.Min(ox, ow - 4), accumulate)) break;
                        ox = Math.Min(ox, ow);
                    }
                    for (; ox < ow; ox++)
                    {
                        int i0 = 2 * ox;
                        Max4(r0[i0], r0[i0 + 1], r1[i0], r1[i0 + 1], out int idx);
                        float gv = yr == null || yr[ox] > 0f ? gr[ox] : 0f;
                        if (!accumulate) { d0[i0] = 0; d0[i0 + 1] = 0; d1[i0] = 0; d1[i0 + 1] = 0; }
                        switch (idx)
                        {
                            case 0: d0[i0] += gv; break;
                            case 1: d0[i0 + 1] += gv; break;
                            case 2: d1[i0] += gv; break;
                            default: d1[i0 + 1] += gv; break;
                        }
                    }
                    if (!accumulate)
                        for (int c = 2 * ow; c < w; c++) { d0[c] = 0; d1[c] = 0; }
                }
                if (!accumulate)
                    for (int r = 2 * oh; r < h; r++) new Span<float>(dp + (nint)r * w, w).Clear();
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool Backward8(float* r0, float* r1, float* d0, float* d1, float* gr, float* yr, int ox, bool accumulate)
    {
        Vector256<float> a0 = Avx.LoadVector256(r0 + 2 * ox), a1 = Avx.LoadVector256(r0 + 2 * ox + 8);
        Vector256<float> b0 = Avx.LoadVector256(r1 + 2 * ox), b1 = Avx.LoadVector256(r1 + 2 * ox + 8);
        Vector256<float> nan = Avx.CompareUnordered(a0, b0) | Avx.CompareUnordered(a1, b1);
        if (!Avx.TestZ(nan, nan)) return false;
        // Window cells for outputs in chunk order 0,2,1,3 (see above); dy is permuted into the same order.
        Vector256<float> a = Avx.Shuffle(a0, a1, 0b10_00_10_00), b = Avx.Shuffle(a0, a1, 0b11_01_11_01);
        Vector256<float> c = Avx.Shuffle(b0, b1, 0b10_00_10_00), d = Avx.Shuffle(b0, b1, 0b11_01_11_01);
        Vector256<float> m = Avx.Max(Avx.Max(a, b), Avx.Max(c, d));
        Vector256<float> gv = Avx.LoadVector256(gr + ox);
        if (yr != null) gv &= Avx.CompareGreaterThan(Avx.LoadVector256(yr + ox), Vector256<float>.Zero);
        gv = Avx2.Permute4x64(gv.AsDouble(), 0b11_01_10_00).AsSingle();
        Vector256<float> ta = Avx.CompareEqual(a, m);
        Vector256<float> tb = Avx.AndNot(ta, Avx.CompareEqual(b, m));
        Vector256<float> taken = ta | tb;
        Vector256<float> tc = Avx.AndNot(taken, Avx.CompareEqual(c, m));
        Vector256<float> td = Avx.AndNot(taken | tc, Vector256<float>.AllBitsSet);
        Vector256<float> ga = gv & ta, gb = gv & tb, gc = gv & tc, gd = gv & td;
        // UnpackLow/High interleave per 128-bit lane, which with chunk order o0 o1 o4 o5 | o2 o3 o6 o7 yields input
        // columns 0..7 and 8..15 in place.
        Vector256<float> row0a = Avx.UnpackLow(ga, gb), row0b = Avx.UnpackHigh(ga, gb);
        Vector256<float> row1a = Avx.UnpackLow(gc, gd), row1b = Avx.UnpackHigh(gc, gd);
        if (accumulate)
        {
            row0a += Avx.LoadVector256(d0 + 2 * ox); row0b += Avx.LoadVector256(d0 + 2 * ox + 8);
            row1a += Avx.LoadVector256(d1 + 2 * ox); row1b += Avx.LoadVector256(d1 + 2 * ox + 8);
        }
        row0a.Store(d0 + 2 * ox); row0b.Store(d0 + 2 * ox + 8);
        row1a.Store(d1 + 2 * ox); row1b.Store(d1 + 2 * ox + 8);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool Backward4(float* r0, float* r1, float* d0, float* d1, float* gr, float* yr, int ox, bool accumulate)
    {
        Vector128<float> a0 = Sse.LoadVector128(r0 + 2 * ox), a1 = Sse.LoadVector128(r0 + 2 * ox + 4);
        Vector128<float> b0 = Sse.LoadVector128(r1 + 2 * ox), b1 = Sse.LoadVector128(r1 + 2 * ox + 4);
        Vector128<float> nan = Sse.CompareUnordered(a0, b0) | Sse.CompareUnordered(a1, b1);
        if (Sse.MoveMask(nan) != 0) return false;
        Vector128<float> a = Sse.Shuffle(a0, a1, 0b10_00_10_00), b = Sse.Shuffle(a0, a1, 0b11_01_11_01);
        Vector128<float> c = Sse.Shuffle(b0, b1, 0b10_00_10_00), d = Sse.Shuffle(b0, b1, 0b11_01_11_01);
        Vector128<float> m = Sse.Max(Sse.Max(a, b), Sse.Max(c, d));
        Vector128<float> gv = Sse.LoadVector128(gr + ox);
        if (yr != null) gv &= Sse.CompareGreaterThan(Sse.LoadVector128(yr + ox), Vector128<float>.Zero);
        Vector128<float> ta = Sse.CompareEqual(a, m);
        Vector128<float> tb = Sse.AndNot(ta, Sse.CompareEqual(b, m));
        Vector128<float> taken = ta | tb;
        Vector128<float> tc = Sse.AndNot(taken, Sse.CompareEqual(c, m));
        Vector128<float> td = Sse.AndNot(taken | tc, Vector128<float>.AllBitsSet);
        Vector128<float> ga = gv & ta, gb = gv & tb, gc = gv & tc, gd = gv & td;
        Vector128<float> row0a = Sse.UnpackLow(ga, gb), row0b = Sse.UnpackHigh(ga, gb);
        Vector128<float> row1a = Sse.UnpackLow(gc, gd), row1b = Sse.UnpackHigh(gc, gd);
        if (accumulate)
        {
            row0a += Sse.LoadVector128(d0 + 2 * ox); row0b += Sse.LoadVector128(d0 + 2 * ox + 4);
            row1a += Sse.LoadVector128(d1 + 2 * ox); row1b += Sse.LoadVector128(d1 + 2 * ox + 4);
        }
        row0a.Store(d0 + 2 * ox); row0b.Store(d0 + 2 * ox + 4);
        row1a.Store(d1 + 2 * ox); row1b.Store(d1 + 2 * ox + 4);
        return true;
    }
}
