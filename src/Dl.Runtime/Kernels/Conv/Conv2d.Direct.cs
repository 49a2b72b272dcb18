using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using X86 = System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

public static partial class Conv2d
{
    // Stack scratch of the direct kernels (no heap, no workspace argument): a padded input block and packed weights.
    // Why 12K + 8K floats (80 KB): a whole padded sample of the common small-image layers fits (cnn_lenetish conv2:
    // 8×16×16 = 2K; 32 channels of 14×14 + pad: 8K), so each sample is padded once; bigger inputs are processed in
    // channel blocks (or, for very large planes, output-row bands). The packed weights of 8 output channels for all
    // taps of the block stay in L1 while a row is swept.
    private const int PadCap = 12288;
    private const int PackCap = 8192;
    private const int MaxTaps = 1024;

    /// <summary>Floats per vector of the widest direct tile in use (16 with AVX-512, else 8).</summary>
    private static int VectorWidth => UseWide ? 16 : 8;

    /// <summary>
    /// Layout of the zero-padded, stride-phase-split input block the direct kernels read. Padded row r holds SW phase
    /// segments of <see cref="Lph"/> floats; padded column c lives in segment c % SW at index c / SW. Then the tap
    /// (ky, kx) of output column ox reads segment kx % SW at index ox + kx / SW: consecutive output columns read
    /// consecutive floats for every stride, so one vector load feeds 8 output columns.
    /// </summary>
    private readonly struct PadLayout
    {
        public readonly int InH, InW, PadT, PadL, SH, SW, KH, KW, OH, OW, Hpad, Wpad, Lph, RowStride;

        public PadLayout(int inH, int inW, int padT, int padL, int sh, int sw, int kh, int kw, int oh, int ow)
        {
            (InH, InW, PadT, PadL, SH, SW, KH, KW, OH, OW) = (inH, inW, padT, padL, sh, sw, kh, kw, oh, ow);
            // Only the rows and columns some window reads (the floor in OutH/OutW may leave the last ones unused).
            Hpad = (oh - 1) * sh + kh;
            Wpad = (ow - 1) * sw + kw;
            Lph = (Wpad + sw - 1) / sw;
            // A row narrower than one vector (16 floats with AVX-512, else 8) is computed with one full-width load:
            // keep that load inside the segment.
            if (ow < VectorWidth) Lph = Math.Max(Lph, VectorWidth + (kw - 1) / sw);
            RowStride = sw * Lph;
        }

        /// <summary>Padded rows read by <paramref name="outRows"/> consecutive output rows.</summary>
        public int RowsFor(int outRows) => (outRows - 1) * SH + KH;

        /// <summary>Offset of tap (ky, kx) from the window's origin in the padded block.</summary>
        public int TapOffset(int ky, int kx) => ky * RowStride + kx % SW * Lph + kx / SW;

        /// <summary>True when <see cref="CopyInterior"/> can refresh a block that <see cref="PadRows"/> wrote before.</summary>
        public bool CanCopyInterior => SW == 1 && Vector256.IsHardwareAccelerated && Math.Min(InW, Wpad - PadL) >= 8;

        /// <summary>As <see cref="PadRows"/> for a block whose padding (zero rows and columns) <see cref="PadRows"/>
        /// already wrote for the same rows: only the input values are copied (<see cref="CanCopyInterior"/> only).</summary>
        /// <remarks>Why: the padding is the same for every sample, and rewriting it row by row cost ~5% of the
        /// cnn_lenetish step (572 short rows per sample).</remarks>
        public unsafe void CopyInterior(float* x, int r0, int r1, float* dst)
        {
            int count = Math.Min(InW, Wpad - PadL);
            int a = Math.Max(r0, PadT), b = Math.Min(r1, PadT + InH);
            float* d = dst + (nint)(a - r0) * RowStride + PadL;
            float* src = x + (nint)(a - PadT) * InW;
            for (int r = a; r < b; r++, d += RowStride, src += InW)
            {
                int j = 0;
                for (; j <= count - 8; j += 8) Vector256.Load(src + j).Store(d + j);
                if (j < count) Vector256.Load(src + count - 8).Store(d + count - 8);
            }
        }

        /// <summary>Writes padded rows [r0, r1) of one channel plane <paramref name="x"/> to <paramref name="dst"/>.</summary>
        public unsafe void PadRows(float* x, int r0, int r1, float* dst)
        {
            for (int r = r0; r < r1; r++, dst += RowStride)
            {
                int iy = r - PadT;
                if ((uint)iy >= (uint)InH)
                {
                    if (Vector256.IsHardwareAccelerated && RowStride >= 8)
                    {
                        int j = 0;
                        for (; j <= RowStride - 8; j += 8) Vector256<float>.Zero.Store(dst + j);
                        if (j < RowStride) Vector256<float>.Zero.Store(dst + RowStride - 8);
                    }
                    else new Span<float>(dst, RowStride).Clear();
                    continue;
                }
                float* src = x + (nint)iy * InW;
                if (SW == 1 && Vector256.IsHardwareAccelerated && RowStride >= 8 && Math.Min(InW, Wpad - PadL) >= 8)
                {
                    // Rows are short (cnn_lenetish: 14 and 28 floats): vector stores instead of a Clear and a
                    // CopyTo call per row. Zero the whole row, then copy the input over it; each last vector
                    // overlaps its predecessor.
                    int count = Math.Min(InW, Wpad - PadL), j = 0;
                    for (; j <= RowStride - 8; j += 8) Vector256<float>.Zero.Store(dst + j);
                    if (j < RowStride) Vector256<float>.Zero.Store(dst + RowStride - 8);
                    float* d = dst + PadL;
                    for (j = 0; j <= count - 8; j += 8) Vector256.Load(src + j).Store(d + j);
                    if (j < count) Vector256.Load(src + count - 8).Store(d + count - 8);
                }
                else if (SW == 1)
                {
                    int count = Math.Min(InW, Wpad - PadL);
                    for (int c = 0; c < PadL; c++) dst[c] = 0;
                    new ReadOnlySpan<float>(src, count).CopyTo(new Span<float>(dst + PadL, count));
                    new Span<float>(dst + PadL + count, RowStride - PadL - count).Clear();
                }
                else
                {
                    for (int ph = 0; ph < SW; ph++)
                    {
                        float* seg = dst + ph * Lph;
                        for (int j = 0; j < Lph; j++)
                        {
                            int c = j * SW + ph, ix = c - PadL;
                            seg[j] = c < Wpad && (uint)ix < (uint)InW ? src[ix] : 0f;
                        }
                    }
                }
            }
        }
    }

