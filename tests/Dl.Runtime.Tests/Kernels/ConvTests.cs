using Dl.Kernels;

namespace Dl.Tests;

/// <summary>Conv2d: float direct and im2col variants and the double reference against <see cref="ConvNaive"/>,
/// finite differences, the adjoint identity, worked examples, argument checks and allocation.</summary>
public class ConvTests
{
    private static Window2d G(int c, int h, int w, int kh, int kw, int sh = 1, int sw = 1, int pt = 0, int pb = 0, int pl = 0, int pr = 0)
        => new(c, h, w, kh, kw, sh, sw, pt, pb, pl, pr);

    /// <summary>(geometry, cout, batch): odd sizes, strides 1–3, asymmetric padding, 1x1..7x7 kernels, channel counts
    /// that are not multiples of 8, rows narrower than a vector, exactly one vector, an odd number of vectors, and the
    /// blocking fallbacks of the direct kernels (input-channel blocks, output-row bands, output-channel chunks).</summary>
    private static readonly (Window2d G, int Cout, int Batch)[] Cases =
    [
        (G(1, 28, 28, 3, 3, pt: 1, pb: 1, pl: 1, pr: 1), 8, 3),      // cnn_lenetish conv1
        (G(8, 14, 14, 3, 3, pt: 1, pb: 1, pl: 1, pr: 1), 16, 3),     // cnn_lenetish conv2
        (G(3, 7, 9, 1, 1), 5, 3),                                     // 1x1
        (G(2, 9, 11, 2, 3, 2, 2, 1, 0, 2, 1), 3, 3),                  // 2x3, stride 2, asymmetric padding
        (G(3, 13, 17, 5, 5, 3, 3, 2, 1, 0, 4), 4, 1),                 // 5x5, stride 3
        (G(5, 6, 6, 3, 3), 10, 3),                                    // OutW 4 < one vector
        (G(4, 10, 19, 3, 3, 2, 2, 1, 1, 1, 1), 9, 3),                 // stride 2, cout 9
        (G(1, 1, 31, 1, 5, pl: 2, pr: 2), 3, 3),                      // Conv1d
        (G(7, 12, 20, 3, 2, 1, 3, 2, 1, 1, 0), 12, 1),                // mixed strides
        (G(2, 8, 24, 3, 3, pt: 1, pb: 1, pl: 1, pr: 1), 7, 3),        // 3 vectors per row (odd count)
        (G(3, 5, 8, 3, 3, pt: 1, pb: 1, pl: 1, pr: 1), 8, 1),         // exactly one vector
        (G(2, 16, 33, 3, 3, pt: 1, pb: 1, pl: 1, pr: 1), 17, 1),      // 5 vectors, cout 17
        (G(6, 11, 11, 5, 5, pt: 2, pb: 2, pl: 2, pr: 2), 8, 3),       // 5x5 same padding
        (G(3, 9, 10, 3, 3, 1, 2, 0, 2, 2, 0), 6, 3),                  // stride 1x2, one-sided pads
        (G(120, 12, 12, 3, 3, pt: 1, pb: 1, pl: 1, pr: 1), 24, 2),    // direct: input-channel blocks
        (G(1, 130, 100, 3, 3, pt: 1, pb: 1, pl: 1, pr: 1), 3, 1),     // direct: output-row bands
        (G(1, 9, 9, 7, 7, pt: 3, pb: 3, pl: 3, pr: 3), 170, 1),       // direct: output-channel chunks
        (G(8, 14, 14, 3, 3, pt: 1, pb: 1, pl: 1, pr: 1), 16, 32),     // batch 32
    ];

    public static TheoryData<int> CaseIndices()
    {
        var d = new TheoryData<int>();
        for (int i = 0; i < Cases.Length; i++) d.Add(i);
        return d;
    }

    private static double Tol(in Window2d g) => 2e-6 * Math.Sqrt(g.ColRows) + 1e-6;

