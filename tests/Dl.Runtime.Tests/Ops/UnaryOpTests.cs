using System.Runtime.Intrinsics;
using static Dl.Tests.Ops.OpCases;

namespace Dl.Tests.Ops;

public class UnaryOpTests
{
    [Theory, MemberData(nameof(UnaryData), MemberType = typeof(OpCases))]
    public void Forward_AllLengths_MatchesReference(string op, float a)
    {
        IUnaryCase c = Unary[op];
        var rng = new Random(op.GetHashCode(StringComparison.Ordinal) ^ 17);
        foreach (int n in Lengths)
        {
            float[] x = ToFloat(Points(c.Meta, n, rng));
            float[] y = new float[n + 1];
            y[n] = 12345f; // guard: the driver must not write past n
            c.Forward(x, y, a);
            Assert.Equal(12345f, y[n]);
            for (int i = 0; i < n; i++)
                AssertClose(y[i], c.Scalar((double)x[i], a), c.Meta.Tolerance, $"{op}(x={x[i]:R}; a={a}) at index {i} of {n}");

            double[] yd = new double[n];
            c.Forward(ToDouble(x), yd, a);
            for (int i = 0; i < n; i++) Assert.Equal(c.Scalar((double)x[i], a), yd[i]);
        }
    }

    [Theory, MemberData(nameof(UnaryData), MemberType = typeof(OpCases))]
    public void Forward_InPlace_MatchesOutOfPlace(string op, float a)
    {
        IUnaryCase c = Unary[op];
        float[] x = ToFloat(Points(c.Meta, 2 * Vector256<float>.Count + 3, new Random(3)));
        float[] y = new float[x.Length];
        c.Forward(x, y, a);
        c.Forward(x, x, a);
        Assert.Equal(y, x);
    }

    [Theory, MemberData(nameof(UnaryData), MemberType = typeof(OpCases))]
    public void Forward_NaN_Propagates(string op, float a)
    {
        IUnaryCase c = Unary[op];
        if (op == "pow" && a == 0f) return; // IEEE pow(NaN, 0) = 1, asserted in Forward_SpecialValues
        float[] x = Enumerable.Repeat(float.NaN, Vector256<float>.Count + 3).ToArray();
        float[] y = new float[x.Length];
        c.Forward(x, y, a);
        Assert.All(y, v => Assert.True(float.IsNaN(v), $"{op}(NaN) = {v}"));
        Assert.True(double.IsNaN(c.Scalar(double.NaN, a)));
    }

