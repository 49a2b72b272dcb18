using Dl.Dynamic;
using Dl.Kernels;
using Dl.Tests.DynamicTape;

namespace Dl.Tests;

/// <summary>Recurrent layers (RNN, LSTM, GRU with the reset gate after or before the hidden product): the double reference
/// against hand-written single-step formulas and central finite differences; the float kernels against the double
/// reference over batch 1 and 3, hidden sizes that are and are not multiples of the vector width, inputs 3 and 7 and
/// 1, 2 and 35 steps (which covers the register, transposed and direct per-step products; the AVX2 slab kernels also run with the AVX-512
/// ones switched off); optional states and gradients,
/// the accumulate flags, allocation and argument checks.</summary>
/// <remarks>Every output and workspace is pre-filled with NaN, so an element a kernel forgets to write (or reads before
/// writing) shows up.</remarks>
public class RecurrentTests
{
    private static readonly RecurrentCell[] Cells = [RecurrentCell.Rnn, RecurrentCell.Lstm, RecurrentCell.Gru, RecurrentCell.GruResetBefore];

    /// <summary>Parameters, inputs and an upstream gradient for one layer, in double.</summary>
    private sealed class Case
    {
        public required RecurrentShape Shape;
        public required int Batch;
        public required double[] X, H0, C0, WIh, WHh, BIh, BHh, Dy;

        public static Case Random(RecurrentShape s, int batch, int seed, bool states)
        {
            var rnd = new Random(seed);
            double scale = 1.5 / Math.Sqrt(s.Hidden);
            double[] R(int n, double a) => Enumerable.Range(0, n).Select(_ => (rnd.NextDouble() * 2 - 1) * a).ToArray();
            int gw = s.Gates * s.Hidden;
            return new Case
            {
                Shape = s, Batch = batch,
                X = R(batch * s.Steps * s.Input, 1),
                H0 = states ? R(batch * s.Hidden, 0.8) : [],
                C0 = states && s.Cell == RecurrentCell.Lstm ? R(batch * s.Hidden, 1) : [],
                WIh = R(gw * s.Input, scale), WHh = R(gw * s.Hidden, scale), BIh = R(gw, 0.5), BHh = R(gw, 0.5),
                Dy = R(batch * s.Steps * s.Hidden, 1),
            };
        }
    }

    /// <summary>y and every gradient of one run (empty where not requested).</summary>
    private sealed record Result(double[] Y, double[] Dx, double[] Dh0, double[] Dc0, double[] DWIh, double[] DWHh, double[] DBIh, double[] DBHh);

    private static double[] Nan(int n) => Enumerable.Repeat(double.NaN, n).ToArray();

    private static float[] NanF(int n) => Enumerable.Repeat(float.NaN, n).ToArray();

    private static float[] F(double[] a) => a.Select(v => (float)v).ToArray();

    private static double[] D(float[] a) => a.Select(v => (double)v).ToArray();

    private static double[] Forward(Case c, double[]? x = null, double[]? h0 = null, double[]? c0 = null, double[]? wih = null,
        double[]? whh = null, double[]? bih = null, double[]? bhh = null)
    {
        RecurrentShape s = c.Shape;
        var y = Nan(c.Batch * s.Steps * s.Hidden);
        RecurrentReference.Forward<double>(s, c.Batch, x ?? c.X, h0 ?? c.H0, c0 ?? c.C0, wih ?? c.WIh, whh ?? c.WHh, bih ?? c.BIh, bhh ?? c.BHh,
            y, Nan(c.Batch * s.SavedPerSample));
        return y;
    }

    private static Result Reference(Case c)
    {
        RecurrentShape s = c.Shape;
        int b = c.Batch, gw = s.Gates * s.Hidden;
        var y = Nan(b * s.Steps * s.Hidden);
        var saved = Nan(b * s.SavedPerSample);
        RecurrentReference.Forward<double>(s, b, c.X, c.H0, c.C0, c.WIh, c.WHh, c.BIh, c.BHh, y, saved);
        var r = new Result(y, Nan(c.X.Length), Nan(b * s.Hidden), s.Cell == RecurrentCell.Lstm ? Nan(b * s.Hidden) : [],
            Nan(gw * s.Input), Nan(gw * s.Hidden), Nan(gw), Nan(gw));
        RecurrentReference.Backward<double>(s, b, c.X, c.H0, c.C0, c.WIh, c.WHh, y, saved, c.Dy, r.Dx, r.Dh0, r.Dc0, false,
            r.DWIh, r.DWHh, r.DBIh, r.DBHh, false, Nan(b * s.ScratchPerSample));
        return r;
    }