    /// <summary>A direct convolution: input channels, the padded layout, and how to address the weight and output.</summary>
    private unsafe struct DirectPlan
    {
        public PadLayout L;
        public int InC, OutC;
        /// <summary>Weight (co, ci, ky, kx) is at W + co·WCo + ci·WCi + ky·WKy + kx·WKx (negative strides flip it).</summary>
        public float* W;
        public nint WCo, WCi, WKy, WKx;
        public float* Bias;
        public bool Accumulate;
    }

    private static unsafe bool DirectForward(in Window2d g, int cout, int batch, float* x, float* w, float* bias, float* y)
    {
        int taps = g.KernelH * g.KernelW;
        var plan = new DirectPlan
        {
            L = new PadLayout(g.Height, g.Width, g.PadTop, g.PadLeft, g.StrideH, g.StrideW, g.KernelH, g.KernelW, g.OutH, g.OutW),
            InC = g.Channels, OutC = cout, W = w, WCo = (nint)g.Channels * taps, WCi = taps, WKy = g.KernelW, WKx = 1,
            Bias = bias, Accumulate = false,
        };
        return DirectCore(in plan, batch, x, y);
    }

    /// <summary>
    /// Stride 1: dx is the direct convolution of dy (cout channels, padded by KH-1-PadTop etc.) with the weight
    /// flipped in both spatial axes and with its channel axes swapped, addressed in place through negative strides.
    /// Strided layers fall back to scatter loops (returns false).
    /// </summary>
    private static unsafe bool DirectBackwardData(in Window2d g, int cout, int batch, float* dy, float* w, float* dx, bool accumulate)
    {
        if (g.StrideH != 1 || g.StrideW != 1) return false;
        int kh = g.KernelH, kw = g.KernelW, taps = kh * kw;
        var plan = new DirectPlan
        {
            L = new PadLayout(g.OutH, g.OutW, kh - 1 - g.PadTop, kw - 1 - g.PadLeft, 1, 1, kh, kw, g.Height, g.Width),
            InC = cout, OutC = g.Channels, W = w + (taps - 1), WCo = taps, WCi = (nint)g.Channels * taps, WKy = -kw, WKx = -1,
            Bias = null, Accumulate = accumulate,
        };
        return DirectCore(in plan, batch, dy, dx);
    }

