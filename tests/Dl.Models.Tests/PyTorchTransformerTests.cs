using System.Text.Json;
using Dl.Models;

namespace Dl.Tests;

/// <summary>Oracle 3 for attention and transformer layers: PyTorch's nn.MultiheadAttention, nn.TransformerEncoderLayer,
/// nn.TransformerDecoderLayer, nn.LayerNorm, nn.GRU/nn.LSTM loaded with our weights (the parameter names are PyTorch's
/// state_dict keys), loss, outputs and every parameter gradient at batch 1 and 3; raw attention and the sinusoidal table
/// are written out with torch ops. The weights are perturbed first, so biases and layer-norm γ, β are not at their
/// initial zeros and ones. Key masks: ours 0 = padding, PyTorch's True = ignore. No query is left without keys (PyTorch
/// gives NaN there; ours gives zeros, tested in <see cref="TransformerModelTests"/>).</summary>
public class PyTorchTransformerTests
{
    private const string Script = PyTorchTests.Prelude + """
        import math
        nn, F = torch.nn, torch.nn.functional
        flat = torch.tensor(np.fromfile(xfile, dtype=np.float32))
        target = np.fromfile(tfile, dtype=np.float32)
        tracked, modules = {}, []
        def module(m, prefix):
            # Load a torch module's parameters from ours ({prefix}.{name}) and report its gradients under our names.
            for name, param in m.named_parameters():
                with torch.no_grad(): param.copy_(p[prefix + '.' + name])
                tracked[prefix + '.' + name] = param
            modules.append(m)
            return m
        def inputs(*shapes):
            # The model's inputs, one batch block each, in declaration order.
            out, at = [], 0
            for s in shapes:
                n = batch * int(np.prod(s)); out.append(flat[at:at + n].reshape(batch, *s)); at += n
            return out
        def fc(h, n): return F.linear(h, p[n + '.weight'], p.get(n + '.bias'))
        def ignore(mask): return mask == 0                      # ours: 0 = padding; PyTorch: True = ignore
        def causal(tq, tk): return torch.ones(tq, tk, dtype=torch.bool).triu(1)   # True where key j > query i
        def attention(q, k, v, heads, mask=None, is_causal=False, scaled=True):
            # Per head: softmax(q kᵀ [/ √d_k]) v over the kept keys; q [B, Tq, h·d_k], k [B, Tk, h·d_k], v [B, Tk, h·d_v].
            B, tq, tk = q.shape[0], q.shape[1], k.shape[1]
            qh, kh, vh = (t.reshape(B, t.shape[1], heads, -1).transpose(1, 2) for t in (q, k, v))
            s = qh @ kh.transpose(-1, -2)
            if scaled: s = s / math.sqrt(qh.shape[-1])
            if mask is not None: s = s.masked_fill(ignore(mask)[:, None, None, :], float('-inf'))
            if is_causal: s = s.masked_fill(causal(tq, tk), float('-inf'))
            return (torch.softmax(s, -1) @ vh).transpose(1, 2).reshape(B, tq, -1)
        def sinusoid(T, D, base):
            pe = np.zeros((T, D))
            for pos in range(T):
                for c in range(D):
                    angle = pos / base ** ((c - c % 2) / D)
                    pe[pos, c] = math.sin(angle) if c % 2 == 0 else math.cos(angle)
            return torch.tensor(pe, dtype=torch.float32)
        def encoder(prefix, D, heads, ff, norm_first=False, act='relu'):
            return module(nn.TransformerEncoderLayer(d_model=D, nhead=heads, dim_feedforward=ff, dropout=0.0, activation=act,
                                                     batch_first=True, norm_first=norm_first), prefix)
        def decoder(prefix, D, heads, ff, norm_first=False, act='relu'):
            return module(nn.TransformerDecoderLayer(d_model=D, nhead=heads, dim_feedforward=ff, dropout=0.0, activation=act,
                                                     batch_first=True, norm_first=norm_first), prefix)
        mse = False
        if model in ('raw1', 'raw2'):
            xq, xk, mask = inputs((5, 3), (7, 3), (7,))
            heads = 1 if model == 'raw1' else 2
            def forward():
                a = attention(fc(xq, 'q'), fc(xk, 'k'), fc(xk, 'v'), heads, mask, is_causal=model == 'raw2')
                return fc(a.reshape(batch, -1), 'fc')
        elif model == 'causal_sa':
            x, = inputs((13, 12))
            sa = module(nn.MultiheadAttention(12, 3, dropout=0.0, batch_first=True), 'sa')
            def forward(): return fc(sa(x, x, x, attn_mask=causal(13, 13), need_weights=False)[0], 'out')
        elif model == 'long_causal':
            x, mask = inputs((37, 12), (37,))
            sa = module(nn.MultiheadAttention(12, 3, dropout=0.0, batch_first=True), 'sa')
            def forward(): return fc(sa(x, x, x, key_padding_mask=ignore(mask), attn_mask=causal(37, 37), need_weights=False)[0], 'out')
        elif model == 'masked_sa':
            x, mask = inputs((9, 8), (9,))
            sa = module(nn.MultiheadAttention(8, 2, dropout=0.0, batch_first=True), 'sa')
            def forward(): return fc(sa(x, x, x, key_padding_mask=ignore(mask), need_weights=False)[0].mean(1), 'fc')
        elif model == 'cross':
            x, memory, mask = inputs((7, 8), (11, 8), (11,))
            ca = module(nn.MultiheadAttention(8, 2, dropout=0.0, batch_first=True), 'ca')
            def forward(): return fc(ca(x, memory, memory, key_padding_mask=ignore(mask), need_weights=False)[0].mean(1), 'fc')
        elif model in ('enc_post', 'enc_pre'):
            x, mask = inputs((13, 16), (13,))
            enc = encoder('enc', 16, 4, 24, model == 'enc_pre', 'gelu' if model == 'enc_pre' else 'relu')
            def forward(): return fc(enc(x, src_key_padding_mask=ignore(mask)).mean(1), 'fc')
        elif model == 'enc_dec':
            tgt, src, mask = inputs((7, 16), (11, 16), (11,))
            enc, dec = encoder('enc', 16, 4, 24), decoder('dec', 16, 4, 24)
            def forward():
                memory = enc(src, src_key_padding_mask=ignore(mask))
                return fc(dec(tgt, memory, tgt_mask=causal(7, 7), memory_key_padding_mask=ignore(mask)), 'out')
        elif model == 'dec_pre':
            tgt, memory, mask = inputs((7, 16), (11, 16), (11,))
            dec = decoder('dec', 16, 4, 24, True, 'gelu')
            def forward(): return fc(dec(tgt, memory, tgt_mask=causal(7, 7), memory_key_padding_mask=ignore(mask)), 'out')
        elif model == 'layer_norm':
            x, = inputs((6, 5))
            ln, ln_flat = module(nn.LayerNorm(10), 'ln'), module(nn.LayerNorm(60), 'ln_flat')
            def forward(): return fc(ln_flat(ln(fc(x, 'proj')).reshape(batch, -1)), 'fc')
        elif model == 'positions':
            x, = inputs((6, 5))
            mse = True
            def forward(): return fc(torch.tanh(fc(x, 'in') + sinusoid(6, 8, 100.0) + p['pos.weight']).mean(1), 'fc')
        elif model == 'gru_dot':
            x, = inputs((9, 5))
            gru = module(nn.GRU(5, 6, batch_first=True), 'gru')
            def forward():
                h = gru(x)[0]; s = h[:, -1]
                context = attention(s[:, None], h, h, 1, scaled=False)[:, 0]
                return fc(torch.cat([context, s], 1), 'fc')
        elif model == 'lstm_query':
            x, = inputs((10, 4))
            lstm = module(nn.LSTM(4, 7, batch_first=True), 'lstm')
            def forward():
                h = lstm(x)[0]; s = torch.tanh(fc(h[:, -1], 'query'))
                return fc(attention(s[:, None], h, h, 1)[:, 0], 'fc')
        elif model == 'shared_kv':
            x, s = inputs((9, 4), (6,))
            def forward():
                h = torch.tanh(fc(x, 'proj'))
                return fc(attention(s[:, None], h, h, 1)[:, 0], 'fc')
        elif model == 'unprojected':
            x, = inputs((9, 4))
            def forward():
                h = torch.tanh(fc(x, 'proj'))
                return fc(attention(h, h, h, 2, is_causal=True).mean(1), 'fc')
        elif model == 'attn_s64':
            x, = inputs((64, 64))
            layer = encoder('layer', 64, 4, 256)
            def forward(): return fc(layer(x).mean(1), 'fc')
        y = forward()
        if mse: loss = F.mse_loss(y, torch.tensor(target).reshape(batch, -1))
        else: loss = F.cross_entropy(y.reshape(-1, y.shape[-1]), torch.tensor(target, dtype=torch.long))
        loss.backward()
        # Evaluation mode without gradients: where PyTorch takes its fused inference path (encoder layers), it must agree too.
        for m in modules: m.eval()
        with torch.no_grad(): y_eval = forward()
        report(loss, y, tracked, output_eval=y_eval)
        """;

