using System.Runtime.Intrinsics;

namespace Dl.Kernels;

public static partial class Conv2d
{
    /// <summary>y = conv(x, w) + bias as y_n = W[cout, ColRows]·col_n[ColRows, OutPlane] per sample.</summary>
    /// <remarks>Fills <paramref name="col"/> (batch·<see cref="ColumnsPerSample"/> floats) with every sample's im2col
    /// matrix and leaves it there, so <see cref="BackwardWeightIm2Col"/> can pass <c>colValid: true</c>. With a bias the
    /// output planes are pre-filled and the GEMM accumulates onto them (no separate bias pass).</remarks>
    public static unsafe void ForwardIm2Col(in Window2d g, int cout, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, Span<float> y, Span<float> col, GemmContext ctx)
    {
        Check(in g, cout, batch, x.Length, w.Length, bias.Length, y.Length, nameof(x), nameof(y));
        CheckColumns(in g, batch, col.Length);
        ArgumentNullException.ThrowIfNull(ctx);
        int plane = g.OutPlane, cols = ColumnsPerSample(in g), k = g.ColRows;
        fixed (float* px = x, pc = col)
        {
            for (int n = 0; n < batch; n++)
            {
                Im2Col(in g, px + (nint)n * g.InSize, pc + (nint)n * cols);
                Span<float> yn = y.Slice(n * cout * plane, cout * plane);
                if (!bias.IsEmpty)
                    for (int co = 0; co < cout; co++) yn.Slice(co * plane, plane).Fill(bias[co]);
                Gemm.Multiply(w[..(cout * k)], col.Slice(n * cols, cols), yn, cout, plane, k,
                    transA: false, transB: false, accumulate: !bias.IsEmpty, ctx);
            }
        }
    }

    /// <summary>dx (+)= convᵀ(dy, w): per sample dcol = Wᵀ·dy_n (GEMM) folded back onto dx by col2im.</summary>
    /// <remarks>Uses the first <see cref="ColumnsPerSample"/> floats of <paramref name="col"/> for every sample (the
    /// matrix stays in cache between the GEMM and the fold).</remarks>
    public static unsafe void BackwardDataIm2Col(in Window2d g, int cout, int batch, ReadOnlySpan<float> dy, ReadOnlySpan<float> w,
        Span<float> dx, bool accumulate, Span<float> col, GemmContext ctx)
    {
        Check(in g, cout, batch, dx.Length, w.Length, 0, dy.Length, nameof(dx), nameof(dy));
        CheckColumns(in g, Math.Min(batch, 1), col.Length);
        ArgumentNullException.ThrowIfNull(ctx);
        int plane = g.OutPlane, cols = ColumnsPerSample(in g), k = g.ColRows;
        Span<float> dcol = col[..cols];
        fixed (float* pc = col, pdx = dx)
        {
            for (int n = 0; n < batch; n++)
            {
                Gemm.Multiply(w[..(cout * k)], dy.Slice(n * cout * plane, cout * plane), dcol, k, plane, cout,
                    transA: true, transB: false, accumulate: false, ctx);
                float* dxn = pdx + (nint)n * g.InSize;
                if (!accumulate) new Span<float>(dxn, g.InSize).Clear();
                Col2ImAdd(in g, pc, dxn);
            }
        }
    }

    /// <summary>dw (+)= Σ_n dy_n·col_nᵀ (GEMM with K = OutPlane) and dbias (+)= Σ dy (skipped when empty).</summary>
    /// <remarks>When <paramref name="colValid"/> the workspace still holds the forward pass's im2col matrices of this
    /// same x; otherwise each sample is unfolded here (into its own slot, so the workspace ends up valid too).</remarks>
    public static unsafe void BackwardWeightIm2Col(in Window2d g, int cout, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> dy,
        Span<float> dw, Span<float> dbias, bool accumulate, Span<float> col, bool colValid, GemmContext ctx)
    {
        Check(in g, cout, batch, x.Length, dw.Length, dbias.Length, dy.Length, nameof(x), nameof(dy));
        CheckColumns(in g, batch, col.Length);
        ArgumentNullException.ThrowIfNull(ctx);
        int plane = g.OutPlane, cols = ColumnsPerSample(in g), k = g.ColRows;
        Span<float> dwm = dw[..(cout * k)];
        if (!accumulate)
        {
            if (batch == 0) dwm.Clear();
            if (!dbias.IsEmpty) dbias[..cout].Clear();
        }
        fixed (float* px = x, pc = col, pg = dy, pb = dbias)
        {
            if (!dbias.IsEmpty && batch > 0) BiasGradient(cout, batch, plane, pg, pb);
            for (int n = 0; n < batch; n++)
            {
                if (!colValid) Im2Col(in g, px + (nint)n * g.InSize, pc + (nint)n * cols);
                Gemm.Multiply(dy.Slice(n * cout * plane, cout * plane), col.Slice(n * cols, cols), dwm, cout, k, plane,
                    transA: false, transB: true, accumulate: accumulate || n > 0, ctx);
            }
        }
    }

