using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

public static partial class Ops
{
    /// <summary>A vanilla (Elman) RNN over a sequence [T, D]: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), the notes'
    /// h_t = tanh(W_hh h_{t-1} + W_xh x_t) with PyTorch's two biases. Returns every step's hidden state of the last layer,
    /// [T, hidden] (take <see cref="Last"/> for the final one). Parameters per layer l, as PyTorch's nn.RNN:
    /// <c>{name}.weight_ih_l{l}</c> [H, D], <c>{name}.weight_hh_l{l}</c> [H, H], <c>{name}.bias_ih_l{l}</c>, <c>{name}.bias_hh_l{l}</c>
    /// [H], initialized U(-1/√H, 1/√H).</summary>
    /// <param name="x">A batched sequence [T, D].</param>
    /// <param name="hidden">Hidden size H.</param>
    /// <param name="name">Layer name, the prefix of the parameters.</param>
    /// <param name="layers">Stacked layers: layer l + 1 reads layer l's hidden states.</param>
    /// <param name="h0">Initial hidden states [layers, H] per sample; zeros when omitted.</param>
    /// <param name="bias">With the biases b_ih and b_hh (PyTorch's bias=True); false creates none.</param>
    /// <param name="bidirectional">Also run the sequence backward with its own parameters (<c>…_reverse</c>) and return
    /// [T, 2·hidden]: the forward direction's states, then the backward direction's, at each step (as PyTorch's
    /// bidirectional output; layer l + 1 reads both). The initial states are then [2·layers, H]: l0, l0_reverse, l1, ….</param>
    /// <param name="lengths">Each sample's valid steps, one number per sample (a batched [1] or scalar, for example a second
    /// [Forward] input), an integer in 1..T (run-time error naming the sample otherwise), as pack_padded_sequence: the
    /// steps after it neither read the input nor update the state nor receive a gradient, and their output is zero (as
    /// pad_packed_sequence). The backward direction starts at each sample's own last valid step. A sample's final state
    /// is then its output at step length − 1 (forward direction; <c>LastValid</c> in the docs), not the last row.</param>
    [Op(OpKind.Recurrent)]
    public static Tensor Rnn(Tensor x, int hidden, string name, int layers = 1, Tensor? h0 = null,
        bool bias = true, bool bidirectional = false, Tensor? lengths = null)
        => TapeOps.Recurrent(x, RecurrentCell.Rnn, hidden, name, layers, h0, null, bias, bidirectional, lengths);

    /// <summary>An LSTM over a sequence [T, D]: [i f g o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh (PyTorch's packing order),
    /// i, f, o = σ(·), g = tanh(·), c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t). Returns every step's hidden state of the
    /// last layer, [T, hidden]. Parameters per layer l as PyTorch's nn.LSTM (<c>{name}.weight_ih_l{l}</c> [4H, D],
    /// <c>weight_hh_l{l}</c> [4H, H], <c>bias_ih_l{l}</c> and <c>bias_hh_l{l}</c> [4H]), initialized U(-1/√H, 1/√H).</summary>
    /// <param name="x">A batched sequence [T, D].</param>
    /// <param name="hidden">Hidden size H.</param>
    /// <param name="name">Layer name, the prefix of the parameters.</param>
    /// <param name="layers">Stacked layers: layer l + 1 reads layer l's hidden states.</param>
    /// <param name="h0">Initial hidden states [layers, H] per sample; zeros when omitted.</param>
    /// <param name="c0">Initial cell states [layers, H] per sample; zeros when omitted.</param>
    /// <param name="bias">With the biases b_ih and b_hh (PyTorch's bias=True); false creates none.</param>
    /// <param name="bidirectional">Also run the sequence backward with its own parameters (<c>…_reverse</c>) and return
    /// [T, 2·hidden]: the forward direction's states, then the backward direction's, at each step (as PyTorch's
    /// bidirectional output; layer l + 1 reads both). The initial states are then [2·layers, H]: l0, l0_reverse, l1, ….</param>
    /// <param name="lengths">Each sample's valid steps, one number per sample (a batched [1] or scalar, for example a second
    /// [Forward] input), an integer in 1..T (run-time error naming the sample otherwise), as pack_padded_sequence: the
    /// steps after it neither read the input nor update the state nor receive a gradient, and their output is zero (as
    /// pad_packed_sequence). The backward direction starts at each sample's own last valid step. A sample's final state
    /// is then its output at step length − 1 (forward direction; <c>LastValid</c> in the docs), not the last row.</param>
    [Op(OpKind.Recurrent)]
    public static Tensor Lstm(Tensor x, int hidden, string name, int layers = 1, Tensor? h0 = null, Tensor? c0 = null,
        bool bias = true, bool bidirectional = false, Tensor? lengths = null)
        => TapeOps.Recurrent(x, RecurrentCell.Lstm, hidden, name, layers, h0, c0, bias, bidirectional, lengths);

