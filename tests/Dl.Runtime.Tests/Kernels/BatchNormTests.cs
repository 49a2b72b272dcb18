using Dl.Kernels;

namespace Dl.Tests;

/// <summary>Batch norm: the notes' example, PyTorch's running-statistic rule by hand, finite differences of the double
/// backward, float against double (including a large common offset), the eval path, aliasing, checks, allocation.</summary>
public class BatchNormTests
{
    private const double Eps = 1e-5;

    private static double[] RandomDoubles(Random rnd, int length, double scale = 1, double offset = 0)
    {
        var x = new double[length];
        for (int i = 0; i < length; i++) x[i] = offset + (rnd.NextDouble() * 2 - 1) * scale;
        return x;
    }

    private static float[] ToFloat(double[] x) => x.Select(v => (float)v).ToArray();

    private static double[] ToDouble(ReadOnlySpan<float> x) => x.ToArray().Select(v => (double)v).ToArray();

    private static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.True(err <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]} (error {err:E2})");
        }
    }

    // ---- The notes' example and hand-computed statistics ----

    [Theory]
    [InlineData(4, 1)] // four samples of one dense feature
    [InlineData(1, 4)] // one sample, a plane of four values
    public void NotesExample_NormalisesWithMean7AndBiasedVariance5(int batch, int spatial)
    {
        float[] z = [4, 8, 6, 10];
        var y = new float[4];
        var mean = new float[1];
        var invStd = new float[1];
        BatchNorm.ForwardTrain(batch, 1, spatial, z, [1f], [0f], y, mean, invStd, default, default, 0.1f, 1e-5f);
        Assert.Equal(7f, mean[0]);
        Assert.Equal(1 / Math.Sqrt(5 + Eps), invStd[0], 1e-6);
        double[] expected = [-3 / Math.Sqrt(5 + Eps), 1 / Math.Sqrt(5 + Eps), -1 / Math.Sqrt(5 + Eps), 3 / Math.Sqrt(5 + Eps)];
        AssertClose(expected, ToDouble(y), 1e-6, "y");

        var yd = new double[4];
        var meanD = new double[1];
        var invD = new double[1];
        BatchNorm.ForwardTrain(batch, 1, spatial, [4.0, 8, 6, 10], [1.0], [0.0], yd, meanD, invD, default, default, 0.1, Eps);
        Assert.Equal(7.0, meanD[0]);
        AssertClose(expected, yd, 1e-15, "y (double)");

        // γ and β scale and shift: y = 2·x̂ + 3.
        BatchNorm.ForwardTrain(batch, 1, spatial, z, [2f], [3f], y, mean, invStd, default, default, 0.1f, 1e-5f);
        AssertClose(expected.Select(v => 2 * v + 3).ToArray(), ToDouble(y), 1e-6, "y affine");
    }

    [Fact]
    public void RunningStatistics_FollowPyTorch_UnbiasedVarianceAndMomentum()
    {
        // Notes' batch: mean 7, biased var 5, unbiased var 5·4/3 = 20/3. PyTorch starts rm = 0, rv = 1.
        float[] rm = [0f], rv = [1f];
        var y = new float[4];
        var mean = new float[1];
        var invStd = new float[1];
        float[] z = [4, 8, 6, 10];
        BatchNorm.ForwardTrain(4, 1, 1, z, [1f], [0f], y, mean, invStd, rm, rv, 0.1f, 1e-5f);
        Assert.Equal(0.7, rm[0], 1e-6);                            // 0.9·0 + 0.1·7
        Assert.Equal(0.9 + 0.1 * 20.0 / 3, rv[0], 1e-6);           // 0.9·1 + 0.1·20/3 = 1.5666…
        BatchNorm.ForwardTrain(4, 1, 1, z, [1f], [0f], y, mean, invStd, rm, rv, 0.1f, 1e-5f);
        Assert.Equal(0.9 * 0.7 + 0.7, rm[0], 1e-6);                // 1.33
        Assert.Equal(0.9 * (0.9 + 0.1 * 20.0 / 3) + 0.1 * 20.0 / 3, rv[0], 1e-6); // 2.07666…

        // Two channels with planes: x [2, 2, 2]; c0 = {1, 2, 3, 4}, c1 = {10, 20, 30, 40}.
        float[] x = [1, 2, 10, 20, 3, 4, 30, 40];
        float[] rm2 = [0f, 0f], rv2 = [1f, 1f];
        var mean2 = new float[2];
        var inv2 = new float[2];
        BatchNorm.ForwardTrain(2, 2, 2, x, [1f, 1f], [0f, 0f], new float[8], mean2, inv2, rm2, rv2, 0.1f, 0f);
        Assert.Equal([2.5f, 25f], mean2);
        Assert.Equal(1 / Math.Sqrt(1.25), inv2[0], 1e-6);          // biased variances 1.25 and 125
        Assert.Equal(1 / Math.Sqrt(125), inv2[1], 1e-6);
        Assert.Equal(0.25, rm2[0], 1e-6);
        Assert.Equal(2.5, rm2[1], 1e-5);
        Assert.Equal(0.9 + 0.1 * 5.0 / 3, rv2[0], 1e-6);           // unbiased 1.25·4/3 = 5/3
        Assert.Equal(0.9 + 0.1 * 500.0 / 3, rv2[1], 1e-5);         // unbiased 125·4/3 = 500/3

        // N = 1 (one sample, one value per channel): PyTorch's unbiased variance would divide by zero; the biased one (0) is used.
        float[] rm1 = [0.5f], rv1 = [2f];
        BatchNorm.ForwardTrain(1, 1, 1, [3f], [1f], [0f], new float[1], new float[1], new float[1], rm1, rv1, 0.1f, 1e-5f);
        Assert.Equal(0.9 * 0.5 + 0.3, rm1[0], 1e-6);
        Assert.Equal(1.8, rv1[0], 1e-6);

        // Double overload: the same numbers.
        double[] rmD = [0], rvD = [1];
        BatchNorm.ForwardTrain(4, 1, 1, [4.0, 8, 6, 10], [1.0], [0.0], new double[4], new double[1], new double[1], rmD, rvD, 0.1, Eps);
        Assert.Equal(0.7, rmD[0], 1e-14);
        Assert.Equal(0.9 + 0.1 * 20.0 / 3, rvD[0], 1e-14);
    }

    // ---- Finite differences of the double backward ----

    public static TheoryData<int, int, int> Shapes => new()
    {
        { 2, 3, 5 }, { 1, 2, 7 }, { 5, 4, 1 }, { 3, 2, 9 }, { 1, 1, 3 }, { 4, 3, 17 },
    };

    /// <summary>L = Σ w ⊙ y for a random w, so dy = w; every element of x, γ and β is perturbed.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void BackwardTrain_Double_MatchesCentralDifferences(int batch, int channels, int spatial)
    {
        var rnd = new Random(batch * 100 + channels * 10 + spatial);
        int size = batch * channels * spatial;
        double[] x = RandomDoubles(rnd, size, 2, 0.5), gamma = RandomDoubles(rnd, channels, 1, 1), beta = RandomDoubles(rnd, channels);
        double[] w = RandomDoubles(rnd, size);
        double Loss(double[] xv, double[] g, double[] b)
        {
            var y = new double[size];
            BatchNorm.ForwardTrain(batch, channels, spatial, xv, g, b, y, new double[channels], new double[channels], default, default, 0.1, Eps);
            double s = 0;
            for (int i = 0; i < size; i++) s += w[i] * y[i];
            return s;
        }
        var mean = new double[channels];
        var invStd = new double[channels];
        BatchNorm.ForwardTrain(batch, channels, spatial, x, gamma, beta, new double[size], mean, invStd, default, default, 0.1, Eps);
        var dx = new double[size];
        var dgamma = new double[channels];
        var dbeta = new double[channels];
        BatchNorm.BackwardTrain(batch, channels, spatial, x, gamma, mean, invStd, w, dx, dgamma, dbeta, accumulate: false);

        const double h = 1e-6;
        double[] Numeric(double[] v, Func<double> loss)
        {
            var g = new double[v.Length];
            for (int i = 0; i < v.Length; i++)
            {
                double saved = v[i];
                v[i] = saved + h;
                double plus = loss();
                v[i] = saved - h;
                double minus = loss();
                v[i] = saved;
                g[i] = (plus - minus) / (2 * h);
            }
            return g;
        }
        double[] ndx = Numeric(x, () => Loss(x, gamma, beta));
        AssertClose(ndx, dx, 1e-6, "dx");
        AssertClose(Numeric(gamma, () => Loss(x, gamma, beta)), dgamma, 1e-6, "dgamma");
        AssertClose(Numeric(beta, () => Loss(x, gamma, beta)), dbeta, 1e-6, "dbeta");
        if (batch * spatial == 1) Assert.All(dx, v => Assert.Equal(0.0, v, 1e-12)); // a lone value normalises to 0 whatever it is

        // accumulate adds to what is there.
        double[] dx2 = Enumerable.Repeat(1.0, size).ToArray(), dg2 = Enumerable.Repeat(2.0, channels).ToArray(), db2 = Enumerable.Repeat(3.0, channels).ToArray();
        BatchNorm.BackwardTrain(batch, channels, spatial, x, gamma, mean, invStd, w, dx2, dg2, db2, accumulate: true);
        AssertClose(dx.Select(v => v + 1).ToArray(), dx2, 1e-12, "dx accumulated");
        AssertClose(dgamma.Select(v => v + 2).ToArray(), dg2, 1e-12, "dgamma accumulated");
        AssertClose(dbeta.Select(v => v + 3).ToArray(), db2, 1e-12, "dbeta accumulated");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BackwardEval_Double_MatchesCentralDifferences(int batch, int channels, int spatial)
    {
        var rnd = new Random(7 + batch * 100 + channels * 10 + spatial);
        int size = batch * channels * spatial;
        double[] x = RandomDoubles(rnd, size, 2), gamma = RandomDoubles(rnd, channels, 1, 1), beta = RandomDoubles(rnd, channels);
        double[] rm = RandomDoubles(rnd, channels), rv = RandomDoubles(rnd, channels, 0.5, 1), w = RandomDoubles(rnd, size);
        double Loss()
        {
            var y = new double[size];
            BatchNorm.ForwardEval(batch, channels, spatial, x, gamma, beta, y, rm, rv, Eps);
            double s = 0;
            for (int i = 0; i < size; i++) s += w[i] * y[i];
            return s;
        }
        var dx = new double[size];
        var dgamma = new double[channels];
        var dbeta = new double[channels];
        BatchNorm.BackwardEval(batch, channels, spatial, x, gamma, rm, rv, Eps, w, dx, dgamma, dbeta, accumulate: false);
        const double h = 1e-6;
        foreach ((double[] v, double[] g, string name) in new[] { (x, dx, "dx"), (gamma, dgamma, "dgamma"), (beta, dbeta, "dbeta") })
        {
            for (int i = 0; i < v.Length; i++)
            {
                double saved = v[i];
                v[i] = saved + h;
                double plus = Loss();
                v[i] = saved - h;
                double minus = Loss();
                v[i] = saved;
                double numeric = (plus - minus) / (2 * h);
                Assert.True(Math.Abs(numeric - g[i]) <= 1e-6 * (1 + Math.Abs(numeric)), $"{name}[{i}]: numeric {numeric}, analytic {g[i]}");
            }
        }
    }

    // ---- Float kernels against the double overloads ----

    public static TheoryData<int, int, int, double> FloatShapes => new()
    {
        { 64, 8, 196, 0 }, { 3, 5, 49, 0 }, { 7, 3, 1, 0 }, { 2, 4, 13, 0 }, { 1, 3, 31, 0 }, { 5, 2, 8, 0 }, { 4, 2, 16, 0 },
        { 6, 3, 25, 1000 },   // a large common offset: the shifted one-pass variance must not cancel
        { 9, 2, 3, -500 },
        { 3, 1100, 1, 0 },    // too many channels for the row-order path: channel-by-channel scalar segments
        { 2, 1030, 9, 0 },
    };

    [Theory]
    [MemberData(nameof(FloatShapes))]
    public void FloatKernels_MatchDouble(int batch, int channels, int spatial, double offset)
    {
        var rnd = new Random(batch + 31 * channels + 977 * spatial);
        int size = batch * channels * spatial;
        double[] xd = ToDouble(ToFloat(RandomDoubles(rnd, size, 2, offset)));
        double[] gd = ToDouble(ToFloat(RandomDoubles(rnd, channels, 0.5, 1))), bd = ToDouble(ToFloat(RandomDoubles(rnd, channels)));
        double[] dyd = ToDouble(ToFloat(RandomDoubles(rnd, size)));
        double[] rmInit = ToDouble(ToFloat(RandomDoubles(rnd, channels))), rvInit = ToDouble(ToFloat(RandomDoubles(rnd, channels, 0.5, 1)));
        float[] x = ToFloat(xd), g = ToFloat(gd), b = ToFloat(bd), dy = ToFloat(dyd);

        // Training forward.
        var yd = new double[size];
        var meanD = new double[channels];
        var invD = new double[channels];
        double[] rmD = (double[])rmInit.Clone(), rvD = (double[])rvInit.Clone();
        BatchNorm.ForwardTrain(batch, channels, spatial, xd, gd, bd, yd, meanD, invD, rmD, rvD, 0.1, Eps);
        var y = new float[size];
        var mean = new float[channels];
        var inv = new float[channels];
        float[] rm = ToFloat(rmInit), rv = ToFloat(rvInit);
        BatchNorm.ForwardTrain(batch, channels, spatial, x, g, b, y, mean, inv, rm, rv, 0.1f, 1e-5f);
        // x̂ carries σ/|μ|-relative error in float when μ is large: the tolerance scales with the offset.
        double tol = 2e-5 * (1 + Math.Abs(offset));
        AssertClose(yd, ToDouble(y), tol, "y");
        AssertClose(meanD, ToDouble(mean), 1e-6, "mean");
        AssertClose(invD, ToDouble(inv), 1e-5, "invStd");
        AssertClose(rmD, ToDouble(rm), 1e-6, "runningMean");
        AssertClose(rvD, ToDouble(rv), 1e-5, "runningVar");

        // Training backward, overwrite and accumulate.
        var dxd = new double[size];
        var dgd = new double[channels];
        var dbd = new double[channels];
        BatchNorm.BackwardTrain(batch, channels, spatial, xd, gd, meanD, invD, dyd, dxd, dgd, dbd, accumulate: false);
        var dx = new float[size];
        var dgf = new float[channels];
        var dbf = new float[channels];
        BatchNorm.BackwardTrain(batch, channels, spatial, x, g, mean, inv, dy, dx, dgf, dbf, accumulate: false);
        double gradTol = 1e-4 * (1 + Math.Abs(offset));
        AssertClose(dxd, ToDouble(dx), gradTol, "dx");
        AssertClose(dgd, ToDouble(dgf), gradTol, "dgamma");
        AssertClose(dbd, ToDouble(dbf), 1e-5, "dbeta");
        float[] dxAcc = Enumerable.Repeat(0.5f, size).ToArray();
        float[] dgAcc = Enumerable.Repeat(0.5f, channels).ToArray();
        float[] dbAcc = Enumerable.Repeat(0.5f, channels).ToArray();
        BatchNorm.BackwardTrain(batch, channels, spatial, x, g, mean, inv, dy, dxAcc, dgAcc, dbAcc, accumulate: true);
        AssertClose(dxd.Select(v => v + 0.5).ToArray(), ToDouble(dxAcc), gradTol, "dx accumulated");
        AssertClose(dgd.Select(v => v + 0.5).ToArray(), ToDouble(dgAcc), gradTol, "dgamma accumulated");
        AssertClose(dbd.Select(v => v + 0.5).ToArray(), ToDouble(dbAcc), 1e-5, "dbeta accumulated");

        // Eval forward and backward with the (updated) running statistics.
        double[] rmE = ToDouble(rm), rvE = ToDouble(rv);
        BatchNorm.ForwardEval(batch, channels, spatial, xd, gd, bd, yd, rmE, rvE, Eps);
        BatchNorm.ForwardEval(batch, channels, spatial, x, g, b, y, rm, rv, 1e-5f);
        AssertClose(yd, ToDouble(y), tol * 10, "y eval");
        BatchNorm.BackwardEval(batch, channels, spatial, xd, gd, rmE, rvE, Eps, dyd, dxd, dgd, dbd, accumulate: false);
        BatchNorm.BackwardEval(batch, channels, spatial, x, g, rm, rv, 1e-5f, dy, dx, dgf, dbf, accumulate: false);
        AssertClose(dxd, ToDouble(dx), 1e-5, "dx eval");
        AssertClose(dgd, ToDouble(dgf), gradTol * 10, "dgamma eval");
        AssertClose(dbd, ToDouble(dbf), 1e-5, "dbeta eval");
        dxAcc.AsSpan().Fill(0.5f);
        BatchNorm.BackwardEval(batch, channels, spatial, x, g, rm, rv, 1e-5f, dy, dxAcc, default, default, accumulate: true);
        AssertClose(dxd.Select(v => v + 0.5).ToArray(), ToDouble(dxAcc), 1e-5, "dx eval accumulated");
    }

    [Fact]
    public void ForwardEval_IsTheAffineMapOfTheRunningStatistics()
    {
        // x [1, 2, 2]: y = γ(x − rm)/√(rv + ε) + β per channel.
        float[] x = [1, 3, 5, 9];
        var y = new float[4];
        BatchNorm.ForwardEval(1, 2, 2, x, [2f, 1f], [0.5f, -1f], y, [1f, 5f], [4f, 16f], 0f);
        Assert.Equal([0.5f, 2.5f, -1f, 0f], y);
        var yd = new double[4];
        BatchNorm.ForwardEval(1, 2, 2, [1.0, 3, 5, 9], [2.0, 1], [0.5, -1], yd, [1.0, 5], [4.0, 16], 0);
        Assert.Equal([0.5, 2.5, -1, 0], yd);
    }

    [Fact]
    public void TrainingOutput_HasZeroMeanAndUnitVariancePerChannel()
    {
        var rnd = new Random(3);
        const int batch = 16, channels = 3, spatial = 20;
        float[] x = ToFloat(RandomDoubles(rnd, batch * channels * spatial, 3, 2));
        var y = new float[x.Length];
        BatchNorm.ForwardTrain(batch, channels, spatial, x, [1f, 1f, 1f], [0f, 0f, 0f], y, new float[3], new float[3], default, default, 0.1f, 0f);
        for (int c = 0; c < channels; c++)
        {
            var values = Enumerable.Range(0, batch).SelectMany(n => y.Skip((n * channels + c) * spatial).Take(spatial)).Select(v => (double)v).ToArray();
            Assert.Equal(0, values.Average(), 1e-5);
            Assert.Equal(1, values.Select(v => v * v).Average(), 1e-5);
        }
    }

    // ---- Aliasing, optional outputs, checks ----

    [Fact]
    public void InPlace_ForwardAndBackward_MatchOutOfPlace()
    {
        var rnd = new Random(11);
        const int batch = 4, channels = 3, spatial = 10, size = batch * channels * spatial;
        float[] x = ToFloat(RandomDoubles(rnd, size)), dy = ToFloat(RandomDoubles(rnd, size));
        float[] g = [1f, 2f, 0.5f], b = [0f, 1f, -1f];
        var y = new float[size];
        var mean = new float[3];
        var inv = new float[3];
        BatchNorm.ForwardTrain(batch, channels, spatial, x, g, b, y, mean, inv, default, default, 0.1f, 1e-5f);
        float[] inPlace = (float[])x.Clone();
        BatchNorm.ForwardTrain(batch, channels, spatial, inPlace, g, b, inPlace, new float[3], new float[3], default, default, 0.1f, 1e-5f);
        Assert.Equal(y, inPlace);

        var dx = new float[size];
        BatchNorm.BackwardTrain(batch, channels, spatial, x, g, mean, inv, dy, dx, default, default, false);
        float[] dyInPlace = (float[])dy.Clone();
        BatchNorm.BackwardTrain(batch, channels, spatial, x, g, mean, inv, dyInPlace, dyInPlace, default, default, false);
        Assert.Equal(dx, dyInPlace);

        // Only parameter gradients (dx empty) give the same dγ, dβ as the full call.
        var dg1 = new float[3];
        var db1 = new float[3];
        BatchNorm.BackwardTrain(batch, channels, spatial, x, g, mean, inv, dy, dx, dg1, db1, false);
        var dg2 = new float[3];
        var db2 = new float[3];
        BatchNorm.BackwardTrain(batch, channels, spatial, x, g, mean, inv, dy, default, dg2, db2, false);
        Assert.Equal(dg1, dg2);
        Assert.Equal(db1, db2);
    }

    [Fact]
    public void BadArguments_ThrowNamingTheValueAndTheExpectation()
    {
        float[] x = new float[12], y = new float[12], c3 = new float[3], c2 = new float[2];
        var e = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTrain(2, 3, 2, new float[11], c3, c3, y, c3, c3, default, default, 0.1f, 1e-5f));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("11", e.Message);
        Assert.Contains("2 × 3 × 2 = 12", e.Message);
        e = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTrain(2, 3, 2, x, c2, c3, y, c3, c3, default, default, 0.1f, 1e-5f));
        Assert.Equal("gamma", e.ParamName);
        Assert.Contains("one per channel (3)", e.Message);
        e = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTrain(2, 3, 2, x, c3, c3, y, c3, c3, new float[3], default, 0.1f, 1e-5f));
        Assert.Equal("runningVar", e.ParamName);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => BatchNorm.ForwardTrain(0, 3, 2, x, c3, c3, y, c3, c3, default, default, 0.1f, 1e-5f));
        Assert.Equal("batch", r.ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => BatchNorm.ForwardTrain(2, 3, 0, x, c3, c3, y, c3, c3, default, default, 0.1f, 1e-5f));
        Assert.Equal("spatial", r.ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => BatchNorm.ForwardTrain(2, 3, 2, x, c3, c3, y, c3, c3, default, default, 1.5f, 1e-5f));
        Assert.Equal("momentum", r.ParamName);
        Assert.Contains("[0, 1]", r.Message);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => BatchNorm.ForwardTrain(2, 3, 2, x, c3, c3, y, c3, c3, default, default, 0.1f, -1f));
        Assert.Equal("eps", r.ParamName);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => BatchNorm.ForwardEval(2, 3, 2, new double[12], new double[3], new double[3], new double[12], new double[3], new double[3], double.NaN));
        Assert.Equal("eps", r.ParamName);
        e = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTrain(2, 3, 2, x.AsSpan(0, 12), c3, c3, new float[13].AsSpan(), c3, c3, default, default, 0.1f, 1e-5f));
        Assert.Equal("y", e.ParamName);
        var shared = new float[13];
        e = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTrain(2, 3, 2, shared.AsSpan(0, 12), c3, c3, shared.AsSpan(1, 12), c3, c3, default, default, 0.1f, 1e-5f));
        Assert.Contains("overlaps", e.Message);
        e = Assert.Throws<ArgumentException>(() => BatchNorm.BackwardTrain(2, 3, 2, x, c3, c3, c3, new float[12], new float[12], new float[2], default, false));
        Assert.Equal("dgamma", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => BatchNorm.BackwardEval(2, 3, 2, x, c3, c2, c3, 1e-5f, new float[12], new float[12], default, default, false));
        Assert.Equal("runningMean", e.ParamName);
    }

    // ---- Allocation and speed ----

    [Fact]
    public void Kernels_AllocateNothingPerCall()
    {
        const int batch = 8, channels = 16, spatial = 49, size = batch * channels * spatial;
        var rnd = new Random(5);
        float[] x = ToFloat(RandomDoubles(rnd, size)), dy = ToFloat(RandomDoubles(rnd, size)), y = new float[size], dx = new float[size];
        float[] g = new float[channels], b = new float[channels], mean = new float[channels], inv = new float[channels];
        float[] rm = new float[channels], rv = new float[channels], dg = new float[channels], db = new float[channels];
        g.AsSpan().Fill(1f);
        rv.AsSpan().Fill(1f);
        Assert.Equal(0, Allocation.PerCall(() => BatchNorm.ForwardTrain(batch, channels, spatial, x, g, b, y, mean, inv, rm, rv, 0.1f, 1e-5f)));
        Assert.Equal(0, Allocation.PerCall(() => BatchNorm.BackwardTrain(batch, channels, spatial, x, g, mean, inv, dy, dx, dg, db, true)));
        Assert.Equal(0, Allocation.PerCall(() => BatchNorm.ForwardEval(batch, channels, spatial, x, g, b, y, rm, rv, 1e-5f)));
        Assert.Equal(0, Allocation.PerCall(() => BatchNorm.BackwardEval(batch, channels, spatial, x, g, rm, rv, 1e-5f, dy, dx, dg, db, false)));
        double[] xd = x.Select(v => (double)v).ToArray(), yd = new double[size], gd = new double[channels], bd = new double[channels];
        double[] md = new double[channels], id = new double[channels];
        Assert.Equal(0, Allocation.PerCall(() => BatchNorm.ForwardTrain(batch, channels, spatial, xd, gd, bd, yd, md, id, default, default, 0.1, 1e-5)));
    }
}
