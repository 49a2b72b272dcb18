using Dl.Dynamic;
using static Dl.Ops;

namespace Dl.Tests.DynamicTape;

/// <summary>The attention tape ops: <see cref="Ops.Attention"/> (separate q, k, v; one query; q = k = v one tensor) and
/// multi-head self- and cross-attention with PyTorch's parameters, through whole-model finite differences in double,
/// float against double, a written-out forward of nn.MultiheadAttention, allocation and the argument errors.</summary>
public class AttentionTapeTests
{
    public enum Kind
    {
        /// <summary>q = Linear(x), k = Linear(memory), v = Linear(memory) → Attention → Linear.</summary>
        Separate,
        /// <summary>z = Linear(x); Attention(z, z, z): one tensor read three times over the same columns.</summary>
        SameTensor,
        /// <summary>One query: x [In] → q [h·d_k] → y [h·d_v].</summary>
        OneQuery,
        /// <summary>SelfAttention(x).</summary>
        Self,
        /// <summary>CrossAttention(x, memory).</summary>
        Cross,
    }

    private const int Steps = 5, MemorySteps = 7, Width = 6, In = 4;

    private sealed class Model(Kind kind, int heads, bool causal, bool mask, AttentionScore score = AttentionScore.ScaledDot) : IDynamicSource
    {
        private bool Projected => kind is Kind.Self or Kind.Cross;
        private int Queries => kind == Kind.OneQuery ? 1 : Steps;
        public int Keys => kind is Kind.Self or Kind.SameTensor ? Steps : MemorySteps;
        private int ValueWidth => kind is Kind.Separate or Kind.OneQuery ? 3 * heads : Width;
        public int[] XShape => kind == Kind.OneQuery ? [In] : [Steps, Projected ? Width : In];
        public int[] MemoryShape => [MemorySteps, Projected ? Width : In];
        public int[] OutputShape => kind == Kind.OneQuery ? [2] : [Steps, 2];

        public ModelDescription Description()
        {
            var ps = new List<(string, int[], Init)>();
            void Lin(string name, int outF, int inF)
            {
                ps.Add(($"{name}.weight", [outF, inF], Init.Uniform));
                ps.Add(($"{name}.bias", [outF], Init.Uniform));
            }
            switch (kind)
            {
                case Kind.Separate or Kind.OneQuery:
                    Lin("wq", Width, In);
                    Lin("wk", Width, In);
                    Lin("wv", ValueWidth, In);
                    break;
                case Kind.SameTensor:
                    Lin("wz", Width, In);
                    break;
                default:
                    ps.Add(("attn.in_proj_weight", [3 * Width, Width], Init.Uniform));
                    ps.Add(("attn.in_proj_bias", [3 * Width], Init.Uniform));
                    ps.Add(("attn.out_proj.weight", [Width, Width], Init.Uniform));
                    ps.Add(("attn.out_proj.bias", [Width], Init.Uniform));
                    break;
            }
            Lin("fc", 2, ValueWidth);
            return new ModelDescription
            {
                Name = $"Attention{kind}",
                Parameters = Describe.Pack(ps.ToArray()),
                Inputs = [new InputInfo("x", XShape), new InputInfo("memory", MemoryShape), new InputInfo("mask", [Keys])],
                Target = new InputInfo("y", OutputShape),
                OutputShape = OutputShape,
                Layers = [],
            };
        }

        public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs)
        {
            Tensor x = inputs[0], memory = inputs[1];
            Tensor? m = mask ? inputs[2] : null;
            Tensor a = kind switch
            {
                Kind.Separate or Kind.OneQuery => Attention(Linear(x, Width, "wq"), Linear(memory, Width, "wk"), Linear(memory, ValueWidth, "wv"),
                    heads, causal, m, score),
                Kind.SameTensor => Same(Linear(x, Width, "wz"), m),
                Kind.Self => SelfAttention(x, heads, "attn", causal, m),
                _ => CrossAttention(x, memory, heads, "attn", m),
            };
            return Linear(a, 2, "fc");
        }

