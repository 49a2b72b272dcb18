using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

public static partial class Conv2d
{
    // AVX-512 weight gradient. Why a separate path from WeightTile8x3: (1) one 16-lane vector covers a 14-wide row
    // (cnn_lenetish conv2) and 28 = 16 + 16 overlapping, halving the instructions per FMA; (2) the per-lane partial sums
    // of every (8 channels × 3 taps) tile are kept in a stack buffer between work units, so the horizontal reductions
    // into dw happen once per call instead of once per sample; (3) a unit is a few samples whose
    // 8 dy channels stay in L1 while all input channels and taps sweep over them.

    /// <summary>Floats of the per-lane partial sums the wide weight gradient keeps (larger layers use the 8-lane path).</summary>
    private const int VaccCap = 20480;
    /// <summary>Target floats of one 8-channel dy block of a work unit (kept in L1 while every tap sweeps it).</summary>
    private const int UnitFloats = 12288;
    /// <summary>Floats of the copy of the final sample's dy that rows narrower than 16 read from (see below).</summary>
    private const int DyCopyCap = 6144;

    private unsafe struct WeightArgs
    {
        public int Samples, Rows, Ow, Count, TapCount, DwCo;
        public nint RowStep, XSample, DySample, DyCo;
        public bool Narrow, LoadAcc, Reduce;
        public Vector512<float> TailMask, LaneMask;
    }