    /// <summary>Moves every parameter by 0.1·N(0, 1), so that zero-initialized biases and unit γ take part.</summary>
    private static void Perturb(IModel net, int seed)
    {
        var noise = ModelHarness.Normal(net.Parameters.Length, seed);
        var p = net.Parameters;
        for (int i = 0; i < p.Length; i++) p[i] += 0.1f * noise[i];
    }

    private static void Check<TModel, TTarget>(TModel net, string model, float[] x, TTarget[] target, float[] targetAsFloat, int batch)
        where TModel : ITrainableModel<TTarget> where TTarget : unmanaged
    {
        Perturb(net, 17);
        JsonElement torch = PyTorchTests.RunTorch(model, net, x, targetAsFloat, batch, Script);
        PyTorchTests.Compare(net, torch, x, target, batch);
        net.Training = false;
        var output = new float[batch * net.Description.OutputSize];
        net.Predict(x, output, batch);
        ModelHarness.Close(output, torch.GetProperty("output_eval").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray(), 1e-4, 1e-5,
            "evaluation-mode output");
    }

    private static void Check<TModel>(TModel net, string model, float[] x, int[] labels, int batch) where TModel : ITrainableModel<int> =>
        Check(net, model, x, labels, labels.Select(v => (float)v).ToArray(), batch);

