using Dl.Models;

namespace Dl.Tests;

/// <summary>Oracle 3 for recurrent layers: PyTorch's nn.LSTM, nn.GRU, nn.RNN and nn.Embedding loaded with our weights
/// (the parameter names are PyTorch's), loss, outputs and every gradient. The slides' GRU (reset gate before the matrix
/// product) has no PyTorch module; it is written out with torch ops step by step.</summary>
public class PyTorchRecurrentTests
{
    private const string Script = PyTorchTests.Prelude + """
        nn, F = torch.nn, torch.nn.functional
        flat = torch.tensor(np.fromfile(xfile, dtype=np.float32))
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32), dtype=torch.long)
        tracked = {}
        def module(m, prefix):
            # Load a torch module's parameters from ours ({prefix}.{name}) and report its gradients under our names.
            for name, param in m.named_parameters():
                with torch.no_grad(): param.copy_(p[prefix + '.' + name])
                tracked[prefix + '.' + name] = param
            return m
        def inputs(*shapes):
            # The model's inputs, one batch block each, in declaration order.
            out, at = [], 0
            for s in shapes:
                n = batch * int(np.prod(s)); out.append(flat[at:at + n].reshape(batch, *s)); at += n
            return out
        def fc(h, n): return F.linear(h, p[n + '.weight'], p.get(n + '.bias'))
        def gru_reset_before(x, prefix, h):
            # n = tanh(W_in x + b_in + W_hn (r * h) + b_hn): the slides' / Cho et al.'s placement.
            wi, wh, bi, bh = (p[prefix + '.' + k + '_l0'] for k in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'))
            H = wh.shape[1]; outs = []
            for s in range(x.shape[1]):
                gi = F.linear(x[:, s], wi, bi)
                r = torch.sigmoid(gi[:, :H] + F.linear(h, wh[:H], bh[:H]))
                z = torch.sigmoid(gi[:, H:2 * H] + F.linear(h, wh[H:2 * H], bh[H:2 * H]))
                n = torch.tanh(gi[:, 2 * H:] + F.linear(r * h, wh[2 * H:], bh[2 * H:]))
                h = (1 - z) * n + z * h; outs.append(h)
            return torch.stack(outs, 1)
        if model == 'lstm_deep':
            x, = inputs((35, 7))
            y = fc(module(nn.LSTM(7, 13, 2, batch_first=True), 'lstm')(x)[0][:, -1], 'fc')
        elif model == 'lstm_state':
            x, h0, c0 = inputs((2, 5), (2, 11), (2, 11))
            seq = module(nn.LSTM(5, 11, 2, batch_first=True), 'lstm')(x, (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous()))[0]
            y = fc(seq.reshape(batch, -1), 'fc')
        elif model == 'gru_rnn':
            x, h0 = inputs((2, 6), (1, 9))
            after = module(nn.GRU(6, 9, batch_first=True), 'gru_after')(x, h0.transpose(0, 1).contiguous())[0]
            before = gru_reset_before(x, 'gru_before', torch.zeros(batch, 9))
            rnn = module(nn.RNN(6, 5, 3, batch_first=True), 'rnn')(x[:, 0:1])[0]
            y = fc(torch.tanh(torch.cat([after.reshape(batch, -1), before.reshape(batch, -1), rnn.reshape(batch, -1)], 1)), 'fc')
        elif model == 'char_lm':
            tokens, = inputs((6,))
            emb = module(nn.Embedding(11, 4), 'emb')(tokens.long())
            y = fc(module(nn.LSTM(4, 9, batch_first=True), 'lstm')(emb)[0], 'out')
        elif model == 'lstm_t35':
            x, = inputs((35, 32))
            y = fc(module(nn.LSTM(32, 128, batch_first=True), 'lstm')(x)[0][:, -1], 'fc')
        elif model == 'row_gru':
            x, = inputs((28, 28))
            y = fc(module(nn.GRU(28, 128, 2, batch_first=True), 'gru')(x)[0][:, -1], 'fc')
        loss = F.cross_entropy(y.reshape(-1, y.shape[-1]), t)
        loss.backward()
        report(loss, y, tracked)
        """;

    private static void Check<TModel>(TModel net, string model, float[] x, int[] labels, int batch) where TModel : ITrainableModel<int> =>
        PyTorchTests.Compare(net, PyTorchTests.RunTorch(model, net, x, labels.Select(v => (float)v).ToArray(), batch, Script), x, labels, batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LstmDeep_35Steps_MatchesNnLstm(int batch) =>
        Check(new LstmDeep(new ModelOptions { Seed = 4, MaxBatch = 3 }), "lstm_deep", ModelHarness.Normal(batch * 35 * 7, 1), ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LstmWithInitialStates_MatchesNnLstm(int batch) =>
        Check(new LstmWithState(new ModelOptions { Seed = 4, MaxBatch = 3 }), "lstm_state", ModelHarness.Normal(batch * (10 + 22 + 22), 1),
            ModelHarness.Labels(batch, 4, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GruBothPlacements_AndStackedRnn_MatchPyTorch(int batch) =>
        Check(new GruRnnZoo(new ModelOptions { Seed = 4, MaxBatch = 3 }), "gru_rnn", ModelHarness.Normal(batch * (12 + 9), 1),
            ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EmbeddingLstmPerStepLoss_MatchesPyTorch(int batch) =>
        Check(new TinyCharLm(new ModelOptions { Seed = 4, MaxBatch = 3 }), "char_lm", ModelHarness.Tokens(batch * 6, 11, 1),
            ModelHarness.Labels(batch * 6, 11, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LstmT35Workload_MatchesNnLstm(int batch) =>
        Check(new LstmT35(new ModelOptions { Seed = 4, MaxBatch = 3 }), "lstm_t35", ModelHarness.Normal(batch * 35 * 32, 1), ModelHarness.Labels(batch, 10, 2), batch);

    [Fact]
    public void RowGru_MatchesNnGru() =>
        Check(new RowGru(new ModelOptions { Seed = 4, MaxBatch = 3 }), "row_gru", ModelHarness.Normal(3 * 784, 1), ModelHarness.Labels(3, 10, 2), 3);
}
