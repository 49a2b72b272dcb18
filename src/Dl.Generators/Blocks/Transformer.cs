// Added to every project that uses the Dl model generator (Dl.Transformer.g.cs). These blocks are ordinary model code: the
// generator inlines them into the models that call them, and the dynamic tape runs them as written.
#nullable enable
using static Dl.Ops;

namespace Dl
{
    /// <summary>Transformer layers built from Dl ops, with PyTorch's equations and parameter names (the state_dict keys of
    /// nn.TransformerEncoderLayer and nn.TransformerDecoderLayer under the prefix <c>name</c>), so their weights load
    /// directly. Copy a block into your model class as a [Block] method to change it.</summary>
    /// <remarks>[Embedded]: each assembly sees only its own copy, also across InternalsVisibleTo.</remarks>
    [global::Microsoft.CodeAnalysis.Embedded]
    internal static class Transformer
    {
        /// <summary>nn.TransformerEncoderLayer(D, heads, feedForward, dropout, activation, batch_first=True, norm_first):
        /// post-norm (the paper's): x = norm1(x + sa(x)), x = norm2(x + ff(x)); pre-norm: x = x + sa(norm1(x)),
        /// x = x + ff(norm2(x)); sa is multi-head self-attention, ff(x) = linear2(act(linear1(x))).</summary>
        /// <param name="x">A sequence [T, D].</param>
        /// <param name="heads">Attention heads (must divide D).</param>
        /// <param name="feedForward">Width of the feed-forward block's hidden layer.</param>
        /// <param name="name">Layer name, the prefix of the parameters.</param>
        /// <param name="normFirst">Pre-norm (layer norm before each sub-block) instead of post-norm.</param>
        /// <param name="gelu">GELU instead of ReLU in the feed-forward block.</param>
        /// <param name="keyMask">Per sample [T]: 0 marks padding positions.</param>
        /// <param name="causal">Position i attends to positions ≤ i only.</param>
        /// <param name="dropout">Dropout after attention, inside and after the feed-forward block (training only).</param>
        [Block]
        public static Tensor EncoderLayer(Tensor x, int heads, int feedForward, string name, bool normFirst = false, bool gelu = false,
            Tensor? keyMask = null, bool causal = false, float dropout = 0f)
        {
            var attended = normFirst
                ? x + Drop(SelfAttention(LayerNorm(x, Prefixed(name, "norm1")), heads, Prefixed(name, "self_attn"), causal, keyMask), dropout)
                : LayerNorm(x + Drop(SelfAttention(x, heads, Prefixed(name, "self_attn"), causal, keyMask), dropout), Prefixed(name, "norm1"));
            return normFirst
                ? attended + FeedForward(LayerNorm(attended, Prefixed(name, "norm2")), feedForward, name, gelu, dropout)
                : LayerNorm(attended + FeedForward(attended, feedForward, name, gelu, dropout), Prefixed(name, "norm2"));
        }

        /// <summary>nn.TransformerDecoderLayer(D, heads, feedForward, dropout, activation, batch_first=True, norm_first)
        /// with a causal self-attention (tgt_is_causal): post-norm x = norm1(x + sa(x)), x = norm2(x + ca(x, memory)),
        /// x = norm3(x + ff(x)); pre-norm adds each sub-block of the normalized x instead. ca is the cross-attention over
        /// the encoder's output (<c>{name}.multihead_attn</c>).</summary>
        /// <param name="x">The target sequence so far [Tq, D] (position i sees positions ≤ i only).</param>
        /// <param name="memory">The encoder's output [Tk, D].</param>
        /// <param name="heads">Attention heads (must divide D).</param>
        /// <param name="feedForward">Width of the feed-forward block's hidden layer.</param>
        /// <param name="name">Layer name, the prefix of the parameters.</param>
        /// <param name="normFirst">Pre-norm instead of post-norm.</param>
        /// <param name="gelu">GELU instead of ReLU in the feed-forward block.</param>
        /// <param name="memoryMask">Per sample [Tk]: 0 marks padding positions of the memory.</param>
        /// <param name="dropout">Dropout after each sub-block and inside the feed-forward block (training only).</param>
        [Block]
        public static Tensor DecoderLayer(Tensor x, Tensor memory, int heads, int feedForward, string name, bool normFirst = false,
            bool gelu = false, Tensor? memoryMask = null, float dropout = 0f)
        {
            var attended = normFirst
                ? x + Drop(SelfAttention(LayerNorm(x, Prefixed(name, "norm1")), heads, Prefixed(name, "self_attn"), causal: true), dropout)
                : LayerNorm(x + Drop(SelfAttention(x, heads, Prefixed(name, "self_attn"), causal: true), dropout), Prefixed(name, "norm1"));
            var crossed = normFirst
                ? attended + Drop(CrossAttention(LayerNorm(attended, Prefixed(name, "norm2")), memory, heads, Prefixed(name, "multihead_attn"), memoryMask), dropout)
                : LayerNorm(attended + Drop(CrossAttention(attended, memory, heads, Prefixed(name, "multihead_attn"), memoryMask), dropout), Prefixed(name, "norm2"));
            return normFirst
                ? crossed + FeedForward(LayerNorm(crossed, Prefixed(name, "norm3")), feedForward, name, gelu, dropout)
                : LayerNorm(crossed + FeedForward(crossed, feedForward, name, gelu, dropout), Prefixed(name, "norm3"));
        }

        /// <summary>The position-wise feed-forward block: linear2(dropout(act(linear1(x)))), then dropout; D → feedForward → D.</summary>
        [Block]
        public static Tensor FeedForward(Tensor x, int feedForward, string name, bool gelu = false, float dropout = 0f)
        {
            var hidden = Linear(x, feedForward, Prefixed(name, "linear1"));
            hidden = Drop(gelu ? Gelu(hidden) : Relu(hidden), dropout);
            return Drop(Linear(hidden, x.Features, Prefixed(name, "linear2")), dropout);
        }

        /// <summary>Dropout with probability <paramref name="p"/>, or nothing when it is 0.</summary>
        [Block]
        public static Tensor Drop(Tensor x, float p) => p > 0f ? Dropout(x, p) : x;
    }
}
