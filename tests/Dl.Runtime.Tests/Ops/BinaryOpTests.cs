using System.Runtime.Intrinsics;
using Dl.Kernels;
using static Dl.Tests.Ops.OpCases;

namespace Dl.Tests.Ops;

public class BinaryOpTests
{
    [Theory, MemberData(nameof(BinaryData), MemberType = typeof(OpCases))]
    public void Forward_AllLengths_MatchesReference(string op)
    {
        IBinaryCase c = Binary[op];
        var rng = new Random(23);
        foreach (int n in Lengths)
        {
            float[] a = ToFloat(Points(c.Meta, n, rng)), b = ToFloat(Points(c.Meta, n, rng));
            float s = (float)Points(c.Meta, 1, rng, v => Math.Abs(v) < 0.1)[0];
            float[] y = new float[n + 1], ysb = new float[n + 1], ysa = new float[n + 1];
            y[n] = ysb[n] = ysa[n] = 777f;
            c.Forward(a, b, y);
            c.ForwardScalarB(a, s, ysb);
            c.ForwardScalarA(s, b, ysa);
            Assert.Equal(777f, y[n]); Assert.Equal(777f, ysb[n]); Assert.Equal(777f, ysa[n]);
            for (int i = 0; i < n; i++)
            {
                AssertClose(y[i], c.Scalar((double)a[i], b[i]), c.Meta.Tolerance, $"{op}({a[i]:R}, {b[i]:R}) at {i} of {n}");
                AssertClose(ysb[i], c.Scalar((double)a[i], s), c.Meta.Tolerance, $"{op}({a[i]:R}, scalar {s:R}) at {i} of {n}");
                AssertClose(ysa[i], c.Scalar((double)s, b[i]), c.Meta.Tolerance, $"{op}(scalar {s:R}, {b[i]:R}) at {i} of {n}");
            }
        }
    }

    [Theory, MemberData(nameof(BinaryData), MemberType = typeof(OpCases))]
    public void Forward_InPlace_MatchesOutOfPlace(string op)
    {
        IBinaryCase c = Binary[op];
        var rng = new Random(2);
        float[] a = ToFloat(Points(c.Meta, 19, rng)), b = ToFloat(Points(c.Meta, 19, rng));
        float[] y = new float[19];
        c.Forward(a, b, y);
        float[] a2 = (float[])a.Clone(), b2 = (float[])b.Clone();
        c.Forward(a2, b, a2);
        c.Forward(a, b2, b2);
        Assert.Equal(y, a2);
        Assert.Equal(y, b2);
    }

    [Theory, MemberData(nameof(BinaryData), MemberType = typeof(OpCases))]
    public void Forward_NaN_Propagates(string op)
    {
        IBinaryCase c = Binary[op];
        int n = Vector256<float>.Count + 2;
        float[] nan = Enumerable.Repeat(float.NaN, n).ToArray(), one = Enumerable.Repeat(1.5f, n).ToArray(), y = new float[n];
        c.Forward(nan, one, y);
        Assert.All(y, v => Assert.True(float.IsNaN(v), $"{op}(NaN, 1.5) = {v}"));
        c.Forward(one, nan, y);
        Assert.All(y, v => Assert.True(float.IsNaN(v), $"{op}(1.5, NaN) = {v}"));
    }

    public static TheoryData<string, float, float, float> SpecialValues => new()
    {
        { "maximum", -0f, 0f, 0f }, { "maximum", 0f, -0f, 0f }, { "minimum", -0f, 0f, -0f }, { "minimum", 0f, -0f, -0f },
        { "maximum", float.NegativeInfinity, -1e30f, -1e30f }, { "minimum", float.PositiveInfinity, 3f, 3f },
        { "maximum", 2f, 2f, 2f }, { "minimum", -7f, -7f, -7f },
        { "divide", 1f, 0f, float.PositiveInfinity }, { "divide", 1f, -0f, float.NegativeInfinity }, { "divide", 0f, 0f, float.NaN },
        { "subtract", float.PositiveInfinity, float.PositiveInfinity, float.NaN }, { "add", float.PositiveInfinity, float.NegativeInfinity, float.NaN },
        { "multiply", 0f, float.PositiveInfinity, float.NaN }, { "multiply", -0f, 5f, -0f }, { "subtract", 0f, 0f, 0f },
    };