    /// <summary>col[(ci·KH + ky)·KW + kx, oy·OutW + ox] = x[ci, oy·sh + ky - pt, ox·sw + kx - pl] (0 in the padding).</summary>
    /// <remarks>Every element is written (no reliance on a pre-zeroed workspace); each (row, oy) segment is a zero run,
    /// a copy (contiguous when sw = 1) and a zero run.</remarks>
    private static unsafe void Im2Col(in Window2d g, float* x, float* col)
    {
        int h = g.Height, wd = g.Width, oh = g.OutH, ow = g.OutW, sh = g.StrideH, sw = g.StrideW;
        int plane = oh * ow;
        float* dst = col;
        for (int ci = 0; ci < g.Channels; ci++)
        {
            float* xc = x + (nint)ci * h * wd;
            for (int ky = 0; ky < g.KernelH; ky++)
            {
                (int oy0, int oy1) = ValidRange(oh, h, sh, ky, g.PadTop);
                for (int kx = 0; kx < g.KernelW; kx++, dst += plane)
                {
                    (int ox0, int ox1) = ValidRange(ow, wd, sw, kx, g.PadLeft);
                    if (oy0 > 0) new Span<float>(dst, oy0 * ow).Clear();
                    if (oy1 < oh) new Span<float>(dst + oy1 * ow, (oh - oy1) * ow).Clear();
                    for (int oy = oy0; oy < oy1; oy++)
                    {
                        float* d = dst + oy * ow;
                        float* s = xc + (oy * sh + ky - g.PadTop) * wd + kx - g.PadLeft;
                        for (int ox = 0; ox < ox0; ox++) d[ox] = 0;
                        if (sw == 1) new ReadOnlySpan<float>(s + ox0, ox1 - ox0).CopyTo(new Span<float>(d + ox0, ox1 - ox0));
                        else for (int ox = ox0; ox < ox1; ox++) d[ox] = s[ox * sw];
                        for (int ox = ox1; ox < ow; ox++) d[ox] = 0;
                    }
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: x[ci, iy, ix] += col[row, plane] over every tap that read it.</summary>
    private static unsafe void Col2ImAdd(in Window2d g, float* col, float* x)
    {
        int h = g.Height, wd = g.Width, oh = g.OutH, ow = g.OutW, sh = g.StrideH, sw = g.StrideW;
        int plane = oh * ow;
        float* src = col;
        for (int ci = 0; ci < g.Channels; ci++)
        {
            float* xc = x + (nint)ci * h * wd;
            for (int ky = 0; ky < g.KernelH; ky++)
            {
                (int oy0, int oy1) = ValidRange(oh, h, sh, ky, g.PadTop);
                for (int kx = 0; kx < g.KernelW; kx++, src += plane)
                {
                    (int ox0, int ox1) = ValidRange(ow, wd, sw, kx, g.PadLeft);
                    for (int oy = oy0; oy < oy1; oy++)
                    {
                        float* s = src + oy * ow;
                        float* d = xc + (oy * sh + ky - g.PadTop) * wd + kx - g.PadLeft;
                        if (sw == 1) AddTo(s + ox0, d + ox0, ox1 - ox0);
                        else for (int ox = ox0; ox < ox1; ox++) d[ox * sw] += s[ox];
                    }
                }
            }
        }
    }

    /// <summary>d[i] += s[i] for i &lt; n.</summary>
    private static unsafe void AddTo(float* s, float* d, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) (Vector256.Load(d + i) + Vector256.Load(s + i)).Store(d + i);
        for (; i < n; i++) d[i] += s[i];
    }
}