    /// <summary>y (+)= direct convolution described by <paramref name="p"/>; false when the layout does not fit the stack scratch.</summary>
    [SkipLocalsInit]
    private static unsafe bool DirectCore(in DirectPlan p, int batch, float* x, float* y)
    {
        PadLayout L = p.L;
        int taps = L.KH * L.KW;
        if (taps > MaxTaps || 8 * taps > PackCap) return false;
        int chPlane = L.Hpad * L.RowStride;
        int outC8 = (p.OutC + 7) & ~7;
        int ciPad, band;
        if (chPlane <= PadCap)
        {
            ciPad = Math.Min(p.InC, PadCap / chPlane);
            band = L.OH;
        }
        else
        {
            if (PadCap / L.RowStride < L.KH) return false;
            ciPad = 1;
            band = Math.Min(L.OH, (PadCap / L.RowStride - L.KH) / L.SH + 1);
        }
        // Prefer as many input channels per block as the padded block holds (every further block must reload and
        // re-store the outputs) over many output channels per packed chunk (a chunk only costs one more padding pass).
        int coChunk = Math.Min(outC8, Math.Max(8, PackCap / (taps * ciPad) & ~7));
        int ciBlock = Math.Min(ciPad, PackCap / (coChunk * taps));
        float* xbuf = stackalloc float[PadCap];
        float* pack = stackalloc float[PackCap];
        int* offs = stackalloc int[taps];
        nint* wOffs = stackalloc nint[taps];
        for (int ky = 0; ky < L.KH; ky++)
            for (int kx = 0; kx < L.KW; kx++)
            {
                offs[ky * L.KW + kx] = L.TapOffset(ky, kx);
                wOffs[ky * L.KW + kx] = ky * p.WKy + kx * p.WKx;
            }
        nint inPlane = (nint)L.InH * L.InW;
        int outPlane = L.OH * L.OW;
        for (int co0 = 0; co0 < p.OutC; co0 += coChunk)
        {
            int coN = Math.Min(coChunk, p.OutC - co0), blocks = (coN + 7) / 8;
            for (int ci0 = 0; ci0 < p.InC; ci0 += ciBlock)
            {
                int cib = Math.Min(ciBlock, p.InC - ci0);
                PackWeights(in p, co0, coN, ci0, cib, wOffs, pack);
                bool load = p.Accumulate || ci0 > 0;
                for (int n = 0; n < batch; n++)
                {
                    float* xn = x + n * p.InC * inPlane;
                    float* yn = y + (nint)n * p.OutC * outPlane;
                    if (n + 1 < batch)
                    {
                        // Large batches stream from L3 or memory: fetch the next sample's inputs and outputs
                        // while this one computes.
                        Prefetch(xn + p.InC * inPlane + ci0 * inPlane, cib * inPlane);
                        Prefetch(yn + (nint)p.OutC * outPlane + (nint)co0 * outPlane, (nint)coN * outPlane);
                    }
                    for (int oyA = 0; oyA < L.OH; oyA += band)
                    {
                        int oyB = Math.Min(L.OH, oyA + band), rows = L.RowsFor(oyB - oyA), r0 = oyA * L.SH;
                        int chStride = rows * L.RowStride;
                        // One band per sample: the padding written for the first sample stays valid.
                        bool interior = n > 0 && band == L.OH && L.CanCopyInterior;
                        for (int ci = 0; ci < cib; ci++)
                        {
                            if (interior) L.CopyInterior(xn + (ci0 + ci) * inPlane, r0, r0 + rows, xbuf + ci * chStride);
                            else L.PadRows(xn + (ci0 + ci) * inPlane, r0, r0 + rows, xbuf + ci * chStride);
                        }
                        for (int b = 0; b < blocks; b++)
                        {
                            int cnt = Math.Min(8, coN - 8 * b);
                            float* yb = yn + (nint)(co0 + 8 * b) * outPlane;
                            float* pk = pack + b * cib * taps * 8;
                            float* bias = p.Bias != null && !load ? p.Bias + co0 + 8 * b : null;
                            var t = new TileArgs
                            {
                                CinBlock = cib, ChStride = chStride, Offsets = offs, Taps = taps, Pack = pk, YCo = outPlane,
                                Count = cnt, Bias = bias, Load = load,
                            };
                            if (load || (L.OW < 8 && !UseWide))
                                for (int oy = oyA; oy < oyB; oy++)
                                    RowTiles(in t, xbuf + (oy - oyA) * L.SH * L.RowStride, yb + oy * L.OW, L.OW);
                            else if (UseWide)
                                SlotTilesWide(in t, in L, xbuf, yb, oyA, oyB);
                            else
                                SlotTiles(in t, in L, xbuf, yb, oyA, oyB);
                        }
                    }
                }
            }
        }
        return true;
    }