    public static TheoryData<string, float, float, float> SpecialValues => new()
    {
        // op, a, x, expected
        { "relu", 0, -0f, 0f }, { "relu", 0, float.PositiveInfinity, float.PositiveInfinity }, { "relu", 0, float.NegativeInfinity, 0f },
        { "sigmoid", 0, float.NegativeInfinity, 0f }, { "sigmoid", 0, float.PositiveInfinity, 1f }, { "sigmoid", 0, 0f, 0.5f },
        { "sigmoid", 0, -200f, 0f }, { "sigmoid", 0, 200f, 1f },
        { "tanh", 0, float.PositiveInfinity, 1f }, { "tanh", 0, float.NegativeInfinity, -1f }, { "tanh", 0, 0f, 0f }, { "tanh", 0, -0f, -0f },
        { "tanh", 0, 20f, 1f }, { "tanh", 0, -20f, -1f }, { "tanh", 0, 1e-30f, 1e-30f }, { "tanh", 0, -1e-20f, -1e-20f },
        { "exp", 0, float.NegativeInfinity, 0f }, { "exp", 0, float.PositiveInfinity, float.PositiveInfinity }, { "exp", 0, 0f, 1f },
        { "exp", 0, -0f, 1f }, { "exp", 0, 100f, float.PositiveInfinity }, { "exp", 0, -200f, 0f },
        { "log", 0, 0f, float.NegativeInfinity }, { "log", 0, -0f, float.NegativeInfinity }, { "log", 0, -1f, float.NaN },
        { "log", 0, float.PositiveInfinity, float.PositiveInfinity }, { "log", 0, 1f, 0f },
        { "sqrt", 0, 0f, 0f }, { "sqrt", 0, -0f, -0f }, { "sqrt", 0, float.PositiveInfinity, float.PositiveInfinity }, { "sqrt", 0, -1f, float.NaN },
        { "sqrt", 0, 4f, 2f },
        { "square", 0, float.NegativeInfinity, float.PositiveInfinity }, { "square", 0, -3f, 9f }, { "square", 0, -0f, 0f },
        { "negate", 0, 0f, -0f }, { "negate", 0, float.PositiveInfinity, float.NegativeInfinity },
        { "abs", 0, -0f, 0f }, { "abs", 0, float.NegativeInfinity, float.PositiveInfinity }, { "abs", 0, -2.5f, 2.5f },
        { "leaky_relu", 0.01f, float.NegativeInfinity, float.NegativeInfinity }, { "leaky_relu", 0.01f, -2f, -0.02f },
        { "leaky_relu", 0.01f, float.PositiveInfinity, float.PositiveInfinity }, { "leaky_relu", 0.01f, 0f, 0f },
        { "step", 0, 0f, 0f }, { "step", 0, -0f, 0f }, { "step", 0, 1e-30f, 1f }, { "step", 0, float.PositiveInfinity, 1f },
        { "step", 0, float.NegativeInfinity, 0f }, { "step", 0, -1e-30f, 0f },
        { "pow", 2f, -3f, 9f }, { "pow", 3f, -2f, -8f }, { "pow", 2.5f, -1f, float.NaN }, { "pow", -1f, 0f, float.PositiveInfinity },
        { "pow", -1f, -0f, float.NegativeInfinity }, { "pow", 0.5f, float.PositiveInfinity, float.PositiveInfinity }, { "pow", 0f, float.NaN, 1f },
        { "pow", -2f, 0f, float.PositiveInfinity }, { "pow", 3f, -0f, -0f }, { "pow", 2.5f, float.NegativeInfinity, float.PositiveInfinity },
        { "pow", 2.5f, 0f, 0f }, { "pow", -1.5f, float.PositiveInfinity, 0f }, { "pow", 3f, float.NegativeInfinity, float.NegativeInfinity },
        { "pow", 0.5f, 4f, 2f }, { "pow", 2.5f, 4f, 32f }, { "pow", -3f, -2f, -0.125f },
        // GELU(-∞) is the limit -0 (the formula's -∞·0 would be NaN); the left tail keeps its relative accuracy.
        { "gelu", 0, 0f, 0f }, { "gelu", 0, -0f, -0f }, { "gelu", 0, float.PositiveInfinity, float.PositiveInfinity },
        { "gelu", 0, float.NegativeInfinity, -0f }, { "gelu", 0, -20f, -0f }, { "gelu", 0, 20f, 20f }, { "gelu", 0, 1e30f, 1e30f },
        { "gelu", 0, 1f, 0.8413447460685429f }, { "gelu", 0, -1f, -0.15865525393145707f }, { "gelu", 0, -10f, -7.619853024160526e-23f },
        // SiLU(-∞) is NaN in PyTorch too (-∞/∞); the left tail underflows to -0.
        { "silu", 0, 0f, 0f }, { "silu", 0, -0f, -0f }, { "silu", 0, float.PositiveInfinity, float.PositiveInfinity },
        { "silu", 0, float.NegativeInfinity, float.NaN }, { "silu", 0, -200f, -0f }, { "silu", 0, 1f, 0.7310585786300049f },
        // ELU's e^x - 1 keeps tiny inputs (no cancellation) and saturates at -α.
        { "elu", 1f, -0f, -0f }, { "elu", 1f, -1e-10f, -1e-10f }, { "elu", 1f, float.NegativeInfinity, -1f }, { "elu", 2.5f, -100f, -2.5f },
        { "elu", 1f, float.PositiveInfinity, float.PositiveInfinity }, { "elu", 0.7f, -1f, -0.44248439117999033f }, { "elu", 1f, 2f, 2f },
        { "clamp", -1f, float.NegativeInfinity, -1f }, { "clamp", -1f, float.PositiveInfinity, 1.5f }, { "clamp", -1f, 0.3f, 0.3f },
        { "clamp", 1.5f, -7f, 1.5f }, { "hardtanh", -1f, 2f, 1f }, { "hardtanh", -1f, float.NegativeInfinity, -1f },
        { "hardtanh", -0.25f, -0.5f, -0.25f },
    };

