using static Dl.Ops;

namespace Dl.Tests;

/// <summary>A two-layer LSTM over 35 steps with a hidden size that is not a multiple of 8; the last hidden state → 3 classes.</summary>
[Model]
public sealed partial class LstmDeep
{
    [Forward] Tensor Forward([Shape(35, 7)] Tensor x) => Linear(Last(Lstm(x, 13, name: "lstm", layers: 2)), 3, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>An LSTM with given initial states (h0, c0 are inputs [layers, H]) over 2 steps; every step's output is used.</summary>
[Model]
public sealed partial class LstmWithState
{
    [Forward]
    Tensor Forward([Shape(2, 5)] Tensor x, [Shape(2, 11)] Tensor h0, [Shape(2, 11)] Tensor c0) =>
        Linear(Flatten(Lstm(x, 11, name: "lstm", layers: 2, h0: h0, c0: c0)), 4, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(4)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Both GRU placements of the reset gate side by side (PyTorch's with an initial state, the slides' without),
/// over 2 steps, and a one-step stacked RNN.</summary>
[Model]
public sealed partial class GruRnnZoo
{
    [Forward]
    Tensor Forward([Shape(2, 6)] Tensor x, [Shape(1, 9)] Tensor h0)
    {
        var after = Gru(x, 9, name: "gru_after", h0: h0);                      // [2, 9]
        var before = Gru(x, 9, name: "gru_before", resetAfter: false);         // [2, 9]
        var rnn = Rnn(x[0..1], 5, name: "rnn", layers: 3);                     // [1, 5]: one step
        var all = Concat(Concat(Flatten(after), Flatten(before), axis: 0), Flatten(rnn), axis: 0);
        return Linear(Tanh(all), 3, name: "fc");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A character-level language model in miniature: tokens → embedding → LSTM → per-step logits, with a label per
/// step (the mean cross-entropy over steps).</summary>
[Model]
public sealed partial class TinyCharLm
{
    [Forward] Tensor Forward([Shape(6)] Tensor tokens) => Linear(Lstm(Embedding(tokens, 11, 4, name: "emb"), 9, name: "lstm"), 11, name: "out");
    [Loss] Tensor Loss(Tensor logits, [Labels(11), Shape(6)] Tensor next) => SoftmaxCrossEntropy(logits, next);
}

/// <summary>One-hot inputs into a vanilla RNN over 5 steps, every step's state through a shared head, mean over time.</summary>
[Model]
public sealed partial class OneHotRnn
{
    [Forward] Tensor Forward([Shape(5)] Tensor tokens) => Mean(Linear(Rnn(OneHot(tokens, 7), 6, name: "rnn"), 2, name: "head"), 0);
    [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>The notes' RNN written out by hand, h_t = tanh(W_hh h_{t-1} + W_xh x_t), in row-vector form (h·W) as a for
/// loop over 3 steps (unrolled at compile time); <see cref="OpRnn"/> is the same recurrence as the Rnn op.</summary>
[Model]
public sealed partial class HandRnn
{
    [Param(3, 4)] Tensor Wxh = null!;
    [Param(4, 4)] Tensor Whh = null!;

    [Forward]
    Tensor Forward([Shape(3, 3)] Tensor x)
    {
        var h = Tanh(MatMul(x[0], Wxh));
        for (int t = 1; t < 3; t++) h = Tanh(MatMul(h, Whh) + MatMul(x[t], Wxh));
        return Linear(h, 2, name: "out");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary><see cref="HandRnn"/> with the Rnn op (whose biases the test sets to zero).</summary>
[Model]
public sealed partial class OpRnn
{
    [Forward] Tensor Forward([Shape(3, 3)] Tensor x) => Linear(Last(Rnn(x, 4, name: "rnn")), 2, name: "out");
    [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>The notes' RNN (hidden 3, input 2): every step's hidden state.</summary>
[Model]
public sealed partial class NotesRnnStates
{
    [Forward] Tensor Forward([Shape(2, 2)] Tensor x) => Rnn(x, 3, name: "rnn");
}

/// <summary>The notes' RNN with the output layer y_t = W_yh h_t (no bias).</summary>
[Model]
public sealed partial class NotesRnnOutputs
{
    [Forward] Tensor Forward([Shape(2, 2)] Tensor x) => Linear(Rnn(x, 3, name: "rnn"), 2, name: "out", bias: false);
}

/// <summary>The notes' LSTM step: hidden 2, input 2, given h_{t-1} and c_{t-1}.</summary>
[Model]
public sealed partial class NotesLstmStep
{
    [Forward] Tensor Forward([Shape(1, 2)] Tensor x, [Shape(1, 2)] Tensor h0, [Shape(1, 2)] Tensor c0) => Lstm(x, 2, name: "lstm", h0: h0, c0: c0);
}

/// <summary>A one-layer GRU whose initial state is given as a vector [H] (rather than [1, H]).</summary>
[Model]
public sealed partial class GruVectorState
{
    [Forward] Tensor Forward([Shape(3, 4)] Tensor x, [Shape(6)] Tensor h0) => Linear(Last(Gru(x, 6, name: "gru", h0: h0)), 2, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}
