using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

public static partial class Conv2d
{
    /// <summary>What a forward register tile needs besides its position: the padded block, the packed weights of
    /// its 8 output channels, and how to start (bias, zero or the current output) and where to store.</summary>
    private unsafe struct TileArgs
    {
        public int CinBlock, ChStride, Taps, YCo, Count;
        public int* Offsets;
        public float* Pack, Bias;
        public bool Load;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Mad(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => X86.Fma.IsSupported ? Vector256.FusedMultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Init(in TileArgs t, float* yr, int c, int p, int lanes)
    {
        if (c >= t.Count) return Vector256<float>.Zero;
        if (t.Load) return lanes == 8 ? Vector256.Load(yr + (nint)c * t.YCo + p) : LoadPartial(yr + (nint)c * t.YCo + p, lanes);
        return t.Bias != null ? Vector256.Create(t.Bias[c]) : Vector256<float>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put(in TileArgs t, float* yr, int c, int p, int lanes, Vector256<float> v)
    {
        if (c >= t.Count) return;
        if (lanes == 8) v.Store(yr + (nint)c * t.YCo + p);
        else StorePartial(yr + (nint)c * t.YCo + p, lanes, v);
    }

    private static unsafe Vector256<float> LoadPartial(float* p, int lanes)
    {
        Vector256<float> v = Vector256<float>.Zero;
        for (int i = 0; i < lanes; i++) v = v.WithElement(i, p[i]);
        return v;
    }

    private static unsafe void StorePartial(float* p, int lanes, Vector256<float> v)
    {
        for (int i = 0; i < lanes; i++) p[i] = v.GetElement(i);
    }

    /// <summary>8 output channels × 2 vectors of 8 columns (at p0 and p1) of one output row.</summary>
    /// <remarks>16 accumulators; each tap loads 2 input vectors and broadcasts 8 packed weights for 16 FMAs, so the
    /// loop is FMA-bound (Zen 4: 2 loads and 2 FMAs per cycle). Needs the 32 vector registers of AVX-512 to avoid spills.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile8x2(in TileArgs t, float* xr, float* yr, int p0, int p1)
    {
        Vector256<float> a0 = Init(in t, yr, 0, p0, 8), b0 = Init(in t, yr, 0, p1, 8);
        Vector256<float> a1 = Init(in t, yr, 1, p0, 8), b1 = Init(in t, yr, 1, p1, 8);
        Vector256<float> a2 = Init(in t, yr, 2, p0, 8), b2 = Init(in t, yr, 2, p1, 8);
        Vector256<float> a3 = Init(in t, yr, 3, p0, 8), b3 = Init(in t, yr, 3, p1, 8);
        Vector256<float> a4 = Init(in t, yr, 4, p0, 8), b4 = Init(in t, yr, 4, p1, 8);
        Vector256<float> a5 = Init(in t, yr, 5, p0, 8), b5 = Init(in t, yr, 5, p1, 8);
        Vector256<float> a6 = Init(in t, yr, 6, p0, 8), b6 = Init(in t, yr, 6, p1, 8);
        Vector256<float> a7 = Init(in t, yr, 7, p0, 8), b7 = Init(in t, yr, 7, p1, 8);
        float* w = t.Pack;
        int* offs = t.Offsets;
        int taps = t.Taps;
        for (int ci = 0; ci < t.CinBlock; ci++)
        {
            float* xc = xr + (nint)ci * t.ChStride;
            for (int k = 0; k < taps; k++, w += 8)
            {
                float* xp = xc + offs[k];
                Vector256<float> x0 = Vector256.Load(xp + p0), x1 = Vector256.Load(xp + p1);
                Vector256<float> wv = Vector256.Create(w[0]); a0 = Mad(wv, x0, a0); b0 = Mad(wv, x1, b0);
                wv = Vector256.Create(w[1]); a1 = Mad(wv, x0, a1); b1 = Mad(wv, x1, b1);
                wv = Vector256.Create(w[2]); a2 = Mad(wv, x0, a2); b2 = Mad(wv, x1, b2);
                wv = Vector256.Create(w[3]); a3 = Mad(wv, x0, a3); b3 = Mad(wv, x1, b3);
                wv = Vector256.Create(w[4]); a4 = Mad(wv, x0, a4); b4 = Mad(wv, x1, b4);
                wv = Vector256.Create(w[5]); a5 = Mad(wv, x0, a5); b5 = Mad(wv, x1, b5);
                wv = Vector256.Create(w[6]); a6 = Mad(wv, x0, a6); b6 = Mad(wv, x1, b6);
                wv = Vector256.Create(w[7]); a7 = Mad(wv, x0, a7); b7 = Mad(wv, x1, b7);
            }
        }
        Put(in t, yr, 0, p0, 8, a0); Put(in t, yr, 0, p1, 8, b0);
        Put(in t, yr, 1, p0, 8, a1); Put(in t, yr, 1, p1, 8, b1);
        Put(in t, yr, 2, p0, 8, a2); Put(in t, yr, 2, p1, 8, b2);
        Put(in t, yr, 3, p0, 8, a3); Put(in t, yr, 3, p1, 8, b3);
        Put(in t, yr, 4, p0, 8, a4); Put(in t, yr, 4, p1, 8, b4);
        Put(in t, yr, 5, p0, 8, a5); Put(in t, yr, 5, p1, 8, b5);
        Put(in t, yr, 6, p0, 8, a6); Put(in t, yr, 6, p1, 8, b6);
        Put(in t, yr, 7, p0, 8, a7); Put(in t, yr, 7, p1, 8, b7);
    }

    /// <summary>8 output channels × <typeparamref name="TS"/> (1 or 3) vector slots (any rows of the band) when starting
    /// from the bias or zero.</summary>
    /// <remarks>Why 3 slots with AVX-512: each broadcast weight then feeds 3 FMAs, so a tap step is 3 loads + 8 broadcasts +
    /// 24 FMAs (~1.6 instructions per FMA instead of ~2.2 for 2 slots), which keeps the FMA pipes busy within the 6-wide
    /// dispatch of Zen 4; 24 accumulators + 3 inputs + 1 broadcast fit its 32 vector registers. With AVX2's 16 registers
    /// they would spill on every tap, so there the tile has 1 slot (8 accumulators). The slot count is a type argument:
    /// the unused accumulators are compiled away. Slot k reads the padded block at xr + xok and writes y at yr + yok; a
    /// duplicated slot just recomputes and rewrites the same values.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile8x3<TS>(in TileArgs t, float* xr, float* yr, int xo0, int yo0, int xo1, int yo1, int xo2, int yo2)
        where TS : struct, ISlots
    {
        Vector256<float> a0, a1, a2, a3, a4, a5, a6, a7;
        if (t.Bias != null)
        {
            float* bias = t.Bias;
            a0 = Vector256.Create(bias[0]); a1 = t.Count > 1 ? Vector256.Create(bias[1]) : default;
            a2 = t.Count > 2 ? Vector256.Create(bias[2]) : default; a3 = t.Count > 3 ? Vector256.Create(bias[3]) : default;
            a4 = t.Count > 4 ? Vector256.Create(bias[4]) : default; a5 = t.Count > 5 ? Vector256.Create(bias[5]) : default;
            a6 = t.Count > 6 ? Vector256.Create(bias[6]) : default; a7 = t.Count > 7 ? Vector256.Create(bias[7]) : default;
        }
        else a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = default;
        Vector256<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5, b6 = a6, b7 = a7;
        Vector256<float> c0 = a0, c1 = a1, c2 = a2, c3 = a3, c4 = a4, c5 = a5, c6 = a6, c7 = a7;
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
                Vector256<float> x0 = Vector256.Load(x0p + o);
                Vector256<float> x1 = TS.Count > 1 ? Vector256.Load(x1p + o) : default;
                Vector256<float> x2 = TS.Count > 2 ? Vector256.Load(x2p + o) : default;
                Vector256<float> wv;
                wv = Vector256.Create(w[0]); a0 = Mad(wv, x0, a0); if (TS.Count > 1) b0 = Mad(wv, x1, b0); if (TS.Count > 2) c0 = Mad(wv, x2, c0);
                wv = Vector256.Create(w[1]); a1 = Mad(wv, x0, a1); if (TS.Count > 1) b1 = Mad(wv, x1, b1); if (TS.Count > 2) c1 = Mad(wv, x2, c1);
                wv = Vector256.Create(w[2]); a2 = Mad(wv, x0, a2); if (TS.Count > 1) b2 = Mad(wv, x1, b2); if (TS.Count > 2) c2 = Mad(wv, x2, c2);
                wv = Vector256.Create(w[3]); a3 = Mad(wv, x0, a3); if (TS.Count > 1) b3 = Mad(wv, x1, b3); if (TS.Count > 2) c3 = Mad(wv, x2, c3);
                wv = Vector256.Create(w[4]); a4 = Mad(wv, x0, a4); if (TS.Count > 1) b4 = Mad(wv, x1, b4); if (TS.Count > 2) c4 = Mad(wv, x2, c4);
                wv = Vector256.Create(w[5]); a5 = Mad(wv, x0, a5); if (TS.Count > 1) b5 = Mad(wv, x1, b5); if (TS.Count > 2) c5 = Mad(wv, x2, c5);
                wv = Vector256.Create(w[6]); a6 = Mad(wv, x0, a6); if (TS.Count > 1) b6 = Mad(wv, x1, b6); if (TS.Count > 2) c6 = Mad(wv, x2, c6);
                wv = Vector256.Create(w[7]); a7 = Mad(wv, x0, a7); if (TS.Count > 1) b7 = Mad(wv, x1, b7); if (TS.Count > 2) c7 = Mad(wv, x2, c7);
            }
        }
        nint co = t.YCo;
        float* y0 = yr + yo0, y1 = yr + yo1, y2 = yr + yo2;
        int n = t.Count;
        a0.Store(y0); if (TS.Count > 1) b0.Store(y1); if (TS.Count > 2) c0.Store(y2);
        if (n > 1) { a1.Store(y0 + 1 * co); if (TS.Count > 1) b1.Store(y1 + 1 * co); if (TS.Count > 2) c1.Store(y2 + 1 * co); }
        if (n > 2) { a2.Store(y0 + 2 * co); if (TS.Count > 1) b2.Store(y1 + 2 * co); if (TS.Count > 2) c2.Store(y2 + 2 * co); }
        if (n > 3) { a3.Store(y0 + 3 * co); if (TS.Count > 1) b3.Store(y1 + 3 * co); if (TS.Count > 2) c3.Store(y2 + 3 * co); }
        if (n > 4) { a4.Store(y0 + 4 * co); if (TS.Count > 1) b4.Store(y1 + 4 * co); if (TS.Count > 2) c4.Store(y2 + 4 * co); }
        if (n > 5) { a5.Store(y0 + 5 * co); if (TS.Count > 1) b5.Store(y1 + 5 * co); if (TS.Count > 2) c5.Store(y2 + 5 * co); }
        if (n > 6) { a6.Store(y0 + 6 * co); if (TS.Count > 1) b6.Store(y1 + 6 * co); if (TS.Count > 2) c6.Store(y2 + 6 * co); }
        if (n > 7) { a7.Store(y0 + 7 * co); if (TS.Count > 1) b7.Store(y1 + 7 * co); if (TS.Count > 2) c7.Store(y2 + 7 * co); }
    }

