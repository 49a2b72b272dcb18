using System.Linq;
using Dl.Generators.Diagnostics;
using Dl.Generators.Helpers;

namespace Dl.Generators.Model;

// The values passed between the generator's stages. All are immutable records with structural equality
// (collections are EquatableArray), and none holds an ISymbol, SyntaxNode or Location: an edit that leaves
// a model's spec unchanged stops the incremental pipeline before emission.

/// <summary>A per-sample shape (the batch dimension is implicit when <see cref="Batched"/>).</summary>
public sealed record ShapeSpec(EquatableArray<int> Dims, bool Batched)
{
    public int Rank => Dims.Count;
    public int Size => Dims.Aggregate(1, (a, b) => a * b);
    public int Last => Rank == 0 ? 1 : Dims[Rank - 1];
    public override string ToString() => (Batched ? "[B" + (Rank > 0 ? ", " : "") : "[") + string.Join(", ", Dims) + "]";
    public string PerSample => "[" + string.Join(", ", Dims) + "]";
    public static ShapeSpec Scalar(bool batched) => new(EquatableArray<int>.Empty, batched);
}

/// <summary>Node kinds of the graph: the op kinds of Dl.OpKind plus leaves.</summary>
public enum NodeKind { Input, Target, Param, Constant, Unary, Binary, MatMul, Reduce, RowWise, Loss, Reshape, Transpose, Slice, Concat, Conv, Pool, Norm, Dropout, Recurrent, Embedding, Attention, LayerNorm, Positional }

/// <summary>What an op's backward reads (mirrors Dl.Saved).</summary>
public enum SavedValues { Nothing = 0, Input = 1, Output = 2, Both = 3 }

/// <summary>One node of the forward graph.</summary>
/// <param name="Impl">Fully qualified name of the op struct (unary, binary, row-wise, loss, squared-reduce), or null.</param>
/// <param name="Scalar">The op constant <c>a</c> (unary) or the value (constant nodes).</param>
/// <param name="Ints">Op-specific integers: matmul [transB]; reduce [axis or -1 for all]; slice [axis, start, length, keepAxis];
/// concat [axis]; input/param/target [index]; conv and pool: a <see cref="WindowSpec"/> (<see cref="WindowSpec.ToInts"/>) then,
/// for conv, [out channels, 1 for conv1d]; norm [channels, plane size, running-mean state index, running-var state index];
/// dropout [index in source order]; recurrent [cell (Dl.Kernels.RecurrentCell), steps, input size, hidden size, has h0, has c0]
/// with inputs x, weight_ih, weight_hh, bias_ih, bias_hh[, h0][, c0]; embedding and one-hot [vocabulary, dimension];
/// attention [heads, Tq, Tk, d_k, d_v, causal, scaled, q stride, q offset, k stride, k offset, v stride, v offset, has mask]
/// with inputs q, k, v[, mask] (the same node when read in place); layer norm [rows per sample, dim] with inputs x, γ, β and
/// eps in <see cref="Scalar"/>; sinusoidal positions [T, D] with the base in <see cref="Scalar"/>.</param>
public sealed record NodeSpec(
    int Id, NodeKind Kind, string Label, string Op, string? Impl, EquatableArray<int> Inputs, ShapeSpec Shape,
    float Scalar, EquatableArray<int> Ints, bool Mean, SavedValues Saves, bool Differentiable, string Layer)
{
    /// <summary>A pair rewrite this op declares (<c>[DlOp(FuseAfter = ..., FusedWith = ...)]</c>), or null.</summary>
    public FusedSpec? Fused { get; init; }
    /// <summary>The op's gradient with respect to its first input is the upstream gradient (see Dl.DlOpAttribute).</summary>
    public bool PassesGradientA { get; init; }
    /// <summary>A second op constant (batch norm's momentum; <see cref="Scalar"/> holds its eps).</summary>
    public float Scalar2 { get; init; }

    public int Int(int i) => Ints[i];
    /// <summary>The window geometry of a conv or pool node.</summary>
    public WindowSpec Window => WindowSpec.FromInts(Ints);
}

