using static Dl.Ops;

namespace Dl.Tests;

/// <summary>A two-layer bidirectional LSTM without biases (layer 1 reads [T, 2H]); its last row → 3 classes. Hidden 7:
/// not a multiple of 8.</summary>
[Model]
public sealed partial class BiLstmNoBias
{
    [Forward]
    Tensor Forward([Shape(6, 5)] Tensor x) =>
        Linear(Last(Lstm(x, 7, name: "lstm", layers: 2, bias: false, bidirectional: true)), 3, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A bidirectional GRU over variable-length sequences; one input holds the sequence [6, 4] and, last, the
/// sample's length (so that chunked training applies). The head reads PyTorch's h_n: the forward direction's state at the
/// sample's own last step and the backward direction's final state (its output at step 0).</summary>
[Model]
public sealed partial class BiGruLengths
{
    [Forward]
    Tensor Forward([Shape(25)] Tensor input)
    {
        var x = Reshape(Slice(input, 0, 0, 24), 6, 4);
        var lengths = Slice(input, 0, 24, 1);
        var y = Gru(x, 9, name: "gru", bidirectional: true, lengths: lengths);            // [6, 18]
        var last = Reshape(OneHot(lengths - 1f, 6), 6, 1);                                 // 1 at step length − 1
        var forward = Sum(Slice(y, 1, 0, 9) * last, 0);                                    // [9]
        var backward = Flatten(Slice(Slice(y, 1, 9, 9), 0, 0, 1));                         // [9]
        return Linear(Concat(forward, backward, 0), 3, name: "fc");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A bias-free RNN on variable lengths given as a second input; every step's output (zeros at padding) → 2 classes.</summary>
[Model]
public sealed partial class RnnLengthsInput
{
    [Forward]
    Tensor Forward([Shape(5, 3)] Tensor x, [Shape(1)] Tensor lengths) =>
        Linear(Flatten(Rnn(x, 6, name: "rnn", bias: false, lengths: lengths)), 2, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A bidirectional LSTM with initial states [2, H] (l0, l0_reverse) on variable lengths; every step → 3 classes.</summary>
[Model]
public sealed partial class BiLstmLengthsState
{
    [Forward]
    Tensor Forward([Shape(5, 4)] Tensor x, [Shape(1)] Tensor lengths, [Shape(2, 6)] Tensor h0, [Shape(2, 6)] Tensor c0) =>
        Linear(Flatten(Lstm(x, 6, name: "lstm", h0: h0, c0: c0, bidirectional: true, lengths: lengths)), 3, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A bidirectional RNN, two layers, and the slides' GRU (reset before) bidirectional without biases.</summary>
[Model]
public sealed partial class BiRnnGruBefore
{
    [Forward]
    Tensor Forward([Shape(4, 3)] Tensor x)
    {
        var rnn = Rnn(x, 5, name: "rnn", layers: 2, bidirectional: true);                  // [4, 10]
        var gru = Gru(x, 3, name: "gru", resetAfter: false, bias: false, bidirectional: true); // [4, 6]
        return Linear(Tanh(Concat(Flatten(rnn), Flatten(gru), 0)), 2, name: "fc");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>The must-show task: does a variable-length bit sequence (lengths 1..12, bits as ±1, padding random garbage)
/// hold more ones than zeros (ties: no)? A bidirectional GRU over the valid steps, PyTorch's h_n → 2 classes.</summary>
[Model]
public sealed partial class MajorityBiGru
{
    public const int Steps = 12;

    [Forward]
    Tensor Forward([Shape(13)] Tensor input)
    {
        var x = Reshape(Slice(input, 0, 0, 12), 12, 1);
        var lengths = Slice(input, 0, 12, 1);
        var y = Gru(x, 12, name: "gru", bidirectional: true, lengths: lengths);           // [12, 24]
        var last = Reshape(OneHot(lengths - 1f, 12), 12, 1);
        var forward = Sum(Slice(y, 1, 0, 12) * last, 0);
        var backward = Flatten(Slice(Slice(y, 1, 12, 12), 0, 0, 1));
        return Linear(Concat(forward, backward, 0), 2, name: "fc");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}