    private static Result Float(Case c, GemmContext gemm)
    {
        RecurrentShape s = c.Shape;
        int b = c.Batch, gw = s.Gates * s.Hidden;
        float[] x = F(c.X), h0 = F(c.H0), c0 = F(c.C0), wih = F(c.WIh), whh = F(c.WHh);
        var y = NanF(b * s.Steps * s.Hidden);
        var saved = NanF(b * s.SavedPerSample);
        Recurrent.Forward(s, b, x, h0, c0, wih, whh, F(c.BIh), F(c.BHh), y, saved, gemm);
        float[] dx = NanF(x.Length), dh0 = NanF(b * s.Hidden), dc0 = s.Cell == RecurrentCell.Lstm ? NanF(b * s.Hidden) : [];
        float[] dwih = NanF(gw * s.Input), dwhh = NanF(gw * s.Hidden), dbih = NanF(gw), dbhh = NanF(gw);
        Recurrent.Backward(s, b, x, h0, c0, wih, whh, y, saved, F(c.Dy), dx, dh0, dc0, false, dwih, dwhh, dbih, dbhh, false,
            NanF(b * s.ScratchPerSample), gemm);
        return new Result(D(y), D(dx), D(dh0), D(dc0), D(dwih), D(dwhh), D(dbih), D(dbhh));
    }