/// <summary>The op that replaces a node when its first input comes from the op named <paramref name="After"/>.</summary>
public sealed record FusedSpec(string After, string Impl, string Name, SavedValues Saves);

/// <summary>A trainable tensor, in the order of the contiguous parameter block.</summary>
public sealed record ParameterSpec(string Name, EquatableArray<int> Shape, int Init, float Scale, int FanIn, int FanOut, string? FieldName)
{
    public int Size => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>The geometry of a 2-D window (convolution or pooling) on one sample [Channels, Height, Width]; mirrors
/// Dl.Kernels.Window2d, whose constructor the emitter prints with these literals (output sizes: the shared WindowGeometry).</summary>
public sealed record WindowSpec(int Channels, int Height, int Width, int KernelH, int KernelW, int StrideH, int StrideW,
    int PadTop, int PadBottom, int PadLeft, int PadRight)
{
    public const int IntCount = 11;
    public int OutH => Dl.Kernels.WindowGeometry.OutSize(Height, PadTop, PadBottom, KernelH, StrideH);
    public int OutW => Dl.Kernels.WindowGeometry.OutSize(Width, PadLeft, PadRight, KernelW, StrideW);
    public int ColRows => Channels * KernelH * KernelW;
    public int OutPlane => OutH * OutW;
    public int[] ToInts() => new[] { Channels, Height, Width, KernelH, KernelW, StrideH, StrideW, PadTop, PadBottom, PadLeft, PadRight };
    public static WindowSpec FromInts(EquatableArray<int> v) => new(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]);
    /// <summary>The C# expression constructing the runtime geometry.</summary>
    public string Literal => $"new global::Dl.Kernels.Window2d({string.Join(", ", ToInts())})";
}

/// <summary>A forward input or the loss target. Labels have <see cref="Classes"/> &gt; 0 and a shape of [] (one per sample)
/// or [T] (one per step).</summary>
public sealed record InputSpec(string Name, EquatableArray<int> Shape, int Classes)
{
    public bool IsLabels => Classes > 0;
    public int Size => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>A row of the model summary: a layer (a Linear call) or a parameter-free op.</summary>
/// <param name="Parameters">Its parameter count, in 64 bits (a layer may hold more than int.MaxValue; DL0015 then).</param>
public sealed record LayerSpec(string Name, string Op, EquatableArray<int> OutputShape, long Parameters);

/// <summary>The parsed and shape-checked model: the output of stages 1 and 2.</summary>
/// <remarks>Immutable with structural equality; this is what the incremental pipeline caches.</remarks>
public sealed record ModelSpec(
    string Namespace, string ClassName, string Modifiers, string ForwardMethod, string? LossMethod,
    EquatableArray<InputSpec> Inputs, InputSpec? Target, EquatableArray<ParameterSpec> Parameters,
    EquatableArray<NodeSpec> Nodes, int OutputNode, int LossNode, EquatableArray<LayerSpec> Layers)
{
    /// <summary>Declarations of the types the model is nested in, outermost first (e.g. <c>partial class Outer</c>).</summary>
    public EquatableArray<string> Containers { get; init; } = EquatableArray<string>.Empty;
    /// <summary>Non-trainable state tensors (batch norm running statistics), in the order of the state block.</summary>
    public EquatableArray<ParameterSpec> States { get; init; } = EquatableArray<ParameterSpec>.Empty;
    /// <summary>Dropout ops in the model (each draws from its own stream).</summary>
    public bool HasDropout => Nodes.Any(n => n.Kind == NodeKind.Dropout);
    public string FullName => (string.IsNullOrEmpty(Namespace) ? "" : Namespace + ".") + string.Concat(Containers.Select(c => c.Substring(c.LastIndexOf(' ') + 1) + ".")) + ClassName;
}

/// <summary>The result of parsing one [Model] class: a spec, or on error the diagnostics and the shell of the stub to
/// emit instead (null when none can be: the class or a type containing it is not partial, or is not a class).</summary>
public sealed record ParseResult(ModelSpec? Spec, ModelShell? Shell, EquatableArray<DiagnosticInfo> Diagnostics);