    private static ModelOptions Options => new() { Seed = 4, MaxBatch = 3 };

    private static float[] Blocks(params float[][] blocks) => TransformerModelTests.Blocks(blocks);

    private static float[] Mask(int batch, int length) => TransformerModelTests.Mask(batch, length);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void RawAttention_OneHead_KeyMask_MatchesTorchOps(int batch) =>
        Check(new AttnRawOneHead(Options), "raw1", Blocks(ModelHarness.Normal(batch * 15, 1), ModelHarness.Normal(batch * 21, 2), Mask(batch, 7)),
            ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void RawAttention_TwoHeads_CausalAndKeyMask_MatchesTorchOps(int batch) =>
        Check(new AttnRawTwoHeadsCausal(Options), "raw2", Blocks(ModelHarness.Normal(batch * 15, 1), ModelHarness.Normal(batch * 21, 2), Mask(batch, 7)),
            ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void CausalSelfAttention_MatchesMultiheadAttentionWithAttnMask(int batch) =>
        Check(new CausalSelfAttention(Options), "causal_sa", ModelHarness.Normal(batch * 13 * 12, 1), ModelHarness.Labels(batch * 13, 5, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LongCausalSelfAttentionWithKeyMask_MatchesMultiheadAttention(int batch) =>
        Check(new LongCausalMaskedSelfAttention(Options), "long_causal", Blocks(ModelHarness.Normal(batch * 37 * 12, 1), Mask(batch, 37)),
            ModelHarness.Labels(batch * 37, 5, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void MaskedSelfAttention_MatchesMultiheadAttentionWithKeyPaddingMask(int batch) =>
        Check(new MaskedSelfAttention(Options), "masked_sa", Blocks(ModelHarness.Normal(batch * 72, 1), Mask(batch, 9)), ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void CrossAttention_MatchesMultiheadAttention(int batch) =>
        Check(new MaskedCrossAttention(Options), "cross", Blocks(ModelHarness.Normal(batch * 56, 1), ModelHarness.Normal(batch * 88, 2), Mask(batch, 11)),
            ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EncoderLayer_PostNormRelu_MatchesTransformerEncoderLayer(int batch) =>
        Check(new EncoderPostRelu(Options), "enc_post", Blocks(ModelHarness.Normal(batch * 13 * 16, 1), Mask(batch, 13)), ModelHarness.Labels(batch, 5, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EncoderLayer_PreNormGelu_MatchesTransformerEncoderLayer(int batch) =>
        Check(new EncoderPreGelu(Options), "enc_pre", Blocks(ModelHarness.Normal(batch * 13 * 16, 1), Mask(batch, 13)), ModelHarness.Labels(batch, 5, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EncoderDecoder_MatchesTransformerEncoderAndDecoderLayers(int batch) =>
        Check(new EncoderDecoder(Options), "enc_dec", Blocks(ModelHarness.Normal(batch * 7 * 16, 1), ModelHarness.Normal(batch * 11 * 16, 2), Mask(batch, 11)),
            ModelHarness.Labels(batch * 7, 5, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void DecoderLayer_PreNormGelu_MatchesTransformerDecoderLayer(int batch) =>
        Check(new DecoderPreGelu(Options), "dec_pre", Blocks(ModelHarness.Normal(batch * 7 * 16, 1), ModelHarness.Normal(batch * 11 * 16, 2), Mask(batch, 11)),
            ModelHarness.Labels(batch * 7, 5, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LayerNorm_MatchesNnLayerNorm(int batch) =>
        Check(new LayerNormOnly(Options), "layer_norm", ModelHarness.Normal(batch * 30, 1), ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void SinusoidalAndLearnedPositions_MatchTorch(int batch)
    {
        var t = ModelHarness.Normal(batch * 3, 2);
        Check<Positions, float>(new Positions(Options), "positions", ModelHarness.Normal(batch * 30, 1), t, t, batch);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void DotAttentionOverGruStates_MatchesTorch(int batch) =>
        Check(new GruDotAttention(Options), "gru_dot", ModelHarness.Normal(batch * 45, 1), ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ScaledAttentionOverLstmStates_MatchesTorch(int batch) =>
        Check(new LstmQueryAttention(Options), "lstm_query", ModelHarness.Normal(batch * 40, 1), ModelHarness.Labels(batch, 4, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void KeysAndValuesTheSameTensor_MatchesTorch(int batch) =>
        Check(new SharedKeyValueAttention(Options), "shared_kv", Blocks(ModelHarness.Normal(batch * 36, 1), ModelHarness.Normal(batch * 6, 2)),
            ModelHarness.Labels(batch, 4, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void UnprojectedSelfAttention_MatchesTorch(int batch) =>
        Check(new UnprojectedSelfAttention(Options), "unprojected", ModelHarness.Normal(batch * 36, 1), ModelHarness.Labels(batch, 4, 2), batch);

    /// <summary>The dynamic tape (float) on the models whose attention reads one tensor more than once: its gradients
    /// are summed over the reads.</summary>
    [Fact]
    public void TapeEngine_AttentionOverOneTensorReadTwice_MatchesTorch()
    {
        Check((ITrainableModel<int>)Dynamic.Dynamic.Create<SharedKeyValueAttention>(seed: 4), "shared_kv",
            Blocks(ModelHarness.Normal(3 * 36, 1), ModelHarness.Normal(3 * 6, 2)), ModelHarness.Labels(3, 4, 2), 3);
        Check((ITrainableModel<int>)Dynamic.Dynamic.Create<UnprojectedSelfAttention>(seed: 4), "unprojected", ModelHarness.Normal(3 * 36, 1),
            ModelHarness.Labels(3, 4, 2), 3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void AttnS64Workload_MatchesTransformerEncoderLayer(int batch) =>
        Check(new AttnS64(Options), "attn_s64", ModelHarness.Normal(batch * 64 * 64, 1), ModelHarness.Labels(batch, 10, 2), batch);
}
