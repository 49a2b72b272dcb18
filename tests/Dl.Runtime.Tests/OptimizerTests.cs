using Dl;

namespace Dl.Tests;

public class OptimizerTests
{
    private const float Tol = 1e-6f;

    private static void Near(float expected, float actual, float tol = Tol) =>
        Assert.True(Math.Abs(expected - actual) <= tol * Math.Max(1f, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void Sgd_Plain_IsParameterMinusLrTimesGradient()
    {
        float[] p = [1f, 2f, -3f];
        float[] g = [0.5f, -1f, 2f];
        new Sgd(lr: 0.1f).Step(p, g);
        Near(0.95f, p[0]); Near(2.1f, p[1]); Near(-3.2f, p[2]);
    }

    [Fact]
    public void Sgd_WeightDecay_IsAddedToGradient()
    {
        // g' = 0.5 + 0.1·2 = 0.7; p = 2 − 0.1·0.7 = 1.93
        float[] p = [2f];
        new Sgd(lr: 0.1f, weightDecay: 0.1f).Step(p, [0.5f]);
        Near(1.93f, p[0]);
    }

    [Fact]
    public void Sgd_Momentum_PlainVsNesterov_MatchHandComputedValues()
    {
        // constant gradient 1, lr 0.1, μ 0.9
        // plain:    b1 = 1, p1 = 0.9;            b2 = 1.9, p2 = 0.71
        // Nesterov: b1 = 1, d = 1.9, p1 = 0.81;  b2 = 1.9, d = 1 + 1.71 = 2.71, p2 = 0.539
        float[] plain = [1f], nesterov = [1f];
        var a = new Sgd(0.1f, momentum: 0.9f);
        var b = new Sgd(0.1f, momentum: 0.9f, nesterov: true);
        a.Step(plain, [1f]); b.Step(nesterov, [1f]);
        Near(0.9f, plain[0]); Near(0.81f, nesterov[0]);
        a.Step(plain, [1f]); b.Step(nesterov, [1f]);
        Near(0.71f, plain[0]); Near(0.539f, nesterov[0]);
    }

    [Fact]
    public void Sgd_MomentumAndDecay_MatchesDoubleReference_OverSteps()
    {
        const int n = 37; // 4 full Vector256 blocks + a scalar tail of 5
        var rng = new DlRandom(3);
        float[] p = new float[n];
        rng.FillNormal(p);
        double[] refP = p.Select(x => (double)x).ToArray(), buf = new double[n];
        foreach (bool nesterov in new[] { false, true })
        {
            float[] q = (float[])p.Clone();
            double[] r = (double[])refP.Clone();
            Array.Clear(buf);
            var sgd = new Sgd(0.05f, momentum: 0.8f, nesterov: nesterov, weightDecay: 0.01f);
            for (int step = 0; step < 6; step++)
            {
                float[] g = new float[n];
                rng.FillNormal(g);
                sgd.Step(q, g);
                for (int i = 0; i < n; i++)
                {
                    double gi = g[i] + 0.01 * r[i];
                    buf[i] = 0.8 * buf[i] + gi;
                    double d = nesterov ? gi + 0.8 * buf[i] : buf[i];
                    r[i] -= 0.05 * d;
                }
            }
            for (int i = 0; i < n; i++) Near((float)r[i], q[i], 1e-5f);
        }
    }

    [Fact]
    public void Adam_FirstStep_MovesByLrTimesSignOfGradient()
    {
        // After one step m̂ = g and v̂ = g², so the update is lr·g / (|g| + ε).
        float[] p = [1f, -1f, 0.5f];
        new Adam(lr: 0.01f).Step(p, [0.5f, -2f, 1e-3f]);
        Near(0.99f, p[0]); Near(-0.99f, p[1]); Near(0.49f, p[2], 1e-5f);
    }

    [Fact]
    public void Adam_MatchesPyTorchFormulas_OverSteps()
    {
        const int n = 19;
        var rng = new DlRandom(11);
        float[] p = new float[n];
        rng.FillNormal(p);
        double[] r = p.Select(x => (double)x).ToArray(), m = new double[n], v = new double[n];
        var adam = new Adam(lr: 0.01f, beta1: 0.9f, beta2: 0.99f, eps: 1e-8f, weightDecay: 0.05f);
        for (int t = 1; t <= 8; t++)
        {
            float[] g = new float[n];
            rng.FillNormal(g);
            adam.Step(p, g);
            for (int i = 0; i < n; i++)
            {
                double gi = g[i] + 0.05 * r[i];
                m[i] = 0.9 * m[i] + 0.1 * gi;
                v[i] = 0.99 * v[i] + 0.01 * gi * gi;
                double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(0.99, t)) + 1e-8;
                r[i] -= 0.01 / (1 - Math.Pow(0.9, t)) * m[i] / denom;
            }
        }
        Assert.Equal(8, adam.StepCount);
        for (int i = 0; i < n; i++) Near((float)r[i], p[i], 2e-5f);
    }

    [Fact]
    public void AdamW_DecaysDecoupled_WhileAdamAddsL2ToGradient()
    {
        // lr 0.1, λ 0.1, p 1, g 0.01.
        // AdamW: p·(1 − 0.01) − 0.1·sign(g) = 0.99 − 0.1 = 0.89.
        // Adam:  g' = 0.01 + 0.1·1 = 0.11, p − 0.1·sign(g') = 0.9.
        float[] w = [1f], a = [1f];
        new AdamW(lr: 0.1f, weightDecay: 0.1f).Step(w, [0.01f]);
        new Adam(lr: 0.1f, weightDecay: 0.1f).Step(a, [0.01f]);
        Near(0.89f, w[0], 1e-5f);
        Near(0.9f, a[0], 1e-5f);
    }

    [Fact]
    public void AdamW_MatchesPyTorchFormulas_OverSteps()
    {
        const int n = 21;
        var rng = new DlRandom(5);
        float[] p = new float[n];
        rng.FillNormal(p);
        double[] r = p.Select(x => (double)x).ToArray(), m = new double[n], v = new double[n];
        var opt = new AdamW(lr: 0.02f, weightDecay: 0.1f);
        for (int t = 1; t <= 5; t++)
        {
            float[] g = new float[n];
            rng.FillNormal(g);
            opt.Step(p, g);
            for (int i = 0; i < n; i++)
            {
                r[i] *= 1 - 0.02 * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * (double)g[i];
                double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(0.999, t)) + 1e-8;
                r[i] -= 0.02 / (1 - Math.Pow(0.9, t)) * m[i] / denom;
            }
        }
        for (int i = 0; i < n; i++) Near((float)r[i], p[i], 2e-5f);
    }

