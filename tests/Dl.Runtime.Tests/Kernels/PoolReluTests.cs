using Dl.Kernels;

namespace Dl.Tests.Kernels;

/// <summary>Max pooling with the ReLU fused in (<c>relu: true</c>) equals ReLU then max pooling, values and gradients,
/// on data with exact zeros, negative windows and ties, for the 2x2 fast path and a general window.</summary>
public class PoolReluTests
{
    public static TheoryData<int, int, int, int, int, int, int> Geometries => new()
    {
        // channels, height, width, kernel, stride, padding, batch
        { 8, 28, 28, 2, 2, 0, 3 },
        { 16, 14, 14, 2, 2, 0, 2 },
        { 3, 9, 11, 3, 2, 1, 2 },
        { 5, 7, 10, 2, 1, 0, 1 },
    };

    private static float[] Data(int n, int seed)
    {
        var r = new Random(seed);
        var a = new float[n];
        // Quantized values: many exact zeros, negative windows and ties.
        for (int i = 0; i < n; i++) a[i] = r.Next(-6, 5) * 0.5f;
        return a;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void FusedReluMaxPool_EqualsReluThenMaxPool(int c, int h, int w, int k, int s, int p, int batch)
    {
        var g = new Window2d(c, h, w, k, k, s, s, p, p, p, p);
        var x = Data(batch * g.InSize, 1);
        var dy = Data(batch * c * g.OutPlane, 2);
        var relu = x.Select(v => Math.Max(v, 0f)).ToArray();

        var expectedY = new float[dy.Length];
        Pool2d.MaxForward(g, batch, relu, expectedY);
        var expectedDx = new float[x.Length];
        Pool2d.MaxBackward(g, batch, relu, expectedY, dy, expectedDx, accumulate: false);
        for (int i = 0; i < x.Length; i++) if (!(x[i] > 0f)) expectedDx[i] = 0f;   // ReLU'(x) = 0 for x <= 0

        var y = new float[dy.Length];
        Pool2d.MaxForward(g, batch, x, y, relu: true);
        Assert.Equal(expectedY, y);
        var dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        Pool2d.MaxBackward(g, batch, x, y, dy, dx, accumulate: false, relu: true);
        Assert.Equal(expectedDx, dx);

        var acc = Data(x.Length, 3);
        var accExpected = acc.Zip(expectedDx, (a, b) => a + b).ToArray();
        Pool2d.MaxBackward(g, batch, x, y, dy, acc, accumulate: true, relu: true);
        Assert.Equal(accExpected, acc);

        var yd = new double[dy.Length];
        var xd = x.Select(v => (double)v).ToArray();
        Pool2d.MaxForward(g, batch, xd, yd, relu: true);
        Assert.Equal(expectedY.Select(v => (double)v), yd);
        var dxd = new double[x.Length];
        Pool2d.MaxBackward(g, batch, xd, yd, dy.Select(v => (double)v).ToArray(), dxd, accumulate: false, relu: true);
        Assert.Equal(expectedDx.Select(v => (double)v), dxd);
    }
}