    [Theory, MemberData(nameof(SpecialValues))]
    public void Forward_SpecialValues(string op, float a, float x, float expected)
    {
        IUnaryCase c = Unary[op];
        // Vector body (the first vector) and scalar tail (the rest) of the driver, then the generic paths.
        float[] xs = Enumerable.Repeat(x, Vector256<float>.Count + 2).ToArray();
        float[] ys = new float[xs.Length];
        c.Forward(xs, ys, a);
        foreach (float y in ys) AssertSame(expected, y, $"{op}({x:R}; a={a}) driver");
        AssertSame(expected, c.Vector(Vector256.Create(x), a).GetElement(3), $"{op}({x:R}; a={a}) Vector256");
        AssertSame(expected, c.Scalar(x, a), $"{op}({x:R}; a={a}) float scalar");
        AssertSame(expected, (float)c.Scalar((double)x, a), $"{op}({x:R}; a={a}) double scalar");
    }

    private static void AssertSame(float expected, float actual, string what)
    {
        if (float.IsNaN(expected)) { Assert.True(float.IsNaN(actual), $"{what}: got {actual:R}, expected NaN"); return; }
        bool ok = expected == 0f
            ? actual == 0f && float.IsNegative(actual) == float.IsNegative(expected)
            : Math.Abs(actual - expected) <= 1e-6f * Math.Abs(expected) || actual == expected;
        Assert.True(ok, $"{what}: got {actual:R}, expected {expected:R}");
    }

    [Theory, MemberData(nameof(UnaryData), MemberType = typeof(OpCases))]
    public void Backward_GradCheck_FiniteDifference(string op, float a)
    {
        IUnaryCase c = Unary[op];
        if (!c.Meta.Differentiable)
        {
            Assert.Equal(0.0, c.ScalarBackward(1.0, c.Scalar(1.0, a), 1.0, a));
            return;
        }
        var rng = new Random(11);
        double[] x = Points(c.Meta, 64, rng, v => NearKink(op, v));
        const double h = 1e-6;
        foreach (double xi in x)
        {
            double dy = rng.NextDouble() * 2 - 1;
            double fd = (c.Scalar(xi + h, a) - c.Scalar(xi - h, a)) / (2 * h) * dy;
            double analytic = c.ScalarBackward(xi, c.Scalar(xi, a), dy, a);
            Assert.True(Math.Abs(analytic - fd) <= 1e-6 * Math.Max(1, Math.Abs(fd)),
                $"{op}'(x={xi:R}; a={a}) * dy={dy:R}: analytic {analytic:R}, finite difference {fd:R}");
        }
    }

    [Theory, MemberData(nameof(UnaryData), MemberType = typeof(OpCases))]
    public void Backward_VectorPath_MatchesScalarPath(string op, float a)
    {
        IUnaryCase c = Unary[op];
        var rng = new Random(5);
        foreach (int n in Lengths)
            foreach (bool accumulate in new[] { false, true })
            {
                float[] x = ToFloat(Points(c.Meta, n, rng));
                float[] y = new float[n];
                c.Forward(x, y, a);
                float[] dy = ToFloat(Points(new DlOpAttribute("dy") { DomainMin = -1, DomainMax = 1 }, n, rng));
                float[] dx0 = ToFloat(Points(new DlOpAttribute("dx") { DomainMin = -1, DomainMax = 1 }, n, rng));
                float[] dx = (float[])dx0.Clone();
                c.Backward(x, y, dy, dx, a, accumulate);
                for (int i = 0; i < n; i++)
                {
                    float g = c.ScalarBackward(x[i], y[i], dy[i], a);
                    float want = accumulate ? dx0[i] + g : g;
                    AssertClose(dx[i], want, Math.Max(c.Meta.Tolerance, 1e-6),
                        $"{op}' (accumulate={accumulate}) at index {i} of {n}, x={x[i]:R}");
                }
                double[] dxd = ToDouble(dx0);
                c.Backward(ToDouble(x), Array.ConvertAll(x, v => c.Scalar((double)v, a)), ToDouble(dy), dxd, a, accumulate);
                for (int i = 0; i < n; i++)
                    // Float gradients from a float y carry its rounding (1 - y² cancels near saturation) and dx0's: absolute floor.
                    AssertClose(dx[i], dxd[i], 1e-5, $"{op}' float vs double at index {i} of {n}, x={x[i]:R}", atol: 1e-6);
            }
    }

