using Dl.Kernels;

namespace Dl.Tests;

/// <summary>Layer norm: a hand-computed row, central finite differences of the double backward (x, γ, β), float against
/// double (odd and vector-multiple widths, a large common offset), the accumulate flags, unwanted gradients, a constant
/// row, in-place calls, argument checks and allocation.</summary>
public class LayerNormTests
{
    private const float Eps = 1e-5f;

    private static double[] Random(Random rnd, int length, double scale = 1, double offset = 0)
    {
        var x = new double[length];
        for (int i = 0; i < length; i++) x[i] = offset + (rnd.NextDouble() * 2 - 1) * scale;
        return x;
    }

    private static float[] ToFloat(double[] x) => Array.ConvertAll(x, v => (float)v);

    /// <summary>Doubles that are exactly floats, so that the float and double kernels see the same input.</summary>
    private static double[] FloatValued(Random rnd, int length, double scale = 1, double offset = 0)
        => Array.ConvertAll(ToFloat(Random(rnd, length, scale, offset)), v => (double)v);

    private static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.True(err <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (error {err:E2})");
        }
    }

    private static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.True(err <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (error {err:E2})");
        }
    }

    /// <summary>Σ c·y for y = LayerNorm(x; γ, β): the scalar whose gradient the backward computes with dy = c.</summary>
    private static double Objective(int rows, int dim, double[] x, double[] gamma, double[] beta, double[] c)
    {
        var y = new double[rows * dim];
        var stats = new double[2 * rows];
        LayerNorm.Forward<double>(rows, dim, Eps, x, gamma, beta, y, stats);
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += c[i] * y[i];
        return s;
    }

    // ---- By hand ----

    [Fact]
    public void HandCheck_OneTwoThreeFour_NormalizesToPlusMinus1Point3416()
    {
        // μ = 2.5, σ² = (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25 (biased), y = (x − 2.5)/√(1.25 + 1e-5).
        double inv = 1 / Math.Sqrt(1.25 + Eps);
        double[] expected = [-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv];
        double[] rounded = [-1.3416, -0.4472, 0.4472, 1.3416];

        var y = new float[4];
        var stats = new float[2];
        LayerNorm.Forward<float>(1, 4, Eps, [1f, 2f, 3f, 4f], [1f, 1f, 1f, 1f], [0f, 0f, 0f, 0f], y, stats);
        for (int i = 0; i < 4; i++) Assert.Equal(rounded[i], y[i], 4);
        AssertClose(expected, y, 1e-7, "y");
        Assert.Equal(2.5f, stats[0]);
        Assert.Equal(inv, stats[1], 6);

        var yd = new double[4];
        var statsD = new double[2];
        LayerNorm.Forward<double>(1, 4, Eps, [1.0, 2, 3, 4], [1.0, 1, 1, 1], [0.0, 0, 0, 0], yd, statsD);
        AssertClose(expected, yd, 1e-15, "y (double)");
        Assert.Equal(2.5, statsD[0]);

        // γ scales and β shifts per column: y = γ·x̂ + β.
        LayerNorm.Forward<float>(1, 4, Eps, [1f, 2f, 3f, 4f], [2f, -1f, 0.5f, 3f], [1f, 0f, -1f, 0.25f], y, stats);
        AssertClose([2 * expected[0] + 1, -expected[1], 0.5 * expected[2] - 1, 3 * expected[3] + 0.25], y, 1e-7, "y affine");
    }

    [Fact]
    public void HandCheck_Backward_OfTheSumIsZero_AndOfTheFirstOutputIsTheProjection()
    {
        // Σ_j y_j = Σ β (γ = 1): dx = 0 exactly in exact arithmetic; dβ = 1, dγ = x̂.
        float[] x = [1f, 2f, 3f, 4f], gamma = [1f, 1f, 1f, 1f], beta = new float[4], y = new float[4], stats = new float[2];
        LayerNorm.Forward<float>(1, 4, Eps, x, gamma, beta, y, stats);
        float[] dx = new float[4], dg = new float[4], db = new float[4];
        LayerNorm.Backward<float>(1, 4, x, gamma, stats, [1f, 1f, 1f, 1f], dx, false, dg, db, false);
        foreach (float v in dx) Assert.True(Math.Abs(v) < 1e-6, $"dx {v}");
        Assert.Equal([1f, 1f, 1f, 1f], db);
        AssertClose(Array.ConvertAll(y, v => (double)v), dg, 1e-7, "dγ = x̂");

        // dy = e₀: dx = r·(e₀ − 1/4 − x̂·x̂₀/4), with r = 1/√(1.25 + eps) and x̂ = (x − 2.5)·r.
        double r = 1 / Math.Sqrt(1.25 + Eps);
        double[] xh = [-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r];
        double[] expected = new double[4];
        for (int j = 0; j < 4; j++) expected[j] = r * ((j == 0 ? 1 : 0) - 0.25 - xh[j] * xh[0] / 4);
        LayerNorm.Backward<float>(1, 4, x, gamma, stats, [1f, 0f, 0f, 0f], dx, false, default, default, false);
        AssertClose(expected, dx, 1e-6, "dx");
    }

    // ---- Finite differences (double) ----

    [Theory]
    [InlineData(1, 5)]
    [InlineData(3, 5)]
    [InlineData(7, 5)]
    [InlineData(1, 13)]
    [InlineData(3, 13)]
    [InlineData(7, 13)]
    [InlineData(1, 64)]
    [InlineData(3, 64)]
    [InlineData(7, 64)]
    public void Backward_Double_MatchesCentralDifferences(int rows, int dim)
    {
        var rnd = new Random(rows * 100 + dim);
        double[] x = Random(rnd, rows * dim, 2, 0.5), gamma = Random(rnd, dim, 1, 1), beta = Random(rnd, dim), c = Random(rnd, rows * dim);
        var y = new double[rows * dim];
        var stats = new double[2 * rows];
        LayerNorm.Forward<double>(rows, dim, Eps, x, gamma, beta, y, stats);
        double[] dx = new double[rows * dim], dg = new double[dim], db = new double[dim];
        LayerNorm.Backward<double>(rows, dim, x, gamma, stats, c, dx, false, dg, db, false);

        const double h = 1e-6;
        void Check(double[] v, double[] analytic, string what)
        {
            for (int i = 0; i < v.Length; i++)
            {
                double saved = v[i];
                v[i] = saved + h;
                double plus = Objective(rows, dim, x, gamma, beta, c);
                v[i] = saved - h;
                double minus = Objective(rows, dim, x, gamma, beta, c);
                v[i] = saved;
                double fd = (plus - minus) / (2 * h);
                Assert.True(Math.Abs(fd - analytic[i]) <= 1e-7 * Math.Max(1, Math.Abs(fd)),
                    $"{what}[{i}] (rows {rows}, dim {dim}): analytic {analytic[i]:R}, finite difference {fd:R}");
            }
        }
        Check(x, dx, "dx");
        Check(gamma, dg, "dγ");
        Check(beta, db, "dβ");
    }

    // ---- float against double ----

    [Theory]
    [InlineData(5, 2, 0.0)]
    [InlineData(5, 7, 0.0)]
    [InlineData(5, 8, 0.0)]
    [InlineData(4, 64, 0.0)]
    [InlineData(4, 67, 0.0)]
    [InlineData(3, 256, 0.0)]
    [InlineData(6, 67, 1000.0)] // |μ| ≫ σ: the shifted sums keep the mean and variance accurate
    [InlineData(6, 256, -300.0)]
    public void Float_MatchesDouble(int rows, int dim, double offset)
    {
        var rnd = new Random(dim + rows);
        double[] x = FloatValued(rnd, rows * dim, 1.5, offset), gamma = FloatValued(rnd, dim, 1, 1), beta = FloatValued(rnd, dim);
        double[] dy = FloatValued(rnd, rows * dim);
        var yd = new double[rows * dim];
        var sd = new double[2 * rows];
        LayerNorm.Forward<double>(rows, dim, Eps, x, gamma, beta, yd, sd);
        double[] dxd = new double[rows * dim], dgd = new double[dim], dbd = new double[dim];
        LayerNorm.Backward<double>(rows, dim, x, gamma, sd, dy, dxd, false, dgd, dbd, false);

        float[] xf = ToFloat(x), gf = ToFloat(gamma), bf = ToFloat(beta), dyf = ToFloat(dy);
        var yf = new float[rows * dim];
        var sf = new float[2 * rows];
        LayerNorm.Forward<float>(rows, dim, Eps, xf, gf, bf, yf, sf);
        float[] dxf = new float[rows * dim], dgf = new float[dim], dbf = new float[dim];
        LayerNorm.Backward<float>(rows, dim, xf, gf, sf, dyf, dxf, false, dgf, dbf, false);

        // A float kernel stores μ as a float: x − μ carries up to ½ ulp(μ) of error, i.e. ulp(max|x|)/σ relative to x̂.
        // The conditioning of the worst row scales the tolerances (large for |μ| ≫ σ, or two close values at dim 2).
        double condition = 0;
        for (int r = 0; r < rows; r++)
        {
            double max = 0, v = 0;
            for (int j = 0; j < dim; j++) max = Math.Max(max, Math.Abs(x[r * dim + j]));
            for (int j = 0; j < dim; j++) v += (x[r * dim + j] - sd[2 * r]) * (x[r * dim + j] - sd[2 * r]);
            condition = Math.Max(condition, max / Math.Sqrt(v / dim + Eps));
        }
        double unit = condition * Math.ScaleB(1, -24);
        AssertClose(yd, yf, 1e-6 + 8 * unit, "y");
        AssertClose(sd, sf, 1e-6, "stats");
        AssertClose(dxd, dxf, 1e-5 + 64 * unit, "dx");
        AssertClose(dgd, dgf, 1e-5 + 64 * unit, "dγ");
        AssertClose(dbd, dbf, 1e-6, "dβ");
    }

    // ---- Flags, unwanted gradients, aliasing ----

    [Theory]
    [InlineData(3, 67)]
    [InlineData(2, 5)]
    public void AccumulateFlags_AddOrOverwrite_Independently(int rows, int dim)
    {
        var rnd = new Random(7);
        float[] x = ToFloat(Random(rnd, rows * dim, 2)), gamma = ToFloat(Random(rnd, dim, 1, 1)), beta = ToFloat(Random(rnd, dim));
        float[] dy = ToFloat(Random(rnd, rows * dim));
        var y = new float[rows * dim];
        var stats = new float[2 * rows];
        LayerNorm.Forward<float>(rows, dim, Eps, x, gamma, beta, y, stats);
        float[] dx0 = new float[rows * dim], dg0 = new float[dim], db0 = new float[dim];
        LayerNorm.Backward<float>(rows, dim, x, gamma, stats, dy, dx0, false, dg0, db0, false);

        foreach (bool accX in new[] { false, true })
            foreach (bool accP in new[] { false, true })
            {
                float[] px = ToFloat(Random(rnd, rows * dim)), pg = ToFloat(Random(rnd, dim)), pb = ToFloat(Random(rnd, dim));
                float[] dx = (float[])px.Clone(), dg = (float[])pg.Clone(), db = (float[])pb.Clone();
                LayerNorm.Backward<float>(rows, dim, x, gamma, stats, dy, dx, accX, dg, db, accP);
                // dx: the same value, added once. dγ, dβ: the row sums start from the old value instead of 0 (rounding differs).
                for (int i = 0; i < dx.Length; i++)
                    Assert.Equal(accX ? px[i] + dx0[i] : dx0[i], dx[i]);
                for (int j = 0; j < dim; j++)
                {
                    Assert.Equal(accP ? pg[j] + dg0[j] : dg0[j], dg[j], 1e-5f);
                    Assert.Equal(accP ? pb[j] + db0[j] : db0[j], db[j], 1e-5f);
                }

                // The double kernel honours the same flags.
                double[] xd = Array.ConvertAll(x, v => (double)v), gd = Array.ConvertAll(gamma, v => (double)v), dyd = Array.ConvertAll(dy, v => (double)v);
                double[] sd = new double[2 * rows], yd = new double[rows * dim];
                LayerNorm.Forward<double>(rows, dim, Eps, xd, gd, Array.ConvertAll(beta, v => (double)v), yd, sd);
                double[] ex = new double[rows * dim], eg = new double[dim], eb = new double[dim];
                LayerNorm.Backward<double>(rows, dim, xd, gd, sd, dyd, ex, false, eg, eb, false);
                double[] ax = Array.ConvertAll(px, v => (double)v), ag = Array.ConvertAll(pg, v => (double)v), ab = Array.ConvertAll(pb, v => (double)v);
                LayerNorm.Backward<double>(rows, dim, xd, gd, sd, dyd, ax, accX, ag, ab, accP);
                for (int i = 0; i < ax.Length; i++) Assert.Equal(accX ? px[i] + ex[i] : ex[i], ax[i], 12);
                for (int j = 0; j < dim; j++)
                {
                    Assert.Equal(accP ? pg[j] + eg[j] : eg[j], ag[j], 12);
                    Assert.Equal(accP ? pb[j] + eb[j] : eb[j], ab[j], 12);
                }
            }
    }

    [Theory]
    [InlineData(4, 67)]
    [InlineData(3, 3)]
    public void EmptyGradients_AreSkipped_OthersUnchanged(int rows, int dim)
    {
        var rnd = new Random(9);
        float[] x = ToFloat(Random(rnd, rows * dim, 2)), gamma = ToFloat(Random(rnd, dim, 1, 1)), beta = ToFloat(Random(rnd, dim));
        float[] dy = ToFloat(Random(rnd, rows * dim));
        var y = new float[rows * dim];
        var stats = new float[2 * rows];
        LayerNorm.Forward<float>(rows, dim, Eps, x, gamma, beta, y, stats);
        float[] dx0 = new float[rows * dim], dg0 = new float[dim], db0 = new float[dim];
        LayerNorm.Backward<float>(rows, dim, x, gamma, stats, dy, dx0, false, dg0, db0, false);

        for (int mask = 0; mask < 8; mask++)
        {
            bool wx = (mask & 1) != 0, wg = (mask & 2) != 0, wb = (mask & 4) != 0;
            float[] dx = new float[rows * dim], dg = new float[dim], db = new float[dim];
            LayerNorm.Backward<float>(rows, dim, x, gamma, stats, dy, wx ? dx : default, false, wg ? dg : default, wb ? db : default, false);
            if (wx) Assert.Equal(dx0, dx);
            if (wg) Assert.Equal(dg0, dg);
            if (wb) Assert.Equal(db0, db);

            double[] xd = Array.ConvertAll(x, v => (double)v), gd = Array.ConvertAll(gamma, v => (double)v), dyd = Array.ConvertAll(dy, v => (double)v);
            double[] sd = new double[2 * rows], yd = new double[rows * dim];
            LayerNorm.Forward<double>(rows, dim, Eps, xd, gd, Array.ConvertAll(beta, v => (double)v), yd, sd);
            double[] ex = new double[rows * dim], eg = new double[dim], eb = new double[dim];
            LayerNorm.Backward<double>(rows, dim, xd, gd, sd, dyd, ex, false, eg, eb, false);
            double[] ax = new double[rows * dim], ag = new double[dim], ab = new double[dim];
            LayerNorm.Backward<double>(rows, dim, xd, gd, sd, dyd, wx ? ax : default, false, wg ? ag : default, wb ? ab : default, false);
            if (wx) Assert.Equal(ex, ax);
            if (wg) Assert.Equal(eg, ag);
            if (wb) Assert.Equal(eb, ab);
        }
    }

    [Fact]
    public void InPlace_YIsX_AndDxIsDy_MatchOutOfPlace()
    {
        const int rows = 3, dim = 67;
        var rnd = new Random(4);
        float[] x = ToFloat(Random(rnd, rows * dim, 2)), gamma = ToFloat(Random(rnd, dim, 1, 1)), beta = ToFloat(Random(rnd, dim));
        float[] dy = ToFloat(Random(rnd, rows * dim));
        var y = new float[rows * dim];
        var stats = new float[2 * rows];
        LayerNorm.Forward<float>(rows, dim, Eps, x, gamma, beta, y, stats);
        var dx = new float[rows * dim];
        LayerNorm.Backward<float>(rows, dim, x, gamma, stats, dy, dx, false, default, default, false);

        float[] inPlace = (float[])x.Clone();
        var stats2 = new float[2 * rows];
        LayerNorm.Forward<float>(rows, dim, Eps, inPlace, gamma, beta, inPlace, stats2);
        Assert.Equal(y, inPlace);
        Assert.Equal(stats, stats2);

        float[] g = (float[])dy.Clone();
        LayerNorm.Backward<float>(rows, dim, x, gamma, stats, g, g, false, default, default, false);
        Assert.Equal(dx, g);
    }

    // ---- A constant row ----

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(67)]
    [InlineData(256)]
    public void ConstantRow_GivesBetaExactly_AndFiniteGradients(int dim)
    {
        var rnd = new Random(dim);
        // 0.1 is not a sum of equal parts in binary: without the shift by x₀, Σx/dim would miss 0.1 by an ulp.
        float[] x = new float[2 * dim];
        Array.Fill(x, 0.1f, 0, dim);
        Array.Fill(x, -7.3f, dim, dim);
        float[] gamma = ToFloat(Random(rnd, dim, 1, 1)), beta = ToFloat(Random(rnd, dim)), dy = ToFloat(Random(rnd, 2 * dim));
        var y = new float[2 * dim];
        var stats = new float[4];
        LayerNorm.Forward<float>(2, dim, Eps, x, gamma, beta, y, stats);
        Assert.Equal(beta, y.AsSpan(0, dim).ToArray());
        Assert.Equal(beta, y.AsSpan(dim).ToArray());
        Assert.Equal(0.1f, stats[0]);
        Assert.Equal(-7.3f, stats[2]);
        Assert.Equal(1 / Math.Sqrt(Eps), stats[1], 2);

        float[] dx = new float[2 * dim], dg = new float[dim], db = new float[dim];
        LayerNorm.Backward<float>(2, dim, x, gamma, stats, dy, dx, false, dg, db, false);
        Assert.All(dx, v => Assert.True(float.IsFinite(v)));
        Assert.All(dg, v => Assert.Equal(0f, v)); // x̂ = 0 everywhere
        for (int j = 0; j < dim; j++) Assert.Equal(dy[j] + dy[dim + j], db[j], 5);
        // dx = r·(γ·dy − mean(γ·dy)) on a constant row.
        for (int row = 0; row < 2; row++)
        {
            double mean = 0;
            for (int j = 0; j < dim; j++) mean += gamma[j] * dy[row * dim + j];
            mean /= dim;
            for (int j = 0; j < dim; j++)
            {
                double want = stats[2 * row + 1] * (gamma[j] * dy[row * dim + j] - mean);
                Assert.True(Math.Abs(dx[row * dim + j] - want) <= 1e-4 * (1 + Math.Abs(want)), $"dx[{row}, {j}] = {dx[row * dim + j]}, expected {want}");
            }
        }

        double[] xd = Array.ConvertAll(x, v => (double)v), yd = new double[2 * dim], sd = new double[4];
        LayerNorm.Forward<double>(2, dim, Eps, xd, Array.ConvertAll(gamma, v => (double)v), Array.ConvertAll(beta, v => (double)v), yd, sd);
        Assert.Equal(Array.ConvertAll(beta, v => (double)v), yd.AsSpan(0, dim).ToArray());
        double[] dxd = new double[2 * dim];
        LayerNorm.Backward<double>(2, dim, xd, Array.ConvertAll(gamma, v => (double)v), sd, Array.ConvertAll(dy, v => (double)v), dxd, false, default, default, false);
        Assert.All(dxd, v => Assert.True(double.IsFinite(v)));
    }

    // ---- Checks and allocation ----

    [Fact]
    public void WrongLengthsAndArguments_Throw_WithTheNameAndTheExpectedSize()
    {
        float[] x = new float[12], g = new float[4], b = new float[4], y = new float[12], s = new float[6];
        ArgumentException e;
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward<float>(3, 4, Eps, new float[11], g, b, y, s));
        Assert.Contains("x has 11 elements", e.Message);
        Assert.Contains("3 × 4 = 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward<float>(3, 4, Eps, x, new float[5], b, y, s));
        Assert.Contains("gamma has 5 elements; expected dim = 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward<float>(3, 4, Eps, x, g, new float[3], y, s));
        Assert.Equal("beta", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward<float>(3, 4, Eps, x, g, b, new float[13], s));
        Assert.Equal("y", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward<float>(3, 4, Eps, x, g, b, y, new float[5]));
        Assert.Contains("at least 2 × rows = 6", e.Message);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward<double>(3, 4, Eps, new double[11], new double[4], new double[4], new double[12], new double[6]));
        Assert.Equal("x", e.ParamName);
        float[] shared = new float[13];
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Forward<float>(3, 4, Eps, shared.AsSpan(0, 12), g, b, shared.AsSpan(1, 12), s));
        Assert.Contains("overlaps", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerNorm.Forward<float>(3, 0, Eps, x, g, b, y, s));
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerNorm.Forward<float>(-1, 4, Eps, x, g, b, y, s));
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerNorm.Forward<float>(3, 4, -1f, x, g, b, y, s));
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerNorm.Forward<float>(3, 4, float.NaN, x, g, b, y, s));

        float[] dy = new float[12];
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward<float>(3, 4, x, g, s, new float[10], new float[12], false, g, b, false));
        Assert.Equal("dy", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward<float>(3, 4, x, g, s, dy, new float[11], false, default, default, false));
        Assert.Equal("dx", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward<float>(3, 4, x, g, s, dy, default, false, new float[3], default, false));
        Assert.Equal("dgamma", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward<float>(3, 4, x, g, s, dy, default, false, default, new float[5], false));
        Assert.Equal("dbeta", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward<float>(3, 4, x, g, new float[4], dy, default, false, default, default, false));
        Assert.Equal("stats", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => LayerNorm.Backward<float>(3, 4, x, new float[3], s, dy, default, false, default, default, false));
        Assert.Equal("gamma", e.ParamName);
    }

    [Fact]
    public void ZeroRows_DoNothing_AndClearUnaccumulatedParameterGradients()
    {
        LayerNorm.Forward<float>(0, 4, Eps, default, new float[4], new float[4], default, default);
        float[] dg = [1f, 2f, 3f, 4f], db = [1f, 2f, 3f, 4f];
        LayerNorm.Backward<float>(0, 4, default, new float[4], default, default, default, false, dg, db, false);
        Assert.Equal(new float[4], dg);
        Assert.Equal(new float[4], db);
    }

    [Fact]
    public void ForwardAndBackward_AllocateNothing()
    {
        const int rows = 16, dim = 67;
        var rnd = new Random(3);
        float[] x = ToFloat(Random(rnd, rows * dim)), g = ToFloat(Random(rnd, dim, 1, 1)), b = ToFloat(Random(rnd, dim)), dy = ToFloat(Random(rnd, rows * dim));
        float[] y = new float[rows * dim], s = new float[2 * rows], dx = new float[rows * dim], dg = new float[dim], db = new float[dim];
        long perCall = Allocation.PerCall(() =>
        {
            LayerNorm.Forward<float>(rows, dim, Eps, x, g, b, y, s);
            LayerNorm.Backward<float>(rows, dim, x, g, s, dy, dx, false, dg, db, false);
        });
        Assert.Equal(0, perCall);

        double[] xd = Array.ConvertAll(x, v => (double)v), gd = Array.ConvertAll(g, v => (double)v), bd = Array.ConvertAll(b, v => (double)v);
        double[] dyd = Array.ConvertAll(dy, v => (double)v), yd = new double[rows * dim], sd = new double[2 * rows], dxd = new double[rows * dim];
        double[] dgd = new double[dim], dbd = new double[dim];
        long perCallDouble = Allocation.PerCall(() =>
        {
            LayerNorm.Forward<double>(rows, dim, Eps, xd, gd, bd, yd, sd);
            LayerNorm.Backward<double>(rows, dim, xd, gd, sd, dyd, dxd, true, dgd, dbd, true);
        });
        Assert.Equal(0, perCallDouble);
    }
}
