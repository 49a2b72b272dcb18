using Dl.Kernels;
using static Dl.Tests.Ops.OpCases;

namespace Dl.Tests.Ops;

public class LossOpTests
{
    /// <summary>The documented formulas, written out naively: the op must agree with its own documentation.</summary>
    private static readonly Dictionary<string, Func<double[], double[], double>> Definitions = new()
    {
        ["softmax_cross_entropy"] = (x, t) => -x.Select((v, i) => t[i] == 0 ? 0 : t[i] * Math.Log(Math.Exp(v) / x.Sum(Math.Exp))).Sum(),
        ["softmax_cross_entropy_labels"] = (x, t) => -Math.Log(Math.Exp(x[(int)t[0]]) / x.Sum(Math.Exp)),
        ["mse_loss"] = (x, t) => x.Select((v, i) => (v - t[i]) * (v - t[i])).Average(),
        ["half_squared_error"] = (x, t) => 0.5 * x.Select((v, i) => (v - t[i]) * (v - t[i])).Sum(),
        ["binary_cross_entropy_with_logits"] = (x, t) => x.Select((v, i) =>
        {
            double s = 1 / (1 + Math.Exp(-v));
            return -(t[i] * Math.Log(s) + (1 - t[i]) * Math.Log(1 - s));
        }).Average(),
        ["binary_cross_entropy"] = (x, t) => x.Select((v, i) =>
        {
            double p = Math.Clamp(v, 1e-7, 1 - 1e-7);
            return -(t[i] * Math.Log(p) + (1 - t[i]) * Math.Log(1 - p));
        }).Average(),
    };

    private static double Eval(ILossCase c, double[] x, double[] t) => c.Forward<double>(x, t, new double[x.Length]);

    private static double[] TargetRows(string op, int rows, int cols, Random rng)
        => Enumerable.Range(0, rows).SelectMany(_ => Target(op, cols, rng)).ToArray();

    [Fact]
    public void EveryLoss_HasADefinitionInTheTests()
        => Assert.All(Loss.Keys, name => Assert.True(Definitions.ContainsKey(name), $"Add the documented formula of '{name}' to LossOpTests.Definitions."));

    [Theory, MemberData(nameof(LossData), MemberType = typeof(OpCases))]
    public void Forward_MatchesDocumentedFormula(string op)
    {
        ILossCase c = Loss[op];
        var rng = new Random(59);
        foreach (int n in new[] { 1, 2, 7, 10 })
        {
            double[] x = Points(c.Meta, n, rng), t = Target(op, n, rng);
            Assert.Equal(Definitions[op](x, t), Eval(c, x, t), 1e-12);
        }
    }

    [Theory, MemberData(nameof(LossData), MemberType = typeof(OpCases))]
    public void Forward_AllLengths_MatchesReference(string op)
    {
        ILossCase c = Loss[op];
        var rng = new Random(61);
        const int rows = 2;
        foreach (int cols in Lengths.Where(n => n > 0))
        {
            float[] x = ToFloat(Points(c.Meta, rows * cols, rng));
            float[] t = ToFloat(TargetRows(op, rows, cols, rng));
            int tc = t.Length / rows;
            float[] scratch = new float[x.Length], loss = new float[rows];
            c.Loss(x, t, scratch, loss, rows, cols);
            for (int r = 0; r < rows; r++)
            {
                double want = Eval(c, ToDouble(x.AsSpan(r * cols, cols).ToArray()), ToDouble(t.AsSpan(r * tc, tc).ToArray()));
                AssertClose(loss[r], want, c.Meta.Tolerance, $"{op} row {r} of width {cols}");
            }
        }
    }

    [Theory, MemberData(nameof(LossData), MemberType = typeof(OpCases))]
    public void Backward_GradCheck_FiniteDifference(string op)
    {
        ILossCase c = Loss[op];
        var rng = new Random(67);
        const double h = 1e-6;
        foreach (int n in new[] { 1, 2, 5, 10 })
        {
            double[] x = Points(c.Meta, n, rng), t = Target(op, n, rng), scratch = new double[n];
            c.Forward<double>(x, t, scratch);
            double dLoss = 0.5 + rng.NextDouble();
            double[] dx0 = Points(c.Meta, n, rng), dx = (double[])dx0.Clone();
            c.Backward<double>(x, t, scratch, dLoss, dx);
            for (int j = 0; j < n; j++)
            {
                double[] xp = (double[])x.Clone(), xm = (double[])x.Clone();
                xp[j] += h; xm[j] -= h;
                double fd = (Eval(c, xp, t) - Eval(c, xm, t)) / (2 * h) * dLoss;
                double got = dx[j] - dx0[j];
                Assert.True(Math.Abs(got - fd) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"{op} n={n} ∂ℓ/∂x_{j}: analytic {got:R}, finite difference {fd:R}");
            }
        }
    }