    private static float[] Nan(int length) => Enumerable.Repeat(float.NaN, length).ToArray();

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Forward_AllVariants_MatchNaive(int index)
    {
        (Window2d g, int cout, int batch) = Cases[index];
        var rnd = new Random(100 + index);
        float[] x = ConvNaive.Random(rnd, batch * g.InSize), w = ConvNaive.Random(rnd, cout * g.ColRows), b = ConvNaive.Random(rnd, cout);
        int ySize = batch * cout * g.OutPlane;
        using var ctx = new GemmContext(1);
        foreach (bool withBias in new[] { true, false })
        {
            float[] bias = withBias ? b : [];
            double[] expected = ConvNaive.Forward(in g, cout, batch, x, w, withBias ? b : null);
            string what = $"case {index} {g} cout {cout} batch {batch} bias {withBias}";

            float[] y = Nan(ySize);
            Conv2d.ForwardDirect(in g, cout, batch, x, w, bias, y);
            ConvNaive.AssertClose(expected, y, Tol(in g), "direct " + what);

            y = Nan(ySize);
            float[] col = Nan(batch * Conv2d.ColumnsPerSample(in g));
            Conv2d.ForwardIm2Col(in g, cout, batch, x, w, bias, y, col, ctx);
            ConvNaive.AssertClose(expected, y, Tol(in g), "im2col " + what);

            var yd = new double[ySize];
            Conv2d.Forward(in g, cout, batch, ConvNaive.ToDouble(x), ConvNaive.ToDouble(w), withBias ? ConvNaive.ToDouble(b) : [], yd);
            ConvNaive.AssertClose(expected, yd, 1e-12, "double " + what);
        }
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void BackwardData_AllVariants_BothModes_MatchNaive(int index)
    {
        (Window2d g, int cout, int batch) = Cases[index];
        var rnd = new Random(200 + index);
        float[] dy = ConvNaive.Random(rnd, batch * cout * g.OutPlane), w = ConvNaive.Random(rnd, cout * g.ColRows);
        float[] dx0 = ConvNaive.Random(rnd, batch * g.InSize);
        double[] grad = ConvNaive.BackwardData(in g, cout, batch, dy, w);
        double[] gradPlus = grad.Select((v, i) => v + dx0[i]).ToArray();
        double tol = 2e-6 * Math.Sqrt(cout * g.KernelH * g.KernelW) + 1e-6;
        using var ctx = new GemmContext(1);
        foreach (bool acc in new[] { false, true })
        {
            double[] expected = acc ? gradPlus : grad;
            string what = $"case {index} {g} cout {cout} batch {batch} accumulate {acc}";

            float[] dx = acc ? (float[])dx0.Clone() : Nan(dx0.Length);
            Conv2d.BackwardDataDirect(in g, cout, batch, dy, w, dx, acc);
            ConvNaive.AssertClose(expected, dx, tol, "direct " + what);

            dx = acc ? (float[])dx0.Clone() : Nan(dx0.Length);
            float[] col = Nan(batch * Conv2d.ColumnsPerSample(in g));
            Conv2d.BackwardDataIm2Col(in g, cout, batch, dy, w, dx, acc, col, ctx);
            ConvNaive.AssertClose(expected, dx, tol, "im2col " + what);

            double[] dxd = acc ? ConvNaive.ToDouble(dx0) : Enumerable.Repeat(double.NaN, dx0.Length).ToArray();
            Conv2d.BackwardData(in g, cout, batch, ConvNaive.ToDouble(dy), ConvNaive.ToDouble(w), dxd, acc);
            ConvNaive.AssertClose(expected, dxd, 1e-12, "double " + what);
        }
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void BackwardWeight_AllVariants_BothModes_MatchNaive(int index)
    {
        (Window2d g, int cout, int batch) = Cases[index];
        var rnd = new Random(300 + index);
        float[] x = ConvNaive.Random(rnd, batch * g.InSize), dy = ConvNaive.Random(rnd, batch * cout * g.OutPlane);
        float[] dw0 = ConvNaive.Random(rnd, cout * g.ColRows), db0 = ConvNaive.Random(rnd, cout);
        (double[] gw, double[] gb) = ConvNaive.BackwardWeight(in g, cout, batch, x, dy);
        double tol = 2e-6 * Math.Sqrt(batch * g.OutPlane) + 1e-6;
        using var ctx = new GemmContext(1);
        int cols = batch * Conv2d.ColumnsPerSample(in g);
        foreach (bool acc in new[] { false, true })
            foreach (bool withBias in new[] { true, false })
            {
                double[] ew = acc ? gw.Select((v, i) => v + dw0[i]).ToArray() : gw;
                double[] eb = acc ? gb.Select((v, i) => v + db0[i]).ToArray() : gb;
                string what = $"case {index} {g} cout {cout} batch {batch} accumulate {acc} bias {withBias}";
                float[] Start(float[] v) => acc ? (float[])v.Clone() : Nan(v.Length);

                float[] dw = Start(dw0), db = withBias ? Start(db0) : [];
                Conv2d.BackwardWeightDirect(in g, cout, batch, x, dy, dw, db, acc);
                ConvNaive.AssertClose(ew, dw, tol, "direct dw " + what);
                if (withBias) ConvNaive.AssertClose(eb, db, tol, "direct db " + what);

                dw = Start(dw0);
                db = withBias ? Start(db0) : [];
                float[] col = Nan(cols);
                Conv2d.BackwardWeightIm2Col(in g, cout, batch, x, dy, dw, db, acc, col, colValid: false, ctx);
                ConvNaive.AssertClose(ew, dw, tol, "im2col dw " + what);
                if (withBias) ConvNaive.AssertClose(eb, db, tol, "im2col db " + what);

                // The forward pass leaves the im2col matrices in the workspace; the weight gradient reuses them.
                col = Nan(cols);
                Conv2d.ForwardIm2Col(in g, cout, batch, x, dw0, [], new float[batch * cout * g.OutPlane], col, ctx);
                dw = Start(dw0);
                db = withBias ? Start(db0) : [];
                Conv2d.BackwardWeightIm2Col(in g, cout, batch, x, dy, dw, db, acc, col, colValid: true, ctx);
                ConvNaive.AssertClose(ew, dw, tol, "im2col colValid dw " + what);

                double[] dwd = acc ? ConvNaive.ToDouble(dw0) : new double[dw0.Length];
                double[] dbd = withBias ? (acc ? ConvNaive.ToDouble(db0) : new double[cout]) : [];
                if (!acc) { Array.Fill(dwd, double.NaN); Array.Fill(dbd, double.NaN); }
                Conv2d.BackwardWeight(in g, cout, batch, ConvNaive.ToDouble(x), ConvNaive.ToDouble(dy), dwd, dbd, acc);
                ConvNaive.AssertClose(ew, dwd, 1e-12, "double dw " + what);
                if (withBias) ConvNaive.AssertClose(eb, dbd, 1e-12, "double db " + what);
            }
    }

    /// <summary>Central differences of L = &lt;r, conv(x, w) + b&gt; (double reference) against its gradients.</summary>
    [Theory]
    [InlineData(2, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 3, 2)]
    [InlineData(3, 8, 9, 2, 3, 2, 3, 1, 0, 2, 1, 4, 2)]
    [InlineData(1, 1, 12, 1, 4, 1, 2, 0, 0, 3, 0, 2, 1)]
    public void DoubleReference_Gradients_MatchFiniteDifferences(int c, int h, int wd, int kh, int kw, int sh, int sw,
        int pt, int pb, int pl, int pr, int cout, int batch)
    {
        var g = new Window2d(c, h, wd, kh, kw, sh, sw, pt, pb, pl, pr);
        var rnd = new Random(5);
        double[] x = ConvNaive.ToDouble(ConvNaive.Random(rnd, batch * g.InSize));
        double[] w = ConvNaive.ToDouble(ConvNaive.Random(rnd, cout * g.ColRows));
        double[] b = ConvNaive.ToDouble(ConvNaive.Random(rnd, cout));
        double[] r = ConvNaive.ToDouble(ConvNaive.Random(rnd, batch * cout * g.OutPlane));
        double Loss()
        {
            var y = new double[r.Length];
            Conv2d.Forward(in g, cout, batch, x, w, b, y);
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += r[i] * y[i];
            return s;
        }
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[b.Length];
        Conv2d.BackwardData(in g, cout, batch, r, w, dx, accumulate: false);
        Conv2d.BackwardWeight(in g, cout, batch, x, r, dw, db, accumulate: false);
        const double h0 = 1e-5;
        foreach ((double[] p, double[] grad, string name) in new[] { (x, dx, "x"), (w, dw, "w"), (b, db, "b") })
            for (int i = 0; i < p.Length; i++)
            {
                double keep = p[i];
                p[i] = keep + h0; double up = Loss();
                p[i] = keep - h0; double down = Loss();
                p[i] = keep;
                double fd = (up - down) / (2 * h0);
                Assert.True(Math.Abs(fd - grad[i]) <= 1e-7 * (1 + Math.Abs(fd)), $"d{name}[{i}]: analytic {grad[i]}, central difference {fd}.");
            }
    }

    /// <summary>&lt;conv(x), dy&gt; = &lt;x, convᵀ(dy)&gt; for both float variants (no bias).</summary>
    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void AdjointIdentity_Holds(int index)
    {
        (Window2d g, int cout, int batch) = Cases[index];
        var rnd = new Random(400 + index);
        float[] x = ConvNaive.Random(rnd, batch * g.InSize), w = ConvNaive.Random(rnd, cout * g.ColRows);
        float[] dy = ConvNaive.Random(rnd, batch * cout * g.OutPlane);
        using var ctx = new GemmContext(1);
        var y = new float[dy.Length];
        var dx = new float[x.Length];
        var col = new float[batch * Conv2d.ColumnsPerSample(in g)];
        static double Dot(float[] a, float[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i]; return s; }
        Conv2d.ForwardDirect(in g, cout, batch, x, w, [], y);
        Conv2d.BackwardDataDirect(in g, cout, batch, dy, w, dx, accumulate: false);
        double lhs = Dot(y, dy), rhs = Dot(x, dx);
        Assert.True(Math.Abs(lhs - rhs) <= 1e-4 * (1 + Math.Abs(lhs)), $"direct: <conv x, dy> = {lhs}, <x, convT dy> = {rhs}");
        Conv2d.ForwardIm2Col(in g, cout, batch, x, w, [], y, col, ctx);
        Conv2d.BackwardDataIm2Col(in g, cout, batch, dy, w, dx, false, col, ctx);
        lhs = Dot(y, dy); rhs = Dot(x, dx);
        Assert.True(Math.Abs(lhs - rhs) <= 1e-4 * (1 + Math.Abs(lhs)), $"im2col: <conv x, dy> = {lhs}, <x, convT dy> = {rhs}");
    }

    private static void AllVariantsForward(in Window2d g, int cout, float[] x, float[] w, float[] bias, float[] expected)
    {
        using var ctx = new GemmContext(1);
        var y = new float[expected.Length];
        Conv2d.ForwardDirect(in g, cout, 1, x, w, bias, y);
        Assert.Equal(expected, y);
        Array.Clear(y);
        Conv2d.ForwardIm2Col(in g, cout, 1, x, w, bias, y, new float[Conv2d.ColumnsPerSample(in g)], ctx);
        Assert.Equal(expected, y);
        var yd = new double[expected.Length];
        Conv2d.Forward(in g, cout, 1, ConvNaive.ToDouble(x), ConvNaive.ToDouble(w), ConvNaive.ToDouble(bias), yd);
        Assert.Equal(ConvNaive.ToDouble(expected), yd);
    }

    [Fact]
    public void NotesExample_3x3_By_2x2()
    {
        var g = new Window2d(1, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0);
        float[] x = [0, 1, 2, 3, 4, 5, 6, 7, 8], w = [0, 1, 2, 3];
        AllVariantsForward(in g, 1, x, w, [], [19, 25, 37, 43]);
        AllVariantsForward(in g, 1, x, w, [1], [20, 26, 38, 44]);
    }

    [Fact]
    public void NotesExample_VerticalEdgeFilter()
    {
        var g = new Window2d(1, 6, 6, 3, 3, 1, 1, 0, 0, 0, 0);
        float[] x =
        [
            3, 0, 1, 2, 7, 4,
            1, 5, 8, 9, 3, 1,
            2, 7, 2, 5, 1, 3,
            0, 1, 3, 1, 7, 8,
            4, 2, 1, 6, 2, 8,
            2, 4, 5, 2, 3, 9,
        ];
        float[] w = [1, 0, -1, 1, 0, -1, 1, 0, -1];
        // The classic example image (x[3,3] = 1 and x[5,2] = 5; the contract's copy has 7 and 8 there, which give
        // a different map). The notes print -15 for the last entry: (1+6+2) - (8+8+9) = -16.
        AllVariantsForward(in g, 1, x, w, [], [-5, -4, 0, 8, -10, -2, 2, 3, 0, -2, -4, -7, -3, -2, -3, -16]);
    }

    [Fact]
    public void Validation_RejectsBadGeometryAndShortSpans()
    {
        var g = new Window2d(2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1);
        float[] x = new float[2 * g.InSize], w = new float[4 * g.ColRows], y = new float[2 * 4 * g.OutPlane];
        Assert.Throws<ArgumentException>(() => Conv2d.ForwardDirect(in g, 4, 2, x.AsSpan(1), w, [], y));
        Assert.Throws<ArgumentException>(() => Conv2d.ForwardDirect(in g, 4, 2, x, w.AsSpan(1), [], y));
        Assert.Throws<ArgumentException>(() => Conv2d.ForwardDirect(in g, 4, 2, x, w, new float[3], y));
        Assert.Throws<ArgumentException>(() => Conv2d.ForwardDirect(in g, 4, 2, x, w, [], y.AsSpan(1)));
        using var ctx = new GemmContext(1);
        Assert.Throws<ArgumentException>(() => Conv2d.ForwardIm2Col(in g, 4, 2, x, w, [], y, new float[Conv2d.ColumnsPerSample(in g)], ctx));
        Assert.Throws<ArgumentOutOfRangeException>(() => Conv2d.ForwardDirect(in g, 0, 2, x, w, [], y));
        var big = new Window2d(1, 2, 2, 3, 3, 1, 1, 0, 0, 0, 0);
        var ex = Assert.Throws<ArgumentException>(() => big.Validate());
        Assert.Contains("2 + 0 + 0 - 3", ex.Message);
        Assert.Throws<ArgumentException>(() => new Window2d(1, 5, 5, 3, 3, 1, 1, 3, 0, 0, 0).Validate());
        Assert.Throws<ArgumentException>(() => new Window2d(1, 5, 5, 3, 3, 0, 1, 0, 0, 0, 0).Validate());
        Assert.Throws<ArgumentException>(() => new Window2d(0, 5, 5, 3, 3, 1, 1, 0, 0, 0, 0).Validate());
    }

    [Fact]
    public void Window2d_DerivedSizes()
    {
        var g = new Window2d(3, 10, 7, 3, 2, 2, 3, 1, 0, 1, 1);
        Assert.Equal((10 + 1 - 3) / 2 + 1, g.OutH);
        Assert.Equal((7 + 2 - 2) / 3 + 1, g.OutW);
        Assert.Equal(210, g.InSize);
        Assert.Equal(18, g.ColRows);
        Assert.Equal(g.OutH * g.OutW, g.OutPlane);
        Assert.Equal(new Window2d(4, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1), Window2d.Square(4, 9, 9, 3, 2, 1));
    }

    [Fact]
    public void AllFloatVariants_AllocateNothingPerCall()
    {
        var g = new Window2d(8, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1);
        const int cout = 16, batch = 4;
        var rnd = new Random(1);
        float[] x = ConvNaive.Random(rnd, batch * g.InSize), w = ConvNaive.Random(rnd, cout * g.ColRows), b = ConvNaive.Random(rnd, cout);
        float[] y = new float[batch * cout * g.OutPlane], dx = new float[x.Length], dw = new float[w.Length], db = new float[cout];
        float[] col = new float[batch * Conv2d.ColumnsPerSample(in g)];
        using var ctx = new GemmContext(1);
        Assert.Equal(0, Allocation.PerCall(() => Conv2d.ForwardDirect(in g, cout, batch, x, w, b, y)));
        Assert.Equal(0, Allocation.PerCall(() => Conv2d.ForwardIm2Col(in g, cout, batch, x, w, b, y, col, ctx)));
        Assert.Equal(0, Allocation.PerCall(() => Conv2d.BackwardDataDirect(in g, cout, batch, y, w, dx, false)));
        Assert.Equal(0, Allocation.PerCall(() => Conv2d.BackwardDataIm2Col(in g, cout, batch, y, w, dx, true, col, ctx)));
        Assert.Equal(0, Allocation.PerCall(() => Conv2d.BackwardWeightDirect(in g, cout, batch, x, y, dw, db, false)));
        Assert.Equal(0, Allocation.PerCall(() => Conv2d.BackwardWeightIm2Col(in g, cout, batch, x, y, dw, db, true, col, true, ctx)));
    }
}
