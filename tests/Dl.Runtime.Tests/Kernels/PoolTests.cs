using Dl.Kernels;

namespace Dl.Tests;

/// <summary>Pool2d max/avg forward and backward (float and double) against <see cref="ConvNaive"/>, worked
/// examples, the first-maximum tie rule, the 2×2/2 fast path, argument checks and allocation.</summary>
public class PoolTests
{
    private static readonly (Window2d G, int Batch)[] Cases =
    [
        (new Window2d(8, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0), 3),   // cnn_lenetish pool1 (vector path)
        (new Window2d(16, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0), 2),  // pool2 (OutW 7: scalar tail)
        (new Window2d(3, 9, 37, 2, 2, 2, 2, 0, 0, 0, 0), 2),    // odd sizes: unused last row/column
        (new Window2d(2, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1), 3),     // 3x3/2 with padding (overlapping windows)
        (new Window2d(3, 6, 11, 2, 3, 1, 2, 1, 0, 0, 2), 2),    // asymmetric
        (new Window2d(1, 5, 5, 5, 5, 1, 1, 0, 0, 0, 0), 1),     // global
        (new Window2d(4, 1, 20, 1, 3, 1, 3, 0, 0, 1, 1), 3),    // 1-D
        (new Window2d(2, 8, 8, 2, 2, 1, 1, 0, 0, 0, 0), 2),     // stride 1
    ];

    public static TheoryData<int> CaseIndices()
    {
        var d = new TheoryData<int>();
        for (int i = 0; i < Cases.Length; i++) d.Add(i);
        return d;
    }

