namespace Dl.Generators.Model;

// The constant attributes of a node, one equatable record per node kind (what the parser read from the call and
// the shapes, and what lowering prints as literals). Kinds without attributes (binary, row-wise, reshape, transpose)
// have none (NodeSpec.Attributes is null). Records compare by value, so the spec that holds them stays cacheable.

/// <summary>The attributes of one node kind.</summary>
public abstract record NodeAttributes;

/// <summary>An input, target or parameter: its index among the inputs or in the parameter block.</summary>
public sealed record LeafAttributes(int Index) : NodeAttributes;

/// <summary>A scalar constant.</summary>
public sealed record ConstantAttributes(float Value) : NodeAttributes;

/// <summary>A unary op's constant <c>a</c> (leaky ReLU's slope, pow's exponent; 0 for ops that ignore it) and its second
/// constant <c>b</c> (clamp's max), null for the ops whose surface method takes none (they are called with <c>a</c> alone).</summary>
public sealed record UnaryAttributes(float A, float? B = null) : NodeAttributes;

/// <summary>A matrix product; <paramref name="TransposeB"/>: the second operand is read transposed.</summary>
public sealed record MatMulAttributes(bool TransposeB) : NodeAttributes;

/// <summary>A sum, mean or sum of squares over <paramref name="Axis"/> (-1: all elements).</summary>
public sealed record ReduceAttributes(int Axis, bool Mean) : NodeAttributes;

/// <summary>A loss; <paramref name="Classes"/> is the label count of a labels target, 0 otherwise.</summary>
public sealed record LossAttributes(int Classes) : NodeAttributes;

/// <summary>Elements <paramref name="Start"/> .. + <paramref name="Length"/> along <paramref name="Axis"/>; without
/// <paramref name="KeepAxis"/> the axis is dropped (an index, <c>x[^1]</c>).</summary>
public sealed record SliceAttributes(int Axis, int Start, int Length, bool KeepAxis) : NodeAttributes;

/// <summary>Values joined along <paramref name="Axis"/> of the result; with <paramref name="NewAxis"/> (stack) the parts
/// have no such axis: each is one slice of it.</summary>
public sealed record ConcatAttributes(int Axis, bool NewAxis = false) : NodeAttributes;

/// <summary>A convolution: its window on one sample, its output channels, and whether it is a Conv1d (height 1).</summary>
public sealed record ConvAttributes(WindowSpec Window, int OutChannels, bool OneD) : NodeAttributes;

/// <summary>Max or average pooling; <paramref name="Relu"/>: a ReLU before max pooling is fused into it.</summary>
public sealed record PoolAttributes(WindowSpec Window, bool Mean, bool Relu) : NodeAttributes;

/// <summary>Batch norm over <paramref name="Channels"/> planes of <paramref name="Plane"/> values, with the indices of
/// its running statistics in the state block.</summary>
public sealed record BatchNormAttributes(int Channels, int Plane, int RunningMeanState, int RunningVarState, float Eps, float Momentum)
    : NodeAttributes;

/// <summary>Dropout with probability <paramref name="P"/>; <paramref name="Index"/> (source order) picks its random stream.</summary>
public sealed record DropoutAttributes(float P, int Index) : NodeAttributes;

/// <summary>One direction of a recurrent layer (inputs x, weight_ih, weight_hh[, bias_ih, bias_hh][, h0][, c0][, lengths]);
/// <paramref name="Cell"/> is a Dl.Kernels.RecurrentCell, <paramref name="Reverse"/> the backward direction of a
/// bidirectional layer.</summary>
public sealed record RecurrentAttributes(int Cell, int Steps, int InputSize, int HiddenSize, bool HasH0, bool HasC0,
    bool HasBias = true, bool Reverse = false, bool HasLengths = false) : NodeAttributes
{
    /// <summary>The input slot of the first initial state (after x, the weights and the biases).</summary>
    public int StateSlot => HasBias ? 5 : 3;

    /// <summary>The input slot of the lengths, or -1.</summary>
    public int LengthsSlot => HasLengths ? StateSlot + (HasH0 ? 1 : 0) + (HasC0 ? 1 : 0) : -1;
}

/// <summary>An embedding lookup or one-hot encoding.</summary>
public sealed record EmbeddingAttributes(int Vocabulary, int Dimension) : NodeAttributes;

/// <summary>Multi-head attention on inputs q, k, v[, mask] (the same node when q, k and v are column ranges of one
/// packed projection: strides and offsets locate each in its row).</summary>
public sealed record AttentionAttributes(int Heads, int Tq, int Tk, int Dk, int Dv, bool Causal, bool Scaled,
    int QueryStride, int QueryOffset, int KeyStride, int KeyOffset, int ValueStride, int ValueOffset, bool HasMask) : NodeAttributes;

/// <summary>Layer norm over the last <paramref name="Dim"/> values of <paramref name="Rows"/> rows per sample; inputs x, γ, β.</summary>
public sealed record LayerNormAttributes(int Rows, int Dim, float Eps) : NodeAttributes;

/// <summary>Sinusoidal positions [<paramref name="Steps"/>, <paramref name="Dim"/>] with the frequency base.</summary>
public sealed record PositionalAttributes(int Steps, int Dim, float Base) : NodeAttributes;

/// <summary>Group norm of a sample [<paramref name="Channels"/>, <paramref name="Plane"/>] in <paramref name="Groups"/>
/// groups; inputs x, γ, β.</summary>
public sealed record GroupNormAttributes(int Channels, int Groups, int Plane, float Eps) : NodeAttributes;

/// <summary>A transposed convolution of a sample [<paramref name="InChannels"/>, H, W]: <paramref name="Window"/> is the
/// adjoint convolution's geometry (its input is this node's output [OutChannels, OutH, OutW], its output the input).</summary>
public sealed record ConvTransposeAttributes(WindowSpec Window, int InChannels) : NodeAttributes;