        private Tensor Same(Tensor z, Tensor? m) => Attention(z, z, z, heads, causal, m, score);

        public Tensor DynamicLoss(Tensor output, Tensor target) => MseLoss(output, target);
    }

    private static DynamicModel Create(Model source, Precision precision) => Dl.Dynamic.Dynamic.Create(source.Description(), source, seed: 3, precision);

    /// <summary>Inputs (each input's batch block in turn) and targets. The mask has random zeros, key 0 of sample 0
    /// masked (with causal, that sample's query 0 sees no key) and, for batch ≥ 3, every key of sample 2 masked.</summary>
    private static (double[] Input, double[] Target) Data(Model model, int batch, int seed)
    {
        var rnd = new Random(seed);
        double[] R(int n) => Enumerable.Range(0, n).Select(_ => rnd.NextDouble() * 2 - 1).ToArray();
        int keys = model.Keys;
        double[] mask = Enumerable.Range(0, batch * keys).Select(_ => rnd.NextDouble() < 0.25 ? 0.0 : 1.0).ToArray();
        mask[0] = 0;
        if (batch >= 3) Array.Clear(mask, 2 * keys, keys);
        double[] input = [.. R(batch * model.XShape.Aggregate(1, (a, b) => a * b)), .. R(batch * MemorySteps * model.MemoryShape[1]), .. mask];
        return (input, R(batch * model.OutputShape.Aggregate(1, (a, b) => a * b)));
    }

    private static float[] F(double[] a) => a.Select(v => (float)v).ToArray();

    public static TheoryData<Kind, int, bool, bool, AttentionScore> GradCheckCases() => new()
    {
        { Kind.Separate, 1, false, false, AttentionScore.ScaledDot },
        { Kind.Separate, 3, true, true, AttentionScore.ScaledDot },
        { Kind.Separate, 2, false, true, AttentionScore.Dot },
        { Kind.OneQuery, 3, false, true, AttentionScore.ScaledDot },
        { Kind.SameTensor, 3, true, true, AttentionScore.ScaledDot },
        { Kind.SameTensor, 1, false, false, AttentionScore.Dot },
        { Kind.Self, 3, true, true, AttentionScore.ScaledDot },
        { Kind.Self, 2, false, false, AttentionScore.ScaledDot },
        { Kind.Cross, 3, false, true, AttentionScore.ScaledDot },
        { Kind.Cross, 1, false, false, AttentionScore.ScaledDot },
    };

    [Theory]
    [MemberData(nameof(GradCheckCases))]
    public void Tape_Double_GradCheck_EveryParameter(Kind kind, int heads, bool causal, bool mask, AttentionScore score)
    {
        var source = new Model(kind, heads, causal, mask, score);
        DynamicModel model = Create(source, Precision.Double);
        (double[] input, double[] target) = Data(source, 3, seed: 9);
        GradCheck.AllParameters(model, input, target, batch: 3, tolerance: 1e-7);
    }

    [Theory]
    [InlineData(Kind.Separate, 3)]
    [InlineData(Kind.OneQuery, 2)]
    [InlineData(Kind.SameTensor, 3)]
    [InlineData(Kind.Self, 3)]
    [InlineData(Kind.Cross, 2)]
    public void Tape_Float_MatchesDouble(Kind kind, int heads)
    {
        var source = new Model(kind, heads, causal: kind != Kind.Cross, mask: true);
        DynamicModel f = Create(source, Precision.Single), d = Create(source, Precision.Double);
        (double[] input, double[] target) = Data(source, 4, seed: 4);
        float lf = f.ComputeGradients(F(input), F(target), 4);
        double ld = d.ComputeGradients(input, target, 4);
        Assert.Equal(ld, lf, 1e-5);
        double[] gd = d.GradientsDouble.ToArray();
        float[] gf = f.Gradients.ToArray();
        double scale = Math.Max(1, gd.Max(Math.Abs));
        Assert.Contains(gd, g => g != 0);
        for (int i = 0; i < gd.Length; i++)
            Assert.True(Math.Abs(gf[i] - gd[i]) <= 1e-5 * scale, $"gradient {i}: float {gf[i]}, double {gd[i]}");
    }

    [Theory]
    [InlineData(Kind.Self, 3, true)]
    [InlineData(Kind.Self, 1, false)]
    [InlineData(Kind.Cross, 2, false)]
    public void MultiHeadAttention_MatchesWrittenOutTorchSemantics(Kind kind, int heads, bool causal)
    {
        // nn.MultiheadAttention(D, heads)(query, key, value) with key_padding_mask, written out for each sample:
        // q = query·W_in[0:D]ᵀ + b_in[0:D], k = key·W_in[D:2D]ᵀ + b_in[D:2D], v = value·W_in[2D:3D]ᵀ + b_in[2D:3D];
        // head h uses columns h·d .. (h + 1)·d; softmax(q·kᵀ/√d) over the unmasked (and, causal, earlier) keys;
        // out = concat(heads)·W_outᵀ + b_out; then the test head fc.
        var source = new Model(kind, heads, causal, mask: true);
        DynamicModel model = Create(source, Precision.Double);
        const int batch = 3;
        (double[] input, _) = Data(source, batch, seed: 8);
        var output = new double[batch * Steps * 2];
        model.PredictDouble(input, output, batch);

        double[] wIn = model.ParameterDouble("attn.in_proj_weight").ToArray(), bIn = model.ParameterDouble("attn.in_proj_bias").ToArray();
        double[] wOut = model.ParameterDouble("attn.out_proj.weight").ToArray(), bOut = model.ParameterDouble("attn.out_proj.bias").ToArray();
        double[] wFc = model.ParameterDouble("fc.weight").ToArray(), bFc = model.ParameterDouble("fc.bias").ToArray();
        int d = Width / heads, keys = source.Keys;
        int xSize = Steps * Width, memSize = MemorySteps * Width;
        double[] Project(double[] row, int block)
        {
            var r = new double[Width];
            for (int o = 0; o < Width; o++)
            {
                r[o] = bIn[block * Width + o];
                for (int i = 0; i < Width; i++) r[o] += wIn[(block * Width + o) * Width + i] * row[i];
            }
            return r;
        }
        for (int b = 0; b < batch; b++)
        {
            double[] Row(int offset, int t) => input.AsSpan(offset + t * Width, Width).ToArray();
            int xAt = b * xSize, memAt = batch * xSize + b * memSize;
            int sourceAt = kind == Kind.Self ? xAt : memAt;
            double[] mask = input.AsSpan(batch * (xSize + memSize) + b * keys, keys).ToArray();
            for (int t = 0; t < Steps; t++)
            {
                double[] q = Project(Row(xAt, t), 0);
                var attended = new double[Width];
                for (int h = 0; h < heads; h++)
                {
                    var scores = new double[keys];
                    for (int j = 0; j < keys; j++)
                    {
                        double[] k = Project(Row(sourceAt, j), 1);
                        scores[j] = double.NegativeInfinity;
                        if (mask[j] == 0 || causal && j > t) continue;
                        scores[j] = 0;
                        for (int c = 0; c < d; c++) scores[j] += q[h * d + c] * k[h * d + c];
                        scores[j] /= Math.Sqrt(d);
                    }
                    double max = scores.Max(), sum = scores.Sum(s => double.IsNegativeInfinity(s) ? 0 : Math.Exp(s - max));
                    for (int j = 0; j < keys; j++)
                    {
                        if (double.IsNegativeInfinity(scores[j])) continue;
                        double[] v = Project(Row(sourceAt, j), 2);
                        for (int c = 0; c < d; c++) attended[h * d + c] += Math.Exp(scores[j] - max) / sum * v[h * d + c];
                    }
                }
                for (int o = 0; o < 2; o++)
                {
                    double logit = bFc[o];
                    for (int e = 0; e < Width; e++)
                    {
                        double a = bOut[e];
                        for (int i = 0; i < Width; i++) a += wOut[e * Width + i] * attended[i];
                        logit += wFc[o * Width + e] * a;
                    }
                    Assert.Equal(logit, output[(b * Steps + t) * 2 + o], 12);
                }
            }
        }
    }

    [Fact]
    public void OnePosition_SelfAttentionIsTheProjectedValue_AndOneQueryEqualsItsRowOfTheSequence()
    {
        // Self-attention of a single position [D]: its one key gets α = 1, so the output is out_proj(v) with
        // v = W_in[2D:3D]·x + b_in[2D:3D]. Cross-attention of one query [D] equals row t of the same query inside a sequence.
        (string, int[], Init)[] mha = [("attn.in_proj_weight", [3 * Width, Width], Init.Uniform), ("attn.in_proj_bias", [3 * Width], Init.Uniform),
            ("attn.out_proj.weight", [Width, Width], Init.Uniform), ("attn.out_proj.bias", [Width], Init.Uniform)];
        InputInfo[] inputs = [new InputInfo("x", [Width]), new InputInfo("seq", [Steps, Width]), new InputInfo("memory", [MemorySteps, Width])];
        const int batch = 2;
        double[] input = GradCheck.Random(batch * (Width + Steps * Width + MemorySteps * Width), 12);
        DynamicModel self = Lambda.Create(Describe.Pack(mha), inputs, [Width], null, (_, i) => SelfAttention(i[0], 3, "attn"), null);
        var y = new double[batch * Width];
        self.PredictDouble(input, y, batch);
        double[] w = self.ParameterDouble("attn.in_proj_weight").ToArray(), bIn = self.ParameterDouble("attn.in_proj_bias").ToArray();
        double[] wo = self.ParameterDouble("attn.out_proj.weight").ToArray(), bo = self.ParameterDouble("attn.out_proj.bias").ToArray();
        for (int b = 0; b < batch; b++)
        {
            var v = new double[Width];
            for (int o = 0; o < Width; o++)
            {
                v[o] = bIn[2 * Width + o];
                for (int i = 0; i < Width; i++) v[o] += w[(2 * Width + o) * Width + i] * input[b * Width + i];
            }
            for (int o = 0; o < Width; o++)
            {
                double expected = bo[o];
                for (int i = 0; i < Width; i++) expected += wo[o * Width + i] * v[i];
                Assert.Equal(expected, y[b * Width + o], 12);
            }
        }

        // The sequence's row 2 is the one query: copy it into x.
        for (int b = 0; b < batch; b++)
            Array.Copy(input, batch * Width + (b * Steps + 2) * Width, input, b * Width, Width);
        DynamicModel one = Lambda.Create(Describe.Pack(mha), inputs, [Width], null, (_, i) => CrossAttention(i[0], i[2], 2, "attn"), null, seed: 5);
        DynamicModel all = Lambda.Create(Describe.Pack(mha), inputs, [Steps, Width], null, (_, i) => CrossAttention(i[1], i[2], 2, "attn"), null, seed: 5);
        var yOne = new double[batch * Width];
        var yAll = new double[batch * Steps * Width];
        one.PredictDouble(input, yOne, batch);
        all.PredictDouble(input, yAll, batch);
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < Width; o++) Assert.Equal(yAll[(b * Steps + 2) * Width + o], yOne[b * Width + o], 13);
    }

    [Fact]
    public void Tape_TrainStep_AllocatesNothing()
    {
        var source = new Model(Kind.Self, 3, causal: true, mask: true);
        DynamicModel model = Create(source, Precision.Single);
        (double[] input, double[] target) = Data(source, 3, seed: 5);
        float[] x = F(input), y = F(target);
        Assert.Equal(0, Allocation.PerCall(() => model.ComputeGradients(x, y, 3), calls: 5, rounds: 3));
        var cross = new Model(Kind.Cross, 2, causal: false, mask: true);
        DynamicModel crossModel = Create(cross, Precision.Single);
        (input, target) = Data(cross, 2, seed: 6);
        x = F(input);
        y = F(target);
        Assert.Equal(0, Allocation.PerCall(() => crossModel.ComputeGradients(x, y, 2), calls: 5, rounds: 3));
    }

    // ---- Errors ----

    private static string Fails(Func<DynamicContext, Tensor[], Tensor> forward, (string, int[], Init)[]? parameters = null)
    {
        DynamicModel model = Lambda.Create(Describe.Pack(parameters ?? [("p", [5, 6], Init.Uniform)]),
            [new InputInfo("a", [5, 6]), new InputInfo("b", [7, 6]), new InputInfo("c", [7, 4]), new InputInfo("m", [7]), new InputInfo("one", [6])],
            [5, 6], null, forward, null);
        var input = new double[2 * (30 + 42 + 28 + 7 + 6)];
        return Assert.ThrowsAny<ArgumentException>(() => model.PredictDouble(input, new double[60], 2)).Message;
    }

    [Fact]
    public void Attention_WrongArguments_ThrowClearly()
    {
        Assert.Contains("3 heads do not divide the query and key width 4", Fails((_, i) => Attention(i[2], i[2], i[2], heads: 3)));
        Assert.Contains("attention: key [7, 4] has 4 features per row but query [5, 6] has 6", Fails((_, i) => Attention(i[0], i[2], i[2])));
        Assert.Contains("attention: value [5, 6] has 5 rows but key [7, 6] has 7", Fails((_, i) => Attention(i[0], i[1], i[0])));
        Assert.Contains("4 heads do not divide the value width 6", Fails((_, i) => Attention(i[2], i[2], i[1], heads: 4)));
        Assert.Contains("attention: keyMask must be a batched [Tk] = [7] per sample", Fails((_, i) => Attention(i[0], i[1], i[1], keyMask: i[4])));
        Assert.Contains("attention: query must be a batched [Tq, h·d_k] or one query [h·d_k] per sample, got the unbatched [5, 6]",
            Fails((c, i) => Attention(c.Parameter("p"), i[1], i[1])));
        Assert.Contains("attention: key must be a batched [Tk, h·d_k]", Fails((_, i) => Attention(i[0], i[4], i[1])));
        Assert.Contains("heads must be >= 1", Fails((_, i) => Attention(i[0], i[1], i[1], heads: 0)));
    }

    [Fact]
    public void MultiHeadAttention_WrongArguments_ThrowClearly()
    {
        (string, int[], Init)[] mha = [("attn.in_proj_weight", [18, 6], Init.Uniform), ("attn.in_proj_bias", [18], Init.Uniform),
            ("attn.out_proj.weight", [6, 6], Init.Uniform), ("attn.out_proj.bias", [6], Init.Uniform)];
        Assert.Contains("self_attention 'attn': 4 heads do not divide the model width D = 6", Fails((_, i) => SelfAttention(i[0], 4, "attn"), mha));
        Assert.Contains("cross_attention 'attn': memory [7, 4] has 4 features per row, expected the query's width D = 6",
            Fails((_, i) => CrossAttention(i[0], i[2], 2, "attn"), mha));
        Assert.Contains("self_attention 'attn': keyMask must be a batched [Tk] = [5] per sample", Fails((_, i) => SelfAttention(i[0], 2, "attn", keyMask: i[3]), mha));
        Assert.Contains("cross_attention 'attn': memoryMask must be a batched [Tk] = [7]",
            Fails((_, i) => CrossAttention(i[0], i[1], 2, "attn", memoryMask: i[4]), mha));
        Assert.Contains("self_attention 'attn': x must be a batched [T, D] or one position [D] per sample, got the unbatched",
            Fails((c, i) => SelfAttention(c.Parameter("attn.out_proj.weight"), 2, "attn"), mha));
        (string, int[], Init)[] wrong = [("attn.in_proj_weight", [18, 5], Init.Uniform), .. mha[1..]];
        Assert.Contains("parameter 'attn.in_proj_weight' has shape [18, 5], expected [18, 6]", Fails((_, i) => SelfAttention(i[0], 2, "attn"), wrong));
    }
}
