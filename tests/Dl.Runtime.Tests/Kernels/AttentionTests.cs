using Dl.Kernels;

namespace Dl.Tests;

/// <summary>Multi-head attention kernels: the double reference against the course notes' worked examples and central
/// finite differences (batch 1 and 3, lengths that are not multiples of the vector width, 1 and 3 heads, causal, key
/// masks with fully masked query rows, the packed [q k v] layout read in place, one query); the float kernel against the
/// reference over the vector paths (keys 16+, 8..15 and fewer; head sizes multiples of 16, of 8 with and without a tail,
/// and small), the benchmark shape, strided layouts, the accumulate flag, aliased and empty gradients; allocation and
/// argument checks.</summary>
/// <remarks>Outputs, workspaces and gradients are pre-filled with NaN, so an element a kernel forgets to write (or reads
/// before writing) shows up; padding columns of a strided layout must still hold their NaN afterwards.</remarks>
public class AttentionTests
{
    public enum Layout { Default, Strided, Packed }

    /// <summary>One problem in double: q, k, v (one array for the packed layout), a key mask and an upstream gradient.</summary>
    private sealed class Case
    {
        public required AttentionShape Shape;
        public required int Batch;
        public required double[] Q, K, V, Mask, Dy;

        public bool Packed => ReferenceEquals(Q, K);

        public static AttentionShape MakeShape(Layout layout, int heads, int tq, int tk, int dk, int dv, bool causal, bool scaled = true)
        {
            var s = new AttentionShape(heads, tq, tk, dk, dv, causal, scaled);
            int hk = heads * dk, hv = heads * dv;
            return layout switch
            {
                // Padding columns before and after each row's heads.
                Layout.Strided => s with { QueryStride = hk + 3, QueryOffset = 2, KeyStride = hk + 1, KeyOffset = 1, ValueStride = hv + 2, ValueOffset = 0 },
                // [q k v] rows with two unused columns at the end: the fused projection of self-attention.
                Layout.Packed => s with
                {
                    QueryStride = 2 * hk + hv + 2, KeyStride = 2 * hk + hv + 2, ValueStride = 2 * hk + hv + 2,
                    QueryOffset = 0, KeyOffset = hk, ValueOffset = 2 * hk,
                },
                _ => s,
            };
        }

        /// <param name="mask">none; or random zeros, with key 0 of sample 0 masked (with causal, query 0 sees no key) and,
        /// for batch ≥ 3, every key of sample 2 masked (no query of it sees a key).</param>
        public static Case Random(AttentionShape s, int batch, int seed, bool mask, bool packed, double scale = 1)
        {
            var rnd = new Random(seed);
            double[] R(int n) => Enumerable.Range(0, n).Select(_ => (rnd.NextDouble() * 2 - 1) * scale).ToArray();
            double[] q = R(batch * s.QueryPerSample);
            double[] k = packed ? q : R(batch * s.KeyPerSample), v = packed ? q : R(batch * s.ValuePerSample);
            double[] m = [];
            if (mask)
            {
                m = Enumerable.Range(0, batch * s.KeyLength).Select(_ => rnd.NextDouble() < 0.25 ? 0.0 : 1.0 + rnd.Next(3)).ToArray();
                m[0] = 0;
                if (batch >= 3) Array.Clear(m, 2 * s.KeyLength, s.KeyLength);
                if (s.KeyLength > 1) m[1] = 0.5; // any non-zero value keeps the key
            }
            return new Case { Shape = s, Batch = batch, Q = q, K = k, V = v, Mask = m, Dy = R(batch * s.OutputPerSample) };
        }
    }

    /// <summary>y, P and the gradients of one run; for the packed layout Dq, Dk and Dv are one array.</summary>
    private sealed record Result(double[] Y, double[] P, double[] Dq, double[] Dk, double[] Dv);

    private static double[] Nan(int n) => Enumerable.Repeat(double.NaN, n).ToArray();

    private static float[] NanF(int n) => Enumerable.Repeat(float.NaN, n).ToArray();

    private static float[] F(double[] a) => a.Select(v => (float)v).ToArray();

