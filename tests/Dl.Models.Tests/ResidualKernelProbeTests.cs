using Dl.Kernels;

namespace Dl.Tests;

/// <summary>The float im2col convolution and evaluation-mode batch-norm kernels at <see cref="Dl.Models.ResidualCnn"/>'s shapes against their double-precision versions (evidence for the open eval-mode gradient finding in ResidualEvalGradientTests).</summary>
public class ResidualKernelProbeTests
{
    [Theory]
    [InlineData(1, 28, 28, 16, 3, 2, 1)]
    [InlineData(16, 14, 14, 16, 3, 1, 1)]
    [InlineData(16, 14, 14, 32, 3, 2, 1)]
    [InlineData(16, 14, 14, 32, 1, 2, 0)]
    [InlineData(32, 7, 7, 32, 3, 1, 1)]
    public void Conv_FloatMatchesDouble(int c, int h, int w, int cout, int k, int s, int p)
    {
        const int batch = 4;
        var g = new Window2d(c, h, w, k, k, s, s, p, p, p, p);
        var x = ModelHarness.Normal(batch * c * h * w, 1);
        var wt = ModelHarness.Normal(cout * c * k * k, 2);
        var dy = ModelHarness.Normal(batch * cout * g.OutPlane, 3);
        var gemm = new GemmContext(threads: 1);
        var report = new System.Text.StringBuilder();
        double[] X = [.. x.Select(v => (double)v)], W = [.. wt.Select(v => (double)v)], DY = [.. dy.Select(v => (double)v)];
        var dwD = new double[W.Length]; var dbD = new double[cout]; var dxD = new double[X.Length];
        Conv2d.BackwardWeight(in g, cout, batch, X, DY, dwD, dbD, false);
        Conv2d.BackwardData(in g, cout, batch, DY, W, dxD, false);
        var col = new float[batch * Conv2d.ColumnsPerSample(in g)];
        var y = new float[batch * cout * g.OutPlane];
        Conv2d.ForwardIm2Col(in g, cout, batch, x, wt, default, y, col, gemm);
        var dw = new float[W.Length]; var db = new float[cout];
        Conv2d.BackwardWeightIm2Col(in g, cout, batch, x, dy, dw, db, false, col, colValid: true, gemm);
        report.AppendLine($"weight im2col {Worst(dw, dwD):E2} bias {Worst(db, dbD):E2}");
        var dx = new float[X.Length];
        Conv2d.BackwardDataIm2Col(in g, cout, batch, dy, wt, dx, false, new float[Conv2d.ColumnsPerSample(in g)], gemm);
        report.AppendLine($"data im2col {Worst(dx, dxD):E2}");
        Assert.True(Worst(dw, dwD) < 1e-5 && Worst(db, dbD) < 1e-5 && Worst(dx, dxD) < 1e-5, report.ToString());
    }

    [Theory]
    [InlineData(16, 196)]
    [InlineData(32, 49)]
    public void BatchNormEval_FloatMatchesDouble(int channels, int spatial)
    {
        const int batch = 4;
        var x = ModelHarness.Normal(batch * channels * spatial, 1);
        var dy = ModelHarness.Normal(x.Length, 3);
        var gamma = ModelHarness.Normal(channels, 4); var mean = ModelHarness.Normal(channels, 5);
        var variance = ModelHarness.Normal(channels, 6).Select(v => 1f + v * v).ToArray();
        static double[] D(float[] a) => [.. a.Select(v => (double)v)];
        var dxD = new double[x.Length]; var dgD = new double[channels]; var dbD = new double[channels];
        BatchNorm.BackwardEval(batch, channels, spatial, D(x), D(gamma), D(mean), D(variance), 1e-5, D(dy), dxD, dgD, dbD, false);
        var dx = new float[x.Length]; var dg = new float[channels]; var db = new float[channels];
        BatchNorm.BackwardEval(batch, channels, spatial, x, gamma, mean, variance, 1e-5f, dy, dx, dg, db, false);
        Assert.True(Worst(dx, dxD) < 1e-5 && Worst(dg, dgD) < 1e-5 && Worst(db, dbD) < 1e-5,
            $"dx {Worst(dx, dxD):E2} dgamma {Worst(dg, dgD):E2} dbeta {Worst(db, dbD):E2}");
    }

    private static double Worst(float[] a, double[] b)
    {
        double scale = b.Max(Math.Abs), worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]) / scale);
        return worst;
    }
}