    /// <summary>A GRU over a sequence [T, D]: r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    /// h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}, with the candidate n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) when
    /// <paramref name="resetAfter"/> (PyTorch's nn.GRU, cuDNN) or n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) otherwise
    /// (the slides', d2l's and Cho et al.'s placement). Gate rows are stacked r, z, n as in PyTorch.</summary>
    /// <param name="x">A batched sequence [T, D].</param>
    /// <param name="hidden">Hidden size H.</param>
    /// <param name="name">Layer name, the prefix of the parameters.</param>
    /// <param name="layers">Stacked layers: layer l + 1 reads layer l's hidden states.</param>
    /// <param name="h0">Initial hidden states [layers, H] per sample; zeros when omitted.</param>
    /// <param name="resetAfter">Apply the reset gate after the hidden matrix product (PyTorch) rather than before it.</param>
    /// <param name="bias">With the biases b_ih and b_hh (PyTorch's bias=True); false creates none.</param>
    /// <param name="bidirectional">Also run the sequence backward with its own parameters (<c>…_reverse</c>) and return
    /// [T, 2·hidden]: the forward direction's states, then the backward direction's, at each step (as PyTorch's
    /// bidirectional output; layer l + 1 reads both). The initial states are then [2·layers, H]: l0, l0_reverse, l1, ….</param>
    /// <param name="lengths">Each sample's valid steps, one number per sample (a batched [1] or scalar, for example a second
    /// [Forward] input), an integer in 1..T (run-time error naming the sample otherwise), as pack_padded_sequence: the
    /// steps after it neither read the input nor update the state nor receive a gradient, and their output is zero (as
    /// pad_packed_sequence). The backward direction starts at each sample's own last valid step. A sample's final state
    /// is then its output at step length − 1 (forward direction; <c>LastValid</c> in the docs), not the last row.</param>
    [Op(OpKind.Recurrent)]
    public static Tensor Gru(Tensor x, int hidden, string name, int layers = 1, Tensor? h0 = null, bool resetAfter = true,
        bool bias = true, bool bidirectional = false, Tensor? lengths = null)
        => TapeOps.Recurrent(x, resetAfter ? RecurrentCell.Gru : RecurrentCell.GruResetBefore, hidden, name, layers, h0, null,
            bias, bidirectional, lengths);

    /// <summary>The last step of a sequence [T, ...] → [...] (a recurrent layer's final hidden state). Backward: the
    /// gradient goes to step T - 1, zeros to the others.</summary>
    [Op(OpKind.Slice)]
    public static Tensor Last(Tensor x) => x is { Rank: > 0 }
        ? TapeOps.Slice(x, 0, x.ShapeArray[0] - 1, 1, keepAxis: false)
        : throw new ArgumentException($"Last: expected a sequence [T, ...], got {x?.ShapeText ?? "null"}.", nameof(x));

    /// <summary>An embedding table lookup: tokens [T] (integers stored as numbers, in [0, <paramref name="vocabulary"/>)) →
    /// [T, <paramref name="dimension"/>], row k of <c>{name}.weight</c> [vocabulary, dimension] for token k (PyTorch's
    /// nn.Embedding, initialized N(0, 1)). Backward adds each step's gradient into its token's row; tokens get none.
    /// A token that is not an integer in range throws, naming it.</summary>
    [Op(OpKind.Embedding)]
    public static Tensor Embedding(Tensor tokens, int vocabulary, int dimension, string name)
        => TapeOps.Embedding(tokens, vocabulary, dimension, name);

    /// <summary>One-hot encoding of integer tokens [T] → [T, <paramref name="classes"/>] (1 at the token, 0 elsewhere):
    /// an embedding with the identity as its fixed table. Not differentiable with respect to the tokens.</summary>
    [Op(OpKind.Embedding)]
    public static Tensor OneHot(Tensor tokens, int classes) => TapeOps.Embedding(tokens, classes, classes, null);
}