    private static double[] D(float[] a) => a.Select(v => (double)v).ToArray();

    private static double[] ForwardY(Case c, double[] q, double[] k, double[] v)
    {
        AttentionShape s = c.Shape;
        var y = Nan(c.Batch * s.OutputPerSample);
        AttentionReference.Forward<double>(s, c.Batch, q, k, v, c.Mask, y, Nan(c.Batch * s.ProbsPerSample), Nan(s.ScratchLength));
        return y;
    }

    private static Result Reference(Case c)
    {
        AttentionShape s = c.Shape;
        int b = c.Batch;
        var y = Nan(b * s.OutputPerSample);
        var p = Nan(b * s.ProbsPerSample);
        AttentionReference.Forward<double>(s, b, c.Q, c.K, c.V, c.Mask, y, p, Nan(s.ScratchLength));
        double[] dq = Nan(c.Q.Length), dk = c.Packed ? dq : Nan(c.K.Length), dv = c.Packed ? dq : Nan(c.V.Length);
        AttentionReference.Backward<double>(s, b, c.Q, c.K, c.V, c.Mask, y, p, c.Dy, dq, dk, dv, false, Nan(s.ScratchLength));
        return new Result(y, p, dq, dk, dv);
    }

    private static Result Float(Case c, GemmContext gemm)
    {
        AttentionShape s = c.Shape;
        int b = c.Batch;
        float[] q = F(c.Q), k = c.Packed ? q : F(c.K), v = c.Packed ? q : F(c.V), mask = F(c.Mask);
        var y = NanF(b * s.OutputPerSample);
        var p = NanF(b * s.ProbsPerSample);
        Attention.Forward(s, b, q, k, v, mask, y, p, NanF(s.ScratchLength), gemm);
        float[] dq = NanF(q.Length), dk = c.Packed ? dq : NanF(k.Length), dv = c.Packed ? dq : NanF(v.Length);
        Attention.Backward(s, b, q, k, v, mask, y, p, F(c.Dy), dq, dk, dv, false, NanF(s.ScratchLength), gemm);
        return new Result(D(y), D(p), D(dq), D(dk), D(dv));
    }

