using static Dl.Ops;

namespace Dl.Onnx.Tests;

// Small models that together reach every op the exporter maps, with the options the shipped models do not use
// (padding and strides, 1-D windows, group norm, bidirectional and stacked recurrent layers with initial states and
// lengths, masks, one-query attention, unbatched operands against batched ones).

/// <summary>Every unary op with its constants, stacked, then the row-wise softmax and log-softmax.</summary>
[Model]
public sealed partial class UnaryZoo
{
    [Forward]
    Tensor Forward([Shape(13)] Tensor x)
    {
        var s = Stack([
            Relu(x), LeakyRelu(x, 0.1f), Elu(x, 0.7f), Softplus(x), Silu(x), Gelu(x), Clamp(x, -0.3f, 0.4f), Hardtanh(x, -0.5f, 0.6f),
            Square(x), Pow(Abs(x) + 0.5f, 1.7f), Step(x), Exp(x), Log(Abs(x) + 0.1f), Sqrt(Abs(x)), Abs(x), -x, Tanh(x), Sigmoid(x),
        ]);
        return Concat([s, Softmax(s), LogSoftmax(s)], 0);
    }
}

/// <summary>Binary ops with broadcasting (parameters against batches, a batched row against an unbatched matrix, scalars),
/// where, and the reductions.</summary>
[Model]
public sealed partial class BinaryZoo
{
    [Param(13)] Tensor scale;
    [Param(3, 13)] Tensor mix;

    [Forward]
    Tensor Forward([Shape(13)] Tensor x, [Shape(13)] Tensor z, [Shape(3, 13)] Tensor m)
    {
        var a = x * scale + z;
        var b = Maximum(a, z) - Minimum(a, 0.25f * x) / (1f + Square(z));
        var c = mix * x - b;
        var d = Where(m, c, b);
        var e = Where(m, 1f, mix / 2f);
        return Concat([Flatten(d), Flatten(e), Sum(d, 0), Mean(d, 1), Reshape(Sum(d), 1), Reshape(L2Penalty(d), 1), Reshape(Mean(d), 1)], 0);
    }
}

/// <summary>Matrix products (both operands per sample, a parameter, a per-sample vector), transpose, slices, indexing,
/// stack and concat.</summary>
[Model]
public sealed partial class StructuralZoo
{
    [Param(4, 3)] Tensor shared;

    [Forward]
    Tensor Forward([Shape(2, 4)] Tensor a, [Shape(4, 5)] Tensor b)
    {
        var p = MatMul(a, b);                                     // [2, 5]
        var q = MatMul(Transpose(p), MatMul(a, shared));          // [5, 3]
        var v = MatMul(a, Reshape(Slice(b, 1, 2, 1), 4));         // [2]
        var w = MatMul(shared, Slice(Slice(b, 0, 0, 3), 1, 0, 2));  // unbatched · batched: [4, 3]·[3, 2]
        var r = Stack([p, p * 2f], 1);                            // [2, 2, 5]
        var s = Concat(q, Slice(q, 0, 1, 2), 0);                  // [7, 3]
        return Concat([Flatten(r), Flatten(s), v, p[1], Flatten(w), Flatten(Detach(q))], 0);
    }
}

/// <summary>Convolutions with strides and padding, 1-D windows, pooling with padding, group norm, transposed convolution,
/// batch norm over features, dropout (identity in evaluation mode).</summary>
[Model]
public sealed partial class SpatialZoo
{
    [Forward]
    Tensor Forward([Shape(3, 9, 10)] Tensor x)
    {
        var h = Conv2d(x, 4, kernel: 3, name: "conv", stride: 2, padding: (1, 0, 1, 1));  // [4, 4, 5]
        var pooled = AvgPool2d(h, kernel: 3, stride: 1, padding: 1);
        var g = GroupNorm(Elu(pooled), 2, "gn");
        var up = ConvTranspose2d(g, 2, kernel: 3, name: "up", stride: 2, padding: 1, outputPadding: 1);
        var line = Conv1d(Reshape(x, 3, 90), 2, kernel: 5, name: "line", stride: 3, padding: 2);    // [2, 30]
        var l = AvgPool1d(MaxPool1d(line, kernel: 2), kernel: 3, stride: 2, padding: 1);
        var f = Dropout(Relu(BatchNorm(Linear(Flatten(g), 6, name: "fc"), "bn")), 0.3f);
        return Concat([Flatten(up), Flatten(l), f, Flatten(MaxPool2d(x, kernel: 2, stride: 2))], 0);
    }
}

/// <summary>Recurrent layers: a bidirectional LSTM with initial states and lengths, a two-layer GRU with the reset gate
/// before the product and no biases, a bidirectional RNN, a GRU with an initial state.</summary>
[Model]
public sealed partial class RecurrentZoo
{
    [Forward]
    Tensor Forward([Shape(6, 4)] Tensor x, [Shape(1)] Tensor lengths, [Shape(2, 5)] Tensor h0, [Shape(2, 5)] Tensor c0)
    {
        var a = Lstm(x, 5, name: "lstm", h0: h0, c0: c0, bidirectional: true, lengths: lengths);   // [6, 10]
        var b = Gru(x, 3, name: "gru_before", layers: 2, resetAfter: false, bias: false);
        var c = Rnn(x, 3, name: "rnn", bidirectional: true);
        var d = Gru(x, 5, name: "gru", h0: h0[1]);
        var e = Lstm(x, 4, name: "forward_lengths", lengths: lengths);
        return Concat([Flatten(a), Flatten(b), Flatten(c), Flatten(d), Flatten(e)], 0);
    }
}

/// <summary>Attention: causal self-attention with a key mask, cross-attention with a memory mask, plain dot attention
/// with one query, token lookups, positions and layer norm.</summary>
[Model]
public sealed partial class AttentionZoo
{
    [Forward]
    Tensor Forward([Shape(5)] Tensor tokens, [Shape(5)] Tensor mask, [Shape(7, 8)] Tensor memory, [Shape(7)] Tensor memoryMask)
    {
        var x = SinusoidalPositions(Embedding(tokens, 7, 8, name: "emb"));
        var h = LayerNorm(x + SelfAttention(x, 2, "sa", causal: true, keyMask: mask), "norm");
        var c = CrossAttention(h, memory, 2, "ca", memoryMask: memoryMask);
        var one = Attention(h[0], memory, memory, heads: 2, score: AttentionScore.Dot);
        var hot = OneHot(tokens, 7);
        var pos = LearnedPositions(c, "pos");
        return Concat([Flatten(pos), one, Flatten(hot)], 0);
    }
}

/// <summary>A forward pass that ends in a loss op (a distance to a second input): losses have no ONNX form in Dl.Onnx.</summary>
[Model]
public sealed partial class LossInForward
{
    [Forward]
    Tensor Forward([Shape(4)] Tensor x, [Shape(4)] Tensor y) => Reshape(HalfSquaredError(Tanh(x), y), 1);
}
