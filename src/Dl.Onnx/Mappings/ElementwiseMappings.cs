namespace Dl.Onnx;

/// <summary>Element-wise ops (unary with their constants, binary with broadcasting, where) and the row-wise softmax.</summary>
internal static class ElementwiseMappings
{
    public static void Register(Dictionary<string, OnnxMapping> map)
    {
        // y = f(x): one ONNX op each.
        Unary(map, "relu", "Relu");
        Unary(map, "sigmoid", "Sigmoid");
        Unary(map, "tanh", "Tanh");
        Unary(map, "exp", "Exp");
        Unary(map, "log", "Log");
        Unary(map, "sqrt", "Sqrt");
        Unary(map, "abs", "Abs");
        Unary(map, "negate", "Neg");
        // softplus: ln(1 + eˣ); Dl returns x above 20 (PyTorch's threshold), where ln(1 + eˣ) = x to float precision.
        Unary(map, "softplus", "Softplus");
        map["leaky_relu"] = (g, t) => g.Bind(t, g.Node("LeakyRelu", g.Scope(t), [g.Value(t.In0!)], attributes: [Attr.Float("alpha", t.ScalarA)]));
        map["elu"] = (g, t) => g.Bind(t, g.Node("Elu", g.Scope(t), [g.Value(t.In0!)], attributes: [Attr.Float("alpha", t.ScalarA)]));
        // clamp and hardtanh share the value min(max(x, a), b) (they differ only in the derivative at the bounds).
        map["clamp"] = Clip;
        map["hardtanh"] = Clip;
        map["square"] = (g, t) =>
        {
            string x = g.Value(t.In0!);
            g.Bind(t, g.Node("Mul", g.Scope(t), [x, x]));
        };
        map["pow"] = (g, t) => g.Bind(t, g.Node("Pow", g.Scope(t), [g.Value(t.In0!), g.Floats("exponent", [], [t.ScalarA])]));
        // step: 1 for x > 0, else 0 (step(0) = 0).
        map["step"] = (g, t) =>
        {
            string scope = g.Scope(t);
            string positive = g.Node("Greater", scope, [g.Value(t.In0!), g.Floats("zero", [], [0f])]);
            g.Bind(t, g.Node("Cast", scope, [positive], attributes: [Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Float)]));
        };
        // silu: x·σ(x) (ONNX has no Silu before opset 24... and none in the default domain at 17).
        map["silu"] = (g, t) =>
        {
            string scope = g.Scope(t), x = g.Value(t.In0!);
            g.Bind(t, g.Node("Mul", scope, [x, g.Node("Sigmoid", scope, [x])]));
        };
        // gelu: the exact form ½·x·(1 + erf(x/√2)), PyTorch's approximate='none' (not the tanh approximation).
        map["gelu"] = (g, t) =>
        {
            string scope = g.Scope(t), x = g.Value(t.In0!);
            string erf = g.Node("Erf", scope, [g.Node("Mul", scope, [x, g.Floats("inv_sqrt2", [], [(float)(1 / Math.Sqrt(2))])])]);
            string onePlus = g.Node("Add", scope, [erf, g.Floats("one", [], [1f])]);
            string half = g.Node("Mul", scope, [x, g.Floats("half", [], [0.5f])]);
            g.Bind(t, g.Node("Mul", scope, [half, onePlus]));
        };

        Binary(map, "add", "Add");
        Binary(map, "subtract", "Sub");
        Binary(map, "multiply", "Mul");
        Binary(map, "divide", "Div");
        Binary(map, "maximum", "Max");
        Binary(map, "minimum", "Min");

        // where(mask, a, b): a where mask ≠ 0, else b.
        map["where"] = (g, t) =>
        {
            string scope = g.Scope(t);
            string mask = g.Aligned(t.In0!, t.Rank);
            string condition = g.Node("Not", scope, [g.Node("Equal", scope, [mask, g.Floats("zero", [], [0f])])]);
            g.Bind(t, g.Node("Where", scope, [condition, g.Aligned(t.In1!, t.Rank), g.Aligned(t.In2!, t.Rank)]));
        };

        // Row-wise ops over the last axis.
        map["softmax"] = (g, t) => g.Bind(t, g.Node("Softmax", g.Scope(t), [g.Value(t.In0!)], attributes: [Attr.Int("axis", -1)]));
        map["log_softmax"] = (g, t) => g.Bind(t, g.Node("LogSoftmax", g.Scope(t), [g.Value(t.In0!)], attributes: [Attr.Int("axis", -1)]));
    }

    private static void Unary(Dictionary<string, OnnxMapping> map, string op, string onnx)
        => map[op] = (g, t) => g.Bind(t, g.Node(onnx, g.Scope(t), [g.Value(t.In0!)]));

    private static void Binary(Dictionary<string, OnnxMapping> map, string op, string onnx)
        => map[op] = (g, t) => g.Bind(t, g.Node(onnx, g.Scope(t), [g.Aligned(t.In0!, t.Rank), g.Aligned(t.In1!, t.Rank)]));

    private static void Clip(OnnxGraph g, Tensor t)
        => g.Bind(t, g.Node("Clip", g.Scope(t), [g.Value(t.In0!), g.Floats("min", [], [t.ScalarA]), g.Floats("max", [], [t.ScalarB])]));
}
