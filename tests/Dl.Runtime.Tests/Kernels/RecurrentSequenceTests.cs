using Dl.Dynamic;
using Dl.Kernels;
using Dl.Tests.DynamicTape;

namespace Dl.Tests;

/// <summary>The recurrent kernels over sequences of per-sample lengths and in the reverse direction, with and without
/// biases: the double reference against the definition (a sample of length L is the layer run on its first L steps alone,
/// reversed for the backward direction, with zeros after) and against central differences; the float kernels against
/// the reference at batch 1 and 3 and hidden sizes 5 and 13; NaN padding changes nothing; bad lengths name the sample.</summary>
public class RecurrentSequenceTests
{
    private static readonly RecurrentCell[] Cells = [RecurrentCell.Rnn, RecurrentCell.Lstm, RecurrentCell.Gru, RecurrentCell.GruResetBefore];

    private sealed record Layer(RecurrentShape S, int Batch, double[] X, double[] H0, double[] C0, double[] WIh, double[] WHh,
        double[] BIh, double[] BHh, double[] Dy, double[] Lengths);

    private static Layer Random(RecurrentCell cell, int batch, int hidden, int input, int steps, bool bias, bool lengths, int seed)
    {
        var rnd = new Random(seed);
        var s = new RecurrentShape(cell, steps, input, hidden);
        double[] R(int n, double a) => Enumerable.Range(0, n).Select(_ => (rnd.NextDouble() * 2 - 1) * a).ToArray();
        int gw = s.GateWidth;
        double scale = 1.5 / Math.Sqrt(hidden);
        // Lengths 1..T with the extremes present: sample 0 has T steps, sample 1 one step.
        double[] len = lengths ? Enumerable.Range(0, batch).Select(n => (double)(n == 0 ? steps : n == 1 ? 1 : rnd.Next(1, steps + 1))).ToArray() : [];
        return new Layer(s, batch, R(batch * steps * input, 1), R(batch * hidden, 0.8), cell == RecurrentCell.Lstm ? R(batch * hidden, 1) : [],
            R(gw * input, scale), R(gw * hidden, scale), bias ? R(gw, 0.5) : [], bias ? R(gw, 0.5) : [], R(batch * steps * hidden, 1), len);
    }

    private sealed record Grads(double[] Y, double[] Dx, double[] Dh0, double[] Dc0, double[] DWIh, double[] DWHh, double[] DBIh, double[] DBHh);

    private static double[] Nan(int n) => Enumerable.Repeat(double.NaN, n).ToArray();
    private static float[] F(double[] a) => a.Select(v => (float)v).ToArray();
    private static double[] D(float[] a) => a.Select(v => (double)v).ToArray();

    private static double[] Forward(Layer c, bool reverse, double[]? x = null, double[]? wih = null, double[]? whh = null, double[]? bih = null,
        double[]? bhh = null, double[]? h0 = null)
    {
        var y = Nan(c.Batch * c.S.Steps * c.S.Hidden);
        RecurrentReference.Forward<double>(c.S, c.Batch, x ?? c.X, h0 ?? c.H0, c.C0, wih ?? c.WIh, whh ?? c.WHh, bih ?? c.BIh, bhh ?? c.BHh, y,
            Nan(c.Batch * c.S.SavedPerSample), c.Lengths, reverse);
        return y;
    }

    private static Grads Reference(Layer c, bool reverse)
    {
        var s = c.S; int b = c.Batch, gw = s.GateWidth;
        var y = Nan(b * s.Steps * s.Hidden);
        var saved = Nan(b * s.SavedPerSample);
        RecurrentReference.Forward<double>(s, b, c.X, c.H0, c.C0, c.WIh, c.WHh, c.BIh, c.BHh, y, saved, c.Lengths, reverse);
        var g = new Grads(y, Nan(c.X.Length), Nan(b * s.Hidden), s.Cell == RecurrentCell.Lstm ? Nan(b * s.Hidden) : [], Nan(gw * s.Input),
            Nan(gw * s.Hidden), c.BIh.Length == 0 ? [] : Nan(gw), c.BHh.Length == 0 ? [] : Nan(gw));
        RecurrentReference.Backward<double>(s, b, c.X, c.H0, c.C0, c.WIh, c.WHh, y, saved, c.Dy, g.Dx, g.Dh0, g.Dc0, false, g.DWIh, g.DWHh,
            g.DBIh, g.DBHh, false, Nan(b * s.ScratchPerSample), c.Lengths, reverse);
        return g;
    }