    /// <summary>|actual − expected| ≤ tol · max(1, max |expected|); NaN expected (padding) must stay NaN.</summary>
    private static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1;
        foreach (double v in expected) if (!double.IsNaN(v)) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
        {
            if (double.IsNaN(expected[i]))
            {
                Assert.True(double.IsNaN(actual[i]), $"{what}[{i}]: a padding element was written ({actual[i]})");
                continue;
            }
            double err = Math.Abs(actual[i] - expected[i]);
            Assert.True(err <= tol * scale, $"{what}[{i}]: expected {expected[i]}, got {actual[i]} (error {err:E2}, scale {scale:G3})");
        }
    }

    private static void AssertSame(Result e, Result a, double tol, string what)
    {
        AssertClose(e.Y, a.Y, tol, what + " y");
        AssertClose(e.P, a.P, tol, what + " P");
        AssertClose(e.Dq, a.Dq, tol, what + " dq");
        AssertClose(e.Dk, a.Dk, tol, what + " dk");
        AssertClose(e.Dv, a.Dv, tol, what + " dv");
    }

    // ---- The course notes' examples, computed by hand ----

    [Fact]
    public void AlignmentExample_DotScore_MatchesTheNotes()
    {
        // s = [1, 0, 1] against h1 = [1, 0, 1], h2 = [0, 1, 1], h3 = [1, 1, 0] (keys = values): scores 2, 1, 1, so
        // α = [e², e, e] / (e² + 2e) = [0.5761, 0.2119, 0.2119] and c = Σ α_j h_j = [α1 + α3, α2 + α3, α1 + α2]
        // = [0.7881, 0.4239, 0.7881] (the notes summed the α's to 0.99: a rounding slip, they sum to 1).
        double e = Math.E, a1 = e * e / (e * e + 2 * e), a2 = e / (e * e + 2 * e);
        double[] s = [1, 0, 1], h = [1, 0, 1, 0, 1, 1, 1, 1, 0];
        var shape = new AttentionShape(1, 1, 3, 3, 3, Causal: false, Scaled: false);
        var y = new double[3];
        var p = new double[3];
        AttentionReference.Forward<double>(shape, 1, s, h, h, [], y, p, new double[shape.ScratchLength]);
        Assert.Equal([a1, a2, a2], p, new Tolerance(1e-15));
        Assert.Equal([a1 + a2, a2 + a2, a1 + a2], y, new Tolerance(1e-15));
        Assert.Equal([0.5761, 0.2119, 0.2119], p.Select(v => Math.Round(v, 4)));
        Assert.Equal([0.7881, 0.4239, 0.7881], y.Select(v => Math.Round(v, 4)));
        Assert.Equal(1.0, p.Sum(), 15);

        using var gemm = new GemmContext(1);
        var yf = NanF(3);
        var pf = NanF(3);
        Attention.Forward(shape, 1, F(s), F(h), F(h), [], yf, pf, NanF(shape.ScratchLength), gemm);
        Assert.Equal(p, D(pf), new Tolerance(1e-7));
        Assert.Equal(y, D(yf), new Tolerance(1e-7));
    }

    [Fact]
    public void ScaledSelfAttentionExample_MatchesHandComputation()
    {
        // The notes' two positions with d = 4: s_ij = q_i · k_j / √4, written out (the products are exact decimals).
        double[] q1 = [0.212, 0.04, 0.63, 0.36], q2 = [0.1, 0.14, 0.86, 0.77];
        double[] k1 = [0.31, 0.84, 0.963, 0.57], k2 = [0.45, 0.99, 0.73, 0.58];
        double[] v1 = [0.36, 0.83, 0.1, 0.38], v2 = [0.31, 0.36, 0.19, 0.72];
        double s11 = (0.212 * 0.31 + 0.04 * 0.84 + 0.63 * 0.963 + 0.36 * 0.57) / 2; // 0.455605
        double s12 = (0.212 * 0.45 + 0.04 * 0.99 + 0.63 * 0.73 + 0.36 * 0.58) / 2;  // 0.40185
        double s21 = (0.1 * 0.31 + 0.14 * 0.84 + 0.86 * 0.963 + 0.77 * 0.57) / 2;   // 0.70784
        double s22 = (0.1 * 0.45 + 0.14 * 0.99 + 0.86 * 0.73 + 0.77 * 0.58) / 2;    // 0.629
        Assert.Equal(0.455605, s11, 12);
        Assert.Equal(0.40185, s12, 12);
        Assert.Equal(0.70784, s21, 12);
        Assert.Equal(0.629, s22, 12);
        // Two keys: α_i1 = 1 / (1 + e^(s_i2 − s_i1)).
        double a11 = 1 / (1 + Math.Exp(s12 - s11)), a21 = 1 / (1 + Math.Exp(s22 - s21));
        double[] expectedP = [a11, 1 - a11, a21, 1 - a21];
        double[] expectedY = [.. v1.Select((v, c) => a11 * v + (1 - a11) * v2[c]), .. v1.Select((v, c) => a21 * v + (1 - a21) * v2[c])];
        Assert.Equal([0.513435514884, 0.486564485116, 0.519699796980, 0.480300203020], expectedP.Select(v => Math.Round(v, 12)));
        Assert.Equal([0.335671775744, 0.601314691995, 0.143790803660, 0.545431924940, 0.335984989849, 0.604258904580, 0.143227018272,
            0.543302069027], expectedY.Select(v => Math.Round(v, 12)));

        var shape = new AttentionShape(1, 2, 2, 4, 4, Causal: false, Scaled: true);
        double[] q = [.. q1, .. q2], k = [.. k1, .. k2], v = [.. v1, .. v2];
        var y = new double[8];
        var p = new double[4];
        AttentionReference.Forward<double>(shape, 1, q, k, v, [], y, p, new double[shape.ScratchLength]);
        Assert.Equal(expectedP, p, new Tolerance(1e-15));
        Assert.Equal(expectedY, y, new Tolerance(1e-15));

        using var gemm = new GemmContext(1);
        var yf = NanF(8);
        var pf = NanF(4);
        Attention.Forward(shape, 1, F(q), F(k), F(v), [], yf, pf, NanF(shape.ScratchLength), gemm);
        Assert.Equal(expectedP, D(pf), new Tolerance(1e-6));
        Assert.Equal(expectedY, D(yf), new Tolerance(1e-6));

        // Causal: position 1 sees only itself (α = 1, y1 = v1); position 2 is as above.
        var causal = shape with { Causal = true };
        AttentionReference.Forward<double>(causal, 1, q, k, v, [], y, p, new double[shape.ScratchLength]);
        Assert.Equal([1, 0, a21, 1 - a21], p, new Tolerance(1e-15));
        Assert.Equal([.. v1, .. expectedY[4..]], y, new Tolerance(1e-15));
    }

    private sealed class Tolerance(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double v) => 0;
    }

    [Fact]
    public void Reference_MaskedAndCausalKeys_GetExactlyZero_AndEmptyRowsGiveZeroOutput()
    {
        var s = Case.MakeShape(Layout.Default, 2, 6, 6, 3, 2, causal: true);
        Case c = Case.Random(s, 3, seed: 4, mask: true, packed: false);
        Result r = Reference(c);
        for (int b = 0; b < 3; b++)
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < 6; i++)
                {
                    double[] row = r.P.AsSpan(((b * 2 + h) * 6 + i) * 6, 6).ToArray();
                    bool any = false;
                    for (int j = 0; j < 6; j++)
                    {
                        bool sees = j <= i && c.Mask[b * 6 + j] != 0;
                        any |= sees;
                        if (!sees) Assert.Equal(0.0, row[j]);
                        else Assert.True(row[j] > 0);
                    }
                    Assert.Equal(any ? 1.0 : 0.0, row.Sum(), 14);
                    if (!any) Assert.All(r.Y.AsSpan(b * s.OutputPerSample + i * 4 + h * 2, 2).ToArray(), v => Assert.Equal(0.0, v));
                }
        // Query 0 of sample 0 (key 0 masked) and every query of sample 2 (all keys masked) see nothing: zero gradients.
        Assert.All(r.Dq.AsSpan(0, 6).ToArray(), v => Assert.Equal(0.0, v));
        Assert.All(r.Dq.AsSpan(2 * s.QueryPerSample, s.QueryPerSample).ToArray(), v => Assert.Equal(0.0, v));
        Assert.All(r.Dk.AsSpan(2 * s.KeyPerSample, s.KeyPerSample).ToArray(), v => Assert.Equal(0.0, v));
        Assert.All(r.Dv.AsSpan(2 * s.ValuePerSample, s.ValuePerSample).ToArray(), v => Assert.Equal(0.0, v));
    }

    // ---- The reference against finite differences ----

    public static TheoryData<int, int, int, int, int, int, bool, bool, Layout, bool> GradCheckCases() => new()
    {
        // batch, Tq, Tk, heads, d_k, d_v, causal, mask, layout, scaled
        { 1, 5, 7, 1, 3, 2, false, false, Layout.Default, true },
        { 3, 5, 7, 3, 2, 3, true, true, Layout.Default, true },
        { 3, 7, 5, 3, 2, 2, true, false, Layout.Strided, true },
        { 1, 13, 13, 3, 2, 2, true, true, Layout.Packed, true },
        { 3, 7, 7, 1, 4, 3, false, true, Layout.Packed, true },
        { 3, 1, 7, 3, 2, 3, false, true, Layout.Default, true },   // one query (the tape's rank-1 query)
        { 1, 1, 5, 1, 4, 4, false, false, Layout.Strided, false }, // the notes' alignment: one query, dot score
        { 3, 5, 13, 1, 3, 3, false, true, Layout.Strided, false },
    };

    [Theory]
    [MemberData(nameof(GradCheckCases))]
    public void Reference_GradCheck_FiniteDifference(int batch, int tq, int tk, int heads, int dk, int dv, bool causal, bool mask,
        Layout layout, bool scaled)
    {
        AttentionShape s = Case.MakeShape(layout, heads, tq, tk, dk, dv, causal, scaled);
        bool packed = layout == Layout.Packed;
        Case c = Case.Random(s, batch, seed: batch * 100 + tq * 10 + tk, mask, packed, scale: 1.5);
        Result r = Reference(c);
        // L = Σ dy ⊙ y, so dL/dθ is exactly what Backward returns for the upstream gradient dy.
        double Loss() => ForwardY(c, c.Q, c.K, c.V).Zip(c.Dy, (a, b) => a * b).Sum();
        var rnd = new Random(5);
        void Check(string name, double[] value, double[] analytic)
        {
            // Every element of small tensors, a random sample (always the first and last) of large ones; padding columns
            // (NaN in the gradient) are not read by the loss.
            int[] at = value.Length <= 60 ? Enumerable.Range(0, value.Length).ToArray()
                : new[] { 0, value.Length - 1 }.Concat(Enumerable.Range(0, 40).Select(_ => rnd.Next(value.Length))).Distinct().ToArray();
            double scaleG = Math.Max(1, analytic.Where(v => !double.IsNaN(v)).Max(Math.Abs));
            int checkedCount = 0;
            foreach (int i in at)
            {
                if (double.IsNaN(analytic[i])) continue;
                const double eps = 1e-6;
                double keep = value[i];
                value[i] = keep + eps;
                double plus = Loss();
                value[i] = keep - eps;
                double minus = Loss();
                value[i] = keep;
                double fd = (plus - minus) / (2 * eps);
                Assert.True(Math.Abs(fd - analytic[i]) <= 1e-8 * scaleG, $"d{name}[{i}]: finite difference {fd}, backward {analytic[i]}");
                checkedCount++;
            }
            Assert.True(checkedCount > 0);
        }
        if (packed) Check("qkv", c.Q, r.Dq);
        else
        {
            Check("q", c.Q, r.Dq);
            Check("k", c.K, r.Dk);
            Check("v", c.V, r.Dv);
        }
        // The layouts' padding columns are never written.
        if (layout != Layout.Default)
            Assert.Contains(r.Dq, double.IsNaN);
    }

    // ---- The float kernel against the reference ----

    public static TheoryData<int, int, int, int, int, int, bool, bool, Layout> FloatCases() => new()
    {
        // batch, Tq, Tk, heads, d_k, d_v, causal, mask, layout
        { 2, 64, 64, 4, 16, 16, false, false, Layout.Packed },  // the benchmark shape (packed [q k v], stride 192 + 2)
        { 3, 64, 64, 4, 16, 16, true, true, Layout.Packed },
        { 1, 64, 64, 4, 16, 16, false, true, Layout.Default },
        { 3, 5, 7, 3, 5, 3, true, true, Layout.Default },       // scalar keys (Tk < 8), scalar columns
        { 3, 13, 13, 3, 5, 7, true, true, Layout.Packed },      // 8 ≤ Tk < 16: Vector256 keys, overlapped last vector
        { 2, 9, 11, 1, 24, 20, false, true, Layout.Strided },   // Vector256 columns, 3 whole and 2 + 4 one by one
        { 2, 17, 33, 2, 32, 48, true, false, Layout.Strided },  // Vector512 keys with an overlapped last vector; 2- and 3-vector columns
        { 1, 31, 40, 2, 8, 64, false, true, Layout.Default },
        { 2, 1, 19, 3, 16, 16, false, true, Layout.Default },   // one query
        { 1, 130, 150, 2, 64, 64, true, true, Layout.Default }, // longer sequences, Tq ≠ Tk with causal
        // Not causal, keys in ≤ 4 vectors: scores and softmax fused in registers (rows of 4, padding lanes past Tk),
        // with a fully masked sample (batch 3) and row counts that are not multiples of 4.
        { 3, 64, 64, 4, 16, 16, false, true, Layout.Packed },
        { 3, 22, 50, 2, 8, 8, false, true, Layout.Strided },    // Vector512 keys, 4 vectors, 14 padding lanes
        { 3, 6, 12, 2, 4, 4, false, true, Layout.Default },     // Vector256 keys, 2 vectors
        { 2, 7, 16, 1, 16, 16, false, false, Layout.Default },  // one vector exactly
    };

    [Theory]
    [InlineData(1, 64, 64)]
    [InlineData(2, 5, 50)]
    [InlineData(3, 7, 11)]
    public void Forward_WritesNothingPastItsOutputs(int batch, int tq, int tk)
    {
        // The fused softmax stores whole vectors and lets a row's last one spill into the next row: the last row of P
        // must be stored exactly.
        using var gemm = new GemmContext(1);
        AttentionShape s = Case.MakeShape(Layout.Default, 2, tq, tk, 8, 8, causal: false);
        Case c = Case.Random(s, batch, seed: 5, mask: true, packed: false);
        const int Guard = 32;
        float[] p = NanF(batch * s.ProbsPerSample + Guard), y = NanF(batch * s.OutputPerSample + Guard);
        Attention.Forward(s, batch, F(c.Q), F(c.K), F(c.V), F(c.Mask), y.AsSpan(0, y.Length - Guard), p.AsSpan(0, p.Length - Guard),
            new float[s.ScratchLength], gemm);
        Assert.All(p[^Guard..], v => Assert.True(float.IsNaN(v)));
        Assert.All(y[^Guard..], v => Assert.True(float.IsNaN(v)));
        Assert.All(p[..^Guard], v => Assert.False(float.IsNaN(v)));
    }

    [Theory]
    [MemberData(nameof(FloatCases))]
    public void Float_MatchesReference(int batch, int tq, int tk, int heads, int dk, int dv, bool causal, bool mask, Layout layout)
    {
        using var gemm = new GemmContext(1);
        foreach (bool scaled in new[] { true, false })
        {
            AttentionShape s = Case.MakeShape(layout, heads, tq, tk, dk, dv, causal, scaled);
            Case c = Case.Random(s, batch, seed: tq + tk + dk, mask, layout == Layout.Packed, scale: scaled ? 1.5 : 0.5);
            Result expected = Reference(c), actual = Float(c, gemm);
            AssertSame(expected, actual, 2e-6, $"b{batch} Tq{tq} Tk{tk} h{heads} dk{dk} dv{dv}{(causal ? " causal" : "")}{(mask ? " mask" : "")} {layout}{(scaled ? "" : " dot")}");
            if (mask || causal)
                for (int i = 0; i < expected.P.Length; i++)
                    if (expected.P[i] == 0) Assert.Equal(0.0, actual.P[i]); // masked and causal keys: exactly 0
        }
    }

    [Theory]
    [InlineData(Layout.Packed)]
    [InlineData(Layout.Default)]
    public void Backward_AccumulateAndEmptyGradients(Layout layout)
    {
        using var gemm = new GemmContext(1);
        AttentionShape s = Case.MakeShape(layout, 2, 12, 12, 8, 8, causal: true);
        Case c = Case.Random(s, 2, seed: 9, mask: true, layout == Layout.Packed);
        Result full = Float(c, gemm);
        int b = c.Batch;
        float[] q = F(c.Q), k = c.Packed ? q : F(c.K), v = c.Packed ? q : F(c.V), mask = F(c.Mask), dy = F(c.Dy);
        var y = new float[b * s.OutputPerSample];
        var p = new float[b * s.ProbsPerSample];
        var scratch = new float[s.ScratchLength];
        Attention.Forward(s, b, q, k, v, mask, y, p, scratch, gemm);

        // One gradient at a time, the others empty: each equals the full run's (and writes only its own columns).
        for (int which = 0; which < 3; which++)
        {
            float[] g = NanF(new[] { q.Length, k.Length, v.Length }[which]);
            Attention.Backward(s, b, q, k, v, mask, y, p, dy, which == 0 ? g : [], which == 1 ? g : [], which == 2 ? g : [], false, scratch, gemm);
            double[] want = new[] { full.Dq, full.Dk, full.Dv }[which];
            if (c.Packed) want = Own(s, want, which);
            AssertClose(want, D(g), 1e-6, $"{layout} gradient {which} alone");
        }

        // accumulate adds to what is there and leaves the padding alone.
        var rnd = new Random(11);
        float[] P(int n) => Enumerable.Range(0, n).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
        float[] gq = P(q.Length), gk = c.Packed ? gq : P(k.Length), gv = c.Packed ? gq : P(v.Length);
        double[][] before = [D(gq), D(gk), D(gv)];
        Attention.Backward(s, b, q, k, v, mask, y, p, dy, gq, gk, gv, true, scratch, gemm);
        double[][] wants = [full.Dq, full.Dk, full.Dv];
        float[][] got = [gq, gk, gv];
        for (int which = 0; which < (c.Packed ? 1 : 3); which++)
        {
            double[] expected = wants[which].Select((w, i) => double.IsNaN(w) ? before[which][i] : w + before[which][i]).ToArray();
            AssertClose(expected, D(got[which]), 1e-5, $"{layout} accumulate {which}");
        }
    }

    /// <summary>The packed gradient with only q's (0), k's (1) or v's (2) columns kept, the others NaN.</summary>
    private static double[] Own(AttentionShape s, double[] packed, int which)
    {
        int offset = which switch { 0 => s.QueryOffset, 1 => s.KeyOffset, _ => s.ValueOffset };
        int width = s.Heads * (which == 2 ? s.ValueHeadSize : s.HeadSize);
        return packed.Select((v, i) => i % s.QueryStride >= offset && i % s.QueryStride < offset + width ? v : double.NaN).ToArray();
    }

    [Fact]
    public void Backward_SameColumnsForQueryKeyAndValue_AccumulateSumsThem()
    {
        // attention(x, x, x): q, k and v are one buffer over the same columns. With accumulate the kernel adds each
        // gradient in its own pass, so one zeroed buffer ends up with dq + dk + dv (the reference writes that sum too).
        using var gemm = new GemmContext(1);
        var s = new AttentionShape(2, 10, 10, 8, 8, Causal: false, Scaled: true);
        Case c = Case.Random(s, 2, seed: 3, mask: false, packed: true);
        Result expected = Reference(c);
        float[] x = F(c.Q), g = new float[x.Length];
        var y = new float[2 * s.OutputPerSample];
        var p = new float[2 * s.ProbsPerSample];
        var scratch = new float[s.ScratchLength];
        Attention.Forward(s, 2, x, x, x, [], y, p, scratch, gemm);
        Attention.Backward(s, 2, x, x, x, [], y, p, F(c.Dy), g, g, g, true, scratch, gemm);
        AssertClose(expected.Dq, D(g), 2e-6, "dq + dk + dv");
    }

    // ---- Allocation and arguments ----

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void ForwardBackward_AllocateNothingPerCall(bool causal, bool mask)
    {
        using var gemm = new GemmContext(1);
        AttentionShape s = Case.MakeShape(Layout.Packed, 4, 64, 64, 16, 16, causal);
        Case c = Case.Random(s, 2, seed: 1, mask, packed: true);
        float[] x = F(c.Q), m = F(c.Mask), dy = F(c.Dy), g = new float[x.Length];
        var y = new float[2 * s.OutputPerSample];
        var p = new float[2 * s.ProbsPerSample];
        var scratch = new float[s.ScratchLength];
        long bytes = Allocation.PerCall(() =>
        {
            Attention.Forward(s, 2, x, x, x, m, y, p, scratch, gemm);
            Attention.Backward(s, 2, x, x, x, m, y, p, dy, g, g, g, false, scratch, gemm);
        }, calls: 5, rounds: 3);
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void Shape_ScratchLength_AndValidation()
    {
        var s = new AttentionShape(4, 64, 48, 16, 8, Causal: false, Scaled: true);
        // (Tq + 2·Tk)·(d_k + d_v) + 2·Tq·Tk
        Assert.Equal((64 + 96) * 24 + 2 * 64 * 48, s.ScratchLength);
        Assert.Equal(64, s.QueryStride);
        Assert.Equal(32, s.ValueStride);
        Assert.Equal(0.25f, s.Scale);
        Assert.Equal(1f, (s with { Scaled = false }).Scale);

        using var gemm = new GemmContext(1);
        void Expect(string text, AttentionShape shape)
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => Attention.Forward(shape, 1, new float[10000], new float[10000], new float[10000], [],
                new float[Math.Max(0, shape.Heads * shape.QueryLength * shape.ValueHeadSize)], new float[10000], new float[10000], gemm));
            Assert.Contains(text, e.Message);
        }
        Expect("Heads = 0", s with { Heads = 0 });
        Expect("QueryLength = -1", s with { QueryLength = -1 });
        Expect("KeyLength = 0", s with { KeyLength = 0 });
        Expect("HeadSize = 0", s with { HeadSize = 0 });
        Expect("ValueHeadSize = 0", s with { ValueHeadSize = 0 });
        Expect("the query layout", new AttentionShape(2, 3, 3, 4, 4, false, true) { QueryStride = 7 });
        Expect("the key layout", new AttentionShape(2, 3, 3, 4, 4, false, true) { KeyOffset = 1 });
        Expect("the value layout", new AttentionShape(2, 3, 3, 4, 4, false, true) { ValueOffset = -1, ValueStride = 9 });
    }

    [Fact]
    public void WrongLengths_ThrowArgumentExceptionNamingTheSpan()
    {
        using var gemm = new GemmContext(1);
        var s = new AttentionShape(2, 3, 4, 2, 3, Causal: false, Scaled: true);
        int b = 2;
        float[] q = new float[b * s.QueryPerSample], k = new float[b * s.KeyPerSample], v = new float[b * s.ValuePerSample];
        float[] m = new float[b * 4], y = new float[b * s.OutputPerSample], p = new float[b * s.ProbsPerSample], sc = new float[s.ScratchLength];
        void Fwd(float[]? qq = null, float[]? kk = null, float[]? vv = null, float[]? mm = null, float[]? yy = null, float[]? pp = null,
            float[]? ss = null, int batch = 2)
            => Attention.Forward(s, batch, qq ?? q, kk ?? k, vv ?? v, mm ?? m, yy ?? y, pp ?? p, ss ?? sc, gemm);
        void Expect(string text, Action a) => Assert.Contains(text, Assert.ThrowsAny<ArgumentException>(a).Message);
        Fwd();
        Fwd(qq: new float[q.Length + 3]);  // longer inputs and workspaces are fine
        Expect("q has 23", () => Fwd(qq: new float[23]));
        Expect("k has 31", () => Fwd(kk: new float[31]));
        Expect("v has 1", () => Fwd(vv: new float[1]));
        Expect("keyMask has 7", () => Fwd(mm: new float[7]));
        Expect("y has 37", () => Fwd(yy: new float[37]));
        Expect("probs has", () => Fwd(pp: new float[p.Length - 1]));
        Expect("scratch has", () => Fwd(ss: new float[s.ScratchLength - 1]));
        Expect("batch", () => Fwd(batch: 0));
        Expect("q has", () => AttentionReference.Forward<double>(s, b, new double[1], new double[k.Length], new double[v.Length], [],
            new double[y.Length], new double[p.Length], new double[sc.Length]));

        void Bwd(float[]? dy = null, float[]? dq = null, float[]? dk = null, float[]? dv = null, float[]? ss = null)
            => Attention.Backward(s, b, q, k, v, m, y, p, dy ?? y, dq ?? [], dk ?? [], dv ?? [], false, ss ?? sc, gemm);
        Bwd();
        Expect("dy has", () => Bwd(dy: new float[3]));
        Expect("dq has 5", () => Bwd(dq: new float[5]));
        Expect("dk has", () => Bwd(dk: new float[k.Length - 1]));
        Expect("dv has", () => Bwd(dv: new float[2]));
        Expect("scratch has", () => Bwd(ss: new float[3]));
    }
}