    [Theory, MemberData(nameof(LossData), MemberType = typeof(OpCases))]
    public void Backward_VjpInnerProduct(string op)
    {
        ILossCase c = Loss[op];
        var rng = new Random(71);
        const double h = 1e-6;
        foreach (int n in new[] { 3, 10, 33 })
        {
            double[] x = Points(c.Meta, n, rng), tg = Target(op, n, rng), scratch = new double[n];
            double[] dir = Points(new DlOpAttribute("dir") { DomainMin = -1, DomainMax = 1 }, n, rng);
            double cot = 0.75;
            c.Forward<double>(x, tg, scratch);
            double jvp = (Eval(c, x.Zip(dir, (a, b) => a + h * b).ToArray(), tg) - Eval(c, x.Zip(dir, (a, b) => a - h * b).ToArray(), tg)) / (2 * h) * cot;
            double[] g = new double[n];
            c.Backward<double>(x, tg, scratch, cot, g);
            double rhs = dir.Zip(g, (a, b) => a * b).Sum();
            Assert.True(Math.Abs(jvp - rhs) <= 1e-6 * Math.Max(1, Math.Abs(rhs)), $"{op} n={n}: <Jt, c> = {jvp:R}, <t, Jᵀc> = {rhs:R}");
        }
    }

    [Theory, MemberData(nameof(LossData), MemberType = typeof(OpCases))]
    public void Backward_FloatDriver_MatchesDouble_AllLengths(string op)
    {
        ILossCase c = Loss[op];
        var rng = new Random(73);
        const int rows = 2;
        foreach (int cols in Lengths.Where(n => n > 0))
        {
            float[] x = ToFloat(Points(c.Meta, rows * cols, rng)), t = ToFloat(TargetRows(op, rows, cols, rng));
            int tc = t.Length / rows;
            float[] scratch = new float[x.Length], loss = new float[rows], dLoss = [0.5f, 2f];
            c.Loss(x, t, scratch, loss, rows, cols);
            float[] dx0 = ToFloat(Points(c.Meta, x.Length, rng)), dx = (float[])dx0.Clone();
            c.LossBackward(x, t, scratch, dLoss, dx, rows, cols);
            for (int r = 0; r < rows; r++)
            {
                double[] xd = ToDouble(x.AsSpan(r * cols, cols).ToArray()), td = ToDouble(t.AsSpan(r * tc, tc).ToArray());
                double[] sd = new double[cols], dxd = ToDouble(dx0.AsSpan(r * cols, cols).ToArray());
                c.Forward<double>(xd, td, sd);
                c.Backward<double>(xd, td, sd, dLoss[r], dxd);
                for (int i = 0; i < cols; i++)
                    AssertClose(dx[r * cols + i], dxd[i], 1e-5, $"{op} gradient row {r} element {i} of {cols}", atol: 1e-6);
            }
        }
    }

    [Fact]
    public void StableForms_DoNotOverflow()
    {
        float[] scratch = new float[3];
        // Huge logits: max subtraction keeps e^x finite.
        Assert.Equal(1000f, SoftmaxCrossEntropyLabelsOp.Forward<float>([1000f, 0f, 2000f], [0f], scratch), 1e-3f);
        Assert.Equal(0f, SoftmaxCrossEntropyOp.Forward<float>([1000f, 0f, 2000f], [0f, 0f, 1f], scratch), 1e-6f);
        // A logit of -∞ for a class of target 0 is fine (no 0·∞).
        Assert.Equal(0f, SoftmaxCrossEntropyOp.Forward<float>([float.NegativeInfinity, 0f, float.NegativeInfinity], [0f, 1f, 0f], scratch));
        // A confident correct logit has a tiny but non-zero loss (accurate ln(1 + u)), a confident wrong one a large finite loss.
        float tiny = BinaryCrossEntropyWithLogitsOp.Forward<float>([30f], [1f], scratch);
        Assert.Equal(Math.Exp(-30), tiny, 1e-18);
        Assert.True(tiny > 0f);
        Assert.Equal(100f, BinaryCrossEntropyWithLogitsOp.Forward<float>([-100f], [1f], scratch), 1e-4f);
        // Probabilities at 0 and 1 are clamped to [1e-7, 1 - 1e-7] (Keras): finite loss, zero gradient outside.
        Assert.Equal(-Math.Log(1e-7), BinaryCrossEntropyOp.Forward<double>([0.0], [1.0], new double[1]), 1e-9);
        Assert.True(float.IsFinite(BinaryCrossEntropyOp.Forward<float>([1f], [0f], scratch)));
        double[] g = new double[2];
        BinaryCrossEntropyOp.Backward<double>([0.0, 1.0], [1.0, 0.0], new double[2], 1.0, g);
        Assert.Equal([0.0, 0.0], g);
    }