    private static Grads Float(Layer c, bool reverse, GemmContext gemm, float[]? x = null)
    {
        var s = c.S; int b = c.Batch, gw = s.GateWidth;
        float[] xs = x ?? F(c.X), h0 = F(c.H0), c0 = F(c.C0), wih = F(c.WIh), whh = F(c.WHh), len = F(c.Lengths);
        float[] y = F(Nan(b * s.Steps * s.Hidden)), saved = F(Nan(b * s.SavedPerSample));
        Recurrent.Forward(s, b, xs, h0, c0, wih, whh, F(c.BIh), F(c.BHh), y, saved, len, reverse, gemm);
        float[] dx = F(Nan(xs.Length)), dh0 = F(Nan(b * s.Hidden)), dc0 = s.Cell == RecurrentCell.Lstm ? F(Nan(b * s.Hidden)) : [];
        float[] dwih = F(Nan(gw * s.Input)), dwhh = F(Nan(gw * s.Hidden)), dbih = c.BIh.Length == 0 ? [] : F(Nan(gw)), dbhh = c.BHh.Length == 0 ? [] : F(Nan(gw));
        Recurrent.Backward(s, b, xs, h0, c0, wih, whh, y, saved, F(c.Dy), dx, dh0, dc0, false, dwih, dwhh, dbih, dbhh, false,
            F(Nan(b * s.ScratchPerSample)), len, reverse, gemm);
        return new Grads(D(y), D(dx), D(dh0), D(dc0), D(dwih), D(dwhh), D(dbih), D(dbhh));
    }