    /// <summary>|actual − expected| ≤ tol · max(1, max |expected|) elementwise (the magnitude of the whole tensor).</summary>
    private static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1;
        foreach (double v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            Assert.True(err <= tol * scale, $"{what}[{i}]: expected {expected[i]}, got {actual[i]} (error {err:E2}, scale {scale:G3})");
        }
    }

    private static void AssertSame(Result e, Result a, double tol, string what)
    {
        AssertClose(e.Y, a.Y, tol, what + " y");
        AssertClose(e.Dx, a.Dx, tol, what + " dx");
        AssertClose(e.Dh0, a.Dh0, tol, what + " dh0");
        AssertClose(e.Dc0, a.Dc0, tol, what + " dc0");
        AssertClose(e.DWIh, a.DWIh, tol, what + " dW_ih");
        AssertClose(e.DWHh, a.DWHh, tol, what + " dW_hh");
        AssertClose(e.DBIh, a.DBIh, tol, what + " db_ih");
        AssertClose(e.DBHh, a.DBHh, tol, what + " db_hh");
    }

    // ---- The reference: single-step formulas written out, and finite differences ----

    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));

    [Fact]
    public void Reference_OneStepOneUnit_MatchesWrittenOutEquations()
    {
        // H = D = 1, one step: every gate block is one row, so the formulas below are PyTorch's with scalars, in PyTorch's
        // gate order (LSTM i f g o, GRU r z n).
        double x = 0.7, h = -0.4, c = 0.3;
        double[] wi = [0.5, -0.3, 0.8, 0.2], wh = [-0.6, 0.4, 0.1, 0.9], bi = [0.1, -0.2, 0.3, 0.05], bh = [-0.15, 0.25, -0.1, 0.2];
        double A(int g) => wi[g] * x + bi[g] + wh[g] * h + bh[g];
        double i = Sig(A(0)), f = Sig(A(1)), gg = Math.Tanh(A(2)), o = Sig(A(3));
        double lstm = o * Math.Tanh(f * c + i * gg);
        double rnn = Math.Tanh(A(0));
        double r = Sig(A(0)), z = Sig(A(1));
        double nAfter = Math.Tanh(wi[2] * x + bi[2] + r * (wh[2] * h + bh[2]));
        double nBefore = Math.Tanh(wi[2] * x + bi[2] + wh[2] * (r * h) + bh[2]);
        double gruAfter = (1 - z) * nAfter + z * h, gruBefore = (1 - z) * nBefore + z * h;
        foreach ((RecurrentCell cell, double expected) in new[] { (RecurrentCell.Rnn, rnn), (RecurrentCell.Lstm, lstm),
            (RecurrentCell.Gru, gruAfter), (RecurrentCell.GruResetBefore, gruBefore) })
        {
            var s = new RecurrentShape(cell, 1, 1, 1);
            int g = s.Gates;
            var y = new double[1];
            RecurrentReference.Forward<double>(s, 1, [x], [h], cell == RecurrentCell.Lstm ? [c] : [], wi[..g], wh[..g], bi[..g], bh[..g],
                y, new double[s.SavedPerSample]);
            Assert.Equal(expected, y[0], 1e-15);
        }
        Assert.NotEqual(gruAfter, gruBefore, 1e-6); // the two reset placements really differ here
    }

    public static TheoryData<RecurrentCell, int, int, int, int> GradCheckCases()
    {
        var data = new TheoryData<RecurrentCell, int, int, int, int>();
        foreach (RecurrentCell cell in Cells)
            foreach (int batch in new[] { 1, 3 })
                foreach ((int h, int d, int t) in new[] { (5, 3, 1), (13, 7, 2), (16, 3, 35) })
                    data.Add(cell, batch, h, d, t);
        return data;
    }

    [Theory]
    [MemberData(nameof(GradCheckCases))]
    public void Reference_GradCheck_FiniteDifference(RecurrentCell cell, int batch, int hidden, int input, int steps)
    {
        var s = new RecurrentShape(cell, steps, input, hidden);
        Case c = Case.Random(s, batch, seed: (int)cell * 1000 + batch * 100 + hidden, states: true);
        Result r = Reference(c);
        var rnd = new Random(7);
        // L = Σ dy ⊙ y, so dL/dθ is exactly what Backward returns for the upstream gradient dy.
        double Loss(double[] y) => y.Zip(c.Dy, (a, b) => a * b).Sum();
        void Check(string name, double[] value, double[] analytic, Func<double[], double[]> run)
        {
            // Every element of small tensors, a random sample (always with the first and last) of large ones.
            IEnumerable<int> at = value.Length <= 10 ? Enumerable.Range(0, value.Length)
                : new[] { 0, value.Length - 1 }.Concat(Enumerable.Range(0, 8).Select(_ => rnd.Next(value.Length))).Distinct();
            double scale = Math.Max(1, analytic.Max(Math.Abs));
            foreach (int i in at)
            {
                const double eps = 1e-6;
                double keep = value[i];
                value[i] = keep + eps;
                double plus = Loss(run(value));
                value[i] = keep - eps;
                double minus = Loss(run(value));
                value[i] = keep;
                double fd = (plus - minus) / (2 * eps);
                Assert.True(Math.Abs(fd - analytic[i]) <= 1e-6 * scale,
                    $"{cell} d{name}[{i}]: finite difference {fd}, backward {analytic[i]}");
            }
        }
        Check("x", c.X, r.Dx, v => Forward(c, x: v));
        Check("h0", c.H0, r.Dh0, v => Forward(c, h0: v));
        if (cell == RecurrentCell.Lstm) Check("c0", c.C0, r.Dc0, v => Forward(c, c0: v));
        Check("W_ih", c.WIh, r.DWIh, v => Forward(c, wih: v));
        Check("W_hh", c.WHh, r.DWHh, v => Forward(c, whh: v));
        Check("b_ih", c.BIh, r.DBIh, v => Forward(c, bih: v));
        Check("b_hh", c.BHh, r.DBHh, v => Forward(c, bhh: v));
    }

    // ---- The float kernels against the reference ----

    public static TheoryData<RecurrentCell, int, int> FloatCases()
    {
        var data = new TheoryData<RecurrentCell, int, int>();
        foreach (RecurrentCell cell in Cells)
            foreach (int batch in new[] { 1, 3 })
                foreach (int hidden in new[] { 5, 13, 16 })
                    data.Add(cell, batch, hidden);
        return data;
    }

    [Theory]
    [MemberData(nameof(FloatCases))]
    public void Float_MatchesReference(RecurrentCell cell, int batch, int hidden)
    {
        using var gemm = new GemmContext(1);
        foreach (int input in new[] { 3, 7 })
            foreach (int steps in new[] { 1, 2, 35 })
                foreach (bool states in new[] { true, false })
                {
                    var s = new RecurrentShape(cell, steps, input, hidden);
                    Case c = Case.Random(s, batch, seed: input * 100 + steps + (states ? 1 : 0), states);
                    AssertSame(Reference(c), Float(c, gemm), 1e-4, $"{cell} b{batch} H{hidden} D{input} T{steps}{(states ? " h0" : "")}");
                }
    }

    [Theory]
    [InlineData(RecurrentCell.Rnn)]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    [InlineData(RecurrentCell.GruResetBefore)]
    public void Float_WideHidden_MatchesReference(RecurrentCell cell)
    {
        // Batch 1 with H = 32, 48, 128 runs the register kernels with 2, 3 and 8 vectors of h; batch 2 with H = 128 runs
        // the transposed W_hh through GEMM.
        using var gemm = new GemmContext(1);
        foreach ((int batch, int hidden) in new[] { (1, 32), (1, 48), (1, 128), (2, 128) })
        {
            var s = new RecurrentShape(cell, 5, 9, hidden);
            Case c = Case.Random(s, batch, seed: hidden, states: true);
            AssertSame(Reference(c), Float(c, gemm), 1e-4, $"{cell} b{batch} H{hidden}");
        }
    }

    /// <summary>Runs <paramref name="body"/> with the AVX-512 batch-1 kernels switched off, so that the AVX2 (Vector256)
    /// slab kernels take their place on any machine with FMA (the switch is internal, hence reflection).</summary>
    private static void WithoutVector512Kernels(Action body)
    {
        var flag = typeof(Recurrent).Assembly.GetType("Dl.Kernels.RecurrentGemv", throwOnError: true)!
            .GetProperty("AvoidVector512", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic)!;
        flag.SetValue(null, true);
        try { body(); }
        finally { flag.SetValue(null, false); }
    }

    [Theory]
    [InlineData(RecurrentCell.Rnn)]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    [InlineData(RecurrentCell.GruResetBefore)]
    public void Float_SlabKernels_MatchReference(RecurrentCell cell)
    {
        // Batch 1 and at least 8 steps with H = 8, 24, 128, 136 and 256: products of 8·k rows that are whole 64-row slabs,
        // a partial slab alone (8, 24, 48 rows) and both (72, 96, 136, 544), for every gate layout; forward and backward.
        using var gemm = new GemmContext(1);
        WithoutVector512Kernels(() =>
        {
            foreach ((int hidden, int steps) in new[] { (8, 8), (24, 9), (128, 35), (136, 8), (256, 8) })
                foreach (bool states in new[] { true, false })
                {
                    var s = new RecurrentShape(cell, steps, 7, hidden);
                    Case c = Case.Random(s, 1, seed: hidden + steps + (states ? 1 : 0), states);
                    AssertSame(Reference(c), Float(c, gemm), 1e-4, $"{cell} slabs H{hidden} T{steps}{(states ? " h0" : "")}");
                }
        });
    }

    // ---- Optional outputs and the accumulate flags ----

    [Theory]
    [InlineData(RecurrentCell.Rnn, 1)]
    [InlineData(RecurrentCell.Lstm, 1)]
    [InlineData(RecurrentCell.Lstm, 3)]
    [InlineData(RecurrentCell.Gru, 3)]
    [InlineData(RecurrentCell.GruResetBefore, 1)]
    [InlineData(RecurrentCell.GruResetBefore, 3)]
    public void Backward_EmptyOutputsAndAccumulateFlags(RecurrentCell cell, int batch)
    {
        using var gemm = new GemmContext(1);
        var s = new RecurrentShape(cell, 6, 4, 16);
        Case c = Case.Random(s, batch, seed: 3, states: true);
        Result full = Float(c, gemm);
        int b = batch, gw = s.Gates * s.Hidden;
        float[] x = F(c.X), h0 = F(c.H0), c0 = F(c.C0), wih = F(c.WIh), whh = F(c.WHh), dy = F(c.Dy);
        var y = new float[b * s.Steps * s.Hidden];
        var saved = new float[b * s.SavedPerSample];
        var scratch = new float[b * s.ScratchPerSample];
        Recurrent.Forward(s, b, x, h0, c0, wih, whh, F(c.BIh), F(c.BHh), y, saved, gemm);

        // One output at a time, the others empty: each equals the full run's.
        bool lstm = cell == RecurrentCell.Lstm;
        for (int which = 0; which < 7; which++)
        {
            if (which == 2 && !lstm) continue;
            float[] dx = which == 0 ? NanF(x.Length) : [], dh0 = which == 1 ? NanF(b * s.Hidden) : [], dc0 = which == 2 ? NanF(b * s.Hidden) : [];
            float[] dwih = which == 3 ? NanF(gw * s.Input) : [], dwhh = which == 4 ? NanF(gw * s.Hidden) : [];
            float[] dbih = which == 5 ? NanF(gw) : [], dbhh = which == 6 ? NanF(gw) : [];
            Recurrent.Backward(s, b, x, h0, c0, wih, whh, y, saved, dy, dx, dh0, dc0, false, dwih, dwhh, dbih, dbhh, false, scratch, gemm);
            double[] got = D(new[] { dx, dh0, dc0, dwih, dwhh, dbih, dbhh }[which]);
            double[] want = new[] { full.Dx, full.Dh0, full.Dc0, full.DWIh, full.DWHh, full.DBIh, full.DBHh }[which];
            AssertClose(want, got, 1e-6, $"{cell} output {which} alone");
        }

        // accumulate adds to what is there; each flag covers only its own group.
        foreach ((bool acc, bool accW) in new[] { (true, true), (true, false), (false, true) })
        {
            var rnd = new Random(11);
            float[] P(int n) => Enumerable.Range(0, n).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
            float[] dx = P(x.Length), dh0 = P(b * s.Hidden), dc0 = lstm ? P(b * s.Hidden) : [];
            float[] dwih = P(gw * s.Input), dwhh = P(gw * s.Hidden), dbih = P(gw), dbhh = P(gw);
            float[][] before = [dx.ToArray(), dh0.ToArray(), dc0.ToArray(), dwih.ToArray(), dwhh.ToArray(), dbih.ToArray(), dbhh.ToArray()];
            Recurrent.Backward(s, b, x, h0, c0, wih, whh, y, saved, dy, dx, dh0, dc0, acc, dwih, dwhh, dbih, dbhh, accW, scratch, gemm);
            double[][] want = [full.Dx, full.Dh0, full.Dc0, full.DWIh, full.DWHh, full.DBIh, full.DBHh];
            float[][] got = [dx, dh0, dc0, dwih, dwhh, dbih, dbhh];
            for (int k = 0; k < 7; k++)
            {
                bool adds = k < 3 ? acc : accW;
                double[] expected = want[k].Select((v, i) => adds ? v + before[k][i] : v).ToArray();
                AssertClose(expected, D(got[k]), 1e-5, $"{cell} accumulate={acc} accumulateWeights={accW} output {k}");
            }
        }
    }

    [Fact]
    public void Forward_IsDeterministic_AndEvaluationNeedsNoBackward()
    {
        using var gemm = new GemmContext(1);
        var s = new RecurrentShape(RecurrentCell.Lstm, 7, 3, 16);
        Case c = Case.Random(s, 2, seed: 5, states: false);
        float[] y1 = new float[2 * 7 * 16], y2 = new float[2 * 7 * 16];
        Recurrent.Forward(s, 2, F(c.X), [], [], F(c.WIh), F(c.WHh), F(c.BIh), F(c.BHh), y1, NanF(2 * s.SavedPerSample), gemm);
        Recurrent.Forward(s, 2, F(c.X), [], [], F(c.WIh), F(c.WHh), F(c.BIh), F(c.BHh), y2, NanF(2 * s.SavedPerSample + 5), gemm);
        Assert.Equal(y1, y2);
    }

    // ---- Allocation ----

    [Theory]
    [InlineData(RecurrentCell.Lstm, 1, 128, 35)] // register kernels
    [InlineData(RecurrentCell.Gru, 4, 16, 9)] // transposed W_hh
    [InlineData(RecurrentCell.GruResetBefore, 2, 13, 2)] // direct GEMM
    [InlineData(RecurrentCell.Rnn, 1, 13, 20)]
    [InlineData(RecurrentCell.GruResetBefore, 1, 24, 9)] // AVX2 slab kernels (on AVX-512 only through the test switch)
    public void ForwardBackward_AllocateNothingPerCall(RecurrentCell cell, int batch, int hidden, int steps)
    {
        if (hidden == 24) WithoutVector512Kernels(() => AllocateNothing(cell, batch, hidden, steps));
        else AllocateNothing(cell, batch, hidden, steps);
    }

    private static void AllocateNothing(RecurrentCell cell, int batch, int hidden, int steps)
    {
        using var gemm = new GemmContext(1);
        var s = new RecurrentShape(cell, steps, 8, hidden);
        Case c = Case.Random(s, batch, seed: 1, states: true);
        float[] x = F(c.X), h0 = F(c.H0), c0 = F(c.C0), wih = F(c.WIh), whh = F(c.WHh), bih = F(c.BIh), bhh = F(c.BHh), dy = F(c.Dy);
        int gw = s.Gates * hidden;
        var y = new float[batch * steps * hidden];
        var saved = new float[batch * s.SavedPerSample];
        var scratch = new float[batch * s.ScratchPerSample];
        float[] dx = new float[x.Length], dh0 = new float[h0.Length], dc0 = new float[c0.Length];
        float[] dwih = new float[wih.Length], dwhh = new float[whh.Length], dbih = new float[gw], dbhh = new float[gw];
        long bytes = Allocation.PerCall(() =>
        {
            Recurrent.Forward(s, batch, x, h0, c0, wih, whh, bih, bhh, y, saved, gemm);
            Recurrent.Backward(s, batch, x, h0, c0, wih, whh, y, saved, dy, dx, dh0, dc0, true, dwih, dwhh, dbih, dbhh, true, scratch, gemm);
        }, calls: 5, rounds: 3);
        Assert.Equal(0, bytes);
    }

    // ---- Argument checks ----

    [Fact]
    public void Shape_Formulas_AndValidation()
    {
        var lstm = new RecurrentShape(RecurrentCell.Lstm, 35, 32, 128);
        Assert.Equal(4, lstm.Gates);
        // T·G·H + (T + 1)·H + T·D + (2T + 1)·H
        Assert.Equal(35 * 512 + 36 * 128 + 35 * 32 + 71 * 128, lstm.SavedPerSample);
        // T·G·H + T·D + 3·H
        Assert.Equal(35 * 512 + 35 * 32 + 3 * 128, lstm.ScratchPerSample);
        var gru = new RecurrentShape(RecurrentCell.Gru, 10, 3, 8);
        Assert.Equal(3, gru.Gates);
        // T·G·H + (T + 1)·H + T·D + T·H + G·H
        Assert.Equal(10 * 24 + 11 * 8 + 10 * 3 + 10 * 8 + 24, gru.SavedPerSample);
        // 2·T·G·H + T·D + 2·H (+ H for the reset-before GRU)
        Assert.Equal(2 * 10 * 24 + 10 * 3 + 16, gru.ScratchPerSample);
        Assert.Equal(2 * 10 * 24 + 10 * 3 + 24, (gru with { Cell = RecurrentCell.GruResetBefore }).ScratchPerSample);
        var rnn = new RecurrentShape(RecurrentCell.Rnn, 4, 2, 3);
        Assert.Equal(1, rnn.Gates);
        Assert.Equal(4 * 3 + 5 * 3 + 4 * 2, rnn.SavedPerSample);
        Assert.Equal(4 * 3 + 4 * 2 + 2 * 3, rnn.ScratchPerSample);

        Assert.Contains("steps", Assert.Throws<ArgumentException>(() => new RecurrentShape(RecurrentCell.Lstm, 0, 2, 3).Validate()).Message);
        Assert.Contains("input", Assert.Throws<ArgumentException>(() => new RecurrentShape(RecurrentCell.Lstm, 2, 0, 3).Validate()).Message);
        Assert.Contains("hidden", Assert.Throws<ArgumentException>(() => new RecurrentShape(RecurrentCell.Lstm, 2, 2, -1).Validate()).Message);
        Assert.Contains("cell", Assert.Throws<ArgumentException>(() => new RecurrentShape((RecurrentCell)9, 2, 2, 3).Validate()).Message);
    }

    [Fact]
    public void WrongLengths_ThrowArgumentExceptionNamingTheSpan()
    {
        using var gemm = new GemmContext(1);
        var s = new RecurrentShape(RecurrentCell.Lstm, 3, 2, 4);
        int b = 2, gw = 16;
        float[] x = new float[b * 3 * 2], h = new float[b * 4], wih = new float[gw * 2], whh = new float[gw * 4], bias = new float[gw];
        float[] y = new float[b * 3 * 4], saved = new float[b * s.SavedPerSample], scratch = new float[b * s.ScratchPerSample];
        void Fwd(float[]? xx = null, float[]? h0 = null, float[]? c0 = null, float[]? wi = null, float[]? wh = null, float[]? bi = null,
            float[]? yy = null, float[]? sv = null, RecurrentShape? shape = null, int batch = 2)
            => Recurrent.Forward(shape ?? s, batch, xx ?? x, h0 ?? h, c0 ?? h, wi ?? wih, wh ?? whh, bi ?? bias, bias, yy ?? y, sv ?? saved, gemm);
        void Expect(string name, Action a)
        {
            var e = Assert.ThrowsAny<ArgumentException>(a);
            Assert.Contains(name, e.Message);
        }
        Expect("x has 11", () => Fwd(xx: new float[11]));
        Expect("h0 has 3", () => Fwd(h0: new float[3]));
        Expect("c0 has 9", () => Fwd(c0: new float[9]));
        Expect("weightIh has 30", () => Fwd(wi: new float[30]));
        Expect("weightHh", () => Fwd(wh: new float[gw * 2]));
        Expect("biasIh", () => Fwd(bi: new float[gw + 1]));
        Expect("y has", () => Fwd(yy: new float[5]));
        Expect("saved has", () => Fwd(sv: new float[b * s.SavedPerSample - 1]));
        Expect("batch", () => Fwd(batch: 0));
        Expect("steps", () => Fwd(shape: s with { Steps = 0 }));
        Expect("no cell state", () => Recurrent.Forward(s with { Cell = RecurrentCell.Gru }, b, x, h, h, new float[12 * 2], new float[12 * 4],
            new float[12], new float[12], y, new float[b * (s with { Cell = RecurrentCell.Gru }).SavedPerSample], gemm));
        Expect("x has", () => RecurrentReference.Forward<double>(s, b, new double[1], [], [], new double[wih.Length], new double[whh.Length],
            new double[gw], new double[gw], new double[y.Length], new double[saved.Length]));

        Recurrent.Forward(s, b, x, h, h, wih, whh, bias, bias, y, saved, gemm);
        void Bwd(float[]? dy = null, float[]? dx = null, float[]? dh0 = null, float[]? dwih = null, float[]? dbhh = null, float[]? sc = null)
            => Recurrent.Backward(s, b, x, h, h, wih, whh, y, saved, dy ?? y, dx ?? [], dh0 ?? [], [], false, dwih ?? [], [], [], dbhh ?? [],
                false, sc ?? scratch, gemm);
        Bwd();
        Expect("dy has", () => Bwd(dy: new float[3]));
        Expect("dx has 5", () => Bwd(dx: new float[5]));
        Expect("dh0 has", () => Bwd(dh0: new float[4]));
        Expect("dWeightIh has 31", () => Bwd(dwih: new float[31]));
        Expect("dBiasHh", () => Bwd(dbhh: new float[gw - 1]));
        Expect("scratch has", () => Bwd(sc: new float[b * s.ScratchPerSample - 1]));
    }

    // ---- The tape op (Ops.Rnn / Lstm / Gru → TapeOps.Recurrent) ----

    /// <summary>x [T, D] → a stacked recurrent layer (initial states = a batched input + a learned offset, so that dh0 and
    /// dc0 reach parameters) → Linear to 2 per step; mean squared error against a [T, 2] target.</summary>
    private sealed class Sequence(RecurrentCell cell, int layers, int hidden, bool states) : IDynamicSource
    {
        public const int Steps = 4, Input = 3;

        public ModelDescription Description()
        {
            int g = new RecurrentShape(cell, 1, 1, hidden).Gates * hidden;
            var ps = new List<(string, int[], Init)>();
            for (int l = 0; l < layers; l++)
            {
                ps.Add(($"seq.weight_ih_l{l}", [g, l == 0 ? Input : hidden], Init.Uniform));
                ps.Add(($"seq.weight_hh_l{l}", [g, hidden], Init.Uniform));
                ps.Add(($"seq.bias_ih_l{l}", [g], Init.Uniform));
                ps.Add(($"seq.bias_hh_l{l}", [g], Init.Uniform));
            }
            if (states) ps.Add(("ph", [layers, hidden], Init.Uniform));
            if (states && cell == RecurrentCell.Lstm) ps.Add(("pc", [layers, hidden], Init.Uniform));
            ps.Add(("fc.weight", [2, hidden], Init.Uniform));
            ps.Add(("fc.bias", [2], Init.Uniform));
            return new ModelDescription
            {
                Name = "Sequence",
                Parameters = Describe.Pack(ps.ToArray()),
                Inputs = [new InputInfo("x", [Steps, Input]), new InputInfo("h", [layers, hidden]), new InputInfo("c", [layers, hidden])],
                Target = new InputInfo("y", [Steps, 2]),
                OutputShape = [Steps, 2],
                Layers = [],
            };
        }

        public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs)
        {
            DynamicContext context = DynamicContext.Current;
            Tensor? h0 = states ? inputs[1] + context.Parameter("ph") : null;
            Tensor? c0 = states && cell == RecurrentCell.Lstm ? inputs[2] + context.Parameter("pc") : null;
            Tensor y = cell switch
            {
                RecurrentCell.Rnn => Dl.Ops.Rnn(inputs[0], hidden, "seq", layers, h0),
                RecurrentCell.Lstm => Dl.Ops.Lstm(inputs[0], hidden, "seq", layers, h0, c0),
                RecurrentCell.Gru => Dl.Ops.Gru(inputs[0], hidden, "seq", layers, h0),
                _ => Dl.Ops.Gru(inputs[0], hidden, "seq", layers, h0, resetAfter: false),
            };
            return Dl.Ops.Linear(y, 2, "fc");
        }

        public Tensor DynamicLoss(Tensor output, Tensor target) => Dl.Ops.MseLoss(output, target);
    }

    private static DynamicModel SequenceModel(RecurrentCell cell, int layers, int hidden, bool states, Precision precision)
    {
        var source = new Sequence(cell, layers, hidden, states);
        return Dl.Dynamic.Dynamic.Create(source.Description(), source, seed: 3, precision);
    }

    private static (double[] Input, double[] Target) SequenceData(int batch, int layers, int hidden, int seed)
    {
        double[] input = GradCheck.Random(batch * (Sequence.Steps * Sequence.Input + 2 * layers * hidden), seed);
        return (input, GradCheck.Random(batch * Sequence.Steps * 2, seed + 1));
    }

    [Theory]
    [InlineData(RecurrentCell.Rnn, 2, true)]
    [InlineData(RecurrentCell.Lstm, 2, true)]
    [InlineData(RecurrentCell.Lstm, 1, false)]
    [InlineData(RecurrentCell.Gru, 2, true)]
    [InlineData(RecurrentCell.GruResetBefore, 2, true)]
    [InlineData(RecurrentCell.GruResetBefore, 1, false)]
    public void Tape_Double_GradCheck_EveryParameter(RecurrentCell cell, int layers, bool states)
    {
        const int hidden = 3;
        DynamicModel model = SequenceModel(cell, layers, hidden, states, Precision.Double);
        (double[] input, double[] target) = SequenceData(2, layers, hidden, seed: 9);
        GradCheck.AllParameters(model, input, target, batch: 2);
    }

    [Theory]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    [InlineData(RecurrentCell.GruResetBefore)]
    [InlineData(RecurrentCell.Rnn)]
    public void Tape_Float_MatchesDouble(RecurrentCell cell)
    {
        const int layers = 2, hidden = 16, batch = 3;
        DynamicModel f = SequenceModel(cell, layers, hidden, true, Precision.Single), d = SequenceModel(cell, layers, hidden, true, Precision.Double);
        (double[] input, double[] target) = SequenceData(batch, layers, hidden, seed: 4);
        float lf = f.ComputeGradients(F(input), F(target), batch);
        double ld = d.ComputeGradients(input, target, batch);
        Assert.Equal(ld, lf, 1e-5);
        AssertClose(d.GradientsDouble.ToArray(), D(f.Gradients.ToArray()), 1e-4, $"{cell} tape gradients");
    }

    [Fact]
    public void Tape_TrainStep_AllocatesNothing()
    {
        const int layers = 2, hidden = 16, batch = 2;
        DynamicModel model = SequenceModel(RecurrentCell.Lstm, layers, hidden, true, Precision.Single);
        (double[] input, double[] target) = SequenceData(batch, layers, hidden, seed: 5);
        float[] x = F(input), y = F(target);
        Assert.Equal(0, Allocation.PerCall(() => model.ComputeGradients(x, y, batch), calls: 5, rounds: 3));
    }

    [Fact]
    public void Tape_WrongShapes_Throw()
    {
        DynamicModel model = SequenceModel(RecurrentCell.Lstm, 1, 4, false, Precision.Single);
        (double[] input, double[] target) = SequenceData(1, 1, 4, seed: 1);
        // The description says H = 4; asking for 5 finds parameters of the wrong shape.
        var wrong = new Sequence(RecurrentCell.Lstm, 1, 5, false);
        DynamicModel mismatched = Dl.Dynamic.Dynamic.Create(new Sequence(RecurrentCell.Lstm, 1, 4, false).Description(), wrong, seed: 1);
        var e = Assert.ThrowsAny<ArgumentException>(() => mismatched.Loss(F(input), F(target), 1));
        Assert.Contains("seq.weight_ih_l0", e.Message);
        Assert.True(float.IsFinite(model.Loss(F(input), F(target), 1)));
    }
}