    /// <summary>8 output channels × 1 vector at p0 of which the first <paramref name="lanes"/> columns are real.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile8x1(in TileArgs t, float* xr, float* yr, int p0, int lanes)
    {
        Vector256<float> a0 = Init(in t, yr, 0, p0, lanes), a1 = Init(in t, yr, 1, p0, lanes);
        Vector256<float> a2 = Init(in t, yr, 2, p0, lanes), a3 = Init(in t, yr, 3, p0, lanes);
        Vector256<float> a4 = Init(in t, yr, 4, p0, lanes), a5 = Init(in t, yr, 5, p0, lanes);
        Vector256<float> a6 = Init(in t, yr, 6, p0, lanes), a7 = Init(in t, yr, 7, p0, lanes);
        float* w = t.Pack;
        int* offs = t.Offsets;
        int taps = t.Taps;
        for (int ci = 0; ci < t.CinBlock; ci++)
        {
            float* xc = xr + (nint)ci * t.ChStride;
            for (int k = 0; k < taps; k++, w += 8)
            {
                Vector256<float> x0 = Vector256.Load(xc + offs[k] + p0);
                a0 = Mad(Vector256.Create(w[0]), x0, a0);
                a1 = Mad(Vector256.Create(w[1]), x0, a1);
                a2 = Mad(Vector256.Create(w[2]), x0, a2);
                a3 = Mad(Vector256.Create(w[3]), x0, a3);
                a4 = Mad(Vector256.Create(w[4]), x0, a4);
                a5 = Mad(Vector256.Create(w[5]), x0, a5);
                a6 = Mad(Vector256.Create(w[6]), x0, a6);
                a7 = Mad(Vector256.Create(w[7]), x0, a7);
            }
        }
        Put(in t, yr, 0, p0, lanes, a0); Put(in t, yr, 1, p0, lanes, a1);
        Put(in t, yr, 2, p0, lanes, a2); Put(in t, yr, 3, p0, lanes, a3);
        Put(in t, yr, 4, p0, lanes, a4); Put(in t, yr, 5, p0, lanes, a5);
        Put(in t, yr, 6, p0, lanes, a6); Put(in t, yr, 7, p0, lanes, a7);
    }

