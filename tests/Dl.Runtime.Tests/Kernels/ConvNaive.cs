using Dl.Kernels;

namespace Dl.Tests;

/// <summary>
/// Test-side oracle for convolution and pooling, written independently of the library: every value is computed
/// from an explicitly zero-padded (or -∞-padded) copy of the input, straight from the definitions.
/// </summary>
internal static class ConvNaive
{
    /// <summary>The padded plane of channel c of sample n as [H + pt + pb, W + pl + pr] doubles.</summary>
    public static double[,] Padded(in Window2d g, ReadOnlySpan<float> x, int n, int c, double fill)
    {
        int hp = g.Height + g.PadTop + g.PadBottom, wp = g.Width + g.PadLeft + g.PadRight;
        var p = new double[hp, wp];
        for (int r = 0; r < hp; r++)
            for (int q = 0; q < wp; q++)
            {
                int iy = r - g.PadTop, ix = q - g.PadLeft;
                p[r, q] = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width
                    ? x[((n * g.Channels + c) * g.Height + iy) * g.Width + ix]
                    : fill;
            }
        return p;
    }

    public static double[] Forward(in Window2d g, int cout, int batch, float[] x, float[] w, float[]? bias)
    {
        int cin = g.Channels, oh = g.OutH, ow = g.OutW;
        var y = new double[batch * cout * oh * ow];
        for (int n = 0; n < batch; n++)
        {
            var planes = new double[cin][,];
            for (int c = 0; c < cin; c++) planes[c] = Padded(in g, x, n, c, 0);
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double s = bias is null ? 0 : bias[co];
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < g.KernelH; ky++)
                                for (int kx = 0; kx < g.KernelW; kx++)
                                    s += w[((co * cin + ci) * g.KernelH + ky) * g.KernelW + kx]
                                        * planes[ci][oy * g.StrideH + ky, ox * g.StrideW + kx];
                        y[((n * cout + co) * oh + oy) * ow + ox] = s;
                    }
        }
        return y;
    }

    /// <summary>dx[n, ci, iy, ix] = Σ over every (co, oy, ox, ky, kx) whose tap lands on (iy, ix) of w·dy.</summary>
    public static double[] BackwardData(in Window2d g, int cout, int batch, float[] dy, float[] w)
    {
        int cin = g.Channels, oh = g.OutH, ow = g.OutW, h = g.Height, wd = g.Width;
        var dx = new double[batch * g.InSize];
        for (int n = 0; n < batch; n++)
            for (int ci = 0; ci < cin; ci++)
                for (int iy = 0; iy < h; iy++)
                    for (int ix = 0; ix < wd; ix++)
                    {
                        double s = 0;
                        for (int ky = 0; ky < g.KernelH; ky++)
                        {
                            int ty = iy + g.PadTop - ky;
                            if (ty < 0 || ty % g.StrideH != 0 || ty / g.StrideH >= oh) continue;
                            for (int kx = 0; kx < g.KernelW; kx++)
                            {
                                int tx = ix + g.PadLeft - kx;
                                if (tx < 0 || tx % g.StrideW != 0 || tx / g.StrideW >= ow) continue;
                                for (int co = 0; co < cout; co++)
                                    s += (double)w[((co * cin + ci) * g.KernelH + ky) * g.KernelW + kx]
                                        * dy[((n * cout + co) * oh + ty / g.StrideH) * ow + tx / g.StrideW];
                            }
                        }
                        dx[((n * cin + ci) * h + iy) * wd + ix] = s;
                    }
        return dx;
    }

    public static (double[] Dw, double[] Db) BackwardWeight(in Window2d g, int cout, int batch, float[] x, float[] dy)
    {
        int cin = g.Channels, oh = g.OutH, ow = g.OutW;
        var dw = new double[cout * g.ColRows];
        var db = new double[cout];
        for (int n = 0; n < batch; n++)
        {
            var planes = new double[cin][,];
            for (int c = 0; c < cin; c++) planes[c] = Padded(in g, x, n, c, 0);
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double gv = dy[((n * cout + co) * oh + oy) * ow + ox];
                        db[co] += gv;
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < g.KernelH; ky++)
                                for (int kx = 0; kx < g.KernelW; kx++)
                                    dw[((co * cin + ci) * g.KernelH + ky) * g.KernelW + kx]
                                        += gv * planes[ci][oy * g.StrideH + ky, ox * g.StrideW + kx];
                    }
        }
        return (dw, db);
    }

    /// <summary>Max or average pooling forward and the flat input index each output's gradient goes to (max only).</summary>
    public static (double[] Y, int[] ArgMax) Pool(in Window2d g, int batch, float[] x, bool max)
    {
        int c = g.Channels, oh = g.OutH, ow = g.OutW;
        var y = new double[batch * c * oh * ow];
        var arg = new int[y.Length];
        for (int n = 0; n < batch; n++)
            for (int ch = 0; ch < c; ch++)
            {
                double[,] p = Padded(in g, x, n, ch, max ? double.NegativeInfinity : 0);
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double best = double.NegativeInfinity, sum = 0;
                        int bestAt = -1;
                        for (int ky = 0; ky < g.KernelH; ky++)
                            for (int kx = 0; kx < g.KernelW; kx++)
                            {
                                int r = oy * g.StrideH + ky, q = ox * g.StrideW + kx;
                                double v = p[r, q];
                                sum += v;
                                int iy = r - g.PadTop, ix = q - g.PadLeft;
                                bool real = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width;
                                if (real && (bestAt < 0 || v > best))
                                {
                                    best = v;
                                    bestAt = ((n * c + ch) * g.Height + iy) * g.Width + ix;
                                }
                            }
                        int o = ((n * c + ch) * oh + oy) * ow + ox;
                        y[o] = max ? best : sum / (g.KernelH * g.KernelW);
                        arg[o] = bestAt;
                    }
            }
        return (y, arg);
    }

    public static float[] Random(Random rnd, int length, double scale = 1)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)((rnd.NextDouble() * 2 - 1) * scale);
        return a;
    }

    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    /// <summary>Asserts |expected - actual| &lt;= tol·(1 + |expected|) elementwise (float kernels sum in other orders).</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double tol, string what)
    {
        Assert.True(actual.Length >= expected.Length, $"{what}: {actual.Length} values, expected {expected.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            if (!(err <= tol * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (|err| {err:E2} > {tol:E1}).");
        }
    }

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tol, string what)
    {
        Assert.True(actual.Length >= expected.Length, $"{what}: {actual.Length} values, expected {expected.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            if (!(err <= tol * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (|err| {err:E2} > {tol:E1}).");
        }
    }
}
