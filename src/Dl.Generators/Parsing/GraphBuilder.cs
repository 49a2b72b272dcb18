using System.Threading;
using Microsoft.CodeAnalysis.Operations;

namespace Dl.Generators.Parsing;

/// <summary>Reads model method bodies into graph nodes, calling <see cref="ShapeInference"/> per node (layer
/// parameters take their shapes from their inputs, so shapes are inferred while the graph is built).
/// What model code may contain: locals and assignments to them, <c>for</c> loops over constant bounds (unrolled),
/// <c>return</c>, calls to <c>[Op]</c> methods of Dl and <c>[Block]</c> methods of the model, the Tensor operators,
/// constant indexers and ranges, and compile-time constants.</summary>
internal sealed partial class GraphBuilder(SemanticModel semanticModel, INamedTypeSymbol type, CancellationToken token)
{
    /// <summary>A value in model code: a tensor (graph node) or a compile-time constant.</summary>
    internal readonly record struct Value(int Node, object? Constant)
    {
        public bool IsTensor => Node >= 0;
        public static Value Of(int node) => new(node, null);
        public static Value Const(object? c) => new(-1, c);
    }

    private readonly record struct OpInfo(int Kind, INamedTypeSymbol? Impl, INamedTypeSymbol? LabelsImpl, bool Mean);

    // The kinds of [Op(OpKind.X)] as the attribute's constructor argument holds them (Dl.OpKind is a shared source file,
    // src/Shared/OpKind.cs, compiled into the runtime and into this generator); the layer kinds are in GraphBuilder.Spatial,
    // .Recurrent and .Attention.
    private const int KUnary = (int)OpKind.Unary, KBinary = (int)OpKind.Binary, KMatMul = (int)OpKind.MatMul, KReduce = (int)OpKind.Reduce,
        KRowWise = (int)OpKind.RowWise, KLoss = (int)OpKind.Loss, KReshape = (int)OpKind.Reshape, KTranspose = (int)OpKind.Transpose,
        KSlice = (int)OpKind.Slice, KConcat = (int)OpKind.Concat, KLinear = (int)OpKind.Linear, KWhere = (int)OpKind.Where,
        KDetach = (int)OpKind.Detach, KStack = (int)OpKind.Stack;

    public List<NodeSpec> Nodes { get; } = new();
    public List<ParameterSpec> Parameters { get; } = new();
    public List<LayerSpec> Layers { get; } = new();
    private readonly List<Location> _locations = new();
    private readonly Dictionary<string, int> _fieldNodes = new();
    private readonly Dictionary<SyntaxTree, SemanticModel> _models = new() { [semanticModel.SyntaxTree] = semanticModel };
    private string _layer = "";
    /// <summary>Summary rows of ops outside any named layer (row index → node), named by <see cref="NameLayerRows"/>
    /// after the local variable they were assigned to (<see cref="_rowLocals"/>) or their op.</summary>
    private readonly Dictionary<int, int> _autoRows = new();
    private readonly Dictionary<int, string> _rowLocals = new();
    private bool _collectLayers;
    private int _depth;

    // ---- leaves -------------------------------------------------------------------------------------------

