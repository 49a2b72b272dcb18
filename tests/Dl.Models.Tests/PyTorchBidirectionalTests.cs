namespace Dl.Tests;

/// <summary>Oracle 3 for bias: false, bidirectional: true and per-sample lengths: PyTorch's nn.LSTM, nn.GRU and nn.RNN
/// (bias=False, bidirectional=True) loaded with our weights (the names are PyTorch's, _reverse included), variable
/// lengths through torch.nn.utils.rnn.pack_padded_sequence(enforce_sorted=False) and pad_packed_sequence; loss, outputs and
/// every gradient at batch 1 and 3, hidden sizes 6, 7 and 9.</summary>
public class PyTorchBidirectionalTests
{
    private const string Script = PyTorchTests.Prelude + """
        nn, F = torch.nn, torch.nn.functional
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        flat = torch.tensor(np.fromfile(xfile, dtype=np.float32))
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32), dtype=torch.long)
        tracked = {}
        def module(m, prefix):
            for name, param in m.named_parameters():
                with torch.no_grad(): param.copy_(p[prefix + '.' + name])
                tracked[prefix + '.' + name] = param
            return m
        def inputs(*shapes):
            out, at = [], 0
            for s in shapes:
                n = batch * int(np.prod(s)); out.append(flat[at:at + n].reshape(batch, *s)); at += n
            return out
        def fc(h, n): return F.linear(h, p[n + '.weight'], p.get(n + '.bias'))
        def packed(m, x, lengths, state=None):
            # Padded steps are neither read nor updated; the output is zero there (total_length keeps T).
            seq = pack_padded_sequence(x, lengths.reshape(-1).long(), batch_first=True, enforce_sorted=False)
            out, hn = m(seq, state)
            return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], hn
        if model == 'bilstm_nobias':
            x, = inputs((6, 5))
            y = fc(module(nn.LSTM(5, 7, 2, bias=False, bidirectional=True, batch_first=True), 'lstm')(x)[0][:, -1], 'fc')
        elif model == 'bigru_lengths':
            flat_in, = inputs((25,))
            x, lengths = flat_in[:, :24].reshape(batch, 6, 4), flat_in[:, 24]
            _, hn = packed(module(nn.GRU(4, 9, bidirectional=True, batch_first=True), 'gru'), x, lengths)
            y = fc(torch.cat([hn[0], hn[1]], 1), 'fc')
        elif model == 'rnn_lengths':
            x, lengths = inputs((5, 3), (1,))
            out, _ = packed(module(nn.RNN(3, 6, bias=False, batch_first=True), 'rnn'), x, lengths)
            y = fc(out.reshape(batch, -1), 'fc')
        elif model == 'bilstm_lengths_state':
            x, lengths, h0, c0 = inputs((5, 4), (1,), (2, 6), (2, 6))
            state = (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous())
            out, _ = packed(module(nn.LSTM(4, 6, bidirectional=True, batch_first=True), 'lstm'), x, lengths, state)
            y = fc(out.reshape(batch, -1), 'fc')
        loss = F.cross_entropy(y.reshape(-1, y.shape[-1]), t)
        loss.backward()
        report(loss, y, tracked)
        """;

    private static void Check<TModel>(TModel net, string model, float[] x, int[] labels, int batch) where TModel : ITrainableModel<int> =>
        PyTorchTests.Compare(net, PyTorchTests.RunTorch(model, net, x, labels.Select(v => (float)v).ToArray(), batch, Script), x, labels, batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BidirectionalLstmWithoutBias_TwoLayers_MatchesNnLstm(int batch) =>
        Check(new BiLstmNoBias(new ModelOptions { Seed = 4, MaxBatch = 3 }), "bilstm_nobias", ModelHarness.Normal(batch * 30, 1),
            ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BidirectionalGru_PackedSequences_FinalStates_MatchNnGru(int batch) =>
        Check(new BiGruLengths(new ModelOptions { Seed = 4, MaxBatch = 3 }), "bigru_lengths", BidirectionalModelTests.PackedInput(batch, 6, 4, 7),
            ModelHarness.Labels(batch, 3, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void RnnWithoutBias_PackedSequences_PaddedOutput_MatchesNnRnn(int batch) =>
        Check(new RnnLengthsInput(new ModelOptions { Seed = 4, MaxBatch = 3 }), "rnn_lengths", BidirectionalModelTests.BlockInput(batch, 5, 3, 8),
            ModelHarness.Labels(batch, 2, 2), batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BidirectionalLstm_PackedSequences_InitialStates_MatchNnLstm(int batch) =>
        Check(new BiLstmLengthsState(new ModelOptions { Seed = 4, MaxBatch = 3 }), "bilstm_lengths_state",
            BidirectionalModelTests.BlockInput(batch, 5, 4, 9, extra: 24), ModelHarness.Labels(batch, 3, 2), batch);
}
