namespace Dl.Tests;

/// <summary>The course notes' attention examples (../shared/seeds/001: the alignment score over RNN states, the two-token
/// scaled dot-product self-attention "Thinking Machines", the sinusoidal positional encoding with base 100) computed by the
/// library, both as a compiled model and on the dynamic tape. Where the notes slip, the test states the slip and asserts
/// the correct value, computed here in double.</summary>
public class NotesAttentionExamplesTests
{
    private static IModel[] Engines<T>(Func<ModelOptions, T> create) where T : IModel, Dynamic.IDynamicSource<T> =>
        [create(new ModelOptions { Seed = 1, MaxBatch = 1 }), Dynamic.Dynamic.Create<T>(seed: 1)];

    private static float[] Run(IModel net, float[] input)
    {
        var y = new float[net.Description.OutputSize];
        net.Predict(input, y, 1);
        return y;
    }

    private static double[] Softmax(double[] s)
    {
        double max = s.Max();
        var e = s.Select(z => Math.Exp(z - max)).ToArray();
        double sum = e.Sum();
        return e.Select(z => z / sum).ToArray();
    }

    [Fact]
    public void AlignmentScore_DotScoreOverThreeStates()
    {
        // s_{t-1} = [1, 0, 1]; h_1 = [1, 0, 1], h_2 = [0, 1, 1], h_3 = [1, 1, 0]; score = s·h_j = [2, 1, 1], so
        // α = softmax = [e², e, e] / (e² + 2e) = [0.5761, 0.2119, 0.2119] (the notes round to 0.57, 0.21, 0.21) and the
        // context c_t = Σ_j α_j h_j = [α1 + α3, α2 + α3, α1 + α2] = [0.7881, 0.4239, 0.7881]. The notes' "c_t = 0.57 + 0.21 +
        // 0.21 = 0.99" sums the weights instead of weighting the vectors (the weights sum to 1 by construction; their 0.99
        // is rounding).
        float[] s = [1, 0, 1];
        float[] h = [1, 0, 1, 0, 1, 1, 1, 1, 0];
        float[] identity = [1, 0, 0, 0, 1, 0, 0, 0, 1];
        double e = Math.E;
        double[] alpha = [e * e / (e * e + 2 * e), e / (e * e + 2 * e), e / (e * e + 2 * e)];
        double[] context = [alpha[0] + alpha[2], alpha[1] + alpha[2], alpha[0] + alpha[1]];
        foreach (var net in Engines(o => new NotesAlignment(o)))
        {
            // With the identity as values, the output is the weights themselves.
            var a = Run(net, [.. s, .. h, .. identity]);
            for (int j = 0; j < 3; j++) Assert.Equal(alpha[j], a[j], 1e-6);
            Assert.Equal(0.5761, a[0], 4);
            Assert.Equal(0.2119, a[1], 4);
            Assert.Equal(0.2119, a[2], 4);
            var c = Run(net, [.. s, .. h, .. h]);
            for (int j = 0; j < 3; j++) Assert.Equal(context[j], c[j], 1e-6);
            Assert.Equal(0.7881, c[0], 4);
            Assert.Equal(0.4239, c[1], 4);
            Assert.Equal(0.7881, c[2], 4);
            Assert.NotEqual(0.99, c.Sum(), 2);   // not the notes' 0.99
        }
    }

