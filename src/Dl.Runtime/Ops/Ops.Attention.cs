using Dl.Dynamic;

namespace Dl;

/// <summary>How an attention query is scored against a key.</summary>
public enum AttentionScore
{
    /// <summary>score(q, k) = q · k (Luong's dot score; the notes' alignment score).</summary>
    Dot = 0,
    /// <summary>score(q, k) = q · k / √d_k (Vaswani et al.; PyTorch's scaled_dot_product_attention).</summary>
    ScaledDot = 1,
}

public static partial class Ops
{
    /// <summary>Attention of every query over the keys, per head: P = softmax over keys of score(q_i, k_j) (masked keys
    /// excluded), y_i = Σ_j P_ij v_j. <paramref name="query"/> [Tq, h·d_k] (or one query [h·d_k]), <paramref name="key"/>
    /// [Tk, h·d_k], <paramref name="value"/> [Tk, h·d_v] → [Tq, h·d_v] (or [h·d_v]); head <c>i</c> reads columns
    /// <c>i·d .. (i + 1)·d</c> of each. A query whose keys are all masked gets zeros (PyTorch gives NaN).</summary>
    /// <param name="query">Queries, [Tq, h·d_k] or [h·d_k].</param>
    /// <param name="key">Keys, [Tk, h·d_k] (a recurrent layer's hidden states, for the notes' alignment scores).</param>
    /// <param name="value">Values, [Tk, h·d_v].</param>
    /// <param name="heads">h, the number of heads.</param>
    /// <param name="causal">Query i attends to keys j ≤ i only (a decoder's look-ahead mask).</param>
    /// <param name="keyMask">Per sample [Tk]: 0 marks a padding key that no query attends to, anything else a real one.</param>
    /// <param name="score">Dot or scaled dot.</param>
    [Op(OpKind.Attention)]
    public static Tensor Attention(Tensor query, Tensor key, Tensor value, int heads = 1, bool causal = false, Tensor? keyMask = null,
        AttentionScore score = AttentionScore.ScaledDot)
        => TapeOps.Attention(query, key, value, heads, causal, keyMask, score);

    /// <summary>Multi-head self-attention of a sequence x [T, D], PyTorch's nn.MultiheadAttention(D, heads) with
    /// query = key = value = x: [q k v] = x·W_inᵀ + b_in in one product (fused projections), scaled dot-product attention
    /// per head (d_k = D / heads), then y = a·W_outᵀ + b_out. Parameters <c>{name}.in_proj_weight</c> [3D, D] (Glorot
    /// uniform), <c>{name}.in_proj_bias</c> [3D] (zeros), <c>{name}.out_proj.weight</c> [D, D], <c>{name}.out_proj.bias</c>
    /// [D] (zeros): PyTorch's names and layout.</summary>
    /// <param name="x">A sequence [T, D].</param>
    /// <param name="heads">Heads; must divide D.</param>
    /// <param name="name">Layer name, the prefix of the parameters.</param>
    /// <param name="causal">Position i attends to positions ≤ i only (a decoder's masked self-attention).</param>
    /// <param name="keyMask">Per sample [T]: 0 marks padding positions, which no position attends to.</param>
    [Op(OpKind.Attention)]
    public static Tensor SelfAttention(Tensor x, int heads, string name, bool causal = false, Tensor? keyMask = null)
        => TapeOps.MultiHeadAttention(x, null, heads, name, causal, keyMask);

    /// <summary>Multi-head cross-attention (a decoder's second attention block): queries from <paramref name="query"/>
    /// [Tq, D], keys and values from <paramref name="memory"/> [Tk, D] (the encoder's output). PyTorch's
    /// nn.MultiheadAttention(D, heads) called as (query, memory, memory): q = query·W_qᵀ + b_q and
    /// [k v] = memory·W_kvᵀ + b_kv, where W_q and W_kv are rows 0..D and D..3D of <c>{name}.in_proj_weight</c>; the other
    /// parameters as <see cref="SelfAttention"/>.</summary>
    /// <param name="query">The decoder's sequence [Tq, D].</param>
    /// <param name="memory">The encoder's output [Tk, D].</param>
    /// <param name="heads">Heads; must divide D.</param>
    /// <param name="name">Layer name, the prefix of the parameters.</param>
    /// <param name="memoryMask">Per sample [Tk]: 0 marks padding positions of the memory.</param>
    [Op(OpKind.Attention)]
    public static Tensor CrossAttention(Tensor query, Tensor memory, int heads, string name, Tensor? memoryMask = null)
        => TapeOps.MultiHeadAttention(query, memory, heads, name, false, memoryMask);

    /// <summary>Layer normalization over the last axis: y = (x - mean) / √(var + eps) · γ + β, with the biased variance of
    /// each row (PyTorch's nn.LayerNorm(last dim)). Parameters <c>{name}.weight</c> (γ, ones) and <c>{name}.bias</c>
    /// (β, zeros). The same in training and evaluation.</summary>
    [Op(OpKind.LayerNorm)]
    public static Tensor LayerNorm(Tensor x, string name, float eps = 1e-5f) => TapeOps.LayerNorm(x, name, eps);

    /// <summary>x + PE for a sequence x [T, D], with the sinusoidal encoding of Vaswani et al. in radians:
    /// PE[p, 2i] = sin(p / base^(2i/D)), PE[p, 2i + 1] = cos(p / base^(2i/D)). Backward: the gradient passes unchanged.
    /// The table itself is <c>Dl.Kernels.PositionalEncoding.Table(T, D, base)</c>.</summary>
    /// <param name="x">A sequence [T, D].</param>
    /// <param name="base">The wavelength base (10000 in the paper; the course notes' example uses 100).</param>
    [Op(OpKind.Positional)]
    public static Tensor SinusoidalPositions(Tensor x, float @base = 10000f) => TapeOps.SinusoidalPositions(x, @base);

    /// <summary>The name of a layer inside a block: <c>Prefixed("enc", "norm1")</c> is <c>"enc.norm1"</c> (PyTorch's
    /// state_dict keys of submodules). In generated code it is a compile-time constant; on the dynamic tape the string is
    /// made once and cached, so a block that names its layers this way allocates nothing per call.</summary>
    public static string Prefixed(string parent, string child)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(child);
        return s_prefixed.GetOrAdd((parent, child), static key => key.Parent + "." + key.Child);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Parent, string Child), string> s_prefixed = new();

    /// <summary>x + P for a sequence x [T, D], with P = <c>{name}.weight</c> [T, D] a learned position embedding
    /// (initialized N(0, 0.02²), as ViT and GPT-2).</summary>
    [Op(OpKind.Positional)]
    public static Tensor LearnedPositions(Tensor x, string name) => TapeOps.LearnedPositions(x, name);
}