    /// <summary>
    /// dw += Σ_n dy_n·col_nᵀ without forming col: each sample is padded once (as in the forward pass), then a tile of
    /// 8 output channels × 3 taps sums dy[co, plane]·x_padded[ci, plane + tap] over the output plane in vector lanes
    /// and reduces them into dw. False when the layout does not fit the stack scratch.
    /// </summary>
    [SkipLocalsInit]
    private static unsafe bool DirectBackwardWeight(in Window2d g, int cout, int batch, float* x, float* dy, float* dw)
    {
        var L = new PadLayout(g.Height, g.Width, g.PadTop, g.PadLeft, g.StrideH, g.StrideW, g.KernelH, g.KernelW, g.OutH, g.OutW);
        int taps = g.KernelH * g.KernelW, cin = g.Channels;
        // Rows narrower than one vector are left to the scalar loops (a 7-wide row would waste half of every vector).
        if (taps > MaxTaps || g.OutW < 8) return false;
        if (UseWide && WideBackwardWeight(in g, cout, batch, x, dy, dw)) return true;
        int chPlane = L.Hpad * L.RowStride;
        int ciBlock, band;
        if (chPlane <= PadCap)
        {
            ciBlock = Math.Min(cin, PadCap / chPlane);
            band = L.OH;
        }
        else
        {
            if (PadCap / L.RowStride < L.KH) return false;
            ciBlock = 1;
            band = Math.Min(L.OH, (PadCap / L.RowStride - L.KH) / L.SH + 1);
        }
        float* xbuf = stackalloc float[PadCap];
        int* offs = stackalloc int[taps + 2];
        for (int ky = 0; ky < L.KH; ky++)
            for (int kx = 0; kx < L.KW; kx++) offs[ky * L.KW + kx] = L.TapOffset(ky, kx);
        nint inPlane = (nint)L.InH * L.InW;
        int outPlane = L.OH * L.OW;
        for (int n = 0; n < batch; n++)
        {
            float* xn = x + n * cin * inPlane;
            float* gn = dy + (nint)n * cout * outPlane;
            if (n + 1 < batch)
            {
                Prefetch(xn + cin * inPlane, cin * inPlane);
                Prefetch(gn + (nint)cout * outPlane, (nint)cout * outPlane);
            }
            for (int ci0 = 0; ci0 < cin; ci0 += ciBlock)
            {
                int cib = Math.Min(ciBlock, cin - ci0);
                for (int oyA = 0; oyA < L.OH; oyA += band)
                {
                    int oyB = Math.Min(L.OH, oyA + band), rows = L.RowsFor(oyB - oyA), r0 = oyA * L.SH;
                    int chStride = rows * L.RowStride;
                    bool interior = n > 0 && band == L.OH && L.CanCopyInterior;
                    for (int ci = 0; ci < cib; ci++)
                    {
                        if (interior) L.CopyInterior(xn + (ci0 + ci) * inPlane, r0, r0 + rows, xbuf + ci * chStride);
                        else L.PadRows(xn + (ci0 + ci) * inPlane, r0, r0 + rows, xbuf + ci * chStride);
                    }
                    for (int co0 = 0; co0 < cout; co0 += 8)
                    {
                        int cnt = Math.Min(8, cout - co0);
                        for (int ci = 0; ci < cib; ci++)
                        {
                            float* xc = xbuf + ci * chStride;
                            float* dwc = dw + (nint)co0 * cin * taps + (ci0 + ci) * taps;
                            if (!Vector512.IsHardwareAccelerated)
                            {
                                // 16 vector registers: one tap per tile (three would spill).
                                for (int k = 0; k < taps; k++)
                                    WeightTile8x3<Slots1>(in L, xc, gn + (nint)co0 * outPlane, outPlane, cnt, oyA, oyB, offs[k], offs[k], offs[k], dwc + k, cin * taps, 1);
                                continue;
                            }
                            for (int k = 0; k < taps; k += 3)
                            {
                                int tcnt = Math.Min(3, taps - k);
                                WeightTile8x3<Slots3>(in L, xc, gn + (nint)co0 * outPlane, outPlane, cnt, oyA, oyB,
                                    offs[k], offs[k + (tcnt > 1 ? 1 : 0)], offs[k + (tcnt > 2 ? 2 : 0)], dwc + k, cin * taps, tcnt);
                            }
                        }
                    }
                }
            }
        }
        return true;
    }