    /// <summary>Inputs with many exact ties (small integers), so the first-maximum rule is exercised everywhere.</summary>
    private static float[] TieHeavy(Random rnd, int length)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = rnd.Next(-3, 4);
        return a;
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Max_ForwardBackward_FloatAndDouble_MatchNaive(int index)
    {
        (Window2d g, int batch) = Cases[index];
        var rnd = new Random(10 + index);
        foreach (bool ties in new[] { false, true })
        {
            float[] x = ties ? TieHeavy(rnd, batch * g.InSize) : ConvNaive.Random(rnd, batch * g.InSize);
            float[] dy = ConvNaive.Random(rnd, batch * g.Channels * g.OutPlane), dx0 = ConvNaive.Random(rnd, x.Length);
            (double[] ey, int[] arg) = ConvNaive.Pool(in g, batch, x, max: true);
            var grad = new double[x.Length];
            for (int o = 0; o < arg.Length; o++) grad[arg[o]] += dy[o];
            string what = $"case {index} {g} batch {batch} ties {ties}";

            var y = new float[ey.Length];
            Pool2d.MaxForward(in g, batch, x, y);
            ConvNaive.AssertClose(ey, y, 0, "float forward " + what);
            var yd = new double[ey.Length];
            Pool2d.MaxForward(in g, batch, ConvNaive.ToDouble(x), yd);
            ConvNaive.AssertClose(ey, yd, 0, "double forward " + what);

            foreach (bool acc in new[] { false, true })
            {
                double[] expected = acc ? grad.Select((v, i) => v + dx0[i]).ToArray() : grad;
                float[] dx = acc ? (float[])dx0.Clone() : Enumerable.Repeat(float.NaN, x.Length).ToArray();
                Pool2d.MaxBackward(in g, batch, x, y, dy, dx, acc);
                ConvNaive.AssertClose(expected, dx, 1e-6, $"float backward accumulate {acc} " + what);
                double[] dxd = acc ? ConvNaive.ToDouble(dx0) : Enumerable.Repeat(double.NaN, x.Length).ToArray();
                Pool2d.MaxBackward(in g, batch, ConvNaive.ToDouble(x), yd, ConvNaive.ToDouble(dy), dxd, acc);
                ConvNaive.AssertClose(expected, dxd, 1e-12, $"double backward accumulate {acc} " + what);
            }
        }
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Avg_ForwardBackward_FloatAndDouble_MatchNaive(int index)
    {
        (Window2d g, int batch) = Cases[index];
        var rnd = new Random(20 + index);
        float[] x = ConvNaive.Random(rnd, batch * g.InSize);
        float[] dy = ConvNaive.Random(rnd, batch * g.Channels * g.OutPlane), dx0 = ConvNaive.Random(rnd, x.Length);
        (double[] ey, _) = ConvNaive.Pool(in g, batch, x, max: false);
        // Avg pooling is linear: its backward is the exact adjoint, built here from unit vectors of the naive forward.
        var grad = new double[x.Length];
        int oh = g.OutH, ow = g.OutW, area = g.KernelH * g.KernelW;
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < g.Channels; c++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                        for (int ky = 0; ky < g.KernelH; ky++)
                            for (int kx = 0; kx < g.KernelW; kx++)
                            {
                                int iy = oy * g.StrideH + ky - g.PadTop, ix = ox * g.StrideW + kx - g.PadLeft;
                                if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                                grad[((n * g.Channels + c) * g.Height + iy) * g.Width + ix] += (double)dy[((n * g.Channels + c) * oh + oy) * ow + ox] / area;
                            }
        string what = $"case {index} {g} batch {batch}";
        var y = new float[ey.Length];
        Pool2d.AvgForward(in g, batch, x, y);
        ConvNaive.AssertClose(ey, y, 1e-6, "float forward " + what);
        var yd = new double[ey.Length];
        Pool2d.AvgForward(in g, batch, ConvNaive.ToDouble(x), yd);
        ConvNaive.AssertClose(ey, yd, 1e-12, "double forward " + what);
        foreach (bool acc in new[] { false, true })
        {
            double[] expected = acc ? grad.Select((v, i) => v + dx0[i]).ToArray() : grad;
            float[] dx = acc ? (float[])dx0.Clone() : Enumerable.Repeat(float.NaN, x.Length).ToArray();
            Pool2d.AvgBackward(in g, batch, dy, dx, acc);
            ConvNaive.AssertClose(expected, dx, 1e-6, $"float backward accumulate {acc} " + what);
            double[] dxd = acc ? ConvNaive.ToDouble(dx0) : Enumerable.Repeat(double.NaN, x.Length).ToArray();
            Pool2d.AvgBackward(in g, batch, ConvNaive.ToDouble(dy), dxd, acc);
            ConvNaive.AssertClose(expected, dxd, 1e-12, $"double backward accumulate {acc} " + what);
        }
    }

    [Fact]
    public void NotesExample_2x2_Stride1()
    {
        var g = new Window2d(1, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0);
        float[] x = [0, 1, 2, 3, 4, 5, 6, 7, 8];
        var y = new float[4];
        Pool2d.MaxForward(in g, 1, x, y);
        Assert.Equal([4f, 5, 7, 8], y);
        Pool2d.AvgForward(in g, 1, x, y);
        Assert.Equal([2f, 3, 5, 6], y);
        var yd = new double[4];
        Pool2d.MaxForward(in g, 1, ConvNaive.ToDouble(x), yd);
        Assert.Equal([4.0, 5, 7, 8], yd);
        Pool2d.AvgForward(in g, 1, ConvNaive.ToDouble(x), yd);
        Assert.Equal([2.0, 3, 5, 6], yd);
    }

    [Fact]
    public void MaxTie_RoutesGradientToFirstMaximum()
    {
        // Every 2×2 window of this 2×16 row pair is constant: the gradient must land on its top-left cell,
        // on the vector path (first 8 windows) and on the scalar one.
        var g = new Window2d(1, 2, 16, 2, 2, 2, 2, 0, 0, 0, 0);
        var x = new float[32];
        Array.Fill(x, 5f);
        float[] dy = Enumerable.Range(1, 8).Select(i => (float)i).ToArray();
        var y = new float[8];
        Pool2d.MaxForward(in g, 1, x, y);
        var dx = new float[32];
        Pool2d.MaxBackward(in g, 1, x, y, dy, dx, accumulate: false);
        for (int c = 0; c < 16; c++)
        {
            Assert.Equal(c % 2 == 0 ? dy[c / 2] : 0f, dx[c]);
            Assert.Equal(0f, dx[16 + c]);
        }
        // A tie between the bottom-left and bottom-right cells goes to the bottom-left one.
        var g2 = new Window2d(1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0);
        var dx2 = new double[4];
        Pool2d.MaxBackward(in g2, 1, [1.0, 2, 3, 3], [3.0], [1.0], dx2, accumulate: false);
        Assert.Equal([0.0, 0, 1, 0], dx2);
    }

    [Fact]
    public void Max_PaddingIsNeverSelected()
    {
        // All inputs negative: a zero-padded max would return 0 at the borders.
        var g = new Window2d(1, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1);
        float[] x = [-9, -8, -7, -6, -5, -4, -3, -2, -1];
        var y = new float[9];
        Pool2d.MaxForward(in g, 1, x, y);
        Assert.Equal([-5f, -4, -4, -2, -1, -1, -2, -1, -1], y);
    }

    [Fact]
    public void Max_NaNPropagates()
    {
        var g = new Window2d(1, 2, 16, 2, 2, 2, 2, 0, 0, 0, 0);
        var x = new float[32];
        x[5] = float.NaN;
        x[16 + 14] = float.NaN;
        var y = new float[8];
        Pool2d.MaxForward(in g, 1, x, y);
        Assert.True(float.IsNaN(y[2]) && float.IsNaN(y[7]));
        Assert.Equal(0f, y[0]);
    }

    [Fact]
    public void Validation_RejectsShortSpans()
    {
        var g = new Window2d(2, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0);
        Assert.Throws<ArgumentException>(() => Pool2d.MaxForward(in g, 2, new float[63], new float[16]));
        Assert.Throws<ArgumentException>(() => Pool2d.AvgForward(in g, 2, new float[64], new float[15]));
        Assert.Throws<ArgumentException>(() => Pool2d.AvgBackward(in g, 2, new double[16], new double[63], false));
        var badPad = new Window2d(2, 4, 4, 2, 2, 2, 2, 2, 0, 0, 0);
        Assert.Throws<ArgumentException>(() => Pool2d.MaxForward(in badPad, 1, new float[32], new float[64]));
    }

    [Fact]
    public void FloatPools_AllocateNothingPerCall()
    {
        var g = new Window2d(8, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0);
        var g3 = new Window2d(8, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1);
        var x = ConvNaive.Random(new Random(3), 2 * g.InSize);
        var y = new float[2 * g.Channels * g3.OutPlane];
        var dx = new float[x.Length];
        Assert.Equal(0, Allocation.PerCall(() => Pool2d.MaxForward(in g, 2, x, y)));
        Assert.Equal(0, Allocation.PerCall(() => Pool2d.MaxBackward(in g, 2, x, y, y, dx, false)));
        Assert.Equal(0, Allocation.PerCall(() => Pool2d.MaxForward(in g3, 2, x, y)));
        Assert.Equal(0, Allocation.PerCall(() => Pool2d.MaxBackward(in g3, 2, x, y, y, dx, true)));
        Assert.Equal(0, Allocation.PerCall(() => Pool2d.AvgForward(in g3, 2, x, y)));
        Assert.Equal(0, Allocation.PerCall(() => Pool2d.AvgBackward(in g3, 2, y, dx, false)));
    }
}