    [Fact]
    public void TwoTokenSelfAttention_ScaledDotProduct()
    {
        // "Thinking Machines": q, k, v of the two tokens given; d_k = 4, so scores are divided by √4 = 2.
        double[][] q = [[0.212, 0.04, 0.63, 0.36], [0.1, 0.14, 0.86, 0.77]];
        double[][] k = [[0.31, 0.84, 0.963, 0.57], [0.45, 0.99, 0.73, 0.58]];
        double[][] v = [[0.36, 0.83, 0.1, 0.38], [0.31, 0.36, 0.19, 0.72]];
        static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

        // The notes' slips, with the exact values:
        // - q1·k1 = [0.06572, 0.0336, 0.60669, 0.2052] sums to 0.91121 (the notes write 0.60664 and get 0.91116, so
        //   0.45558 instead of 0.455605 after / √4).
        // - The second score is written "q1 · v1" but is q1·k2 = [0.0954, 0.0396, 0.4599, 0.2088] = 0.8037 (the notes:
        //   [0.0959, 0.0376, ...] = 0.8017, / 2 = 0.40085); exactly 0.40185.
        // - softmax([0.455605, 0.40185]) = [0.5134, 0.4866] (the notes: 0.5 and 0.48, which do not sum to 1), and
        //   z1 = 0.5134·v1 + 0.4866·v2 = [0.3357, 0.6013, 0.1438, 0.5454]; the notes use v1 = [0.36, 0.83, 0.12, 0.38]
        //   (0.1 is v1's third entry) and 0.48·0.72 = 0.84 (it is 0.3456).
        // - For token 2: q2·k1 = 1.41568 (the notes: 1.41155), q2·k2 = [0.045, 0.1386, 0.6278, 0.4466] = 1.258 (the
        //   notes: [0.45, 0.1316, ...] = 1.251); softmax([0.70784, 0.629]) = [0.5197, 0.4803] (the notes: 0.52, 0.472),
        //   z2 = [0.3360, 0.6043, 0.1432, 0.5433].
        Assert.Equal(0.91121, Dot(q[0], k[0]), 10);
        Assert.Equal(0.8037, Dot(q[0], k[1]), 10);
        Assert.Equal(1.41568, Dot(q[1], k[0]), 10);
        Assert.Equal(1.258, Dot(q[1], k[1]), 10);
        var z = new double[2][];
        for (int i = 0; i < 2; i++)
        {
            var p = Softmax([Dot(q[i], k[0]) / 2, Dot(q[i], k[1]) / 2]);
            z[i] = Enumerable.Range(0, 4).Select(c => p[0] * v[0][c] + p[1] * v[1][c]).ToArray();
        }
        float[] input = [.. q.SelectMany(r => r).Select(x => (float)x), .. k.SelectMany(r => r).Select(x => (float)x), .. v.SelectMany(r => r).Select(x => (float)x)];
        foreach (var net in Engines(o => new NotesTwoTokens(o)))
        {
            var y = Run(net, input);
            for (int i = 0; i < 2; i++)
                for (int c = 0; c < 4; c++) Assert.Equal(z[i][c], y[i * 4 + c], 6);
            double[] z1 = [0.3357, 0.6013, 0.1438, 0.5454], z2 = [0.3360, 0.6043, 0.1432, 0.5433];
            for (int c = 0; c < 4; c++)
            {
                Assert.Equal(z1[c], y[c], 4);
                Assert.Equal(z2[c], y[4 + c], 4);
            }
        }
    }

    [Fact]
    public void PositionalEncoding_Base100_InRadians()
    {
        // PE[p, 2i] = sin(p / 100^(2i/4)), PE[p, 2i+1] = cos(p / 100^(2i/4)): for i = 0 the angle is p, for i = 1 it is p/10.
        // Position 0: [0, 1, 0, 1]. Position 1: [sin 1, cos 1, sin 0.1, cos 0.1] = [0.8415, 0.5403, 0.0998, 0.9950];
        // position 2: [sin 2, cos 2, sin 0.2, cos 0.2] = [0.9093, -0.4161, 0.1987, 0.9801]. The notes' 0.017 for sin 1 (and
        // 0.999 for cos 1, 0.0017 for sin 0.1, 0.039 for sin 2) came from a calculator in degree mode: sin 1° = 0.01745.
        double[][] expected = [[0, 1, 0, 1], [0.8415, 0.5403, 0.0998, 0.9950], [0.9093, -0.4161, 0.1987, 0.9801]];
        foreach (var net in Engines(o => new NotesPositions(o)))
        {
            var pe = Run(net, new float[12]);   // x = 0: the output is the table itself
            for (int p = 0; p < 3; p++)
                for (int c = 0; c < 4; c++)
                {
                    double angle = p / Math.Pow(100, (c - c % 2) / 4.0);
                    Assert.Equal(c % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle), pe[p * 4 + c], 6);
                    Assert.Equal(expected[p][c], pe[p * 4 + c], 4);
                }
            Assert.NotEqual(0.017, pe[4], 2);
            // x + PE: the encoding is added to the input.
            var x = Enumerable.Range(0, 12).Select(i => 0.25f * i).ToArray();
            var y = Run(net, x);
            for (int i = 0; i < 12; i++) Assert.Equal(x[i] + pe[i], y[i], 6);
        }
        // The kernel's table is the same one.
        var table = Dl.Kernels.PositionalEncoding.Table(3, 4, 100f);
        for (int p = 0; p < 3; p++)
            for (int c = 0; c < 4; c++) Assert.Equal(expected[p][c], table[p * 4 + c], 4);
    }
}
