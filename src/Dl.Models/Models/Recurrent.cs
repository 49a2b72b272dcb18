using static Dl.Ops;

namespace Dl.Models;

/// <summary>The <c>lstm_32_128_t35</c> workload: an LSTM (input 32, hidden 128) over 35 steps, its last hidden state → linear
/// 128 → 10, softmax cross-entropy.</summary>
[Model]
public sealed partial class LstmT35
{
    [Forward]
    Tensor Forward([Shape(35, 32)] Tensor x) => Linear(Last(Lstm(x, 128, name: "lstm")), 10, name: "fc");

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Fashion-MNIST read as a sequence of 28 rows of 28 pixels (top to bottom) by a two-layer LSTM of 128 units; the
/// last step's hidden state → linear 10.</summary>
/// <example><code>
/// var net = new RowLstm(new ModelOptions { Seed = 1, MaxBatch = 64 });
/// net.TrainStep(images, labels, 64, new Clipped(new Adam(0.001f), maxNorm: 5f));   // images: 784 floats per sample
/// </code></example>
[Model]
public sealed partial class RowLstm
{
    [Forward]
    Tensor Forward([Shape(28, 28)] Tensor rows) => Linear(Last(Lstm(rows, 128, name: "lstm", layers: 2)), 10, name: "fc");

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Fashion-MNIST as 28 rows of 28 pixels through a two-layer GRU of 128 units (PyTorch's reset placement); the last
/// step's hidden state → linear 10.</summary>
[Model]
public sealed partial class RowGru
{
    [Forward]
    Tensor Forward([Shape(28, 28)] Tensor rows) => Linear(Last(Gru(rows, 128, name: "gru", layers: 2)), 10, name: "fc");

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}
