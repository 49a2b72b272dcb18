using Dl.Generators.Layers;

namespace Dl.Generators.Parsing;

// The graph side of a layer definition (Layers/*.cs): a call's arguments, and adding its parameters and nodes.
internal sealed partial class GraphBuilder
{
    /// <summary>Parses a call of a layer with a definition (<see cref="LayerRegistry"/>), or returns false.</summary>
    private bool TryApplyLayer(int opKind, string opName, Value[] args, ExpressionSyntax at, string[]? names, out Value value)
    {
        value = default;
        if (LayerRegistry.ForOp(opKind) is not { } layer) return false;
        value = Value.Of(layer.Build(new LayerCall(this, opName, args, at, names)));
        return true;
    }

    /// <summary>Whether a node keeps the label its layer gave it when assigned to a local.</summary>
    private static bool KeepsLabel(NodeSpec n) => LayerRegistry.ForNode(n.Kind) is { } layer && layer.KeepsLabel(n);

    /// <summary>One call of a layer op, as its definition parses it.</summary>
    internal sealed class LayerCall
    {
        private readonly GraphBuilder _graph;
        private readonly Value[] _args;
        private readonly ExpressionSyntax _at;
        private readonly string[]? _names;
        private readonly Location _location;

        internal LayerCall(GraphBuilder graph, string opName, Value[] args, ExpressionSyntax at, string[]? names)
        {
            _graph = graph; OpName = opName; _args = args; _at = at; _names = names;
            _location = at.GetLocation();
        }

        /// <summary>The public method called (one op kind may have several: <c>SinusoidalPositions</c>, <c>LearnedPositions</c>).</summary>
        public string OpName { get; }

        /// <summary>The number of arguments given.</summary>
        public int Count => _args.Length;

        /// <summary>Argument <paramref name="i"/> as a tensor node (a constant becomes a constant node).</summary>
        public int Tensor(int i) => _graph.TensorArg(_args[i], _at);

        /// <summary>Argument <paramref name="i"/> when it is a tensor, else null.</summary>
        public int? OptionalTensor(int i) => i < _args.Length && _args[i].IsTensor ? _args[i].Node : null;

        /// <summary>Argument <paramref name="i"/> as a compile-time constant (null when not given); a tensor is DL0004.</summary>
        public object? Constant(int i, string what) => i >= _args.Length ? null : !_args[i].IsTensor ? _args[i].Constant
            : throw new ModelErrorException(DiagnosticInfo.Create(DiagnosticDescriptors.NonConstantArgument, _location, _names?[i] ?? what, OpName));

        /// <summary>Argument <paramref name="i"/> as a constant integer (required: DL0004 when missing or not constant).</summary>
        public int Int(int i, string what) => i < _args.Length && !_args[i].IsTensor && _args[i].Constant is { } v ? System.Convert.ToInt32(v)
            : throw new ModelErrorException(DiagnosticInfo.Create(DiagnosticDescriptors.NonConstantArgument, _location, _names?[i] ?? what, OpName));

        /// <summary>Argument <paramref name="i"/> as the layer's checked name (DL0012).</summary>
        public string Name(int i) => LayerName(Constant(i, "name"), _at, OpName);

        /// <summary><paramref name="value"/> checked as a layer name (DL0012 when it is not a constant string or not a valid name).</summary>
        public string CheckedName(object? value) => LayerName(value, _at, OpName);

        /// <summary>The nodes of <paramref name="kind"/> added so far (a dropout's index in source order).</summary>
        public int CountNodes(NodeKind kind) => _graph.Nodes.Count(n => n.Kind == kind);

        public ShapeSpec Shape(int node) => _graph.Nodes[node].Shape;

        /// <summary>DL0012 at the call: an argument the op does not accept, with why.</summary>
        public ModelErrorException Invalid(string why) => GraphBuilder.Invalid(_at, OpName, why);

        /// <summary>DL0013 at the call: an impossible window (the shared rule's <paramref name="why"/>).</summary>
        public ModelErrorException Geometry(string why) =>
            new(DiagnosticInfo.Create(DiagnosticDescriptors.WindowGeometry, _location, OpName, why));

        /// <summary>Argument <paramref name="i"/> as a per-dimension size: an int n (n x n) or a tuple (h, w);
        /// <paramref name="fallback"/> when not given (null: required, DL0012).</summary>
        public (int H, int W) Size2(int i, string what, (int, int)? fallback) =>
            GraphBuilder.Size2(Constant(i, what) ?? DefaultMarker, fallback, what, _at, OpName);

        /// <summary>Starts the layer <paramref name="name"/>: nodes and parameters added until <see cref="ExitLayer"/> belong to it.
        /// Returns the enclosing layer, to pass to ExitLayer.</summary>
        public string EnterLayer(string name)
        {
            string outer = _graph._layer;
            _graph._layer = name;
            return outer;
        }

        /// <summary>Ends the layer and adds its summary row (only for a layer not inside another one).</summary>
        public void ExitLayer(string outer, LayerSpec row)
        {
            _graph._layer = outer;
            if (_graph._collectLayers && _graph._layer.Length == 0) _graph.Layers.Add(row);
        }

        /// <summary>A trainable tensor (its node).</summary>
        public int Parameter(ParameterSpec p) => _graph.AddParameter(p, _location);

        /// <summary>A non-trainable state tensor (its index in the state block).</summary>
        public int State(ParameterSpec p) => _graph.AddState(p, _location);

        /// <summary>Adds a node (its id); an empty label becomes the op name and the id.</summary>
        public int AddNode(NodeKind kind, string label, string op, string? impl, int[] inputs, ShapeSpec shape, NodeAttributes? attributes,
            SavedValues saves, bool differentiable)
            => _graph.Add(kind, label, op, impl, inputs, shape, attributes, saves, differentiable, _location);

        /// <summary>Marks a node whose gradient with respect to its first input is its own gradient.</summary>
        public void PassesGradientA(int node) => _graph.Nodes[node] = _graph.Nodes[node] with { PassesGradientA = true };
    }
}
