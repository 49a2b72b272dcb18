using Dl.Kernels;

namespace Dl.Tests.Ops;

/// <summary>The transposed convolution (Dl.Kernels.ConvTranspose2d over the Conv2d kernels): its forward pass against
/// the scatter definition in double, the float direct and im2col variants against it, and the gradients (the adjoint
/// convolution's forward pass and weight gradient, the bias sum) against finite differences.</summary>
public class ConvTranspose2dKernelTests
{
    private static double[] Random(int n, int seed)
    {
        var r = new DlRandom((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => r.NextDouble() - 0.5).ToArray();
    }

    /// <summary>y[n, co, iy·s - p + ky, ix·s - p + kx] += w[ci, co, ky, kx]·x[n, ci, iy, ix], plus bias[co] everywhere.</summary>
    private static double[] Definition(int batch, int cin, int h, int wd, int cout, int kh, int kw, int sh, int sw, int ph, int pw, int oph, int opw,
        double[] x, double[] w, double[]? bias)
    {
        int oh = (h - 1) * sh - 2 * ph + kh + oph, ow = (wd - 1) * sw - 2 * pw + kw + opw;
        var y = new double[batch * cout * oh * ow];
        for (int n = 0; n < batch; n++)
            for (int co = 0; co < cout; co++)
            {
                for (int i = 0; i < oh * ow; i++) y[(n * cout + co) * oh * ow + i] = bias?[co] ?? 0;
                for (int ci = 0; ci < cin; ci++)
                    for (int iy = 0; iy < h; iy++)
                        for (int ix = 0; ix < wd; ix++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int oy = iy * sh - ph + ky, ox = ix * sw - pw + kx;
                                    if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                                    y[((n * cout + co) * oh + oy) * ow + ox] += w[((ci * cout + co) * kh + ky) * kw + kx] * x[((n * cin + ci) * h + iy) * wd + ix];
                                }
            }
        return y;
    }

    /// <summary>(batch, cin, H, W, cout, kh, kw, sh, sw, ph, pw, oph, opw): strided with output padding (im2col), a
    /// rectangular kernel, stride 1 with padding on wide rows (direct), and a 1x1 kernel.</summary>
    public static TheoryData<int[]> Shapes => new()
    {
        new[] { 2, 3, 5, 6, 4, 3, 3, 2, 2, 1, 1, 1, 1 },
        new[] { 3, 2, 4, 5, 3, 2, 3, 1, 2, 0, 1, 0, 1 },
        new[] { 2, 4, 9, 11, 5, 3, 3, 1, 1, 1, 1, 0, 0 },
        new[] { 1, 3, 3, 3, 2, 1, 1, 3, 2, 0, 0, 2, 1 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_MatchesTheDefinition_InDoubleAndBothFloatVariants(int[] s)
    {
        int batch = s[0], cin = s[1], h = s[2], wd = s[3], cout = s[4];
        var g = ConvTranspose2d.Adjoint(cin, h, wd, cout, s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12]);
        double[] x = Random(batch * cin * h * wd, 1), w = Random(cin * cout * s[5] * s[6], 2), bias = Random(cout, 3);
        double[] expected = Definition(batch, cin, h, wd, cout, s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], x, w, bias);
        Assert.Equal(expected.Length, batch * g.InSize);
        var y = new double[expected.Length];
        ConvTranspose2d.Forward(in g, cin, batch, x, w, bias, y);
        for (int i = 0; i < y.Length; i++) Assert.Equal(expected[i], y[i], 1e-12);

        float[] xf = x.Select(v => (float)v).ToArray(), wf = w.Select(v => (float)v).ToArray(), bf = bias.Select(v => (float)v).ToArray();
        var direct = new float[y.Length];
        ConvTranspose2d.ForwardDirect(in g, cin, batch, xf, wf, bf, direct);
        var im2col = new float[y.Length];
        using (var gemm = new GemmContext(1))
            ConvTranspose2d.ForwardIm2Col(in g, cin, batch, xf, wf, bf, im2col, new float[Conv2d.ColumnsPerSample(in g)], gemm);
        for (int i = 0; i < y.Length; i++)
        {
            Assert.Equal(expected[i], direct[i], 1e-5);
            Assert.Equal(expected[i], im2col[i], 1e-5);
        }
        // Without a bias the output is overwritten, whatever it held.
        Array.Fill(direct, 7f);
        ConvTranspose2d.ForwardDirect(in g, cin, batch, xf, wf, default, direct);
        double[] unbiased = Definition(batch, cin, h, wd, cout, s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], x, w, null);
        for (int i = 0; i < y.Length; i++) Assert.Equal(unbiased[i], direct[i], 1e-5);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Gradients_MatchFiniteDifferences(int[] s)
    {
        int batch = s[0], cin = s[1], h = s[2], wd = s[3], cout = s[4];
        var g = ConvTranspose2d.Adjoint(cin, h, wd, cout, s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12]);
        double[] x = Random(batch * cin * h * wd, 4), w = Random(cin * cout * s[5] * s[6], 5), bias = Random(cout, 6), dy = Random(batch * g.InSize, 7);
        double Loss()
        {
            var y = new double[dy.Length];
            ConvTranspose2d.Forward(in g, cin, batch, x, w, bias, y);
            return y.Zip(dy, (a, b) => a * b).Sum();
        }
        // The rules both engines run: dx = conv(dy, W), dW = the convolution's weight gradient of (dy, x), db = Σ dy.
        var dx = new double[x.Length];
        Conv2d.Forward(in g, cin, batch, dy, w, default, dx);
        var dw = new double[w.Length];
        Conv2d.BackwardWeight(in g, cin, batch, dy, x, dw, default, accumulate: false);
        var db = new double[cout];
        ConvTranspose2d.BiasGradient<double>(in g, batch, dy, db, accumulate: false);
        const double step = 1e-6;
        void Check(double[] v, double[] grad, string what)
        {
            for (int i = 0; i < v.Length; i++)
            {
                double keep = v[i];
                v[i] = keep + step; double up = Loss();
                v[i] = keep - step; double down = Loss();
                v[i] = keep;
                Assert.True(Math.Abs((up - down) / (2 * step) - grad[i]) < 1e-6, $"{what}[{i}]: {grad[i]} vs {(up - down) / (2 * step)}");
            }
        }
        Check(x, dx, "dx");
        Check(w, dw, "dW");
        Check(bias, db, "db");

        // The float kernels of both choices give the same gradients.
        float[] dyf = dy.Select(v => (float)v).ToArray(), xf = x.Select(v => (float)v).ToArray(), wf = w.Select(v => (float)v).ToArray();
        using var gemm = new GemmContext(1);
        var col = new float[batch * Conv2d.ColumnsPerSample(in g)];
        float[] dxDirect = new float[dx.Length], dxIm2Col = new float[dx.Length], dwDirect = new float[dw.Length], dwIm2Col = new float[dw.Length];
        Conv2d.ForwardDirect(in g, cin, batch, dyf, wf, default, dxDirect);
        Conv2d.ForwardIm2Col(in g, cin, batch, dyf, wf, default, dxIm2Col, col, gemm);
        Conv2d.BackwardWeightDirect(in g, cin, batch, dyf, xf, dwDirect, default, accumulate: false);
        Conv2d.BackwardWeightIm2Col(in g, cin, batch, dyf, xf, dwIm2Col, default, accumulate: false, col, colValid: true, gemm);
        for (int i = 0; i < dx.Length; i++) { Assert.Equal(dx[i], dxDirect[i], 1e-5); Assert.Equal(dx[i], dxIm2Col[i], 1e-5); }
        for (int i = 0; i < dw.Length; i++) { Assert.Equal(dw[i], dwDirect[i], 1e-4); Assert.Equal(dw[i], dwIm2Col[i], 1e-4); }
        var dbf = new float[cout];
        dbf[0] = 1f;
        ConvTranspose2d.BiasGradient<float>(in g, batch, dyf, dbf, accumulate: true);
        Assert.Equal(1 + db[0], dbf[0], 1e-5);
    }

    [Fact]
    public void Adjoint_RejectsWithTheSharedRule()
    {
        var e = Assert.Throws<ArgumentException>(() => ConvTranspose2d.Adjoint(2, 6, 6, 2, 3, 3, 2, 2, 1, 1, 2, 0));
        Assert.Equal($"ConvTranspose2d: {WindowGeometry.CheckTransposed(2, 6, 6, 2, 3, 3, 2, 2, 1, 1, 2, 0)}.", e.Message);
        Assert.Contains("output padding (2, 0) must be non-negative and smaller than the stride (2, 2)", e.Message);
        Assert.Equal(12, WindowGeometry.TransposedOutSize(6, 3, 2, 1, 1));   // (6 - 1)·2 - 2 + 3 + 1
    }
}
