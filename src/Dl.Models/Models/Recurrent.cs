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

/// <summary>A character-level language model: 100 characters → embedding 32 → two-layer LSTM of 256 → per-step logits over
/// the 63 characters of the King James Version as Dl.Data.TextCorpus.LoadKjv cleans it; trained with the mean
/// cross-entropy over steps against the next character (truncated backpropagation through 100 steps).</summary>
/// <example><code>
/// var lm = new CharLstm(new ModelOptions { Seed = 1, MaxBatch = 32 });
/// corpus.FillTrainingBatch(tokens, next, 32, CharLstm.Steps, random);        // tokens, next: [32, 100] ids
/// lm.TrainStep(tokens, labels, 32, new Clipped(new Adam(0.002f), maxNorm: 5f));
/// </code></example>
[Model]
public sealed partial class CharLstm
{
    /// <summary>Characters in the vocabulary (TextCorpus.LoadKjv's 63).</summary>
    public const int Vocabulary = 63;
    /// <summary>Characters per training window.</summary>
    public const int Steps = 100;

    [Forward]
    Tensor Forward([Shape(100)] Tensor tokens) =>
        Linear(Lstm(Embedding(tokens, 63, 32, name: "embed"), 256, name: "lstm", layers: 2), 63, name: "head");

    [Loss]
    Tensor Loss(Tensor logits, [Labels(63), Shape(100)] Tensor next) => SoftmaxCrossEntropy(logits, next);
}