    [Theory, MemberData(nameof(SpecialValues))]
    public void Forward_SpecialValues(string op, float a, float b, float expected)
    {
        IBinaryCase c = Binary[op];
        int n = Vector256<float>.Count + 2;
        float[] av = Enumerable.Repeat(a, n).ToArray(), bv = Enumerable.Repeat(b, n).ToArray(), y = new float[n];
        c.Forward(av, bv, y);
        foreach (float v in y.Append(c.Scalar(a, b)).Append((float)c.Scalar((double)a, b)))
        {
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(v), $"{op}({a}, {b}) = {v}, expected NaN");
            else
            {
                Assert.Equal(expected, v);
                Assert.True(float.IsNegative(v) == float.IsNegative(expected), $"{op}({a}, {b}) = {v:R}: sign of zero, expected {expected:R}");
            }
        }
    }

    [Theory, MemberData(nameof(BinaryData), MemberType = typeof(OpCases))]
    public void Backward_GradCheck_FiniteDifference(string op)
    {
        IBinaryCase c = Binary[op];
        var rng = new Random(29);
        const double h = 1e-6;
        for (int k = 0; k < 64; k++)
        {
            double a, b;
            do { a = Points(c.Meta, 1, rng)[0]; b = Points(c.Meta, 1, rng)[0]; } while (NearKink(op, a, b));
            double dy = rng.NextDouble() * 2 - 1, y = c.Scalar(a, b);
            double fdA = (c.Scalar(a + h, b) - c.Scalar(a - h, b)) / (2 * h) * dy;
            double fdB = (c.Scalar(a, b + h) - c.Scalar(a, b - h)) / (2 * h) * dy;
            double ga = c.GradA(a, b, y, dy), gb = c.GradB(a, b, y, dy);
            Assert.True(Math.Abs(ga - fdA) <= 1e-6 * Math.Max(1, Math.Abs(fdA)), $"d{op}/da at ({a:R}, {b:R}): analytic {ga:R}, finite difference {fdA:R}");
            Assert.True(Math.Abs(gb - fdB) <= 1e-6 * Math.Max(1, Math.Abs(fdB)), $"d{op}/db at ({a:R}, {b:R}): analytic {gb:R}, finite difference {fdB:R}");
        }
    }

    [Theory, MemberData(nameof(BinaryData), MemberType = typeof(OpCases))]
    public void Backward_VectorPath_MatchesScalarPath(string op)
    {
        IBinaryCase c = Binary[op];
        var rng = new Random(31);
        var unit = new DlOpAttribute("unit") { DomainMin = -1, DomainMax = 1 };
        foreach (int n in Lengths)
        {
            float[] a = ToFloat(Points(c.Meta, n, rng)), b = ToFloat(Points(c.Meta, n, rng, v => Math.Abs(v) < 0.1));
            if (n > 2) { b[1] = a[1]; } // a tie in every length that has one, so the ½/½ rule runs in both paths
            float[] y = new float[n];
            c.Forward(a, b, y);
            float[] dy = ToFloat(Points(unit, n, rng)), da0 = ToFloat(Points(unit, n, rng)), db0 = ToFloat(Points(unit, n, rng));
            float[] da = (float[])da0.Clone(), db = (float[])db0.Clone();
            c.Backward(a, b, y, dy, da, db);
            float s = b.Length > 0 ? b[0] : 1.5f;
            float[] ys = new float[n], das = (float[])da0.Clone(), dbs = (float[])db0.Clone();
            c.ForwardScalarB(a, s, ys);
            c.BackwardScalarB(a, s, ys, dy, das);
            float[] ya = new float[n];
            c.ForwardScalarA(s, b, ya);
            c.BackwardScalarA(s, b, ya, dy, dbs);
            double tol = Math.Max(c.Meta.Tolerance, 1e-6);
            for (int i = 0; i < n; i++)
            {
                AssertClose(da[i], da0[i] + c.GradA(a[i], b[i], y[i], dy[i]), tol, $"{op} dA at {i} of {n}");
                AssertClose(db[i], db0[i] + c.GradB(a[i], b[i], y[i], dy[i]), tol, $"{op} dB at {i} of {n}");
                AssertClose(das[i], da0[i] + c.GradA(a[i], s, ys[i], dy[i]), tol, $"{op} dA (scalar b) at {i} of {n}");
                AssertClose(dbs[i], db0[i] + c.GradB(s, b[i], ya[i], dy[i]), tol, $"{op} dB (scalar a) at {i} of {n}");
            }

            // Only one side requested: the other stays untouched (empty span).
            float[] onlyA = (float[])da0.Clone();
            c.Backward(a, b, y, dy, onlyA, Span<float>.Empty);
            Assert.Equal(da, onlyA);
        }
    }

    [Theory]
    [InlineData("maximum")]
    [InlineData("minimum")]
    public void Backward_Ties_SplitGradientHalfHalf(string op)
    {
        IBinaryCase c = Binary[op];
        int n = Vector256<float>.Count + 3;
        float[] a = Enumerable.Range(0, n).Select(i => i * 0.5f - 2f).ToArray(), b = (float[])a.Clone();
        b[^1] = -0f; a[^1] = 0f; // ±0 compare equal: a tie too
        float[] y = new float[n], dy = Enumerable.Repeat(3f, n).ToArray(), da = new float[n], db = new float[n];
        c.Forward(a, b, y);
        c.Backward(a, b, y, dy, da, db);
        Assert.All(da, v => Assert.Equal(1.5f, v));
        Assert.All(db, v => Assert.Equal(1.5f, v));
        Assert.Equal(0.5, c.GradA(2.0, 2.0, 2.0, 1.0));
        Assert.Equal(0.5, c.GradB(2.0, 2.0, 2.0, 1.0));
        // Away from ties the whole gradient goes to the selected operand.
        Assert.Equal(op == "maximum" ? 1.0 : 0.0, c.GradA(3.0, 2.0, 0, 1.0));
        Assert.Equal(op == "maximum" ? 0.0 : 1.0, c.GradB(3.0, 2.0, 0, 1.0));
    }

    [Theory, MemberData(nameof(BinaryData), MemberType = typeof(OpCases))]
    public void Backward_Double_MatchesGenericPath(string op)
    {
        IBinaryCase c = Binary[op];
        var rng = new Random(37);
        double[] a = Points(c.Meta, 13, rng), b = Points(c.Meta, 13, rng, v => Math.Abs(v) < 0.1);
        double[] y = a.Zip(b, c.Scalar).ToArray(), dy = Points(c.Meta, 13, rng), da = new double[13], db = new double[13];
        c.Backward(a, b, y, dy, da, db);
        for (int i = 0; i < 13; i++)
        {
            Assert.Equal(c.GradA(a[i], b[i], y[i], dy[i]), da[i]);
            Assert.Equal(c.GradB(a[i], b[i], y[i], dy[i]), db[i]);
        }
    }
}