    [Fact]
    public void SoftmaxCrossEntropy_GradientIsPMinusT_ForADistribution()
    {
        double[] x = [0.2, -1.0, 3.0], t = [0.1, 0.0, 0.9], p = new double[3], dx = new double[3];
        SoftmaxCrossEntropyOp.Forward<double>(x, t, p);
        SoftmaxCrossEntropyOp.Backward<double>(x, t, p, 1.0, dx);
        double z = x.Sum(Math.Exp);
        for (int i = 0; i < 3; i++) Assert.Equal(Math.Exp(x[i]) / z - t[i], dx[i], 1e-15);

        double[] dxl = new double[3];
        SoftmaxCrossEntropyLabelsOp.Forward<double>(x, [2.0], p);
        SoftmaxCrossEntropyLabelsOp.Backward<double>(x, [2.0], p, 1.0, dxl);
        for (int i = 0; i < 3; i++) Assert.Equal(Math.Exp(x[i]) / z - (i == 2 ? 1 : 0), dxl[i], 1e-15);
    }

    [Theory]
    [InlineData(10f)]
    [InlineData(-1f)]
    [InlineData(2.5f)]
    [InlineData(float.NaN)]
    [InlineData(1e9f)]
    public void LabelsLoss_InvalidLabel_ThrowsNamingLabelAndClassCount(float label)
    {
        float[] x = new float[10], scratch = new float[10], dx = new float[10];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropyLabelsOp.Forward<float>(x, [label], scratch));
        Assert.Contains(label.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Contains("10 classes", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropyLabelsOp.Backward<float>(x, [label], scratch, 1f, dx));
        // Through the batch driver: row 1 holds the bad label.
        float[] xs = new float[20], ss = new float[20], loss = new float[2];
        Assert.Throws<ArgumentOutOfRangeException>(() => Rows.Loss<SoftmaxCrossEntropyLabelsOp>(xs, [3f, label], ss, loss, 2, 10));
    }

    [Fact]
    public void LossDrivers_CheckShapes()
    {
        float[] x = new float[6], s = new float[6], loss = new float[2];
        var e = Assert.Throws<ArgumentException>(() => Rows.Loss<MseLossOp>(x, new float[5], s, loss, 2, 3));
        Assert.Contains("target", e.Message);
        Assert.Throws<ArgumentException>(() => Rows.Loss<MseLossOp>(x, new float[6], s, new float[3], 2, 3));
        Assert.Throws<ArgumentException>(() => MseLossOp.Forward<float>([], [], []));
        // Two labels need a prediction of two whole rows: 3 scores cannot be split.
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropyLabelsOp.Forward<float>([1f, 2f, 3f], [0f, 1f], new float[3]));
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropyOp.Forward<float>([1f, 2f], [1f], new float[2]));
    }

    [Fact]
    public void SequenceLabels_AreTheMeanOfPerStepCrossEntropies()
    {
        // Two steps of three classes: ℓ = ((lse(x₀) - x₀[2]) + (lse(x₁) - x₁[0])) / 2; the gradient is (p_r - onehot(k_r)) / 2.
        double[] x = [0.5, -1.0, 2.0, 1.5, 0.25, -0.75];
        double[] labels = [2, 0];
        var scratch = new double[6];
        double Lse(int r) => Math.Log(Math.Exp(x[3 * r]) + Math.Exp(x[3 * r + 1]) + Math.Exp(x[3 * r + 2]));
        double expected = ((Lse(0) - x[2]) + (Lse(1) - x[3])) / 2;
        Assert.Equal(expected, SoftmaxCrossEntropyLabelsOp.Forward<double>(x, labels, scratch), 12);
        var dx = new double[6];
        SoftmaxCrossEntropyLabelsOp.Backward<double>(x, labels, scratch, 1.0, dx);
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++)
            {
                double p = Math.Exp(x[3 * r + c] - Lse(r));
                Assert.Equal((p - (c == (int)labels[r] ? 1 : 0)) / 2, dx[3 * r + c], 12);
            }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropyLabelsOp.Forward<double>(x, [2, 3], scratch));
        Assert.Contains("step 1", e.Message);
    }
}