    /// <summary>Prefetches <paramref name="floats"/> floats from <paramref name="p"/> into L2 (one hint per cache line).</summary>
    private static unsafe void Prefetch(float* p, nint floats)
    {
        if (!X86.Sse.IsSupported) return;
        for (nint i = 0; i < floats; i += 16) X86.Sse.Prefetch1(p + i);
    }

    /// <summary>pack[((b·cib + ci)·taps + t)·8 + c] = W(co0 + 8b + c, ci0 + ci, t), zero for channels past the end.</summary>
    /// <remarks><paramref name="wOffs"/>[t] is tap t's offset inside one (co, ci) kernel, so the source walk is a table
    /// lookup per element (this runs once per call and matters at batch 1).</remarks>
    private static unsafe void PackWeights(in DirectPlan p, int co0, int coN, int ci0, int cib, nint* wOffs, float* pack)
    {
        int taps = p.L.KH * p.L.KW, blocks = (coN + 7) / 8, per = cib * taps;
        for (int b = 0; b < blocks; b++)
            for (int c = 0; c < 8; c++)
            {
                int co = 8 * b + c;
                float* dst = pack + (nint)b * per * 8 + c;
                if (co >= coN)
                {
                    for (int i = 0; i < per; i++) dst[(nint)i * 8] = 0f;
                    continue;
                }
                float* src = p.W + (co0 + co) * p.WCo + ci0 * p.WCi;
                for (int ci = 0; ci < cib; ci++, src += p.WCi)
                    for (int t = 0; t < taps; t++, dst += 8) *dst = src[wOffs[t]];
            }
    }

    /// <summary>Output rows [oyA, oyB) of one 8-channel block as a flat list of 8-column vector slots (row by row,
    /// the last slot of a row at OutW - 8), three per <see cref="Tile8x3{TS}"/> (one without AVX-512); the final group repeats its last slot.</summary>
    /// <remarks>Only when starting from the bias or zero (not accumulating): a slot overlapping its neighbour then
    /// rewrites identical values whichever tiles they land in.</remarks>
    private static unsafe void SlotTiles(in TileArgs t, in PadLayout L, float* xb, float* yb, int oyA, int oyB)
    {
        int ow = L.OW, nvec = (ow + 7) / 8, slots = (oyB - oyA) * nvec, rowStep = L.SH * L.RowStride;
        if (!Vector512.IsHardwareAccelerated)
        {
            // 16 vector registers: one slot per tile (three would spill).
            for (int slot = 0; slot < slots; slot++)
            {
                int r = slot / nvec, p = Math.Min(8 * (slot - r * nvec), ow - 8), xo0 = r * rowStep + p, yo0 = (oyA + r) * ow + p;
                Tile8x3<Slots1>(in t, xb, yb, xo0, yo0, xo0, yo0, xo0, yo0);
            }
            return;
        }
        Span<int> xo = stackalloc int[3], yo = stackalloc int[3];
        for (int s = 0; s < slots; s += 3)
        {
            for (int k = 0; k < 3; k++)
            {
                int slot = Math.Min(s + k, slots - 1), r = slot / nvec, p = Math.Min(8 * (slot - r * nvec), ow - 8);
                xo[k] = r * rowStep + p;
                yo[k] = (oyA + r) * ow + p;
            }
            Tile8x3<Slots3>(in t, xb, yb, xo[0], yo[0], xo[1], yo[1], xo[2], yo[2]);
        }
    }

    /// <summary>One output row of one 8-channel block: pairs of 8-column vectors (the last pair may overlap).</summary>
    /// <remarks>Why overlap instead of a scalar tail: the last vector starts at OutW - 8 and recomputes a few columns
    /// of its neighbour. Both vectors of a pair read their starting values before either is stored, so the overlap
    /// is exact even when accumulating; for OutW = 14 that is 2 vectors instead of 1 vector + 6 scalar columns.</remarks>
    private static unsafe void RowTiles(in TileArgs t, float* xr, float* yr, int ow)
    {
        if (ow < 8)
        {
            Tile8x1(in t, xr, yr, 0, ow);
            return;
        }
        int nvec = (ow + 7) / 8, i = 0;
        if ((nvec & 1) != 0)
        {
            Tile8x1(in t, xr, yr, 0, 8);
            i = 1;
        }
        for (; i < nvec; i += 2) Tile8x2(in t, xr, yr, Math.Min(8 * i, ow - 8), Math.Min(8 * i + 8, ow - 8));
    }
}
