using Dl.Kernels;

namespace Dl.Onnx;

/// <summary>
/// Attention as the graph of its definition, per sample and head: S = scale·Q·Kᵀ, masked (causal: key j &gt; query i;
/// key mask: 0 marks padding), P = softmax(S), Y = P·V, heads side by side; then layer norm (ONNX LayerNormalization,
/// opset 17) and the sinusoidal position table. A query that sees no key gets zeros, as in Dl (PyTorch gives NaN): the
/// masked scores are the lowest float instead of −∞, and P is multiplied by the visibility, so such a row is 0.
/// </summary>
internal static class AttentionMappings
{
    private const int SeparateLayout = 0, PackedLayout = 1, KeyValueLayout = 2;

    public static void Register(Dictionary<string, OnnxMapping> map)
    {
        map["attention"] = Attention;
        map["layer_norm"] = (g, t) => g.Bind(t, g.Node("LayerNormalization", g.Scope(t), [g.Value(t.In0!), g.Value(t.In1!), g.Value(t.In2!)],
            attributes: [Attr.Int("axis", -1), Attr.Float("epsilon", t.ScalarA)]));
        map["sinusoidal_positions"] = (g, t) =>
        {
            int steps = t.ShapeArray[0], dim = t.ShapeArray[1];
            var table = new float[steps * dim];
            PositionalEncoding.Add<float>(1, steps, dim, t.ScalarA, new float[steps * dim], table);
            string scope = g.Scope(t);
            g.Bind(t, g.Node("Add", scope, [g.Value(t.In0!), g.Floats(scope + ".positions", [steps, dim], table)]));
        };
    }

    private static void Attention(OnnxGraph g, Tensor t)
    {
        int heads = t.Arg0, dk = t.Arg1, layout = t.Arg2;
        bool causal = t.Flag0, scaled = t.Flag1;
        string scope = t.Local ?? g.Scope(t);
        Tensor q = t.In0!, k = t.In1!, v = t.In2!;
        bool oneQuery = t.Rank == 1;
        int tq = oneQuery ? 1 : t.ShapeArray[0], tk = k.ShapeArray[0];
        int width = heads * dk, valueWidth = t.ShapeArray[^1], dv = valueWidth / heads;
        string qv = g.Value(q), kv = g.Value(k), vv = g.Value(v);
        (int qOffset, int kOffset, int vOffset) = layout switch
        {
            PackedLayout => (0, width, 2 * width),
            KeyValueLayout => (0, 0, width),
            _ => (0, 0, 0),
        };
        if (layout == PackedLayout) qv = Columns(g, scope, qv, qOffset, width);
        if (layout != SeparateLayout)
        {
            kv = Columns(g, scope, kv, kOffset, width);
            vv = Columns(g, scope, vv, vOffset, valueWidth);
        }
        string qh = g.Node("Transpose", scope, [g.Node("Reshape", scope, [qv, g.Ints("shape", [0, tq, heads, dk])])], attributes: [Attr.Ints("perm", 0, 2, 1, 3)]);
        string kh = g.Node("Transpose", scope, [g.Node("Reshape", scope, [kv, g.Ints("shape", [0, tk, heads, dk])])], attributes: [Attr.Ints("perm", 0, 2, 3, 1)]);
        string vh = g.Node("Transpose", scope, [g.Node("Reshape", scope, [vv, g.Ints("shape", [0, tk, heads, dv])])], attributes: [Attr.Ints("perm", 0, 2, 1, 3)]);
        string scores = g.Node("MatMul", scope, [qh, kh]);
        if (scaled) scores = g.Node("Mul", scope, [scores, g.Floats("scale", [], [1f / MathF.Sqrt(dk)])]);
        string? visible = null;
        if (causal)
        {
            var table = new float[tq * tk];
            for (int i = 0; i < tq; i++)
                for (int j = 0; j <= Math.Min(i, tk - 1); j++) table[i * tk + j] = 1f;
            visible = g.Floats(scope + ".causal", [tq, tk], table);
        }
        if (t.Side is { } mask)
        {
            string m = g.Node("Reshape", scope, [g.Value(mask), g.Ints("shape", [0, 1, 1, tk])]);
            string keys = g.Node("Cast", scope, [g.Node("Not", scope, [g.Node("Equal", scope, [m, g.Floats("zero", [], [0f])])])],
                attributes: [Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Float)]);
            visible = visible is null ? keys : g.Node("Mul", scope, [keys, visible]);
        }
        if (visible is not null)
        {
            string condition = g.Node("Cast", scope, [visible], attributes: [Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Bool)]);
            scores = g.Node("Where", scope, [condition, scores, g.Floats("lowest", [], [float.MinValue])]);
        }
        string p = g.Node("Softmax", scope, [scores], attributes: [Attr.Int("axis", -1)]);
        if (visible is not null) p = g.Node("Mul", scope, [p, visible]);
        string y = g.Node("Transpose", scope, [g.Node("MatMul", scope, [p, vh])], attributes: [Attr.Ints("perm", 0, 2, 1, 3)]);
        g.Bind(t, g.Node("Reshape", scope, [y, g.Ints("shape", oneQuery ? [0, valueWidth] : [0, tq, valueWidth])]));
    }

    private static string Columns(OnnxGraph g, string scope, string value, int start, int length)
        => g.Node("Slice", scope, [value, g.Ints("starts", [start]), g.Ints("ends", [start + length]), g.Ints("axes", [-1])]);
}
