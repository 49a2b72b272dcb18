namespace Dl.Generators.Layers;

/// <summary>One layer kind, whole: how a call is parsed (arguments, parameters, shape rule, diagnostics) into nodes
/// with typed <see cref="NodeAttributes"/>, and how such a node lowers to forward and backward steps, including the
/// buffers its backward reads (workspaces saved by the forward pass). The parser and lowering find it through
/// <see cref="LayerRegistry"/>; a new layer kind is one such file (and its kernel).</summary>
internal abstract class LayerDefinition
{
    /// <summary>The op kind of the calls it parses (<c>[Op(OpKind.X)]</c> on the public method).</summary>
    public abstract OpKind Op { get; }

    /// <summary>The node kind it creates (the node its forward and backward steps lower).</summary>
    public abstract NodeKind Kind { get; }

    /// <summary>Parses one call: checks the arguments (DL diagnostics through <see cref="LayerCall.Invalid"/>), adds the
    /// parameters and nodes and returns the node holding the call's value.</summary>
    public abstract int Build(LayerCall call);

    /// <summary>Whether a node of this kind keeps the label the layer gave it when assigned to a local (a named layer's
    /// summary row and graph label); unnamed ops take the local's name.</summary>
    public virtual bool KeepsLabel(NodeSpec n) => false;

    /// <summary>The forward steps of <paramref name="n"/> writing its value <paramref name="y"/>.</summary>
    public abstract IEnumerable<Step> Forward(ILayerLowering lower, NodeSpec n, Buffer y, string comment);

    /// <summary>Whether the backward pass is one call for all inputs (<see cref="Backward"/>) rather than one
    /// contribution per input (<see cref="BackwardInput"/>).</summary>
    public virtual bool WholeBackward => false;

    /// <summary>The backward steps of all inputs that need a gradient (when <see cref="WholeBackward"/>).</summary>
    public virtual IEnumerable<Step> Backward(ILayerLowering lower, NodeSpec n, Buffer dy, bool[] needs) => Enumerable.Empty<Step>();

    /// <summary>The contribution of <paramref name="dy"/> to the gradient <paramref name="dx"/> of input
    /// <paramref name="slot"/>; <paramref name="first"/>: the first write into dx (assign, not add).</summary>
    public virtual IEnumerable<Step> BackwardInput(ILayerLowering lower, NodeSpec n, int slot, Buffer dy, Buffer dx, bool first, string comment)
        => Enumerable.Empty<Step>();

    /// <summary>The runtime kernels' namespace, as generated code names it.</summary>
    protected const string Kernels = "global::Dl.Kernels.";

    /// <summary>An element-wise copy (or addition, when <paramref name="accumulate"/>) of a whole buffer.</summary>
    internal static MapStep Copy(string comment, Buffer from, Buffer to, bool accumulate) =>
        new(comment, new[] { from.Length }, new[] { new Operand(from, 0, new[] { 1 }) }, to, new[] { 1 }, accumulate, "$0", "$0", false);
}

/// <summary>What a layer's lowering may use: the values and gradients of nodes, workspaces, and the accumulate rule.</summary>
internal interface ILayerLowering
{
    NodeSpec Node(int id);

    /// <summary>The buffer holding node <paramref name="id"/>'s value.</summary>
    Buffer Value(int id);

    /// <summary>Input <paramref name="slot"/>'s gradient buffer when the loss needs it, else null.</summary>
    Buffer? Gradient(NodeSpec n, int slot, bool[] needs);

    /// <summary>A new buffer <c>{label}.{name}</c> of <paramref name="size"/> floats (per sample when
    /// <paramref name="batched"/>), remembered under (node, name) for <see cref="Saved"/>.</summary>
    Buffer Workspace(NodeSpec n, string name, int size, bool batched);

    /// <summary>The workspace the forward pass made under <paramref name="name"/> (what backward reads).</summary>
    Buffer Saved(NodeSpec n, string name);

    /// <summary>State tensor <paramref name="index"/> (running statistics), remembered under (node, name) for <see cref="Saved"/>.</summary>
    Buffer State(NodeSpec n, string name, int index);

    /// <summary>True when this is the first write into the gradient <paramref name="dx"/> in backward order (then it assigns);
    /// records the write.</summary>
    bool FirstWrite(Buffer dx);

    /// <summary>The accumulate flag of one kernel writing several gradient targets under one flag (zeroing first-written
    /// targets when it must be true).</summary>
    bool AccumulateFlag(List<Step> steps, Buffer?[] targets, string label, bool force = false);
}

/// <summary>The layer definitions, by op kind (parsing) and by node kind (lowering).</summary>
internal static class LayerRegistry
{
    private static readonly LayerDefinition[] All = { new LayerNormLayer(), new PositionalLayer(), new DropoutLayer(), new EmbeddingLayer(), new BatchNormLayer(),
        new GroupNormLayer(), new ConvTransposeLayer() };

    private static readonly Dictionary<int, LayerDefinition> ByOp = All.ToDictionary(d => (int)d.Op);
    private static readonly Dictionary<NodeKind, LayerDefinition> ByKind = All.ToDictionary(d => d.Kind);

    /// <summary>The definition parsing calls of op kind <paramref name="opKind"/> (the [Op] argument), or null.</summary>
    public static LayerDefinition? ForOp(int opKind) => ByOp.TryGetValue(opKind, out var d) ? d : null;

    /// <summary>The definition lowering nodes of <paramref name="kind"/>, or null.</summary>
    public static LayerDefinition? ForNode(NodeKind kind) => ByKind.TryGetValue(kind, out var d) ? d : null;
}
