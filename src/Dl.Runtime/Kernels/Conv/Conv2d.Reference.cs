namespace Dl.Kernels;

public static partial class Conv2d
{
    /// <summary>y = conv(x, w) + bias in double precision (the dynamic tape's double mode and the tests' oracle).</summary>
    /// <remarks>Plain loops over the definition y[n,co,oy,ox] = bias[co] + Σ_{ci,ky,kx} w[co,ci,ky,kx]·x[n,ci,oy·sh+ky-pt,ox·sw+kx-pl]:
    /// correct for every geometry, not tuned for speed.</remarks>
    public static void Forward(in Window2d g, int cout, int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> w,
        ReadOnlySpan<double> bias, Span<double> y)
    {
        Check(in g, cout, batch, x.Length, w.Length, bias.Length, y.Length, nameof(x), nameof(y));
        int cin = g.Channels, h = g.Height, wd = g.Width, kh = g.KernelH, kw = g.KernelW, oh = g.OutH, ow = g.OutW;
        for (int n = 0; n < batch; n++)
            for (int co = 0; co < cout; co++)
            {
                Span<double> yp = y.Slice((n * cout + co) * oh * ow, oh * ow);
                yp.Fill(bias.IsEmpty ? 0 : bias[co]);
                for (int ci = 0; ci < cin; ci++)
                {
                    ReadOnlySpan<double> xp = x.Slice((n * cin + ci) * h * wd, h * wd);
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            double wv = w[((co * cin + ci) * kh + ky) * kw + kx];
                            for (int oy = 0; oy < oh; oy++)
                            {
                                int iy = oy * g.StrideH + ky - g.PadTop;
                                if ((uint)iy >= (uint)h) continue;
                                for (int ox = 0; ox < ow; ox++)
                                {
                                    int ix = ox * g.StrideW + kx - g.PadLeft;
                                    if ((uint)ix < (uint)wd) yp[oy * ow + ox] += wv * xp[iy * wd + ix];
                                }
                            }
                        }
                }
            }
    }

    /// <summary>dx (+)= convᵀ(dy, w) in double precision: every dy[n,co,oy,ox] spreads w[co,·,·,·]·dy over the window it came from.</summary>
    public static void BackwardData(in Window2d g, int cout, int batch, ReadOnlySpan<double> dy, ReadOnlySpan<double> w,
        Span<double> dx, bool accumulate)
    {
        Check(in g, cout, batch, dx.Length, w.Length, 0, dy.Length, nameof(dx), nameof(dy));
        int cin = g.Channels, h = g.Height, wd = g.Width, kh = g.KernelH, kw = g.KernelW, oh = g.OutH, ow = g.OutW;
        if (!accumulate) dx[..(batch * g.InSize)].Clear();
        for (int n = 0; n < batch; n++)
            for (int co = 0; co < cout; co++)
            {
                ReadOnlySpan<double> gp = dy.Slice((n * cout + co) * oh * ow, oh * ow);
                for (int ci = 0; ci < cin; ci++)
                {
                    Span<double> xp = dx.Slice((n * cin + ci) * h * wd, h * wd);
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            double wv = w[((co * cin + ci) * kh + ky) * kw + kx];
                            for (int oy = 0; oy < oh; oy++)
                            {
                                int iy = oy * g.StrideH + ky - g.PadTop;
                                if ((uint)iy >= (uint)h) continue;
                                for (int ox = 0; ox < ow; ox++)
                                {
                                    int ix = ox * g.StrideW + kx - g.PadLeft;
                                    if ((uint)ix < (uint)wd) xp[iy * wd + ix] += wv * gp[oy * ow + ox];
                                }
                            }
                        }
                }
            }
    }

    /// <summary>dw (+)= Σ_n dy_n·col_nᵀ and dbias (+)= Σ_{n,plane} dy in double precision (dbias skipped when empty).</summary>
    public static void BackwardWeight(in Window2d g, int cout, int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> dy,
        Span<double> dw, Span<double> dbias, bool accumulate)
    {
        Check(in g, cout, batch, x.Length, dw.Length, dbias.Length, dy.Length, nameof(x), nameof(dy));
        int cin = g.Channels, h = g.Height, wd = g.Width, kh = g.KernelH, kw = g.KernelW, oh = g.OutH, ow = g.OutW;
        if (!accumulate)
        {
            dw[..(cout * g.ColRows)].Clear();
            if (!dbias.IsEmpty) dbias[..cout].Clear();
        }
        for (int n = 0; n < batch; n++)
            for (int co = 0; co < cout; co++)
            {
                ReadOnlySpan<double> gp = dy.Slice((n * cout + co) * oh * ow, oh * ow);
                if (!dbias.IsEmpty)
                {
                    double s = 0;
                    foreach (double v in gp) s += v;
                    dbias[co] += s;
                }
                for (int ci = 0; ci < cin; ci++)
                {
                    ReadOnlySpan<double> xp = x.Slice((n * cin + ci) * h * wd, h * wd);
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            double s = 0;
                            for (int oy = 0; oy < oh; oy++)
                            {
                                int iy = oy * g.StrideH + ky - g.PadTop;
                                if ((uint)iy >= (uint)h) continue;
                                for (int ox = 0; ox < ow; ox++)
                                {
                                    int ix = ox * g.StrideW + kx - g.PadLeft;
                                    if ((uint)ix < (uint)wd) s += gp[oy * ow + ox] * xp[iy * wd + ix];
                                }
                            }
                            dw[((co * cin + ci) * kh + ky) * kw + kx] += s;
                        }
                }
            }
    }
}
