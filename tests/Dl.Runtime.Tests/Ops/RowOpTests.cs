using System.Runtime.Intrinsics;
using Dl.Kernels;
using static Dl.Tests.Ops.OpCases;

namespace Dl.Tests.Ops;

public class RowOpTests
{
    private static double[] Apply(IRowCase c, double[] x)
    {
        double[] y = new double[x.Length];
        c.Forward<double>(x, y);
        return y;
    }

    [Theory, MemberData(nameof(RowData), MemberType = typeof(OpCases))]
    public void Forward_AllLengths_MatchesReference(string op)
    {
        IRowCase c = Row[op];
        var rng = new Random(41);
        const int rows = 3;
        foreach (int cols in Lengths)
        {
            float[] x = ToFloat(Points(c.Meta, rows * cols, rng));
            float[] y = new float[rows * cols];
            c.Forward(x, y, rows, cols);
            for (int r = 0; r < rows; r++)
            {
                double[] want = Apply(c, ToDouble(x.AsSpan(r * cols, cols).ToArray()));
                for (int i = 0; i < cols; i++)
                    // Absolute floor of tol: log-softmax's x_i - lse cancels for the largest element (inherent to float).
                    AssertClose(y[r * cols + i], want[i], c.Meta.Tolerance, $"{op} row {r} element {i} of {cols}", atol: c.Meta.Tolerance);
            }
            // In place gives the same result.
            float[] z = (float[])x.Clone();
            c.Forward(z, z, rows, cols);
            Assert.Equal(y, z);
        }
    }

