using Dl.Kernels;

namespace Dl.Generators.Parsing;

// Sequence ops: recurrent layers (RNN, LSTM, GRU; token lookups: Layers/EmbeddingLayer.cs). A recurrent layer is one node
// per stacked layer; the time loop lives in the runtime kernel it lowers to, so 35 or 256 steps cost the same code.
internal sealed partial class GraphBuilder
{
    private const int KRecurrent = (int)OpKind.Recurrent;
    internal const int InitUniform = (int)global::Dl.Init.Uniform, InitNormal = (int)global::Dl.Init.Normal;

    private Value ApplyRecurrent(string opName, Value[] args, ExpressionSyntax at, string[]? names)
    {
        var location = at.GetLocation();
        object? Arg(int i, string what) => i >= args.Length ? null : !args[i].IsTensor ? args[i].Constant
            : throw new ModelErrorException(DiagnosticInfo.Create(DiagnosticDescriptors.NonConstantArgument, location, names?[i] ?? what, opName));
        int? Tensor(int i) => i < args.Length && args[i].IsTensor ? args[i].Node : null;

        int x = TensorArg(args[0], at);
        var xs = Nodes[x].Shape;
        if (!xs.Batched || xs.Rank != 2) throw Invalid(at, opName, $"expected a batched sequence [T, features], got {xs}");
        int steps = xs.Dims[0], features = xs.Dims[1];
        int hidden = Arg(1, "hidden") is { } hv ? System.Convert.ToInt32(hv) : throw Invalid(at, opName, "hidden is required");
        if (hidden <= 0) throw Invalid(at, opName, $"hidden must be positive, got {hidden}");
        string name = LayerName(Arg(2, "name"), at, opName);
        int layers = Arg(3, "layers") is { } lv ? System.Convert.ToInt32(lv) : 1;
        if (layers <= 0) throw Invalid(at, opName, $"layers must be positive, got {layers}");
        int Named(string parameter) => names is null ? -1 : System.Array.IndexOf(names, parameter);
        bool Flag(string parameter, bool fallback) => Named(parameter) is var i and >= 0 && Arg(i, parameter) is bool b ? b : fallback;
        var cell = opName switch
        {
            "Rnn" => RecurrentCell.Rnn,
            "Lstm" => RecurrentCell.Lstm,
            _ => Arg(5, "resetAfter") is false ? RecurrentCell.GruResetBefore : RecurrentCell.Gru,
        };
        bool bias = Flag("bias", true), bidirectional = Flag("bidirectional", false);
        int directions = bidirectional ? 2 : 1, states = layers * directions;
        int gates = RecurrentContract.Gates(cell);
        int? h0 = Tensor(4), c0 = cell == RecurrentCell.Lstm ? Tensor(5) : null;
        if (cell != RecurrentCell.Lstm && args.Length > 5 && args[5].IsTensor) throw Invalid(at, opName, "only an LSTM has a cell state c0");
        CheckInitialState(h0, "h0", states, hidden, at, opName);
        CheckInitialState(c0, "c0", states, hidden, at, opName);
        int? lengths = Named("lengths") is var li and >= 0 ? Tensor(li) : null;
        if (lengths is { } ln && RecurrentContract.LengthsShapeError(Nodes[ln].Shape.Batched, Nodes[ln].Shape.Dims) is { } lengthsError)
            throw Invalid(at, opName, lengthsError);
        if (lengths is { } lp && DependsOnParameters(lp))
            throw Invalid(at, opName, "lengths must not depend on parameters: sequence lengths are not differentiable");

        string saved = _layer;
        _layer = name;
        float bound = (float)(1 / System.Math.Sqrt(hidden));
        int y = x;
        long parameters = 0;
        for (int l = 0; l < layers; l++)
        {
            int input = l == 0 ? features : directions * hidden;
            int output = -1;
            for (int direction = 0; direction < directions; direction++)
            {
                bool reverse = direction == 1;
                int P(string what, int[] shape)
                {
                    parameters += shape.Aggregate(1L, (a, b) => a * b);
                    return AddParameter(new ParameterSpec(RecurrentContract.ParameterName(name, what, l, reverse), shape, InitUniform, bound, input,
                        gates * hidden, null), location);
                }
                if ((long)gates * hidden > DeclarationChecks.MaxElements) throw DeclarationChecks.TooLarge(location, "layer " + name, $"[{gates} x {hidden}, {input}]", null);
                var inputs = new List<int> { y, P("weight_ih", new[] { gates * hidden, input }), P("weight_hh", new[] { gates * hidden, hidden }) };
                if (bias)
                {
                    inputs.Add(P("bias_ih", new[] { gates * hidden }));
                    inputs.Add(P("bias_hh", new[] { gates * hidden }));
                }
                int row = l * directions + direction;
                if (h0 is { } h) inputs.Add(LayerState(h, row, states, location));
                if (c0 is { } c) inputs.Add(LayerState(c, row, states, location));
                if (lengths is { } len) inputs.Add(len);
                string label = (layers == 1 ? name : $"{name}.l{l}") + (reverse ? "_reverse" : "");
                int node = Add(NodeKind.Recurrent, label, RecurrentContract.OpName(cell), null, inputs.ToArray(), new ShapeSpec(new[] { steps, hidden }, true),
                    new RecurrentAttributes((int)cell, steps, input, hidden, h0 is not null, c0 is not null, bias, reverse, lengths is not null),
                    SavedValues.Both, true, location);
                // Bidirectional: [T, 2H], the forward direction's states then the backward direction's at each step.
                output = output < 0 ? node : Add(NodeKind.Concat, "", "concat", null, new[] { output, node },
                    new ShapeSpec(new[] { steps, 2 * hidden }, true), new ConcatAttributes(1), SavedValues.Nothing, true, location);
            }
            y = output;
        }
        _layer = saved;
        if (_collectLayers && _layer.Length == 0)
            Layers.Add(new LayerSpec(name, opName + (bidirectional ? " bidirectional" : "") + (layers > 1 ? " x" + layers : ""),
                new[] { steps, directions * hidden }, parameters));
        return Value.Of(y);
    }

    private void CheckInitialState(int? state, string what, int layers, int hidden, ExpressionSyntax at, string opName)
    {
        if (state is not { } s) return;
        var shape = Nodes[s].Shape;
        bool ok = shape.Batched && (shape.Rank == 2 && shape.Dims[0] == layers && shape.Dims[1] == hidden || layers == 1 && shape.Rank == 1 && shape.Dims[0] == hidden);
        if (!ok) throw Invalid(at, opName, $"{what} must be a batched [layers · directions, hidden] = [{layers}, {hidden}] per sample, got {shape}");
    }

    /// <summary>Layer <paramref name="layer"/>'s initial state [H]: a slice of the [layers, H] argument.</summary>
    private int LayerState(int state, int layer, int layers, Microsoft.CodeAnalysis.Location location)
    {
        var shape = Nodes[state].Shape;
        if (shape.Rank == 1) return state;
        return Add(NodeKind.Slice, "", "slice", null, new[] { state }, new ShapeSpec(new[] { shape.Dims[1] }, shape.Batched),
            new SliceAttributes(0, layer, 1, false), SavedValues.Nothing, true, location);
    }
}