    private static void Close(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1, expected.Length == 0 ? 0 : expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol * scale, $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    private static void Same(Grads e, Grads a, double tol, string what)
    {
        Close(e.Y, a.Y, tol, what + " y"); Close(e.Dx, a.Dx, tol, what + " dx"); Close(e.Dh0, a.Dh0, tol, what + " dh0");
        Close(e.Dc0, a.Dc0, tol, what + " dc0"); Close(e.DWIh, a.DWIh, tol, what + " dW_ih"); Close(e.DWHh, a.DWHh, tol, what + " dW_hh");
        Close(e.DBIh, a.DBIh, tol, what + " db_ih"); Close(e.DBHh, a.DBHh, tol, what + " db_hh");
    }

    [Theory]
    [InlineData(RecurrentCell.Rnn)]
    [InlineData(RecurrentCell.Lstm)]
    [InlineData(RecurrentCell.Gru)]
    [InlineData(RecurrentCell.GruResetBefore)]
    public void Reference_IsEachSampleRunAlone_OnItsValidSteps(RecurrentCell cell)
    {
        foreach (bool reverse in new[] { false, true })
        {
            var c = Random(cell, 3, 5, 3, 6, bias: true, lengths: true, seed: 11);
            var y = Forward(c, reverse);
            for (int n = 0; n < c.Batch; n++)
            {
                int length = (int)c.Lengths[n], d = c.S.Input, h = c.S.Hidden, steps = c.S.Steps;
                // The sample alone: its first `length` steps (reversed for the backward direction), no lengths.
                var x = new double[length * d];
                for (int t = 0; t < length; t++)
                    Array.Copy(c.X, (n * steps + (reverse ? length - 1 - t : t)) * d, x, t * d, d);
                var alone = new Layer(new RecurrentShape(cell, length, d, h), 1, x, c.H0[(n * h)..((n + 1) * h)],
                    cell == RecurrentCell.Lstm ? c.C0[(n * h)..((n + 1) * h)] : [], c.WIh, c.WHh, c.BIh, c.BHh, [], []);
                var ya = Forward(alone, reverse: false);
                for (int t = 0; t < steps; t++)
                    for (int k = 0; k < h; k++)
                    {
                        double expected = t >= length ? 0 : ya[(reverse ? length - 1 - t : t) * h + k];
                        Assert.Equal(expected, y[(n * steps + t) * h + k], 12);
                    }
            }
        }
    }

    public static TheoryData<RecurrentCell, int, bool, bool> Cases()
    {
        var data = new TheoryData<RecurrentCell, int, bool, bool>();
        foreach (var cell in Cells)
            foreach (int batch in new[] { 1, 3 })
                foreach (bool reverse in new[] { false, true })
                    data.Add(cell, batch, reverse, batch == 3 || reverse);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reference_GradCheck_LengthsAndDirection(RecurrentCell cell, int batch, bool reverse, bool bias)
    {
        var c = Random(cell, batch, 5, 3, 4, bias, lengths: true, seed: 3 + batch);
        var g = Reference(c, reverse);
        double Loss(double[] y) => y.Zip(c.Dy, (a, b) => a * b).Sum();
        void Check(string name, double[] value, double[] analytic, Func<double[], double[]> run)
        {
            double scale = Math.Max(1, analytic.Length == 0 ? 0 : analytic.Max(Math.Abs));
            for (int i = 0; i < value.Length; i += 1 + value.Length / 12)
            {
                double keep = value[i];
                value[i] = keep + 1e-6; double plus = Loss(run(value));
                value[i] = keep - 1e-6; double minus = Loss(run(value));
                value[i] = keep;
                double fd = (plus - minus) / 2e-6;
                Assert.True(Math.Abs(fd - analytic[i]) <= 1e-6 * scale, $"{cell} d{name}[{i}]: finite difference {fd}, backward {analytic[i]}");
            }
        }
        Check("x", c.X, g.Dx, v => Forward(c, reverse, x: v));
        Check("h0", c.H0, g.Dh0, v => Forward(c, reverse, h0: v));
        Check("W_ih", c.WIh, g.DWIh, v => Forward(c, reverse, wih: v));
        Check("W_hh", c.WHh, g.DWHh, v => Forward(c, reverse, whh: v));
        if (bias)
        {
            Check("b_ih", c.BIh, g.DBIh, v => Forward(c, reverse, bih: v));
            Check("b_hh", c.BHh, g.DBHh, v => Forward(c, reverse, bhh: v));
        }
        // Padded steps receive no gradient.
        for (int n = 0; n < batch; n++)
            for (int t = (int)c.Lengths[n]; t < c.S.Steps; t++)
                for (int q = 0; q < c.S.Input; q++) Assert.Equal(0, g.Dx[(n * c.S.Steps + t) * c.S.Input + q]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float_MatchesReference_LengthsDirectionBias(RecurrentCell cell, int batch, bool reverse, bool bias)
    {
        using var gemm = new GemmContext(1);
        foreach (int hidden in new[] { 5, 13, 16 })
            foreach (int steps in new[] { 1, 7, 12 })
                foreach (bool lengths in new[] { false, true })
                {
                    var c = Random(cell, batch, hidden, 3, steps, bias, lengths, seed: hidden * 10 + steps);
                    Same(Reference(c, reverse), Float(c, reverse, gemm), 1e-4, $"{cell} b{batch} H{hidden} T{steps} reverse {reverse} lengths {lengths} bias {bias}");
                }
    }

    [Fact]
    public void Float_NanPadding_ChangesNothing()
    {
        using var gemm = new GemmContext(1);
        foreach (var cell in Cells)
        {
            var c = Random(cell, 3, 6, 2, 5, bias: true, lengths: true, seed: 5);
            var clean = Float(c, true, gemm);
            float[] x = F(c.X);
            for (int n = 0; n < 3; n++)
                for (int t = (int)c.Lengths[n]; t < 5; t++)
                    for (int q = 0; q < 2; q++) x[(n * 5 + t) * 2 + q] = q == 0 ? float.NaN : 1e30f;
            var dirty = Float(c, true, gemm, x);
            Same(clean, dirty, 0, cell + " NaN padding");
        }
    }

    [Theory]
    [InlineData(0f, "lengths[1] = 0 (sample 1)")]
    [InlineData(6f, "lengths[1] = 6 (sample 1)")]
    [InlineData(2.5f, "lengths[1] = 2.5 (sample 1)")]
    [InlineData(float.NaN, "lengths[1] = NaN (sample 1)")]
    public void BadLengths_NameTheSample(float bad, string expected)
    {
        using var gemm = new GemmContext(1);
        var s = new RecurrentShape(RecurrentCell.Gru, 5, 2, 3);
        float[] len = [5, bad, 1];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Recurrent.Forward(s, 3, new float[30], default, default, new float[18], new float[27],
            default, default, new float[45], new float[3 * s.SavedPerSample], len, false, gemm));
        Assert.Contains(expected, e.Message);
        Assert.Contains("1..T = 1..5", e.Message);
        var d = Assert.Throws<ArgumentOutOfRangeException>(() => RecurrentReference.Forward<double>(s, 3, new double[30], default, default,
            new double[18], new double[27], default, default, new double[45], new double[3 * s.SavedPerSample], len.Select(v => (double)v).ToArray(), false));
        Assert.Contains(expected, d.Message);
        Assert.Throws<ArgumentException>(() => Recurrent.Forward(s, 3, new float[30], default, default, new float[18], new float[27],
            default, default, new float[45], new float[3 * s.SavedPerSample], new float[2], false, gemm));
    }

    // ---- The tape op's argument checks ----

    private delegate Tensor Body(ReadOnlySpan<Tensor> inputs);

    /// <summary>x [4, 3], a second input [k] and a GRU "g" (H = 2, both directions, biases) → Linear to 1.</summary>
    private sealed class Source(int second, Body body) : IDynamicSource
    {
        public ModelDescription Description()
        {
            var ps = new List<(string, int[], Init)>();
            foreach (string suffix in new[] { "", "_reverse" })
            {
                ps.Add(($"g.weight_ih_l0{suffix}", [6, 3], Init.Uniform));
                ps.Add(($"g.weight_hh_l0{suffix}", [6, 2], Init.Uniform));
                ps.Add(($"g.bias_ih_l0{suffix}", [6], Init.Uniform));
                ps.Add(($"g.bias_hh_l0{suffix}", [6], Init.Uniform));
            }
            ps.Add(("fc.weight", [1, 16], Init.Uniform));
            ps.Add(("fc.bias", [1], Init.Uniform));
            return new ModelDescription
            {
                Name = "Source", Parameters = Describe.Pack(ps.ToArray()),
                Inputs = [new InputInfo("x", [4, 3]), new InputInfo("k", [second])], Target = new InputInfo("y", [1]), OutputShape = [1], Layers = [],
            };
        }

        public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs) => Dl.Ops.Linear(Dl.Ops.Flatten(body(inputs)), 1, "fc");

        public Tensor DynamicLoss(Tensor output, Tensor target) => Dl.Ops.MseLoss(output, target);
    }

    private static float Run(int second, Body body, float[] k)
    {
        var source = new Source(second, body);
        var model = Dl.Dynamic.Dynamic.Create(source.Description(), source, seed: 1);
        var x = new float[2 * 12].Concat(k).ToArray();
        return model.Loss(x, new float[2], 2);
    }

    [Fact]
    public void Tape_BidirectionalLengths_ChecksItsArguments()
    {
        // Good: lengths [1] per sample, both directions.
        Assert.True(float.IsFinite(Run(1, i => Dl.Ops.Gru(i[0], 2, "g", bidirectional: true, lengths: i[1]), [4, 2])));
        var shape = Assert.Throws<ArgumentException>(() => Run(2, i => Dl.Ops.Gru(i[0], 2, "g", bidirectional: true, lengths: i[1]), [1, 2, 3, 4]));
        Assert.Contains("lengths must be one number per sample", shape.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => Run(1, i => Dl.Ops.Gru(i[0], 2, "g", bidirectional: true, lengths: i[1]), [4, 5]));
        Assert.Contains("lengths[1] = 5 (sample 1)", range.Message);
        // h0 of a bidirectional layer is [2·layers, H].
        var h0 = Assert.Throws<ArgumentException>(() => Run(2, i => Dl.Ops.Gru(i[0], 2, "g", bidirectional: true, h0: i[1]), [1, 2, 3, 4]));
        Assert.Contains("[2, 2]", h0.Message);
        // Without biases the model has no bias parameters to find: asking for them (bias: true) on a model without is an error
        // elsewhere; here bias: false simply does not read them.
        Assert.True(float.IsFinite(Run(1, i => Dl.Ops.Gru(i[0], 2, "g", bias: false, bidirectional: true, lengths: i[1]), [1, 4])));
    }
}