    [Fact]
    public void Softmax_MatchesDefinition_AndLogSoftmaxIsItsLog()
    {
        double[] x = [0.3, -1.2, 2.5, 0.0, 1.1];
        double[] p = Apply(Row["softmax"], x), lp = Apply(Row["log_softmax"], x);
        double z = x.Sum(Math.Exp);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(Math.Exp(x[i]) / z, p[i], 1e-15);
            Assert.Equal(Math.Log(p[i]), lp[i], 1e-14);
        }
        Assert.Equal(1.0, p.Sum(), 1e-15);
    }

    public static TheoryData<string, float[], float[]> SpecialRows => new()
    {
        { "softmax", [float.NegativeInfinity, 0f], [0f, 1f] },
        { "softmax", [1000f, 1000f], [0.5f, 0.5f] },
        { "softmax", [-1000f, 0f], [0f, 1f] },
        { "softmax", [float.NaN, 0f], [float.NaN, float.NaN] },
        { "log_softmax", [1000f, 0f], [0f, -1000f] },
        { "log_softmax", [float.NegativeInfinity, 0f], [float.NegativeInfinity, 0f] },
        { "log_softmax", [5f], [0f] },
    };

    [Theory, MemberData(nameof(SpecialRows))]
    public void Forward_SpecialValues(string op, float[] x, float[] expected)
    {
        IRowCase c = Row[op];
        // Pad to several vectors of -∞ (probability 0) so the vector path runs too.
        int pad = 2 * Vector256<float>.Count;
        float[] xp = x.Concat(Enumerable.Repeat(float.NegativeInfinity, pad)).ToArray(), y = new float[xp.Length];
        c.Forward<float>(xp, y);
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(expected[i])) Assert.True(float.IsNaN(y[i]), $"{op} element {i} = {y[i]}, expected NaN");
            else Assert.Equal(expected[i], y[i], 1e-6f);
        }
    }

    [Theory, MemberData(nameof(RowData), MemberType = typeof(OpCases))]
    public void Backward_GradCheck_FiniteDifference(string op)
    {
        IRowCase c = Row[op];
        var rng = new Random(43);
        const double h = 1e-6;
        foreach (int n in new[] { 1, 2, 5, 9, 17 })
        {
            double[] x = Points(c.Meta, n, rng), y = Apply(c, x);
            double[] dy = Points(c.Meta, n, rng), dx0 = Points(c.Meta, n, rng), dx = (double[])dx0.Clone();
            c.Backward<double>(x, y, dy, dx);
            for (int j = 0; j < n; j++)
            {
                double[] xp = (double[])x.Clone(), xm = (double[])x.Clone();
                xp[j] += h; xm[j] -= h;
                double[] yp = Apply(c, xp), ym = Apply(c, xm);
                double fd = 0; // (Jᵀ dy)_j = Σ_i dy_i ∂y_i/∂x_j
                for (int i = 0; i < n; i++) fd += dy[i] * (yp[i] - ym[i]) / (2 * h);
                double got = dx[j] - dx0[j];
                Assert.True(Math.Abs(got - fd) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"{op} n={n} (Jᵀdy)_{j}: analytic {got:R}, finite difference {fd:R}");
            }
        }
    }

    [Theory, MemberData(nameof(RowData), MemberType = typeof(OpCases))]
    public void Backward_VjpInnerProduct(string op)
    {
        // ⟨J t, c⟩ = ⟨t, Jᵀ c⟩ with J t from one central difference along t (JAX check_vjp).
        IRowCase c = Row[op];
        var rng = new Random(47);
        const double h = 1e-6;
        foreach (int n in new[] { 3, 10, 33 })
        {
            double[] x = Points(c.Meta, n, rng), y = Apply(c, x);
            double[] t = Points(c.Meta, n, rng), ct = Points(c.Meta, n, rng);
            double[] yp = Apply(c, x.Zip(t, (a, b) => a + h * b).ToArray()), ym = Apply(c, x.Zip(t, (a, b) => a - h * b).ToArray());
            double jvp = 0;
            for (int i = 0; i < n; i++) jvp += (yp[i] - ym[i]) / (2 * h) * ct[i];
            double[] vjp = new double[n];
            c.Backward<double>(x, y, ct, vjp);
            double rhs = t.Zip(vjp, (a, b) => a * b).Sum();
            Assert.True(Math.Abs(jvp - rhs) <= 1e-6 * Math.Max(1, Math.Abs(rhs)), $"{op} n={n}: <Jt, c> = {jvp:R}, <t, Jᵀc> = {rhs:R}");
        }
    }

    [Theory, MemberData(nameof(RowData), MemberType = typeof(OpCases))]
    public void Backward_FloatPath_MatchesDouble_AllLengths(string op)
    {
        IRowCase c = Row[op];
        var rng = new Random(53);
        const int rows = 2;
        foreach (int cols in Lengths)
        {
            float[] x = ToFloat(Points(c.Meta, rows * cols, rng)), y = new float[x.Length];
            c.Forward(x, y, rows, cols);
            float[] dy = ToFloat(Points(c.Meta, x.Length, rng)), dx0 = ToFloat(Points(c.Meta, x.Length, rng)), dx = (float[])dx0.Clone();
            c.Backward(x, y, dy, dx, rows, cols);
            for (int r = 0; r < rows; r++)
            {
                double[] xd = ToDouble(x.AsSpan(r * cols, cols).ToArray()), dxd = ToDouble(dx0.AsSpan(r * cols, cols).ToArray());
                c.Backward<double>(xd, Apply(c, xd), ToDouble(dy.AsSpan(r * cols, cols).ToArray()), dxd);
                for (int i = 0; i < cols; i++)
                    AssertClose(dx[r * cols + i], dxd[i], 1e-5, $"{op} backward row {r} element {i} of {cols}", atol: 1e-6);
            }
        }
    }

    [Fact]
    public void RowWiseDrivers_CheckShapes()
    {
        float[] x = new float[6], y = new float[5];
        var e = Assert.Throws<ArgumentException>(() => Rows.RowWise<SoftmaxOp>(x, y, 2, 3));
        Assert.Contains("2 × 3", e.Message);
        Assert.Throws<ArgumentException>(() => SoftmaxOp.Forward<float>(x, y));
        float[] dx = new float[6];
        Rows.RowWiseBackward<SoftmaxOp>(x, x, x, dx, 2, 3);
        Assert.Throws<ArgumentException>(() => Rows.RowWiseBackward<SoftmaxOp>(x, x, x, y, 2, 3));
    }
}
