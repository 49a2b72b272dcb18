// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md), so that
// the generator reads [Op(OpKind.X)] attributes against the very enum the runtime declares them with.
namespace Dl;

/// <summary>The kinds of op the generator knows how to schedule. A new op of an existing kind
/// (a new activation, a new binary operator, a new row-wise function or loss) needs no generator change.</summary>
public enum OpKind
{
    Unary, Binary, MatMul, Reduce, RowWise, Loss, Reshape, Transpose, Slice, Concat, Linear,
    /// <summary>A convolution: geometry from the call's constant arguments, weight and bias created by the op.</summary>
    Conv,
    /// <summary>A pooling window (max, or average with <c>OpAttribute.Mean</c>; global when it takes only the input).</summary>
    Pool,
    /// <summary>Batch normalization: parameters, running-statistics state, train and evaluation behaviour.</summary>
    Norm,
    /// <summary>Dropout: a seeded mask in training mode, identity in evaluation mode.</summary>
    Dropout,
    /// <summary>A recurrent layer (RNN, LSTM, GRU) over a whole sequence [T, D]: one kernel call runs every step forward,
    /// one runs backpropagation through time; parameters in PyTorch's layout, created by the op.</summary>
    Recurrent,
    /// <summary>A table lookup of integer tokens (an embedding, with a learned table; one-hot, without).</summary>
    Embedding,
    /// <summary>Attention (scaled dot-product, multi-head self- and cross-attention): one kernel call computes scores,
    /// softmax and the weighted sum for every head; the multi-head forms add fused projections around it.</summary>
    Attention,
    /// <summary>Layer normalization over the last axis, with learned γ and β.</summary>
    LayerNorm,
    /// <summary>A position encoding added to a sequence [T, D]: sinusoidal (fixed) or learned.</summary>
    Positional,
    /// <summary>Group normalization over groups of channels of each sample, with learned γ and β per channel.</summary>
    GroupNorm,
    /// <summary>Select by a mask: where(mask, a, b) element-wise with broadcasting; gradient to a and b, none to the mask.</summary>
    Where,
    /// <summary>Stop gradient: the value passes, no gradient flows back (a view of the input).</summary>
    Detach,
    /// <summary>Parts of one shape joined along a new axis (<c>Concat</c> of the parts with the axis inserted).</summary>
    Stack,
    /// <summary>A transposed convolution (the adjoint of a convolution: upsampling in decoders), weight [in, out, kh, kw]
    /// and bias created by the op.</summary>
    ConvTranspose,
}
