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
public enum NodeKind { Input, Target, Param, Constant, Unary, Binary, MatMul, Reduce, RowWise, Loss, Reshape, Transpose, Slice, Concat, Conv, Pool, Norm, Dropout, Recurrent, Embedding, Attention, LayerNorm, Positional, GroupNorm, Where, Detach, ConvTranspose }

/// <summary>What an op's backward reads (mirrors Dl.Saved).</summary>
public enum SavedValues { Nothing = 0, Input = 1, Output = 2, Both = 3 }

/// <summary>One node of the forward graph.</summary>
/// <param name="Impl">Fully qualified name of the op struct (unary, binary, row-wise, loss, squared-reduce), or null.</param>
/// <param name="Attributes">The node kind's constant attributes (<see cref="NodeAttributes"/>: one record per kind), or
/// null for kinds that have none.</param>
public sealed record NodeSpec(
    int Id, NodeKind Kind, string Label, string Op, string? Impl, EquatableArray<int> Inputs, ShapeSpec Shape,
    NodeAttributes? Attributes, SavedValues Saves, bool Differentiable, string Layer)
{
    /// <summary>A pair rewrite this op declares (<c>[DlOp(FuseAfter = ..., FusedWith = ...)]</c>), or null.</summary>
    public FusedSpec? Fused { get; init; }
    /// <summary>The op's gradient with respect to its first input is the upstream gradient (see Dl.DlOpAttribute).</summary>
    public bool PassesGradientA { get; init; }

    /// <summary>The attributes as the record of this node's kind.</summary>
    public T Attr<T>() where T : NodeAttributes => Attributes as T
        ?? throw new System.InvalidOperationException($"node {Label} ({Kind}) has {Attributes?.GetType().Name ?? "no attributes"}, not {typeof(T).Name}");
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
    public int OutH => Dl.Kernels.WindowGeometry.OutSize(Height, PadTop, PadBottom, KernelH, StrideH);
    public int OutW => Dl.Kernels.WindowGeometry.OutSize(Width, PadLeft, PadRight, KernelW, StrideW);
    public int ColRows => Channels * KernelH * KernelW;
    public int OutPlane => OutH * OutW;
    public int[] ToInts() => new[] { Channels, Height, Width, KernelH, KernelW, StrideH, StrideW, PadTop, PadBottom, PadLeft, PadRight };
    /// <summary>The C# expression constructing the runtime geometry.</summary>
    public string Literal => $"new global::Dl.Kernels.Window2d({string.Join(", ", ToInts())})";
}

/// <summary>A copy of the <c>[Forward]</c> or <c>[Loss]</c> method for the dynamic tape, whose assignments to tensor locals
/// name the tape's nodes (<see cref="Parsing.TapeNames"/>), with what its file needs to compile as the original does.</summary>
/// <param name="Name">The copy's name: <c>TapeForward</c> or <c>TapeLoss</c>.</param>
/// <param name="FileUsings">The source file's extern aliases and using directives (not the global ones).</param>
/// <param name="NamespaceUsings">The using directives of the namespace declarations around the method.</param>
/// <param name="Nullable">The nullable context at the method: <c>enable</c>, <c>disable</c>, <c>enable annotations</c>, ….</param>
/// <param name="Text">The method, normalized.</param>
public sealed record TapeMethod(string Name, EquatableArray<string> FileUsings, EquatableArray<string> NamespaceUsings, string Nullable, string Text);

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
    /// <summary>The tape's copies of the forward and loss methods that name nodes after locals (<see cref="TapeMethod"/>);
    /// a method without one is called as written.</summary>
    public EquatableArray<TapeMethod> TapeMethods { get; init; } = EquatableArray<TapeMethod>.Empty;
    /// <summary>Dropout ops in the model (each draws from its own stream).</summary>
    public bool HasDropout => Nodes.Any(n => n.Kind == NodeKind.Dropout);
    public string FullName => (string.IsNullOrEmpty(Namespace) ? "" : Namespace + ".") + string.Concat(Containers.Select(c => c.Substring(c.LastIndexOf(' ') + 1) + ".")) + ClassName;
}

/// <summary>The result of parsing one [Model] class: a spec, or on error the diagnostics and the shell of the stub to
/// emit instead (null when none can be: the class or a type containing it is not partial, or is not a class).</summary>
public sealed record ParseResult(ModelSpec? Spec, ModelShell? Shell, EquatableArray<DiagnosticInfo> Diagnostics);
