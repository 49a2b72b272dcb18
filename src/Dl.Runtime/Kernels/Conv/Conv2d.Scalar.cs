namespace Dl.Kernels;

public static partial class Conv2d
{
    // Scalar float loops: the path when Vector256 is not accelerated (DOTNET_EnableAVX2=0 / EnableHWIntrinsic=0) and the
    // fallback for geometries whose padded block does not fit the direct kernels' stack scratch. Each tap runs over the
    // output columns whose input column is inside the image, so the inner loop has no bounds test.

    /// <summary>First and one-past-last output index o with 0 &lt;= o·s + k - pad &lt; n (the taps that read real input).</summary>
    private static (int Lo, int Hi) ValidRange(int outCount, int n, int s, int k, int pad)
    {
        int lo = pad - k <= 0 ? 0 : (pad - k + s - 1) / s;
        int last = n - 1 + pad - k;
        int hi = last < 0 ? 0 : Math.Min(outCount, last / s + 1);
        return (lo, Math.Max(lo, hi));
    }

    private static unsafe void ScalarForward(in Window2d g, int cout, int batch, float* x, float* w, float* bias, float* y)
    {
        int cin = g.Channels, h = g.Height, wd = g.Width, kh = g.KernelH, kw = g.KernelW, oh = g.OutH, ow = g.OutW;
        int plane = oh * ow;
        for (int n = 0; n < batch; n++)
            for (int co = 0; co < cout; co++)
            {
                float* yp = y + ((nint)n * cout + co) * plane;
                new Span<float>(yp, plane).Fill(bias == null ? 0f : bias[co]);
                for (int ci = 0; ci < cin; ci++)
                {
                    float* xp = x + ((nint)n * cin + ci) * h * wd;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        (int oy0, int oy1) = ValidRange(oh, h, g.StrideH, ky, g.PadTop);
                        for (int kx = 0; kx < kw; kx++)
                        {
                            (int ox0, int ox1) = ValidRange(ow, wd, g.StrideW, kx, g.PadLeft);
                            float wv = w[((co * cin + ci) * kh + ky) * kw + kx];
                            for (int oy = oy0; oy < oy1; oy++)
                            {
                                float* xr = xp + (oy * g.StrideH + ky - g.PadTop) * wd + kx - g.PadLeft;
                                float* yr = yp + oy * ow;
                                for (int ox = ox0; ox < ox1; ox++) yr[ox] += wv * xr[ox * g.StrideW];
                            }
                        }
                    }
                }
            }
    }

    private static unsafe void ScalarBackwardData(in Window2d g, int cout, int batch, float* dy, float* w, float* dx, bool accumulate)
    {
        int cin = g.Channels, h = g.Height, wd = g.Width, kh = g.KernelH, kw = g.KernelW, oh = g.OutH, ow = g.OutW;
        int plane = oh * ow;
        if (!accumulate) new Span<float>(dx, batch * g.InSize).Clear();
        for (int n = 0; n < batch; n++)
            for (int co = 0; co < cout; co++)
            {
                float* gp = dy + ((nint)n * cout + co) * plane;
                for (int ci = 0; ci < cin; ci++)
                {
                    float* xp = dx + ((nint)n * cin + ci) * h * wd;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        (int oy0, int oy1) = ValidRange(oh, h, g.StrideH, ky, g.PadTop);
                        for (int kx = 0; kx < kw; kx++)
                        {
                            (int ox0, int ox1) = ValidRange(ow, wd, g.StrideW, kx, g.PadLeft);
                            float wv = w[((co * cin + ci) * kh + ky) * kw + kx];
                            for (int oy = oy0; oy < oy1; oy++)
                            {
                                float* xr = xp + (oy * g.StrideH + ky - g.PadTop) * wd + kx - g.PadLeft;
                                float* gr = gp + oy * ow;
                                for (int ox = ox0; ox < ox1; ox++) xr[ox * g.StrideW] += wv * gr[ox];
                            }
                        }
                    }
                }
            }
    }

    /// <summary>dw += Σ_n dy_n·col_nᵀ (the caller has cleared dw when not accumulating and handled the bias).</summary>
    private static unsafe void ScalarBackwardWeight(in Window2d g, int cout, int batch, float* x, float* dy, float* dw)
    {
        int cin = g.Channels, h = g.Height, wd = g.Width, kh = g.KernelH, kw = g.KernelW, oh = g.OutH, ow = g.OutW;
        int plane = oh * ow;
        for (int n = 0; n < batch; n++)
            for (int co = 0; co < cout; co++)
            {
                float* gp = dy + ((nint)n * cout + co) * plane;
                for (int ci = 0; ci < cin; ci++)
                {
                    float* xp = x + ((nint)n * cin + ci) * h * wd;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        (int oy0, int oy1) = ValidRange(oh, h, g.StrideH, ky, g.PadTop);
                        for (int kx = 0; kx < kw; kx++)
                        {
                            (int ox0, int ox1) = ValidRange(ow, wd, g.StrideW, kx, g.PadLeft);
                            float s = 0;
                            for (int oy = oy0; oy < oy1; oy++)
                            {
                                float* xr = xp + (oy * g.StrideH + ky - g.PadTop) * wd + kx - g.PadLeft;
                                float* gr = gp + oy * ow;
                                for (int ox = ox0; ox < ox1; ox++) s += gr[ox] * xr[ox * g.StrideW];
                            }
                            dw[((co * cin + ci) * kh + ky) * kw + kx] += s;
                        }
                    }
                }
            }
    }
}