    /// <summary>
    /// dw[c, t] += Σ_{oy in [oyA, oyB), ox} dy[c, oy, ox]·xpad[oy·SH + tap t, ox] for 8 channels (the first
    /// <paramref name="cnt"/> real) and <typeparamref name="TS"/> (1 or 3) taps (the first <paramref name="tcnt"/> real). A
    /// row whose width is not a multiple of 8 ends with a vector at OutW - 8 whose already-counted lanes are masked out of dy.
    /// </summary>
    /// <remarks>3 taps with AVX-512: 24 accumulators in its 32 vector registers, per step 3 input loads and 8 dy loads feed
    /// 24 FMAs. With AVX2's 16 registers one tap (8 accumulators); the tap count is a type argument, so the unused
    /// accumulators are compiled away. Each tap's 8 channel sums are reduced together by a horizontal-add tree (7
    /// instructions for 8 sums).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightTile8x3<TS>(in PadLayout L, float* xc, float* dy, int plane, int cnt, int oyA, int oyB,
        int o0, int o1, int o2, float* dw, int dwCo, int tcnt) where TS : struct, ISlots
    {
        int ow = L.OW;
        dy += (nint)oyA * ow;
        float* d0 = dy, d1 = dy + (cnt > 1 ? plane : 0), d2 = dy + (cnt > 2 ? 2 * plane : 0), d3 = dy + (cnt > 3 ? 3 * plane : 0);
        float* d4 = dy + (cnt > 4 ? 4 * plane : 0), d5 = dy + (cnt > 5 ? 5 * plane : 0), d6 = dy + (cnt > 6 ? 6 * plane : 0);
        float* d7 = dy + (cnt > 7 ? 7 * plane : 0);
        Vector256<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        Vector256<float> a40 = default, a41 = default, a42 = default, a50 = default, a51 = default, a52 = default;
        Vector256<float> a60 = default, a61 = default, a62 = default, a70 = default, a71 = default, a72 = default;
        int rem = ow & 7, rowStep = L.SH * L.RowStride;
        Vector256<float> mask = Vector256.GreaterThanOrEqual(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(8 - rem)).AsSingle();
        Vector256<float> x0, x1 = default, x2 = default, g;
        float* xr = xc;
        for (int oy = oyA; oy < oyB; oy++, xr += rowStep, d0 += ow, d1 += ow, d2 += ow, d3 += ow, d4 += ow, d5 += ow, d6 += ow, d7 += ow)
        {
            float* x0p = xr + o0, x1p = xr + o1, x2p = xr + o2;
            int q = 0;
            for (; q <= ow - 8; q += 8)
            {
                x0 = Vector256.Load(x0p + q);
                if (TS.Count > 1) x1 = Vector256.Load(x1p + q);
                if (TS.Count > 2) x2 = Vector256.Load(x2p + q);
                g = Vector256.Load(d0 + q); a00 = Mad(g, x0, a00); if (TS.Count > 1) a01 = Mad(g, x1, a01); if (TS.Count > 2) a02 = Mad(g, x2, a02);
                g = Vector256.Load(d1 + q); a10 = Mad(g, x0, a10); if (TS.Count > 1) a11 = Mad(g, x1, a11); if (TS.Count > 2) a12 = Mad(g, x2, a12);
                g = Vector256.Load(d2 + q); a20 = Mad(g, x0, a20); if (TS.Count > 1) a21 = Mad(g, x1, a21); if (TS.Count > 2) a22 = Mad(g, x2, a22);
                g = Vector256.Load(d3 + q); a30 = Mad(g, x0, a30); if (TS.Count > 1) a31 = Mad(g, x1, a31); if (TS.Count > 2) a32 = Mad(g, x2, a32);
                g = Vector256.Load(d4 + q); a40 = Mad(g, x0, a40); if (TS.Count > 1) a41 = Mad(g, x1, a41); if (TS.Count > 2) a42 = Mad(g, x2, a42);
                g = Vector256.Load(d5 + q); a50 = Mad(g, x0, a50); if (TS.Count > 1) a51 = Mad(g, x1, a51); if (TS.Count > 2) a52 = Mad(g, x2, a52);
                g = Vector256.Load(d6 + q); a60 = Mad(g, x0, a60); if (TS.Count > 1) a61 = Mad(g, x1, a61); if (TS.Count > 2) a62 = Mad(g, x2, a62);
                g = Vector256.Load(d7 + q); a70 = Mad(g, x0, a70); if (TS.Count > 1) a71 = Mad(g, x1, a71); if (TS.Count > 2) a72 = Mad(g, x2, a72);
            }
            if (rem != 0)
            {
                // The last 8 columns again, with the lanes already counted masked out of dy.
                q = ow - 8;
                x0 = Vector256.Load(x0p + q);
                if (TS.Count > 1) x1 = Vector256.Load(x1p + q);
                if (TS.Count > 2) x2 = Vector256.Load(x2p + q);
                g = Vector256.Load(d0 + q) & mask; a00 = Mad(g, x0, a00); if (TS.Count > 1) a01 = Mad(g, x1, a01); if (TS.Count > 2) a02 = Mad(g, x2, a02);
                g = Vector256.Load(d1 + q) & mask; a10 = Mad(g, x0, a10); if (TS.Count > 1) a11 = Mad(g, x1, a11); if (TS.Count > 2) a12 = Mad(g, x2, a12);
                g = Vector256.Load(d2 + q) & mask; a20 = Mad(g, x0, a20); if (TS.Count > 1) a21 = Mad(g, x1, a21); if (TS.Count > 2) a22 = Mad(g, x2, a22);
                g = Vector256.Load(d3 + q) & mask; a30 = Mad(g, x0, a30); if (TS.Count > 1) a31 = Mad(g, x1, a31); if (TS.Count > 2) a32 = Mad(g, x2, a32);
                g = Vector256.Load(d4 + q) & mask; a40 = Mad(g, x0, a40); if (TS.Count > 1) a41 = Mad(g, x1, a41); if (TS.Count > 2) a42 = Mad(g, x2, a42);
                g = Vector256.Load(d5 + q) & mask; a50 = Mad(g, x0, a50); if (TS.Count > 1) a51 = Mad(g, x1, a51); if (TS.Count > 2) a52 = Mad(g, x2, a52);
                g = Vector256.Load(d6 + q) & mask; a60 = Mad(g, x0, a60); if (TS.Count > 1) a61 = Mad(g, x1, a61); if (TS.Count > 2) a62 = Mad(g, x2, a62);
                g = Vector256.Load(d7 + q) & mask; a70 = Mad(g, x0, a70); if (TS.Count > 1) a71 = Mad(g, x1, a71); if (TS.Count > 2) a72 = Mad(g, x2, a72);
            }
        }
        AddSums8(dw, dwCo, cnt, Sum8(a00, a10, a20, a30, a40, a50, a60, a70));
        if (TS.Count > 1 && tcnt > 1) AddSums8(dw + 1, dwCo, cnt, Sum8(a01, a11, a21, a31, a41, a51, a61, a71));
        if (TS.Count > 2 && tcnt > 2) AddSums8(dw + 2, dwCo, cnt, Sum8(a02, a12, a22, a32, a42, a52, a62, a72));
    }

