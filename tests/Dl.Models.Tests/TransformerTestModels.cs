using static Dl.Ops;

namespace Dl.Tests;

// Attention and transformer test models. Several [Forward] inputs are laid out one batch block each, in declaration order
// (x for every sample, then the mask for every sample, ...). Key masks are per-sample inputs [Tk]: 0 = padding.
// Lengths are deliberately not multiples of 8 (the kernels' vector width), widths are small and uneven.

/// <summary>Raw Attention with one head: learned projections of two sequences (Tq = 5, Tk = 7), a key mask, d_k = 6, d_v = 4;
/// the flattened output → 3 classes.</summary>
[Model]
public sealed partial class AttnRawOneHead
{
    [Forward]
    Tensor Forward([Shape(5, 3)] Tensor xq, [Shape(7, 3)] Tensor xk, [Shape(7)] Tensor mask) =>
        Linear(Flatten(Attention(Linear(xq, 6, name: "q"), Linear(xk, 6, name: "k"), Linear(xk, 4, name: "v"), heads: 1, keyMask: mask)), 3, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Raw causal Attention with two heads (d_k = 3, d_v = 2), Tq = 5 queries over Tk = 7 keys (query i sees keys
/// j ≤ i), a key mask.</summary>
[Model]
public sealed partial class AttnRawTwoHeadsCausal
{
    [Forward]
    Tensor Forward([Shape(5, 3)] Tensor xq, [Shape(7, 3)] Tensor xk, [Shape(7)] Tensor mask) =>
        Linear(Flatten(Attention(Linear(xq, 6, name: "q"), Linear(xk, 6, name: "k"), Linear(xk, 4, name: "v"), heads: 2, causal: true, keyMask: mask)), 3, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Raw attention over the model's inputs, no parameters: q [5, 6], k [7, 6], v [7, 4], two heads, a key mask.
/// Used to check outputs directly (fully masked queries give zeros).</summary>
[Model]
public sealed partial class AttnRawOutput
{
    [Forward]
    Tensor Forward([Shape(5, 6)] Tensor q, [Shape(7, 6)] Tensor k, [Shape(7, 4)] Tensor v, [Shape(7)] Tensor mask) =>
        Attention(q, k, v, heads: 2, keyMask: mask);
}

/// <summary>Causal multi-head self-attention, T = 13, D = 12, 3 heads, one label per position.</summary>
[Model]
public sealed partial class CausalSelfAttention
{
    [Forward] Tensor Forward([Shape(13, 12)] Tensor x) => Linear(SelfAttention(x, 3, name: "sa", causal: true), 5, name: "out");
    [Loss] Tensor Loss(Tensor logits, [Labels(5), Shape(13)] Tensor next) => SoftmaxCrossEntropy(logits, next);
}

/// <summary>A longer causal self-attention with a key mask, T = 37 (past one 512-bit vector of keys, with a tail), D = 12,
/// 3 heads; one label per position.</summary>
[Model]
public sealed partial class LongCausalMaskedSelfAttention
{
    [Forward]
    Tensor Forward([Shape(37, 12)] Tensor x, [Shape(37)] Tensor mask) => Linear(SelfAttention(x, 3, name: "sa", causal: true, keyMask: mask), 5, name: "out");
    [Loss] Tensor Loss(Tensor logits, [Labels(5), Shape(37)] Tensor next) => SoftmaxCrossEntropy(logits, next);
}

/// <summary>Multi-head self-attention with a key mask, T = 9, D = 8, 2 heads; the mean over positions → 3 classes.</summary>
[Model]
public sealed partial class MaskedSelfAttention
{
    [Forward]
    Tensor Forward([Shape(9, 8)] Tensor x, [Shape(9)] Tensor mask) => Linear(Mean(SelfAttention(x, 2, name: "sa", keyMask: mask), 0), 3, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Cross-attention of Tq = 7 queries over a memory of Tk = 11 positions with a memory mask, D = 8, 2 heads.</summary>
[Model]
public sealed partial class MaskedCrossAttention
{
    [Forward]
    Tensor Forward([Shape(7, 8)] Tensor x, [Shape(11, 8)] Tensor memory, [Shape(11)] Tensor mask) =>
        Linear(Mean(CrossAttention(x, memory, 2, name: "ca", memoryMask: mask), 0), 3, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A post-norm ReLU encoder layer (T = 13, D = 16, 4 heads, feed-forward 24) with a key mask; mean → 5 classes.</summary>
[Model]
public sealed partial class EncoderPostRelu
{
    [Forward]
    Tensor Forward([Shape(13, 16)] Tensor x, [Shape(13)] Tensor mask) =>
        Linear(Mean(Transformer.EncoderLayer(x, 4, 24, name: "enc", keyMask: mask), 0), 5, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(5)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A pre-norm GELU encoder layer (T = 13, D = 16, 4 heads, feed-forward 24) with a key mask; mean → 5 classes.</summary>
[Model]
public sealed partial class EncoderPreGelu
{
    [Forward]
    Tensor Forward([Shape(13, 16)] Tensor x, [Shape(13)] Tensor mask) =>
        Linear(Mean(Transformer.EncoderLayer(x, 4, 24, name: "enc", normFirst: true, gelu: true, keyMask: mask), 0), 5, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(5)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A post-norm encoder layer with dropout 0.2 (after attention, inside and after the feed-forward block) and
/// no mask, T = 13, D = 16: the engines must draw the same dropout masks.</summary>
[Model]
public sealed partial class EncoderDropout
{
    [Forward]
    Tensor Forward([Shape(13, 16)] Tensor x) => Linear(Mean(Transformer.EncoderLayer(x, 4, 24, name: "enc", dropout: 0.2f), 0), 5, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(5)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>An encoder layer over a source (Tk = 11, with a padding mask) and a post-norm decoder layer over its memory
/// (Tq = 7, causal self-attention, memory mask), D = 16, 4 heads, feed-forward 24; a label per target position.</summary>
[Model]
public sealed partial class EncoderDecoder
{
    [Forward]
    Tensor Forward([Shape(7, 16)] Tensor target, [Shape(11, 16)] Tensor source, [Shape(11)] Tensor sourceMask)
    {
        var memory = Transformer.EncoderLayer(source, 4, 24, name: "enc", keyMask: sourceMask);
        return Linear(Transformer.DecoderLayer(target, memory, 4, 24, name: "dec", memoryMask: sourceMask), 5, name: "out");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(5), Shape(7)] Tensor next) => SoftmaxCrossEntropy(logits, next);
}

/// <summary>A pre-norm GELU decoder layer straight over a given memory (Tq = 7, Tk = 11, memory mask), D = 16, 4 heads.</summary>
[Model]
public sealed partial class DecoderPreGelu
{
    [Forward]
    Tensor Forward([Shape(7, 16)] Tensor target, [Shape(11, 16)] Tensor memory, [Shape(11)] Tensor memoryMask) =>
        Linear(Transformer.DecoderLayer(target, memory, 4, 24, name: "dec", normFirst: true, gelu: true, memoryMask: memoryMask), 5, name: "out");
    [Loss] Tensor Loss(Tensor logits, [Labels(5), Shape(7)] Tensor next) => SoftmaxCrossEntropy(logits, next);
}

/// <summary>Layer norm alone: per position of a projected sequence [6, 10], then over a flattened vector [60].</summary>
[Model]
public sealed partial class LayerNormOnly
{
    [Forward]
    Tensor Forward([Shape(6, 5)] Tensor x) => Linear(LayerNorm(Flatten(LayerNorm(Linear(x, 10, name: "proj"), name: "ln")), name: "ln_flat"), 3, name: "fc");
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Sinusoidal (base 100) then learned position encodings over a projected sequence [6, 8]; tanh, mean, MSE.</summary>
[Model]
public sealed partial class Positions
{
    [Forward]
    Tensor Forward([Shape(6, 5)] Tensor x) =>
        Linear(Mean(Tanh(LearnedPositions(SinusoidalPositions(Linear(x, 8, name: "in"), 100f), name: "pos")), 0), 3, name: "fc");
    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

/// <summary>The notes' attention over RNN states: a GRU over [9, 5] gives h [9, 6]; s = Last(h) scores every state with
/// the dot score; the context and s → 3 classes.</summary>
[Model]
public sealed partial class GruDotAttention
{
    [Forward]
    Tensor Forward([Shape(9, 5)] Tensor x)
    {
        var h = Gru(x, 6, name: "gru");
        var s = Last(h);
        var context = Attention(s, h, h, score: AttentionScore.Dot);
        return Linear(Concat(context, s), 3, name: "fc");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Attention over LSTM states with a learned query (a projection of the last state) and the scaled score,
/// over 10 steps; the context → 4 classes.</summary>
[Model]
public sealed partial class LstmQueryAttention
{
    [Forward]
    Tensor Forward([Shape(10, 4)] Tensor x)
    {
        var h = Lstm(x, 7, name: "lstm");
        var s = Tanh(Linear(Last(h), 7, name: "query"));
        return Linear(Attention(s, h, h), 4, name: "fc");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(4)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Keys and values are the same tensor (no fused projection): the attention's key and value gradients land in
/// the same buffer, in the same columns, and must be summed. T = 9, d = 6, one query given as an input.</summary>
[Model]
public sealed partial class SharedKeyValueAttention
{
    [Forward]
    Tensor Forward([Shape(9, 4)] Tensor x, [Shape(6)] Tensor s)
    {
        var h = Tanh(Linear(x, 6, name: "proj"));
        return Linear(Attention(s, h, h), 4, name: "fc");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(4)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Self-attention without projections, Attention(h, h, h): queries, keys and values are one tensor in the same
/// columns (two heads, causal), so all three gradients are summed into h's. T = 9, d = 6.</summary>
[Model]
public sealed partial class UnprojectedSelfAttention
{
    [Forward]
    Tensor Forward([Shape(9, 4)] Tensor x)
    {
        var h = Tanh(Linear(x, 6, name: "proj"));
        return Linear(Mean(Attention(h, h, h, heads: 2, causal: true), 0), 4, name: "fc");
    }
    [Loss] Tensor Loss(Tensor logits, [Labels(4)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

// ---- the course notes' examples (NotesAttentionExamplesTests) ----

/// <summary>The notes' alignment example: a decoder state s [3] over three encoder states h [3, 3], dot score; values v
/// (the states themselves, or the identity to read the weights α).</summary>
[Model]
public sealed partial class NotesAlignment
{
    [Forward]
    Tensor Forward([Shape(3)] Tensor s, [Shape(3, 3)] Tensor h, [Shape(3, 3)] Tensor v) => Attention(s, h, v, score: AttentionScore.Dot);
}

/// <summary>The notes' two-token scaled dot-product self-attention with given q, k, v [2, 4] (one head).</summary>
[Model]
public sealed partial class NotesTwoTokens
{
    [Forward]
    Tensor Forward([Shape(2, 4)] Tensor q, [Shape(2, 4)] Tensor k, [Shape(2, 4)] Tensor v) => Attention(q, k, v);
}

/// <summary>The notes' positional encoding: positions 0, 1, 2, d = 4, base 100, added to x.</summary>
[Model]
public sealed partial class NotesPositions
{
    [Forward] Tensor Forward([Shape(3, 4)] Tensor x) => SinusoidalPositions(x, 100f);
}