    [Fact]
    public void Relu_DerivativeAtZero_IsZero()
    {
        float[] x = new float[Vector256<float>.Count + 1], y = new float[x.Length], dx = new float[x.Length];
        float[] dy = Enumerable.Repeat(1f, x.Length).ToArray();
        Elementwise(x, y, dy, dx);
        Assert.All(dx, v => Assert.Equal(0f, v));
        Assert.Equal(0.0, ReluOp.Backward(0.0, 0.0, 1.0, 0.0));

        static void Elementwise(float[] x, float[] y, float[] dy, float[] dx)
        {
            Dl.Kernels.Elementwise.Unary<ReluOp>(x, y, 0f);
            Dl.Kernels.Elementwise.UnaryBackward<ReluOp>(x, y, dy, dx, 0f, accumulate: false);
        }
    }

    [Fact]
    public void Subgradients_AtKinks_AreDocumentedValues()
    {
        Assert.Equal(0.0, AbsOp.Backward(0.0, 0.0, 1.0, 0.0));
        Assert.Equal(0.0, AbsOp.Backward(-0.0, 0.0, 1.0, 0.0));
        Assert.Equal(0.25, LeakyReluOp.Backward(0.0, 0.0, 1.0, 0.25));
        Assert.Equal(Vector256.Create(0.25f), LeakyReluOp.Backward(Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.One, Vector256.Create(0.25f)));
        Assert.Equal(Vector256<float>.Zero, AbsOp.Backward(Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.One, default));
        Assert.Equal(0.0, StepOp.Backward(0.0, 0.0, 1.0, 0.0));
    }

    // ---- GELU (exact erf form) ----

    [Theory]
    [InlineData(1.0, 0.8413447460685429)]
    [InlineData(-1.0, -0.15865525393145707)]
    [InlineData(0.5, 0.34573123063700656)]
    [InlineData(-0.5, -0.15426876936299344)]
    [InlineData(2.0, 1.9544997361036416)]
    [InlineData(-3.0, -0.0040496940948902835)]
    [InlineData(3.5, 3.4991857982233756)]
    [InlineData(-6.0, -5.9195258702261885e-09)]
    [InlineData(-10.0, -7.619853024160526e-23)]
    public void Gelu_KnownValues(double x, double expected)
    {
        // x·Φ(x), the expected values from a 60-digit evaluation of the erf series (GELU(1) = Φ(1) = 0.8413447460685429).
        double got = GeluOp.Forward(x, 0.0);
        Assert.True(Math.Abs(got - expected) <= 1e-14 * Math.Abs(expected), $"GELU({x}) = {got:R}, expected {expected:R}");
        float expectedF = (float)expected;
        Assert.Equal(expectedF, GeluOp.Forward((float)x, 0f), MathF.Abs(expectedF) * 1.2e-7f);
        Assert.Equal(expectedF, GeluOp.Forward(Vector256.Create((float)x), default).GetElement(5), MathF.Abs(expectedF) * 1.2e-7f);
    }

    [Fact]
    public void Gelu_Derivative_MatchesCentralDifferences_AcrossBothAlgorithms()
    {
        // [-8, 8] in steps that straddle the switch from the erf series to the erfc continued fraction at |x| = 2.8.
        const double h = 1e-6;
        for (double x = -8; x <= 8; x += 0.0173)
        {
            double fd = (GeluOp.Forward(x + h, 0.0) - GeluOp.Forward(x - h, 0.0)) / (2 * h);
            double analytic = GeluOp.Backward(x, 0.0, 1.0, 0.0);
            Assert.True(Math.Abs(analytic - fd) <= 1e-9, $"GELU'({x:R}): analytic {analytic:R}, finite difference {fd:R}");
        }
        foreach (double x in new[] { 2.8, -2.8, 2.8 - 1e-15, -2.8 + 1e-15 })
        {
            // Continuity at the switch: both sides agree to ~1e-15.
            Assert.Equal(GeluOp.Forward(x, 0.0), GeluOp.Forward(x + Math.Sign(x) * 1e-12, 0.0), 1e-11);
        }
        // Φ(0) + 0·φ(0) = ½; far tails: 0 on the left, 1 on the right.
        Assert.Equal(0.5, GeluOp.Backward(0.0, 0.0, 1.0, 0.0));
        Assert.Equal(0.0, GeluOp.Backward(double.NegativeInfinity, 0.0, 1.0, 0.0));
        Assert.Equal(1.0, GeluOp.Backward(double.PositiveInfinity, 0.0, 1.0, 0.0));
        Assert.Equal(0f, GeluOp.Backward(Vector256.Create(float.NegativeInfinity), default, Vector256<float>.One, default).GetElement(0));
        Assert.Equal(1f, GeluOp.Backward(Vector256.Create(float.PositiveInfinity), default, Vector256<float>.One, default).GetElement(0));
        Assert.True(float.IsNaN(GeluOp.Backward(Vector256.Create(float.NaN), default, Vector256<float>.One, default).GetElement(0)));
    }

