namespace Dl.Onnx;

/// <summary>Shape ops (reshape, transpose, slice, index, concat, stack), reductions, matrix products and table lookups.</summary>
internal static class StructuralMappings
{
    public static void Register(Dictionary<string, OnnxMapping> map)
    {
        map["detach"] = (g, t) => g.Bind(t, g.Value(t.In0!));
        // Reshape: 0 copies the batch from the input (allowzero = 0).
        map["reshape"] = (g, t) =>
        {
            long[] shape = t.ShapeArray.Select(d => (long)d).ToArray();
            if (t.Batched) shape = [0, .. shape];
            g.Bind(t, g.Node("Reshape", g.Scope(t), [g.Value(t.In0!), g.Ints("shape", shape)]));
        };
        map["transpose"] = (g, t) =>
            g.Bind(t, g.Node("Transpose", g.Scope(t), [g.Value(t.In0!)], attributes: [Attr.Ints("perm", t.Batched ? [0, 2, 1] : [1, 0])]));
        // slice keeps the axis, index drops it: Slice, then Squeeze.
        map["slice"] = Slice;
        map["index"] = Slice;
        map["concat"] = Concat;
        map["stack"] = Concat;
        map["sum"] = Reduce;
        map["mean"] = Reduce;
        map["sum_squares"] = Reduce;
        map["mean_squares"] = Reduce;
        map["matmul"] = MatMul;
        map["linear"] = Linear;
        map["embedding"] = (g, t) =>
        {
            string scope = g.Scope(t);
            string tokens = g.Node("Cast", scope, [g.Value(t.In0!)], attributes: [Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Int64)]);
            g.Bind(t, g.Node("Gather", scope, [g.Value(t.In1!), tokens], attributes: [Attr.Int("axis", 0)]));
        };
        map["one_hot"] = (g, t) =>
        {
            string scope = g.Scope(t);
            string tokens = g.Node("Cast", scope, [g.Value(t.In0!)], attributes: [Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Int64)]);
            g.Bind(t, g.Node("OneHot", scope, [tokens, g.Ints("depth", [t.Arg0]), g.Floats("off_on", [2], [0f, 1f])],
                attributes: [Attr.Int("axis", -1)]));
        };
    }

    private static void Slice(OnnxGraph g, Tensor t)
    {
        Tensor x = t.In0!;
        string scope = g.Scope(t);
        int axis = OnnxGraph.Axis(x, t.Arg0);
        string y = g.Node("Slice", scope, [g.Value(x), g.Ints("starts", [t.Arg1]), g.Ints("ends", [t.Arg1 + t.Arg2]), g.Ints("axes", [axis])]);
        if (!t.Flag0) y = g.Node("Squeeze", scope, [y, g.Ints("axes", [axis])]);
        g.Bind(t, y);
    }

    private static void Concat(OnnxGraph g, Tensor t)
    {
        string scope = g.Scope(t);
        bool stack = t.Flag0;
        var parts = new string[t.InputCount];
        for (int i = 0; i < parts.Length; i++)
        {
            Tensor p = t.Input(i);
            // An unbatched part of a batched result is repeated for every sample, as the tape copies it.
            string v = t.Batched ? g.Batched(p) : g.Value(p);
            parts[i] = stack ? g.Node("Unsqueeze", scope, [v, g.Ints("axes", [OnnxGraph.Axis(t, t.Arg0)])]) : v;
        }
        g.Bind(t, g.Node("Concat", scope, parts, attributes: [Attr.Int("axis", OnnxGraph.Axis(t, t.Arg0))]));
    }

    // sum / mean of x or x² over every per-sample axis (shape []) or one axis; Arg1 is the reduced length.
    private static void Reduce(OnnxGraph g, Tensor t)
    {
        Tensor x = t.In0!;
        string scope = g.Scope(t);
        bool mean = t.Flag0, squared = t.Flag1;
        long[] axes;
        // One axis of a sample of rank ≥ 2 leaves rank − 1; otherwise every axis (for rank 1 the two are the same).
        if (x.Rank >= 2 && t.Rank == x.Rank - 1)
            axes = [OnnxGraph.Axis(x, ReducedAxis(t, x))];
        else axes = Enumerable.Range(0, x.Rank).Select(a => (long)OnnxGraph.Axis(x, a)).ToArray();
        string v = g.Value(x);
        if (axes.Length == 0)
        {
            // A per-sample scalar: the sum is itself.
            g.Bind(t, squared ? g.Node("Mul", scope, [v, v]) : g.Node("Identity", scope, [v]));
            return;
        }
        if (squared) v = g.Node("Mul", scope, [v, v]);
        string op = mean ? "ReduceMean" : "ReduceSum";
        g.Bind(t, op == "ReduceSum"
            ? g.Node(op, scope, [v, g.Ints("axes", axes)], attributes: [Attr.Int("keepdims", 0)])
            : g.Node(op, scope, [v], attributes: [Attr.Ints("axes", axes), Attr.Int("keepdims", 0)]));
    }

    // The axis whose removal gives the output: outer = Π dims before it, inner = Π dims after it (Arg0, Arg2).
    private static int ReducedAxis(Tensor t, Tensor x)
    {
        int outer = 1;
        for (int a = 0; a < x.Rank; a++)
        {
            if (outer == t.Arg0 && x.ShapeArray[a] == t.Arg1) return a;
            outer *= x.ShapeArray[a];
        }
        throw new InvalidOperationException($"reduction node %{t.Id}: no axis of {x.ShapeText} has length {t.Arg1} after {t.Arg0} outer elements.");
    }

    // C = A·B per sample, B [K, N] or [K]: ONNX MatMul broadcasts the leading axes. A batched B gets unit axes so that
    // A's leading axes line up (right alignment), and a per-sample vector operand becomes a matrix for the product.
    private static void MatMul(OnnxGraph g, Tensor t)
    {
        Tensor a = t.In0!, b = t.In1!;
        string scope = g.Scope(t);
        string av = g.Value(a), bv = g.Value(b);
        bool squeezeRow = false, squeezeColumn = false;
        int aRank = a.Rank;
        if (b.Batched)
        {
            if (a.Rank == 1)
            {
                av = g.Node("Unsqueeze", scope, [av, g.Ints("axes", [a.Batched ? 1 : 0])]);
                squeezeRow = true;
                aRank = 2;
            }
            if (b.Rank == 1)
            {
                bv = g.Node("Unsqueeze", scope, [bv, g.Ints("axes", [2])]);
                squeezeColumn = true;
            }
            if (aRank > 2)
                bv = g.Node("Unsqueeze", scope, [bv, g.Ints("axes", Enumerable.Range(1, aRank - 2).Select(i => (long)i).ToArray())]);
        }
        string y = g.Node("MatMul", scope, [av, bv]);
        if (squeezeColumn) y = g.Node("Squeeze", scope, [y, g.Ints("axes", [-1])]);
        if (squeezeRow) y = g.Node("Squeeze", scope, [y, g.Ints("axes", [-2])]);
        g.Bind(t, y);
    }

    // y = x·Wᵀ + b over the last axis: Gemm for a batch of vectors, else MatMul with the transposed weight and Add.
    private static void Linear(OnnxGraph g, Tensor t)
    {
        Tensor x = t.In0!, w = t.In1!;
        Tensor? b = t.In2;
        string scope = g.Scope(t);
        if (x.Batched && x.Rank == 1 || !x.Batched && x.Rank == 2)
        {
            string[] inputs = b is null ? [g.Value(x), g.Value(w)] : [g.Value(x), g.Value(w), g.Value(b)];
            g.Bind(t, g.Node("Gemm", scope, inputs, attributes: [Attr.Int("transB", 1)]));
            return;
        }
        string wt = g.Node("Transpose", scope, [g.Value(w)], attributes: [Attr.Ints("perm", 1, 0)]);
        string y = g.Node("MatMul", scope, [g.Value(x), wt]);
        if (b is not null) y = g.Node("Add", scope, [y, g.Value(b)]);
        g.Bind(t, y);
    }
}