    /// <summary>
    /// dw += Σ_n dy_n·col_nᵀ with 16-lane vectors (<see cref="UseWide"/> only) in units of several samples; false when
    /// that does not apply (a padded sample or the partial sums do not fit the stack scratch, or a unit would hold one
    /// sample): the caller then uses the 8-lane path, which reduces per sample.
    /// </summary>
    /// <remarks>
    /// Rows of OutW ≤ 16 take one vector each whose extra lanes read beyond the row: in the padded block that is the
    /// next row or scratch slack, and in dy the next row, except for the last rows of the final sample, which could
    /// read past the end of dy, so that sample's dy is first copied to a stack buffer with slack. Wider rows take
    /// 16-column vectors and a last vector at OutW - 16 with the already-counted lanes masked out of dy.
    /// </remarks>
    [SkipLocalsInit]
    private static unsafe bool WideBackwardWeight(in Window2d g, int cout, int batch, float* x, float* dy, float* dw)
    {
        var L = new PadLayout(g.Height, g.Width, g.PadTop, g.PadLeft, g.StrideH, g.StrideW, g.KernelH, g.KernelW, g.OutH, g.OutW);
        int taps = g.KernelH * g.KernelW, cin = g.Channels, ow = g.OutW, oh = g.OutH, outPlane = oh * ow;
        int chPlane = L.Hpad * L.RowStride;
        if ((long)cin * chPlane > PadCap) return false;
        int sampleStride = cin * chPlane, dySample = cout * outPlane;
        bool narrow = ow <= 16;
        if (narrow && (long)dySample + 16 > DyCopyCap) return false;
        int trip = (taps + 2) / 3, blocks = (cout + 7) / 8;
        long tiles = (long)blocks * cin * trip;
        bool keep = tiles * 384 <= VaccCap;
        int samples = Math.Min(batch, Math.Clamp(UnitFloats / (8 * outPlane), 1, PadCap / sampleStride));
        // Measured: with one sample per unit (a single sample, or planes too large for several in L1) the 8-lane
        // path is as fast or faster (cnn_lenetish conv1 at any batch, conv2 at batch 1-2), so only multi-sample
        // units come here. (The final sample of a narrow layer is a unit of its own, hence batch >= 3.)
        if (!keep || samples < 2 || batch < 3) return false;
        int band = oh;
        // Slack: a narrow row's vector reads up to 15 floats past the row (and tap offset) into the next rows.
        float* xbuf = stackalloc float[samples * sampleStride + L.RowStride + 16];
        float* vacc = stackalloc float[keep ? (int)tiles * 384 : 0];
        float* dyLast = stackalloc float[narrow ? dySample + 16 : 0];
        nint* offs = stackalloc nint[taps + 2];
        for (int ky = 0; ky < L.KH; ky++)
            for (int kx = 0; kx < L.KW; kx++) offs[ky * L.KW + kx] = L.TapOffset(ky, kx);
        nint inPlane = (nint)L.InH * L.InW;
        int rowStep = L.SH * L.RowStride;
        Vector512<int> lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var args = new WeightArgs
        {
            Ow = ow, DwCo = cin * taps, RowStep = rowStep, XSample = sampleStride, DySample = dySample, DyCo = outPlane,
            Narrow = narrow,
            // Narrow: lanes past OutW hold junk; wide: the last vector repeats 16 - OutW % 16 counted columns.
            LaneMask = Vector512.LessThan(lane, Vector512.Create(narrow ? ow : 16)).AsSingle(),
            TailMask = Vector512.GreaterThanOrEqual(lane, Vector512.Create((16 - ow % 16) % 16)).AsSingle(),
        };
        for (int n0 = 0; n0 < batch;)
        {
            int ns = Math.Min(samples, batch - n0);
            bool lastGroup = n0 + ns == batch;
            float* dyu = dy + (nint)n0 * dySample;
            if (narrow && lastGroup)
            {
                if (ns > 1) { ns--; lastGroup = false; }
                else
                {
                    new ReadOnlySpan<float>(dyu, dySample).CopyTo(new Span<float>(dyLast, dySample));
                    new Span<float>(dyLast + dySample, 16).Clear();
                    dyu = dyLast;
                }
            }
            for (int s = 0; s < ns; s++)
                for (int ci = 0; ci < cin; ci++)
                {
                    // Slot s keeps the padding written when the first unit filled it.
                    float* src = x + ((nint)(n0 + s) * cin + ci) * inPlane, dst = xbuf + s * sampleStride + ci * chPlane;
                    if (n0 > 0 && L.CanCopyInterior) L.CopyInterior(src, 0, L.Hpad, dst);
                    else L.PadRows(src, 0, L.Hpad, dst);
                }
            args.Samples = ns;
            if (n0 + ns < batch)
            {
                int next = Math.Min(ns, batch - n0 - ns);
                Prefetch(x + (nint)(n0 + ns) * cin * inPlane, next * cin * inPlane);
                Prefetch(dy + (nint)(n0 + ns) * dySample, (nint)next * dySample);
            }
            for (int oyA = 0; oyA < oh; oyA += band)
            {
                int oyB = Math.Min(oh, oyA + band);
                args.Rows = oyB - oyA;
                args.LoadAcc = keep && !(n0 == 0 && oyA == 0);
                args.Reduce = !keep || (lastGroup && oyB == oh);
                float* vt = vacc;
                for (int b = 0; b < blocks; b++)
                {
                    args.Count = Math.Min(8, cout - 8 * b);
                    float* dyb = dyu + (nint)(8 * b) * outPlane + oyA * ow;
                    for (int ci = 0; ci < cin; ci++)
                    {
                        float* xc = xbuf + ci * chPlane + oyA * rowStep;
                        float* dwc = dw + (nint)(8 * b) * cin * taps + ci * taps;
                        for (int k = 0; k < taps; k += 3, vt += keep ? 384 : 0)
                        {
                            int tcnt = Math.Min(3, taps - k);
                            args.TapCount = tcnt;
                            WeightTileWide(in args, xc, dyb, offs[k], offs[k + (tcnt > 1 ? 1 : 0)], offs[k + (tcnt > 2 ? 2 : 0)], vt, dwc + k);
                        }
                    }
                }
            }
            n0 += ns;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fold(Vector512<float> v, Vector512<float> keep)
    {
        v &= keep;
        return v.GetLower() + v.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightTileWide(in WeightArgs a, float* xc, float* dyc, nint o0, nint o1, nint o2, float* vacc, float* dw)
    {
        int cnt = a.Count;
        nint co = a.DyCo;
        nint e1 = cnt > 1 ? co : 0, e2 = cnt > 2 ? 2 * co : 0, e3 = cnt > 3 ? 3 * co : 0, e4 = cnt > 4 ? 4 * co : 0;
        nint e5 = cnt > 5 ? 5 * co : 0, e6 = cnt > 6 ? 6 * co : 0, e7 = cnt > 7 ? 7 * co : 0;
        Vector512<float> a00, a01, a02, a10, a11, a12, a20, a21, a22, a30, a31, a32, a40, a41, a42, a50, a51, a52, a60, a61, a62, a70, a71, a72;
        if (a.LoadAcc)
        {
            a00 = Vector512.Load(vacc + 0);
            a01 = Vector512.Load(vacc + 16);
            a02 = Vector512.Load(vacc + 32);
            a10 = Vector512.Load(vacc + 48);
            a11 = Vector512.Load(vacc + 64);
            a12 = Vector512.Load(vacc + 80);
            a20 = Vector512.Load(vacc + 96);
            a21 = Vector512.Load(vacc + 112);
            a22 = Vector512.Load(vacc + 128);
            a30 = Vector512.Load(vacc + 144);
            a31 = Vector512.Load(vacc + 160);
            a32 = Vector512.Load(vacc + 176);
            a40 = Vector512.Load(vacc + 192);
            a41 = Vector512.Load(vacc + 208);
            a42 = Vector512.Load(vacc + 224);
            a50 = Vector512.Load(vacc + 240);
            a51 = Vector512.Load(vacc + 256);
            a52 = Vector512.Load(vacc + 272);
            a60 = Vector512.Load(vacc + 288);
            a61 = Vector512.Load(vacc + 304);
            a62 = Vector512.Load(vacc + 320);
            a70 = Vector512.Load(vacc + 336);
            a71 = Vector512.Load(vacc + 352);
            a72 = Vector512.Load(vacc + 368);
        }
        else
        {
            a00 = a01 = a02 = a10 = a11 = a12 = a20 = a21 = a22 = a30 = a31 = a32 = a40 = a41 = a42 = a50 = a51 = a52 = a60 = a61 = a62 = a70 = a71 = a72 = default;
        }
        Vector512<float> x0, x1, x2, g, tailMask = a.TailMask;
        int ow = a.Ow, rows = a.Rows;
        nint rowStep = a.RowStep;
        for (int s = 0; s < a.Samples; s++)
        {
            float* xr = xc + s * a.XSample, d = dyc + s * a.DySample;
            if (a.Narrow)
            {
                // One vector per row: lanes >= OutW read past the row (the next row, or scratch slack) and only
                // ever meet each other; they are masked off before the reduction.
                for (int r = 0; r < rows; r++, xr += rowStep, d += ow)
                {
                    float* xq = xr + 0, dq = d + 0;
                    x0 = Vector512.Load(xq + o0); x1 = Vector512.Load(xq + o1); x2 = Vector512.Load(xq + o2);
                    g = Vector512.Load(dq); a00 = Vector512.FusedMultiplyAdd(g, x0, a00); a01 = Vector512.FusedMultiplyAdd(g, x1, a01); a02 = Vector512.FusedMultiplyAdd(g, x2, a02);
                    g = Vector512.Load(dq + e1); a10 = Vector512.FusedMultiplyAdd(g, x0, a10); a11 = Vector512.FusedMultiplyAdd(g, x1, a11); a12 = Vector512.FusedMultiplyAdd(g, x2, a12);
                    g = Vector512.Load(dq + e2); a20 = Vector512.FusedMultiplyAdd(g, x0, a20); a21 = Vector512.FusedMultiplyAdd(g, x1, a21); a22 = Vector512.FusedMultiplyAdd(g, x2, a22);
                    g = Vector512.Load(dq + e3); a30 = Vector512.FusedMultiplyAdd(g, x0, a30); a31 = Vector512.FusedMultiplyAdd(g, x1, a31); a32 = Vector512.FusedMultiplyAdd(g, x2, a32);
                    g = Vector512.Load(dq + e4); a40 = Vector512.FusedMultiplyAdd(g, x0, a40); a41 = Vector512.FusedMultiplyAdd(g, x1, a41); a42 = Vector512.FusedMultiplyAdd(g, x2, a42);
                    g = Vector512.Load(dq + e5); a50 = Vector512.FusedMultiplyAdd(g, x0, a50); a51 = Vector512.FusedMultiplyAdd(g, x1, a51); a52 = Vector512.FusedMultiplyAdd(g, x2, a52);
                    g = Vector512.Load(dq + e6); a60 = Vector512.FusedMultiplyAdd(g, x0, a60); a61 = Vector512.FusedMultiplyAdd(g, x1, a61); a62 = Vector512.FusedMultiplyAdd(g, x2, a62);
                    g = Vector512.Load(dq + e7); a70 = Vector512.FusedMultiplyAdd(g, x0, a70); a71 = Vector512.FusedMultiplyAdd(g, x1, a71); a72 = Vector512.FusedMultiplyAdd(g, x2, a72);
                }
            }
            else
            {
                for (int r = 0; r < rows; r++, xr += rowStep, d += ow)
                {
                    int q = 0;
                    for (; q <= ow - 16; q += 16)
                    {
                        float* xq = xr + q, dq = d + q;
                        x0 = Vector512.Load(xq + o0); x1 = Vector512.Load(xq + o1); x2 = Vector512.Load(xq + o2);
                        g = Vector512.Load(dq); a00 = Vector512.FusedMultiplyAdd(g, x0, a00); a01 = Vector512.FusedMultiplyAdd(g, x1, a01); a02 = Vector512.FusedMultiplyAdd(g, x2, a02);
                        g = Vector512.Load(dq + e1); a10 = Vector512.FusedMultiplyAdd(g, x0, a10); a11 = Vector512.FusedMultiplyAdd(g, x1, a11); a12 = Vector512.FusedMultiplyAdd(g, x2, a12);
                        g = Vector512.Load(dq + e2); a20 = Vector512.FusedMultiplyAdd(g, x0, a20); a21 = Vector512.FusedMultiplyAdd(g, x1, a21); a22 = Vector512.FusedMultiplyAdd(g, x2, a22);
                        g = Vector512.Load(dq + e3); a30 = Vector512.FusedMultiplyAdd(g, x0, a30); a31 = Vector512.FusedMultiplyAdd(g, x1, a31); a32 = Vector512.FusedMultiplyAdd(g, x2, a32);
                        g = Vector512.Load(dq + e4); a40 = Vector512.FusedMultiplyAdd(g, x0, a40); a41 = Vector512.FusedMultiplyAdd(g, x1, a41); a42 = Vector512.FusedMultiplyAdd(g, x2, a42);
                        g = Vector512.Load(dq + e5); a50 = Vector512.FusedMultiplyAdd(g, x0, a50); a51 = Vector512.FusedMultiplyAdd(g, x1, a51); a52 = Vector512.FusedMultiplyAdd(g, x2, a52);
                        g = Vector512.Load(dq + e6); a60 = Vector512.FusedMultiplyAdd(g, x0, a60); a61 = Vector512.FusedMultiplyAdd(g, x1, a61); a62 = Vector512.FusedMultiplyAdd(g, x2, a62);
                        g = Vector512.Load(dq + e7); a70 = Vector512.FusedMultiplyAdd(g, x0, a70); a71 = Vector512.FusedMultiplyAdd(g, x1, a71); a72 = Vector512.FusedMultiplyAdd(g, x2, a72);
                    }
                    if (q < ow)
                    {
                        // The last 16 columns again, with the lanes already counted masked out of dy.
                        q = ow - 16;
                        float* xq = xr + q, dq = d + q;
                        x0 = Vector512.Load(xq + o0); x1 = Vector512.Load(xq + o1); x2 = Vector512.Load(xq + o2);
                        g = Vector512.Load(dq) & tailMask; a00 = Vector512.FusedMultiplyAdd(g, x0, a00); a01 = Vector512.FusedMultiplyAdd(g, x1, a01); a02 = Vector512.FusedMultiplyAdd(g, x2, a02);
                        g = Vector512.Load(dq + e1) & tailMask; a10 = Vector512.FusedMultiplyAdd(g, x0, a10); a11 = Vector512.FusedMultiplyAdd(g, x1, a11); a12 = Vector512.FusedMultiplyAdd(g, x2, a12);
                        g = Vector512.Load(dq + e2) & tailMask; a20 = Vector512.FusedMultiplyAdd(g, x0, a20); a21 = Vector512.FusedMultiplyAdd(g, x1, a21); a22 = Vector512.FusedMultiplyAdd(g, x2, a22);
                        g = Vector512.Load(dq + e3) & tailMask; a30 = Vector512.FusedMultiplyAdd(g, x0, a30); a31 = Vector512.FusedMultiplyAdd(g, x1, a31); a32 = Vector512.FusedMultiplyAdd(g, x2, a32);
                        g = Vector512.Load(dq + e4) & tailMask; a40 = Vector512.FusedMultiplyAdd(g, x0, a40); a41 = Vector512.FusedMultiplyAdd(g, x1, a41); a42 = Vector512.FusedMultiplyAdd(g, x2, a42);
                        g = Vector512.Load(dq + e5) & tailMask; a50 = Vector512.FusedMultiplyAdd(g, x0, a50); a51 = Vector512.FusedMultiplyAdd(g, x1, a51); a52 = Vector512.FusedMultiplyAdd(g, x2, a52);
                        g = Vector512.Load(dq + e6) & tailMask; a60 = Vector512.FusedMultiplyAdd(g, x0, a60); a61 = Vector512.FusedMultiplyAdd(g, x1, a61); a62 = Vector512.FusedMultiplyAdd(g, x2, a62);
                        g = Vector512.Load(dq + e7) & tailMask; a70 = Vector512.FusedMultiplyAdd(g, x0, a70); a71 = Vector512.FusedMultiplyAdd(g, x1, a71); a72 = Vector512.FusedMultiplyAdd(g, x2, a72);
                    }
                }
            }
        }
        if (!a.Reduce)
        {
            a00.Store(vacc + 0);
            a01.Store(vacc + 16);
            a02.Store(vacc + 32);
            a10.Store(vacc + 48);
            a11.Store(vacc + 64);
            a12.Store(vacc + 80);
            a20.Store(vacc + 96);
            a21.Store(vacc + 112);
            a22.Store(vacc + 128);
            a30.Store(vacc + 144);
            a31.Store(vacc + 160);
            a32.Store(vacc + 176);
            a40.Store(vacc + 192);
            a41.Store(vacc + 208);
            a42.Store(vacc + 224);
            a50.Store(vacc + 240);
            a51.Store(vacc + 256);
            a52.Store(vacc + 272);
            a60.Store(vacc + 288);
            a61.Store(vacc + 304);
            a62.Store(vacc + 320);
            a70.Store(vacc + 336);
            a71.Store(vacc + 352);
            a72.Store(vacc + 368);
            return;
        }
        Vector512<float> keep = a.LaneMask;
        int tcnt = a.TapCount, dwCo = a.DwCo;
        AddSums8(dw + 0, dwCo, cnt, Sum8(Fold(a00, keep), Fold(a10, keep), Fold(a20, keep), Fold(a30, keep), Fold(a40, keep), Fold(a50, keep), Fold(a60, keep), Fold(a70, keep)));
        if (tcnt > 1) AddSums8(dw + 1, dwCo, cnt, Sum8(Fold(a01, keep), Fold(a11, keep), Fold(a21, keep), Fold(a31, keep), Fold(a41, keep), Fold(a51, keep), Fold(a61, keep), Fold(a71, keep)));
        if (tcnt > 2) AddSums8(dw + 2, dwCo, cnt, Sum8(Fold(a02, keep), Fold(a12, keep), Fold(a22, keep), Fold(a32, keep), Fold(a42, keep), Fold(a52, keep), Fold(a62, keep), Fold(a72, keep)));
    }
}