    [Fact]
    public void Gelu_VectorAndScalarFloat_MatchTheDoubleReference_WithinAnUlp()
    {
        var xs = new List<float>();
        for (float v = -8f; v <= 8f; v += 0.00731f) xs.Add(v);
        xs.AddRange([-14f, -13.5f, -12f, -9.99f, 9.99f, 14f, 30f, -30f, 1e3f, -1e3f, 1e30f, -1e30f, float.MaxValue, -float.MaxValue,
            1e-30f, -1e-30f, float.Epsilon, -float.Epsilon, 1e-7f, -1e-7f]);
        float[] x = xs.ToArray(), y = new float[x.Length], dx = new float[x.Length];
        float[] ones = Enumerable.Repeat(1f, x.Length).ToArray();
        Dl.Kernels.Elementwise.Unary<GeluOp>(x, y, 0f);
        Dl.Kernels.Elementwise.UnaryBackward<GeluOp>(x, y, ones, dx, 0f, accumulate: false);
        for (int i = 0; i < x.Length; i++)
        {
            double want = GeluOp.Forward((double)x[i], 0.0);
            // One ulp of the result (subnormal results: the smallest spacing).
            double ulp = Math.Max(Math.Abs(want) * 1.2e-7, float.Epsilon);
            Assert.True(Math.Abs(y[i] - want) <= ulp, $"GELU({x[i]:R}) driver = {y[i]:R}, expected {want:R}");
            Assert.True(Math.Abs(GeluOp.Forward(x[i], 0f) - want) <= ulp, $"GELU({x[i]:R}) scalar = {GeluOp.Forward(x[i], 0f):R}, expected {want:R}");
            double wantD = GeluOp.Backward((double)x[i], 0.0, 1.0, 0.0);
            // The derivative crosses zero near x = -0.7518, where Φ ≈ 0.226 cancels against x·φ: an absolute floor for the
            // fast path's 1.3e-9 relative error in Φ.
            Assert.True(Math.Abs(dx[i] - wantD) <= 1.2e-7 * Math.Abs(wantD) + 1e-9, $"GELU'({x[i]:R}) driver = {dx[i]:R}, expected {wantD:R}");
            Assert.True(Math.Abs(GeluOp.Backward(x[i], 0f, 1f, 0f) - wantD) <= 1.2e-7 * Math.Abs(wantD) + 1e-9,
                $"GELU'({x[i]:R}) scalar = {GeluOp.Backward(x[i], 0f, 1f, 0f):R}, expected {wantD:R}");
        }
    }

    [Fact]
    public void Tanh_IsRelativelyAccurateNearZero_AndSaturates()
    {
        var xs = new List<float>();
        for (int k = 1; k <= 60; k++) { xs.Add(MathF.ScaleB(1f, -k)); xs.Add(-MathF.ScaleB(1.37f, -k)); }
        for (float v = -10f; v <= 10f; v += 0.0371f) xs.Add(v);
        float[] x = xs.ToArray(), y = new float[x.Length];
        Dl.Kernels.Elementwise.Unary<TanhOp>(x, y, 0f);
        for (int i = 0; i < x.Length; i++)
        {
            double want = Math.Tanh(x[i]);
            Assert.True(Math.Abs(y[i] - want) <= 3e-7 * Math.Abs(want), $"tanh({x[i]:R}) = {y[i]:R}, expected {want:R}");
        }
        Assert.Equal(Vector256<float>.One, TanhOp.Forward(Vector256.Create(9.5f), default));
    }
}
