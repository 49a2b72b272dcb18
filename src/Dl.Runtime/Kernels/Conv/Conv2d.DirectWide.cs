using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

public static partial class Conv2d
{
    // AVX-512 form of the forward slot tiles. Why: on Zen 4 a 512-bit FMA does the work of two 256-bit ones in the
    // same pipe time, but it is ONE instruction; the 256-bit tile is limited by instruction dispatch (loads,
    // broadcasts, FMAs and loop control) rather than by the FMA pipes, so halving the instruction count per flop
    // is what buys speed. A slot is 16 output columns; a row narrower than 16 (cnn_lenetish conv2: 14) is one slot
    // whose extra lanes are not stored (masked store), so the same lane waste as two 8-wide vectors.

    private static bool UseWide
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.IsHardwareAccelerated && X86.Avx512F.IsSupported;
    }

    /// <summary>Slot count of a wide tile as a JIT-time constant (the generic instantiation drops the unused slots).</summary>
    private interface ISlots { static abstract int Count { get; } }
    private struct Slots1 : ISlots { public static int Count => 1; }
    private struct Slots2 : ISlots { public static int Count => 2; }
    private struct Slots3 : ISlots { public static int Count => 3; }

    /// <summary>As <see cref="SlotTiles"/> with 16-column slots (<see cref="UseWide"/> only); the last group holds the
    /// 1 or 2 remaining slots (cnn_lenetish conv2: 14 rows = 4 tiles of 3 + 1 of 2, not 5 of 3).</summary>
    private static unsafe void SlotTilesWide(in TileArgs t, in PadLayout L, float* xb, float* yb, int oyA, int oyB)
    {
        int ow = L.OW, nvec = (ow + 15) / 16, slots = (oyB - oyA) * nvec, rowStep = L.SH * L.RowStride;
        int lanes = Math.Min(ow, 16);
        Vector512<float> mask = Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            Vector512.Create(lanes)).AsSingle();
        int last = Math.Max(0, ow - 16);
        Vector512<int> tail = TailControl(lanes);
        // Slot s is row r, vector c (s = r·nvec + c), walked incrementally (no divisions per tile). Slots past the
        // end (only in the last group, which then uses a tile with fewer slots) are never read.
        int r = 0, c = 0;
        for (int s = 0; s < slots; s += 3)
        {
            int r0 = r, p0 = Math.Min(16 * c, last);
            if (++c == nvec) { c = 0; r++; }
            int r1 = r, p1 = Math.Min(16 * c, last);
            if (++c == nvec) { c = 0; r++; }
            int r2 = r, p2 = Math.Min(16 * c, last);
            if (++c == nvec) { c = 0; r++; }
            int xo0 = r0 * rowStep + p0, yo0 = (oyA + r0) * ow + p0, xo1 = r1 * rowStep + p1, yo1 = (oyA + r1) * ow + p1;
            int xo2 = r2 * rowStep + p2, yo2 = (oyA + r2) * ow + p2;
            switch (slots - s)
            {
                case 1: TileWide<Slots1>(in t, xb, yb, xo0, yo0, xo1, yo1, xo2, yo2, mask, lanes == 16, lanes, tail); break;
                case 2: TileWide<Slots2>(in t, xb, yb, xo0, yo0, xo1, yo1, xo2, yo2, mask, lanes == 16, lanes, tail); break;
                default: TileWide<Slots3>(in t, xb, yb, xo0, yo0, xo1, yo1, xo2, yo2, mask, lanes == 16, lanes, tail); break;
            }
        }
    }

    /// <summary>Stores the first <paramref name="lanes"/> floats of <paramref name="v"/> (all 16 when <paramref name="full"/>).</summary>
    /// <remarks>Why not the AVX masked store on .NET 9 (which has no AVX-512 masked store): VMASKMOVPS stores are
    /// microcoded on AMD (measured 25% slower for the whole cnn_lenetish conv2 forward). Instead the lower 8 lanes are
    /// stored and then the 8 lanes ending at <paramref name="lanes"/>, moved down by one permute (the two stores
    /// overlap and write identical values); <paramref name="tail"/>[i] = lanes - 8 + i (lanes - 4 + i below 8).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreWide(Vector512<float> v, float* p, Vector512<float> mask, bool full, int lanes, Vector512<int> tail)
    {
        if (full) v.Store(p);
        else
        {
#if NET10_0_OR_GREATER
            X86.Avx512F.MaskStore(p, mask, v);
#else
            if (lanes >= 8)
            {
                v.GetLower().Store(p);
                X86.Avx512F.PermuteVar16x32(v, tail).GetLower().Store(p + lanes - 8);
            }
            else if (lanes >= 4)
            {
                v.GetLower().GetLower().Store(p);
                X86.Avx512F.PermuteVar16x32(v, tail).GetLower().GetLower().Store(p + lanes - 4);
            }
            else
                for (int i = 0; i < lanes; i++) p[i] = v.GetElement(i);
#endif
        }
    }

    /// <summary>The permute control of <see cref="StoreWide"/> for a partial store of <paramref name="lanes"/> floats.</summary>
    private static Vector512<int> TailControl(int lanes)
        => Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + Vector512.Create(lanes >= 8 ? lanes - 8 : Math.Max(0, lanes - 4));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TileWide<TS>(in TileArgs t, float* xr, float* yr, int xo0, int yo0, int xo1, int yo1, int xo2, int yo2,
        Vector512<float> mask, bool full, int lanes, Vector512<int> tail) where TS : struct, ISlots
    {
        Vector512<float> a0, a1, a2, a3, a4, a5, a6, a7;
        if (t.Bias != null)
        {
            float* bias = t.Bias;
            a0 = Vector512.Create(bias[0]); a1 = t.Count > 1 ? Vector512.Create(bias[1]) : default;
            a2 = t.Count > 2 ? Vector512.Create(bias[2]) : default; a3 = t.Count > 3 ? Vector512.Create(bias[3]) : default;
            a4 = t.Count > 4 ? Vector512.Create(bias[4]) : default; a5 = t.Count > 5 ? Vector512.Create(bias[5]) : default;
            a6 = t.Count > 6 ? Vector512.Create(bias[6]) : default; a7 = t.Count > 7 ? Vector512.Create(bias[7]) : default;
        }
        else a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = default;
        Vector512<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5, b6 = a6, b7 = a7;
        Vector512<float> c0 = a0, c1 = a1, c2 = a2, c3 = a3, c4 = a4, c5 = a5, c6 = a6, c7 = a7;
        float* w = t.Pack;
        int* offs = t.Offsets;
        int taps = t.Taps;
        for (int ci = 0; ci < t.CinBlock; ci++)
        {
            float* xc = xr + (nint)ci * t.ChStride;
            float* x0p = xc + xo0, x1p = xc + xo1, x2p = xc + xo2;
            for (int k = 0; k < taps; k++, w += 8)
            {
                nint o = offs[k];
                Vector512<float> x0 = Vector512.Load(x0p + o);
                Vector512<float> x1 = TS.Count > 1 ? Vector512.Load(x1p + o) : default;
                Vector512<float> x2 = TS.Count > 2 ? Vector512.Load(x2p + o) : default;
                Vector512<float> wv;
                wv = Vector512.Create(w[0]); a0 = Vector512.FusedMultiplyAdd(wv, x0, a0);
                if (TS.Count > 1) b0 = Vector512.FusedMultiplyAdd(wv, x1, b0);
                if (TS.Count > 2) c0 = Vector512.FusedMultiplyAdd(wv, x2, c0);
                wv = Vector512.Create(w[1]); a1 = Vector512.FusedMultiplyAdd(wv, x0, a1);
                if (TS.Count > 1) b1 = Vector512.FusedMultiplyAdd(wv, x1, b1);
                if (TS.Count > 2) c1 = Vector512.FusedMultiplyAdd(wv, x2, c1);
                wv = Vector512.Create(w[2]); a2 = Vector512.FusedMultiplyAdd(wv, x0, a2);
                if (TS.Count > 1) b2 = Vector512.FusedMultiplyAdd(wv, x1, b2);
                if (TS.Count > 2) c2 = Vector512.FusedMultiplyAdd(wv, x2, c2);
                wv = Vector512.Create(w[3]); a3 = Vector512.FusedMultiplyAdd(wv, x0, a3);
                if (TS.Count > 1) b3 = Vector512.FusedMultiplyAdd(wv, x1, b3);
                if (TS.Count > 2) c3 = Vector512.FusedMultiplyAdd(wv, x2, c3);
                wv = Vector512.Create(w[4]); a4 = Vector512.FusedMultiplyAdd(wv, x0, a4);
                if (TS.Count > 1) b4 = Vector512.FusedMultiplyAdd(wv, x1, b4);
                if (TS.Count > 2) c4 = Vector512.FusedMultiplyAdd(wv, x2, c4);
                wv = Vector512.Create(w[5]); a5 = Vector512.FusedMultiplyAdd(wv, x0, a5);
                if (TS.Count > 1) b5 = Vector512.FusedMultiplyAdd(wv, x1, b5);
                if (TS.Count > 2) c5 = Vector512.FusedMultiplyAdd(wv, x2, c5);
                wv = Vector512.Create(w[6]); a6 = Vector512.FusedMultiplyAdd(wv, x0, a6);
                if (TS.Count > 1) b6 = Vector512.FusedMultiplyAdd(wv, x1, b6);
                if (TS.Count > 2) c6 = Vector512.FusedMultiplyAdd(wv, x2, c6);
                wv = Vector512.Create(w[7]); a7 = Vector512.FusedMultiplyAdd(wv, x0, a7);
                if (TS.Count > 1) b7 = Vector512.FusedMultiplyAdd(wv, x1, b7);
                if (TS.Count > 2) c7 = Vector512.FusedMultiplyAdd(wv, x2, c7);
            }
        }
        nint co = t.YCo;
        float* y0 = yr + yo0, y1 = yr + yo1, y2 = yr + yo2;
        int n = t.Count;
        { StoreWide(a0, y0, mask, full, lanes, tail); if (TS.Count > 1) StoreWide(b0, y1, mask, full, lanes, tail); if (TS.Count > 2) StoreWide(c0, y2, mask, full, lanes, tail); }
        if (n > 1) { StoreWide(a1, y0 + co, mask, full, lanes, tail); if (TS.Count > 1) StoreWide(b1, y1 + co, mask, full, lanes, tail); if (TS.Count > 2) StoreWide(c1, y2 + co, mask, full, lanes, tail); }
        if (n > 2) { StoreWide(a2, y0 + 2 * co, mask, full, lanes, tail); if (TS.Count > 1) StoreWide(b2, y1 + 2 * co, mask, full, lanes, tail); if (TS.Count > 2) StoreWide(c2, y2 + 2 * co, mask, full, lanes, tail); }
        if (n > 3) { StoreWide(a3, y0 + 3 * co, mask, full, lanes, tail); if (TS.Count > 1) StoreWide(b3, y1 + 3 * co, mask, full, lanes, tail); if (TS.Count > 2) StoreWide(c3, y2 + 3 * co, mask, full, lanes, tail); }
        if (n > 4) { StoreWide(a4, y0 + 4 * co, mask, full, lanes, tail); if (TS.Count > 1) StoreWide(b4, y1 + 4 * co, mask, full, lanes, tail); if (TS.Count > 2) StoreWide(c4, y2 + 4 * co, mask, full, lanes, tail); }
        if (n > 5) { StoreWide(a5, y0 + 5 * co, mask, full, lanes, tail); if (TS.Count > 1) StoreWide(b5, y1 + 5 * co, mask, full, lanes, tail); if (TS.Count > 2) StoreWide(c5, y2 + 5 * co, mask, full, lanes, tail); }
        if (n > 6) { StoreWide(a6, y0 + 6 * co, mask, full, lanes, tail); if (TS.Count > 1) StoreWide(b6, y1 + 6 * co, mask, full, lanes, tail); if (TS.Count > 2) StoreWide(c6, y2 + 6 * co, mask, full, lanes, tail); }
        if (n > 7) { StoreWide(a7, y0 + 7 * co, mask, full, lanes, tail); if (TS.Count > 1) StoreWide(b7, y1 + 7 * co, mask, full, lanes, tail); if (TS.Count > 2) StoreWide(c7, y2 + 7 * co, mask, full, lanes, tail); }
    }
}