    public static TheoryData<string> OptimizerNames => new() { "sgd", "momentum", "nesterov", "adam", "adamw" };

    private static Optimizer Make(string name) => name switch
    {
        "sgd" => new Sgd(0.1f, weightDecay: 0.01f),
        "momentum" => new Sgd(0.1f, momentum: 0.9f),
        "nesterov" => new Sgd(0.1f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f),
        "adam" => new Adam(0.01f, weightDecay: 0.01f),
        _ => new AdamW(0.01f),
    };

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void VectorBodyAndScalarTail_GiveBitIdenticalResults(string name)
    {
        // Each element run alone takes the scalar path; in a block of 37 most take the Vector256 path.
        const int n = 37;
        var rng = new DlRandom(9);
        float[] p = new float[n], g = new float[n];
        rng.FillNormal(p);
        float[] single = (float[])p.Clone();
        var block = Make(name);
        var singles = Enumerable.Range(0, n).Select(_ => Make(name)).ToArray();
        for (int step = 0; step < 4; step++)
        {
            rng.FillNormal(g);
            block.Step(p, g);
            for (int i = 0; i < n; i++) singles[i].Step(single.AsSpan(i, 1), g.AsSpan(i, 1));
        }
        Assert.Equal(single, p);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Step_AllocatesNothing_AfterTheFirst(string name)
    {
        float[] p = new float[1000], g = new float[1000];
        new DlRandom(1).FillNormal(g);
        var opt = Make(name);
        var clipped = new Clipped(Make(name), maxNorm: 0.5f, maxValue: 0.1f);
        opt.Step(p, g);
        clipped.Step(p, g);
        Assert.Equal(0, Allocation.PerCall(() =>
        {
            opt.Step(p, g);
            clipped.Step(p, g);
        }));
    }

    [Fact]
    public void Step_LengthChange_ThrowsUntilReset()
    {
        var adam = new Adam();
        adam.Step(new float[8], new float[8]);
        var e = Assert.Throws<ArgumentException>(() => adam.Step(new float[9], new float[9]));
        Assert.Contains("allocated for 8", e.Message);
        Assert.Contains("9", e.Message);
        Assert.Throws<ArgumentException>(() => adam.Step(new float[8], new float[7]));
        adam.Reset(9);
        adam.Step(new float[9], new float[9]);
        Assert.Equal(1, adam.StepCount);
        Assert.Equal(9, adam.StateLength);
    }

    [Fact]
    public void Reset_RestartsBiasCorrectionAndMomentum()
    {
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        float[] p = [1f];
        sgd.Step(p, [1f]);
        sgd.Reset(1);
        p[0] = 1f;
        sgd.Step(p, [1f]);
        Near(0.9f, p[0]); // as a fresh optimizer
    }

    [Fact]
    public void Constructors_RejectBadHyperparameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(-1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(0.1f, momentum: 1f));
        Assert.Throws<ArgumentException>(() => new Sgd(0.1f, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(weightDecay: float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam().LearningRate = float.PositiveInfinity);
    }

    [Fact]
    public void LearningRate_IsSettableBetweenSteps()
    {
        var sgd = new Sgd(0.1f);
        float[] p = [1f];
        sgd.Step(p, [1f]);
        sgd.LearningRate = 0.01f;
        sgd.Step(p, [1f]);
        Near(0.89f, p[0]);
    }

    [Fact]
    public void ClipByNorm_ScalesToMaxNorm_AndReturnsOriginalNorm()
    {
        float[] g = [3f, 4f];
        float norm = GradientClipping.ClipByNorm(g, 1f);
        Assert.Equal(5f, norm);
        Near(3f / (5f + 1e-6f), g[0]); Near(4f / (5f + 1e-6f), g[1]);
        Near(1f, GradientClipping.Norm(g), 1e-5f);

        float[] small = [0.3f, 0.4f];
        Assert.Equal(0.5f, GradientClipping.ClipByNorm(small, 1f), 6);
        Assert.Equal([0.3f, 0.4f], small); // unchanged below the limit
    }

    [Fact]
    public void Norm_MatchesDoubleReference_OnLongVector()
    {
        float[] g = new float[1003];
        new DlRandom(2).FillNormal(g);
        double reference = Math.Sqrt(g.Sum(x => (double)x * x));
        Near((float)reference, GradientClipping.Norm(g), 1e-6f);
    }

    [Fact]
    public void ClipByValue_ClampsEveryElement()
    {
        float[] g = Enumerable.Range(0, 21).Select(i => (i - 10) * 0.25f).ToArray(); // −2.5 … 2.5
        GradientClipping.ClipByValue(g, 1f);
        for (int i = 0; i < g.Length; i++) Assert.Equal(Math.Clamp((i - 10) * 0.25f, -1f, 1f), g[i]);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByValue(g, 0f));
    }

    [Fact]
    public void Clipped_ClipsACopy_ThenDelegates()
    {
        float[] p = [0f, 0f], g = [3f, 4f];
        var clipped = new Clipped(new Sgd(1f), maxNorm: 1f);
        clipped.Step(p, g);
        Near(-0.6f, p[0], 1e-5f); Near(-0.8f, p[1], 1e-5f);
        Assert.Equal([3f, 4f], g);       // the caller's gradients are untouched
        Assert.Equal(5f, clipped.LastNorm);

        float[] q = [0f, 0f];
        new Clipped(new Sgd(1f), maxValue: 0.5f).Step(q, [3f, -0.25f]);
        Assert.Equal([-0.5f, 0.25f], q);
        Assert.Throws<ArgumentException>(() => new Clipped(new Sgd(1f)));
    }

    [Fact]
    public void Schedules_ComputeDecayedRates_AndApplyThem()
    {
        var step = new StepDecay(0.1f, stepSize: 10, gamma: 0.5f);
        Near(0.1f, step.At(9)); Near(0.05f, step.At(10)); Near(0.025f, step.At(25));
        var exp = new ExponentialDecay(1f, 0.9f);
        Near(0.81f, exp.At(2));
        var adam = new Adam(1f);
        exp.Apply(adam, 3);
        Near(0.729f, adam.LearningRate);
    }
}