    public void CollectFieldParameters()
    {
        foreach (var field in type.GetMembers().OfType<IFieldSymbol>())
        {
            var attr = field.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "Dl.ParamAttribute");
            if (attr is null) continue;
            var dims = DeclarationChecks.Dims(attr) ?? throw ModelParser.Error(InvalidArgument, field, "[Param]", "the dimensions must be constant integers");
            if (dims.Any(d => d <= 0))
                throw ModelParser.Error(InvalidArgument, field, "[Param]", $"dimensions must be positive, got [{string.Join(", ", dims)}]");
            int init = 0; float scale = 0;
            foreach (var named in attr.NamedArguments)
            {
                if (named.Key == "Init" && named.Value.Value is int i) init = i;
                if (named.Key == "Scale" && named.Value.Value is float f) scale = f;
            }
            DeclarationChecks.ParamField(field, init, scale);
            int fanIn = dims.Length == 0 ? 1 : dims[dims.Length - 1];
            int fanOut = dims.Length >= 2 ? dims[dims.Length - 2] : fanIn;
            int node = AddParameter(new ParameterSpec(field.Name, dims, init, scale, fanIn, fanOut, DeclarationChecks.Identifier(field.Name)), field.Locations.FirstOrDefault());
            _fieldNodes[field.Name] = node;
        }
    }

    public int AddInput(InputSpec input, int index, bool isTarget) =>
        Add(isTarget ? NodeKind.Target : NodeKind.Input, input.Name, input.Name, null, new int[0],
            new ShapeSpec(input.Shape, true), new LeafAttributes(index), SavedValues.Nothing, false, null);

    private int AddParameter(ParameterSpec p, Location? location)
    {
        if (Parameters.Any(q => q.Name == p.Name))
            throw new ModelErrorException(DiagnosticInfo.Create(DuplicateParameter, location, p.Name, type.Name));
        DeclarationChecks.Size(p.Shape, location, "parameter " + p.Name);
        Parameters.Add(p);
        return Add(NodeKind.Param, p.Name, "param", null, new int[0], new ShapeSpec(p.Shape, false),
            new LeafAttributes(Parameters.Count - 1), SavedValues.Nothing, true, location);
    }

    private int Add(NodeKind kind, string label, string op, string? impl, int[] inputs, ShapeSpec shape,
        NodeAttributes? attributes, SavedValues saves, bool differentiable, Location? location)
    {
        int id = Nodes.Count;
        if (label.Length == 0) label = op + id;
        DeclarationChecks.Size(shape.Dims, location, "the value of " + op);
        if (id >= MaxNodes)
            throw new ModelErrorException(DiagnosticInfo.Create(InvalidArgument, location, "model " + type.Name,
                $"it has more than {MaxNodes} nodes (unrolled loops and inlined blocks count each copy), the most the generator emits"));
        Nodes.Add(new NodeSpec(id, kind, label, op, impl, inputs, shape, attributes, saves, differentiable, _layer));
        _locations.Add(location ?? Location.None);
        if (_collectLayers && _layer.Length == 0 && kind is not (NodeKind.Constant or NodeKind.Param or NodeKind.Input or NodeKind.Target))
        {
            _autoRows[Layers.Count] = id;
            Layers.Add(new LayerSpec(label, op, shape.Dims, 0));
        }
        return id;
    }

    /// <summary>Names the summary rows of ops outside named layers (a named layer's row is its <c>name:</c>, whatever
    /// local it is assigned to): the local variable the op's value was assigned to (<c>var code = Sigmoid(h)</c> →
    /// <c>code</c>), else the op (<c>sigmoid</c>); a name several rows would share is numbered from 1 in model order
    /// (<c>sigmoid_1</c>, <c>sigmoid_2</c>; a reassigned local <c>h_1</c>, <c>h_2</c>), and one that a named layer
    /// already has gets <c>_</c> appended.</summary>
    public void NameLayerRows()
    {
        var bases = _autoRows.Keys.OrderBy(r => r).ToDictionary(r => r, r => _rowLocals.TryGetValue(r, out var local) ? local : Layers[r].Op);
        var counts = bases.Values.GroupBy(b => b).ToDictionary(g => g.Key, g => g.Count());
        var taken = new HashSet<string>(Layers.Where((_, r) => !_autoRows.ContainsKey(r)).Select(l => l.Name));
        var ordinal = new Dictionary<string, int>();
        foreach (var row in bases)
        {
            string name = row.Value;
            if (counts[name] > 1)
            {
                ordinal[name] = ordinal.TryGetValue(name, out int k) ? k + 1 : 1;
                name += "_" + ordinal[name];
            }
            while (taken.Contains(name)) name += "_";
            taken.Add(name);
            Layers[row.Key] = Layers[row.Key] with { Name = name };
        }
    }

    /// <summary>The value as a batched one. An output that does not depend on the input (a parameter, a constant
    /// expression of parameters) is one unbatched buffer, but Predict, the loss and its backward step through the
    /// output (and every loss operand) per sample: such a value becomes a broadcast node (a reshape to the same dims,
    /// batched) whose backward sums the batch's gradients into the unbatched value.</summary>
    public int BroadcastToBatch(int node)
    {
        var shape = Nodes[node].Shape;
        if (shape.Batched) return node;
        return Add(NodeKind.Reshape, Nodes[node].Label + ".batch", "broadcast", null, new[] { node }, new ShapeSpec(shape.Dims, true),
            null, SavedValues.Nothing, true, null);
    }

    // ---- checks -------------------------------------------------------------------------------------------

    /// <summary>True when some parameter's gradient reaches <paramref name="node"/> (not through <c>Detach</c> or a mask).</summary>
    public bool DependsOnParameters(int node) => GraphReach.GradientPath(Nodes, node)[node];

    /// <summary>DL0009 when a parameter's gradient would have to pass through a non-differentiable op.</summary>
    public void CheckDifferentiable(int loss, string model)
    {
        var onPath = GraphReach.GradientPath(Nodes, loss);
        // Backwards from the loss, so the op reported is the one nearest to it.
        for (int id = loss; id >= 0; id--)
        {
            var n = Nodes[id];
            if (onPath[id] && !n.Differentiable && n.Kind is not (NodeKind.Param or NodeKind.Constant or NodeKind.Input or NodeKind.Target))
                throw new ModelErrorException(DiagnosticInfo.Create(NotDifferentiable, _locations[id], n.Op));
        }
    }

    private static bool HasAttr(ISymbol s, string name) => ModelParser.HasAttribute(s, name);

    private ModelErrorException Unsupported(SyntaxNode node, string why) =>
        new(DiagnosticInfo.Create(UnsupportedConstruct, node.GetLocation(), MessageText.Code(node), why));

    private static ModelErrorException Invalid(SyntaxNode node, string op, string why) =>
        new(DiagnosticInfo.Create(InvalidArgument, node.GetLocation(), op, why));
}
