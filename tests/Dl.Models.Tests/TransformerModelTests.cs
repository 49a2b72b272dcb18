using Dl.Models;

namespace Dl.Tests;

/// <summary>Attention and transformer models end to end: the compiled model against the dynamic tape (oracle 2) at batch 1
/// and 3 in training and evaluation mode, central differences of the double tape (oracle 1), an in-test double reference
/// for the raw attention output, masking and causality as observable behaviour, and no allocation per step.</summary>
public class TransformerModelTests
{
    /// <summary>The flat input of a model with several inputs: each input's batch block in turn.</summary>
    internal static float[] Blocks(params float[][] blocks) => blocks.SelectMany(b => b).ToArray();

    /// <summary>Key masks [batch, length]: sample b follows pattern (b + 1) mod 3: 0 = no padding, 1 = the last three
    /// positions padded, 2 = every third position (1, 4, 7, ...) padded and the kept ones marked 2 instead of 1 (anything
    /// non-zero keeps a key). Key 0 is always kept, so no query (causal or not) is left without keys.</summary>
    internal static float[] Mask(int batch, int length)
    {
        var m = new float[batch * length];
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < length; j++)
                m[b * length + j] = ((b + 1) % 3) switch
                {
                    0 => 1f,
                    1 => j >= length - 3 ? 0f : 1f,
                    _ => j % 3 == 1 ? 0f : 2f,
                };
        return m;
    }

    private static double[] AsDouble(int[] labels) => labels.Select(v => (double)v).ToArray();

    // ---- generated against dynamic --------------------------------------------------------------------------

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void AttnRawOneHead_MaskedTq5Tk7(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new AttnRawOneHead(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 15, 11), ModelHarness.Normal(batch * 21, 12), Mask(batch, 7)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void AttnRawTwoHeadsCausal_MaskedTq5Tk7(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new AttnRawTwoHeadsCausal(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 15, 11), ModelHarness.Normal(batch * 21, 12), Mask(batch, 7)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void CausalSelfAttention_T13D12Heads3(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new CausalSelfAttention(o), batch, ModelHarness.Labels(batch * 13, 5, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LongCausalMaskedSelfAttention_T37(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new LongCausalMaskedSelfAttention(o), batch, ModelHarness.Labels(batch * 37, 5, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 37 * 12, 11), Mask(batch, 37)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void MaskedSelfAttention(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new MaskedSelfAttention(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 72, 11), Mask(batch, 9)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void MaskedCrossAttention_Tq7Tk11(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new MaskedCrossAttention(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 56, 11), ModelHarness.Normal(batch * 88, 12), Mask(batch, 11)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EncoderPostRelu_Masked(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new EncoderPostRelu(o), batch, ModelHarness.Labels(batch, 5, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 13 * 16, 11), Mask(batch, 13)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EncoderPreGelu_Masked(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new EncoderPreGelu(o), batch, ModelHarness.Labels(batch, 5, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 13 * 16, 11), Mask(batch, 13)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EncoderWithDropout_SameMasksInBothEngines(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new EncoderDropout(o), batch, ModelHarness.Labels(batch, 5, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EncoderDecoder_Tq7Tk11(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new EncoderDecoder(o), batch, ModelHarness.Labels(batch * 7, 5, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 7 * 16, 11), ModelHarness.Normal(batch * 11 * 16, 12), Mask(batch, 11)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void DecoderPreGelu_Tq7Tk11(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new DecoderPreGelu(o), batch, ModelHarness.Labels(batch * 7, 5, 5), rtol: 1e-3f,
            input: Blocks(ModelHarness.Normal(batch * 7 * 16, 11), ModelHarness.Normal(batch * 11 * 16, 12), Mask(batch, 11)));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LayerNormOnly(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new LayerNormOnly(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void SinusoidalAndLearnedPositions(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new Positions(o), batch, ModelHarness.Normal(batch * 3, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GruStates_DotAttention(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new GruDotAttention(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LstmStates_LearnedQueryAttention(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new LstmQueryAttention(o), batch, ModelHarness.Labels(batch, 4, 5), rtol: 1e-3f);

    /// <summary>Attention(s, h, h): the key and value gradients both flow into h's gradient, over the same columns.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void KeysAndValuesTheSameTensor_GradientsAreSummed(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new SharedKeyValueAttention(o), batch, ModelHarness.Labels(batch, 4, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void QueriesKeysAndValuesTheSameTensor_GradientsAreSummed(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new UnprojectedSelfAttention(o), batch, ModelHarness.Labels(batch, 4, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void AttnS64_Workload(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new AttnS64(o), batch, ModelHarness.Labels(batch, 10, 5), rtol: 1e-3f);

    // ---- central differences of the double tape ------------------------------------------------------------

    [Fact]
    public void AttentionModels_FiniteDifferences_Double()
    {
        ModelHarness.FiniteDifferences<AttnRawOneHead>([1, 2], 2, Blocks(ModelHarness.Normal(30, 4), ModelHarness.Normal(42, 5), Mask(2, 7)));
        ModelHarness.FiniteDifferences<AttnRawTwoHeadsCausal>([0, 2], 2, Blocks(ModelHarness.Normal(30, 4), ModelHarness.Normal(42, 5), Mask(2, 7)));
        ModelHarness.FiniteDifferences<CausalSelfAttention>(AsDouble(ModelHarness.Labels(2 * 13, 5, 3)), 2);
        ModelHarness.FiniteDifferences<MaskedSelfAttention>([2, 0], 2, Blocks(ModelHarness.Normal(2 * 72, 4), Mask(2, 9)));
        ModelHarness.FiniteDifferences<MaskedCrossAttention>([1, 0], 2, Blocks(ModelHarness.Normal(2 * 56, 4), ModelHarness.Normal(2 * 88, 5), Mask(2, 11)));
    }

    [Fact]
    public void NormPositionAndRecurrentAttention_FiniteDifferences_Double()
    {
        ModelHarness.FiniteDifferences<LayerNormOnly>([1, 2], 2);
        ModelHarness.FiniteDifferences<Positions>([0.5, -1, 0.25, 1, 0, -0.5], 2);
        ModelHarness.FiniteDifferences<GruDotAttention>([2, 1], 2);
        ModelHarness.FiniteDifferences<LstmQueryAttention>([3, 0], 2);
        ModelHarness.FiniteDifferences<SharedKeyValueAttention>([3, 1], 2);
        ModelHarness.FiniteDifferences<UnprojectedSelfAttention>([0, 2], 2);
    }

    [Fact]
    public void TransformerLayers_FiniteDifferences_Double()
    {
        ModelHarness.FiniteDifferences<EncoderPreGelu>([4, 1], 2, Blocks(ModelHarness.Normal(2 * 13 * 16, 4), Mask(2, 13)));
        ModelHarness.FiniteDifferences<DecoderPreGelu>(AsDouble(ModelHarness.Labels(2 * 7, 5, 3)), 2,
            Blocks(ModelHarness.Normal(2 * 7 * 16, 4), ModelHarness.Normal(2 * 11 * 16, 5), Mask(2, 11)));
        ModelHarness.FiniteDifferences<EncoderDecoder>(AsDouble(ModelHarness.Labels(2 * 7, 5, 3)), 2,
            Blocks(ModelHarness.Normal(2 * 7 * 16, 4), ModelHarness.Normal(2 * 11 * 16, 5), Mask(2, 11)));
    }

    // ---- behaviour -----------------------------------------------------------------------------------------

    /// <summary>Multi-head attention with a key mask, by hand in double: per head h (columns h·d .. (h + 1)·d),
    /// s_ij = q_i·k_j / √d_k over kept keys, softmax, y_i = Σ_j p_ij v_j; a query without keys gets zeros.</summary>
    private static double[] Reference(float[] q, float[] k, float[] v, float[] mask, int b, int tq, int tk, int dq, int dv, int heads, bool causal)
    {
        int hk = dq / heads, hv = dv / heads;
        var y = new double[tq * dv];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < tq; i++)
            {
                var s = new double[tk];
                double max = double.NegativeInfinity;
                for (int j = 0; j < tk; j++)
                {
                    if (mask[b * tk + j] == 0 || (causal && j > i)) { s[j] = double.NegativeInfinity; continue; }
                    double dot = 0;
                    for (int c = 0; c < hk; c++) dot += q[(b * tq + i) * dq + h * hk + c] * (double)k[(b * tk + j) * dq + h * hk + c];
                    s[j] = dot / Math.Sqrt(hk);
                    max = Math.Max(max, s[j]);
                }
                if (double.IsNegativeInfinity(max)) continue;
                double sum = s.Sum(z => Math.Exp(z - max));
                for (int j = 0; j < tk; j++)
                {
                    double p = Math.Exp(s[j] - max) / sum;
                    for (int c = 0; c < hv; c++) y[i * dv + h * hv + c] += p * v[(b * tk + j) * dv + h * hv + c];
                }
            }
        return y;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void RawAttention_MatchesDoubleReference_InBothEngines(int batch)
    {
        var q = ModelHarness.Normal(batch * 30, 1); var k = ModelHarness.Normal(batch * 42, 2); var v = ModelHarness.Normal(batch * 28, 3);
        var mask = Mask(batch, 7);
        var x = Blocks(q, k, v, mask);
        IModel[] engines = [new AttnRawOutput(new ModelOptions { Seed = 1, MaxBatch = 3 }), Dynamic.Dynamic.Create<AttnRawOutput>(seed: 1)];
        foreach (var net in engines)
        {
            var y = new float[batch * 20];
            net.Predict(x, y, batch);
            for (int b = 0; b < batch; b++)
                ModelHarness.Close(y.AsSpan(b * 20, 20), Reference(q, k, v, mask, b, 5, 7, 6, 4, 2, false).Select(z => (float)z).ToArray(),
                    1e-5, 1e-6, $"{net.GetType().Name} sample {b}");
        }
    }

    [Fact]
    public void FullyMaskedQueries_GiveZeros_AndNoGradient()
    {
        // PyTorch gives NaN here; ours gives a zero output row and no gradient through it.
        var q = ModelHarness.Normal(2 * 30, 1); var k = ModelHarness.Normal(2 * 42, 2); var v = ModelHarness.Normal(2 * 28, 3);
        var mask = new float[14];
        for (int j = 0; j < 7; j++) mask[j] = 1;   // sample 0 keeps every key, sample 1 none
        var x = Blocks(q, k, v, mask);
        IModel[] engines = [new AttnRawOutput(new ModelOptions { Seed = 1, MaxBatch = 3 }), Dynamic.Dynamic.Create<AttnRawOutput>(seed: 1)];
        foreach (var net in engines)
        {
            var y = new float[40];
            net.Predict(x, y, 2);
            Assert.All(y[20..], z => Assert.Equal(0f, z));
            Assert.Contains(y[..20], z => z != 0f);
            Assert.All(y, z => Assert.True(float.IsFinite(z)));
        }

        // The causal model's sample with key 0 masked: query 0 has no key (its output row is zero), the others do.
        // A sample whose keys are all masked contributes nothing to the q, k, v weight gradients.
        foreach (var net in new ITrainableModel<int>[] { new AttnRawTwoHeadsCausal(new ModelOptions { Seed = 2, MaxBatch = 3 }),
                     (ITrainableModel<int>)Dynamic.Dynamic.Create<AttnRawTwoHeadsCausal>(seed: 2) })
        {
            var none = new float[7];
            float loss = net.ComputeGradients(Blocks(ModelHarness.Normal(15, 4), ModelHarness.Normal(21, 5), none), [1], 1);
            Assert.True(float.IsFinite(loss));
            foreach (var name in new[] { "q.weight", "q.bias", "k.weight", "k.bias", "v.weight", "v.bias" })
                Assert.All(net.Gradient(name).ToArray(), g => Assert.Equal(0f, g));
            Assert.Contains(net.Gradient("fc.bias").ToArray(), g => g != 0f);
            var firstMasked = Mask(1, 7);
            firstMasked[0] = 0;
            net.ComputeGradients(Blocks(ModelHarness.Normal(15, 4), ModelHarness.Normal(21, 5), firstMasked), [1], 1);
            Assert.Contains(net.Gradient("q.weight").ToArray(), g => g != 0f);
            Assert.All(net.Gradient("fc.weight").ToArray().Where((_, i) => i % 20 < 4), g => Assert.Equal(0f, g));   // y row 0 is zero
        }
    }

    [Fact]
    public void MaskedKeys_AndFutureKeys_DoNotChangeTheOutput()
    {
        // Masked keys: any change to their keys or values leaves every output unchanged.
        var q = ModelHarness.Normal(30, 1); var k = ModelHarness.Normal(42, 2); var v = ModelHarness.Normal(28, 3);
        var mask = Mask(1, 7);   // keys 4, 5, 6 padded
        var raw = new AttnRawOutput(new ModelOptions { Seed = 1, MaxBatch = 1 });
        float[] y1 = new float[20], y2 = new float[20];
        raw.Predict(q: q, k: k, v: v, mask: mask, output: y1, batch: 1);
        for (int i = 4 * 6; i < 42; i++) k[i] += 3;
        for (int i = 4 * 4; i < 28; i++) v[i] -= 5;
        raw.Predict(q: q, k: k, v: v, mask: mask, output: y2, batch: 1);
        Assert.Equal(y1, y2);
        v[3 * 4] += 1;   // a kept key's value does change it
        raw.Predict(q: q, k: k, v: v, mask: mask, output: y2, batch: 1);
        Assert.NotEqual(y1, y2);

        // Causal self-attention: changing position 10 changes the logits of positions 10.. only.
        var net = new CausalSelfAttention(new ModelOptions { Seed = 1, MaxBatch = 1 });
        var x = ModelHarness.Normal(13 * 12, 4);
        float[] a = new float[65], b = new float[65];
        net.Predict(x, a, 1);
        for (int i = 10 * 12; i < 11 * 12; i++) x[i] += 1;
        net.Predict(x, b, 1);
        Assert.Equal(a[..50], b[..50]);
        for (int t = 10; t < 13; t++) Assert.NotEqual(a[(t * 5)..(t * 5 + 5)], b[(t * 5)..(t * 5 + 5)]);
    }

    [Fact]
    public void TransformerParameters_HavePyTorchNamesAndShapes()
    {
        var net = new EncoderDecoder(new ModelOptions { Seed = 1, MaxBatch = 1 });
        var shapes = net.Description.Parameters.ToDictionary(p => p.Name, p => string.Join("x", p.Shape));
        foreach (var (name, shape) in new[] {
            ("enc.self_attn.in_proj_weight", "48x16"), ("enc.self_attn.in_proj_bias", "48"), ("enc.self_attn.out_proj.weight", "16x16"),
            ("enc.self_attn.out_proj.bias", "16"), ("enc.linear1.weight", "24x16"), ("enc.linear1.bias", "24"), ("enc.linear2.weight", "16x24"),
            ("enc.linear2.bias", "16"), ("enc.norm1.weight", "16"), ("enc.norm1.bias", "16"), ("enc.norm2.weight", "16"), ("enc.norm2.bias", "16"),
            ("dec.self_attn.in_proj_weight", "48x16"), ("dec.multihead_attn.in_proj_weight", "48x16"), ("dec.multihead_attn.out_proj.bias", "16"),
            ("dec.norm3.weight", "16"), ("dec.norm3.bias", "16"), ("out.weight", "5x16") })
            Assert.Equal(shape, shapes[name]);
        // PyTorch's initial values: layer norms γ = 1, β = 0; attention biases 0.
        Assert.All(net.Parameter("dec.norm2.weight").ToArray(), g => Assert.Equal(1f, g));
        Assert.All(net.Parameter("dec.norm2.bias").ToArray(), g => Assert.Equal(0f, g));
        Assert.All(net.Parameter("enc.self_attn.in_proj_bias").ToArray(), g => Assert.Equal(0f, g));
        Assert.Contains(net.Parameter("enc.self_attn.in_proj_weight").ToArray(), g => g != 0f);
    }

    // ---- allocation ----------------------------------------------------------------------------------------

    [Fact]
    public void AttnS64_Steps_AllocateNothing()
    {
        foreach (int batch in new[] { 1, 32 })
        {
            var net = new AttnS64(new ModelOptions { Seed = 1, MaxBatch = 32 });
            var x = ModelHarness.Normal(batch * 64 * 64, 1);
            var y = ModelHarness.Labels(batch, 10, 2);
            var output = new float[batch * 10];
            var sgd = new Sgd(0.01f); var adam = new Adam(0.001f);
            Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(x, y, batch, sgd), calls: batch == 1 ? 20 : 3, rounds: 3));
            Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(x, y, batch, adam), calls: batch == 1 ? 20 : 3, rounds: 3));
            Assert.Equal(0, Allocation.PerCall(() => net.Predict(x, output, batch), calls: batch == 1 ? 20 : 3, rounds: 3));
        }
    }

    [Fact]
    public void EncoderDecoderWithMasks_Steps_AllocateNothing()
    {
        var net = new EncoderDecoder(new ModelOptions { Seed = 1, MaxBatch = 3 });
        var x = Blocks(ModelHarness.Normal(3 * 7 * 16, 1), ModelHarness.Normal(3 * 11 * 16, 2), Mask(3, 11));
        var y = ModelHarness.Labels(3 * 7, 5, 2);
        var output = new float[3 * 7 * 5];
        var sgd = new Sgd(0.01f); var adam = new Adam(0.001f);
        ITrainableModel<int> concatenated = net;   // the interfaces' form: all inputs in one span, input after input
        Assert.Equal(0, Allocation.PerCall(() => concatenated.TrainStep(x, y, 3, sgd)));
        Assert.Equal(0, Allocation.PerCall(() => concatenated.TrainStep(x, y, 3, adam)));
        Assert.Equal(0, Allocation.PerCall(() => concatenated.Predict(x, output, 3)));
    }
}