    /// <summary>[Σ v0, Σ v1, ..., Σ v7] (with AVX: a horizontal-add tree and one cross-lane add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sum8(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3,
        Vector256<float> v4, Vector256<float> v5, Vector256<float> v6, Vector256<float> v7)
    {
        if (X86.Avx.IsSupported)
        {
            Vector256<float> h0123 = X86.Avx.HorizontalAdd(X86.Avx.HorizontalAdd(v0, v1), X86.Avx.HorizontalAdd(v2, v3));
            Vector256<float> h4567 = X86.Avx.HorizontalAdd(X86.Avx.HorizontalAdd(v4, v5), X86.Avx.HorizontalAdd(v6, v7));
            return X86.Avx.Permute2x128(h0123, h4567, 0x20) + X86.Avx.Permute2x128(h0123, h4567, 0x31);
        }
        return Vector256.Create(Vector256.Sum(v0), Vector256.Sum(v1), Vector256.Sum(v2), Vector256.Sum(v3),
            Vector256.Sum(v4), Vector256.Sum(v5), Vector256.Sum(v6), Vector256.Sum(v7));
    }

    /// <summary>dw[c·dwCo] += s[c] for c &lt; cnt.</summary>
    /// <remarks>Constant lane indices: a variable GetElement goes through a stack copy of the vector whose narrow
    /// reloads stall on store forwarding (measured ~10% of the cnn_lenetish conv2 weight gradient at batch 1).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddSums8(float* dw, int dwCo, int cnt, Vector256<float> s)
    {
        nint co = dwCo;
        Vector128<float> lo = s.GetLower(), hi = s.GetUpper();
        dw[0] += lo.ToScalar();
        if (cnt > 1) dw[co] += lo.GetElement(1);
        if (cnt > 2) dw[2 * co] += lo.GetElement(2);
        if (cnt > 3) dw[3 * co] += lo.GetElement(3);
        if (cnt > 4) dw[4 * co] += hi.ToScalar();
        if (cnt > 5) dw[5 * co] += hi.GetElement(1);
        if (cnt > 6) dw[6 * co] += hi.GetElement(2);
        if (cnt > 7) dw[7 * co] += hi.GetElement(3);
    }
}
