using Dl.Kernels;

namespace Dl.Onnx;

/// <summary>
/// RNN, LSTM and GRU layers as ONNX's recurrent ops, one op per layer and direction (the tape records one node each).
/// ONNX wants time-major input [T, batch, D] and gate blocks in its own order: PyTorch's i, f, g, o are ONNX's i, o, f, c
/// and PyTorch's r, z, n are ONNX's z, r, h; PyTorch's GRU applies the reset gate after the hidden product
/// (linear_before_reset = 1). The weights stay initializers under their PyTorch names; the reordered W, R and B are
/// computed from them in the graph (Split + Concat, which runtimes fold into constants). Per-sample lengths are ONNX's
/// sequence_lens: steps at and after a sample's length give zeros and the reverse direction starts at the sample's last
/// valid step, as Dl's kernels (tested against ONNX Runtime in both directions).
/// </summary>
internal static class RecurrentMappings
{
    public static void Register(Dictionary<string, OnnxMapping> map)
    {
        map["rnn"] = Recurrent;
        map["lstm"] = Recurrent;
        map["gru"] = Recurrent;
        map["gru_reset_before"] = Recurrent;
        // The grouping nodes carry graph edges only; the layer's mapping reads through them.
        map["recurrent_params"] = static (_, _) => { };
        map["recurrent_biases"] = static (_, _) => { };
        map["lstm_state"] = static (_, _) => { };
    }

    private static void Recurrent(OnnxGraph g, Tensor t)
    {
        var cell = (RecurrentCell)t.Arg0;
        int hidden = t.Arg1;
        bool reverse = t.Arg2 == 1;
        Tensor x = t.In0!, weights = t.In1!;
        Tensor wih = weights.In0!, whh = weights.In1!;
        Tensor? biases = weights.In2;
        string scope = g.Scope(weights);
        (string op, int[] order) = cell switch
        {
            RecurrentCell.Lstm => ("LSTM", new[] { 0, 3, 1, 2 }),
            RecurrentCell.Rnn => ("RNN", new[] { 0 }),
            _ => ("GRU", new[] { 1, 0, 2 }),
        };
        string w = g.Node("Unsqueeze", scope, [Reorder(g, scope, g.Value(wih), order), g.Ints("axes", [0])]);
        string r = g.Node("Unsqueeze", scope, [Reorder(g, scope, g.Value(whh), order), g.Ints("axes", [0])]);
        string b = "";
        if (biases is not null)
        {
            string both = g.Node("Concat", scope, [Reorder(g, scope, g.Value(biases.In0!), order), Reorder(g, scope, g.Value(biases.In1!), order)],
                attributes: [Attr.Int("axis", 0)]);
            b = g.Node("Unsqueeze", scope, [both, g.Ints("axes", [0])]);
        }
        string lengths = "";
        if (t.Side is { } side)
        {
            string flat = g.Node("Reshape", scope, [g.Value(side), g.Ints("shape", [-1])]);
            lengths = g.Node("Cast", scope, [flat], attributes: [Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Int32)]);
        }
        Tensor? state = t.In2;
        Tensor? h0 = t.Flag0 ? (t.Flag1 ? state!.In0 : state) : null;
        Tensor? c0 = t.Flag1 ? (t.Flag0 ? state!.In1 : state) : null;
        string X = g.Node("Transpose", scope, [g.Value(x)], attributes: [Attr.Ints("perm", 1, 0, 2)]);
        var inputs = new List<string> { X, w, r, b, lengths, h0 is null ? "" : InitialState(g, scope, h0) };
        if (cell == RecurrentCell.Lstm) inputs.Add(c0 is null ? "" : InitialState(g, scope, c0));
        while (inputs[^1].Length == 0) inputs.RemoveAt(inputs.Count - 1);
        var attributes = new List<global::Onnx.AttributeProto>
        {
            Attr.Int("hidden_size", hidden),
            Attr.String("direction", reverse ? "reverse" : "forward"),
        };
        if (cell == RecurrentCell.Gru) attributes.Add(Attr.Int("linear_before_reset", 1));
        string y = g.Nodes(op, scope, [.. inputs], outputs: 1, attributes: [.. attributes])[0];
        // Y [T, 1, batch, H] → [batch, T, H].
        string squeezed = g.Node("Squeeze", scope, [y, g.Ints("axes", [1])]);
        g.Bind(t, g.Node("Transpose", scope, [squeezed], attributes: [Attr.Ints("perm", 1, 0, 2)]));
    }

    // Gate blocks stacked along axis 0, reordered.
    private static string Reorder(OnnxGraph g, string scope, string value, int[] order)
    {
        if (order.Length == 1) return value;
        string[] parts = g.Nodes("Split", scope, [value], order.Length, attributes: [Attr.Int("axis", 0)]);
        return g.Node("Concat", scope, order.Select(i => parts[i]).ToArray(), attributes: [Attr.Int("axis", 0)]);
    }

    // A layer's initial state per sample, [H] or [1, H], as ONNX's [1, batch, H].
    private static string InitialState(OnnxGraph g, string scope, Tensor s)
        => s.Rank == 1
            ? g.Node("Unsqueeze", scope, [g.Value(s), g.Ints("axes", [0])])
            : g.Node("Transpose", scope, [g.Value(s)], attributes: [Attr.Ints("perm", 1, 0, 2)]);
}
