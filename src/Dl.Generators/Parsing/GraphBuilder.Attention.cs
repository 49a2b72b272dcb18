using Dl.Kernels;

namespace Dl.Generators.Parsing;

// Transformer ops: attention (one node, lowered to the fused attention kernel), multi-head self- and cross-attention (their
// projections are ordinary matmul and add nodes around an attention node that reads the fused [q k v] product in place);
// layer norm and position encodings are layer definitions (Layers/LayerNormLayer.cs, PositionalLayer.cs). The blocks built
// from them (encoder and decoder layers) are model code: see TransformerSource.
internal sealed partial class GraphBuilder
{
    private const int KAttention = (int)OpKind.Attention;
    private const int InitGlorotUniform = (int)global::Dl.Init.GlorotUniform;

    private Value ApplyTransformer(int kind, string opName, Value[] args, ExpressionSyntax at, string[]? names)
    {
        var location = at.GetLocation();
        object? Arg(int i, string what) => i >= args.Length ? null : !args[i].IsTensor ? args[i].Constant
            : throw new ModelErrorException(DiagnosticInfo.Create(DiagnosticDescriptors.NonConstantArgument, location, names?[i] ?? what, opName));
        int? Tensor(int i) => i < args.Length && args[i].IsTensor ? args[i].Node : null;
        string Name(int i)
        {
            return LayerName(Arg(i, "name"), at, opName);
        }
        switch (kind)
        {
            case KAttention when opName == "Attention":
            {
                int q = TensorArg(args[0], at), k = TensorArg(args[1], at), v = TensorArg(args[2], at);
                int heads = Arg(3, "heads") is { } h ? System.Convert.ToInt32(h) : 1;
                bool causal = Arg(4, "causal") is true;
                bool scaled = !(Arg(6, "score") is { } s && System.Convert.ToInt32(s) == 0);
                return Value.Of(AttentionNode(q, k, v, Tensor(5), heads, causal, scaled, null, at, opName));
            }
            default:   // SelfAttention, CrossAttention
            {
                bool self = opName == "SelfAttention";
                int query = TensorArg(args[0], at);
                int? memory = self ? null : TensorArg(args[1], at);
                int heads = Arg(self ? 1 : 2, "heads") is { } h ? System.Convert.ToInt32(h) : 0;
                string name = Name(self ? 2 : 3);
                bool causal = self && Arg(3, "causal") is true;
                int? mask = Tensor(4);   // keyMask and memoryMask are both the fifth argument
                return Value.Of(MultiHeadAttention(query, memory, heads, name, causal, mask, at, opName));
            }
        }
    }

    /// <summary>How the attention kernel reads q, k and v in place from wider rows: the width D of each, and the row stride
    /// and column offset of each (AttentionShape's init properties).</summary>
    private readonly record struct AttentionLayout(int Width, int QStride, int QOffset, int KStride, int KOffset, int VStride, int VOffset);

    /// <summary>Multi-head attention's fused projections, read in place (the shared AttentionContract's layout).</summary>
    private static AttentionLayout Projections(int d, bool self)
    {
        var p = AttentionContract.ProjectionLayout(d, self);
        return new AttentionLayout(d, p.QStride, p.QOffset, p.KStride, p.KOffset, p.VStride, p.VOffset);
    }

    /// <summary>An attention node over q [Tq, h·d_k] (or [h·d_k]), k [Tk, h·d_k], v [Tk, h·d_v]; with a
    /// <paramref name="layout"/>, the three are read in place from wider rows (the fused projections).</summary>
    private int AttentionNode(int q, int k, int v, int? mask, int heads, bool causal, bool scaled, AttentionLayout? layout, ExpressionSyntax at, string opName)
    {
        var location = at.GetLocation();
        var qs = Nodes[q].Shape; var ks = Nodes[k].Shape; var vs = Nodes[v].Shape;
        if (heads < 1) throw Invalid(at, opName, AttentionContract.Heads(heads, 0, 0)!);
        if (qs.Rank is < 1 or > 2) throw Invalid(at, opName, $"the query must be [Tq, features] or [features], got {qs}");
        if (ks.Rank != 2) throw Invalid(at, opName, $"the keys must be a sequence [Tk, features], got {ks}");
        if (vs.Rank != 2) throw Invalid(at, opName, $"the values must be a sequence [Tk, features], got {vs}");
        if (!qs.Batched || !ks.Batched || !vs.Batched)
            throw Invalid(at, opName, $"query, keys and values must be per-sample data (computed from an input), got {qs}, {ks} and {vs}");
        int tq = qs.Rank == 1 ? 1 : qs.Dims[0], tk = ks.Dims[0];
        if (vs.Dims[0] != tk) throw new ModelErrorException(DiagnosticInfo.Create(DiagnosticDescriptors.ShapeMismatch, location, opName, ks.ToString(), vs.ToString(),
            $": keys and values need the same length, got {tk} and {vs.Dims[0]}"));
        var l = layout ?? new AttentionLayout(qs.Last, qs.Last, 0, ks.Last, 0, vs.Last, 0);
        // Read in place, each of q, k and v is the projection width D; otherwise the operands' own widths.
        int width = layout?.Width ?? qs.Last;
        int valueWidth = layout is null ? vs.Last : width;
        if (layout is null && ks.Last != qs.Last)
            throw new ModelErrorException(DiagnosticInfo.Create(DiagnosticDescriptors.ShapeMismatch, location, opName, qs.ToString(), ks.ToString(),
                $": queries and keys need the same width, got {qs.Last} and {ks.Last}"));
        if (AttentionContract.Heads(heads, width, valueWidth) is { } why) throw Invalid(at, opName, why);
        if (mask is { } m)
        {
            var ms = Nodes[m].Shape;
            if (!ms.Batched || ms.Rank != 1 || ms.Dims[0] != tk)
                throw Invalid(at, opName, $"the key mask must be a batched [Tk] = [{tk}] per sample, got {ms}");
        }
        var shape = new ShapeSpec(qs.Rank == 1 ? new[] { valueWidth } : new[] { tq, valueWidth }, true);
        var inputs = new List<int> { q, k, v };
        if (mask is { } mm) inputs.Add(mm);
        return Add(NodeKind.Attention, "", scaled ? "attention" : "dot_attention", null, inputs.ToArray(), shape,
            new AttentionAttributes(heads, tq, tk, width / heads, valueWidth / heads, causal, scaled,
                l.QStride, l.QOffset, l.KStride, l.KOffset, l.VStride, l.VOffset, mask is not null),
            SavedValues.Both, true, location);
    }

    /// <summary>nn.MultiheadAttention(D, heads): fused input projection, scaled dot-product attention per head, output
    /// projection; PyTorch's parameter names and initialization.</summary>
    private int MultiHeadAttention(int query, int? memory, int heads, string name, bool causal, int? mask, ExpressionSyntax at, string opName)
    {
        var location = at.GetLocation();
        var qs = Nodes[query].Shape;
        if (!qs.Batched || qs.Rank != 2) throw Invalid(at, opName, $"expected a batched sequence [T, D], got {qs}");
        int d = qs.Last;
        if (memory is { } mem)
        {
            var ms = Nodes[mem].Shape;
            if (!ms.Batched || ms.Rank != 2 || ms.Last != d)
                throw new ModelErrorException(DiagnosticInfo.Create(DiagnosticDescriptors.ShapeMismatch, location, opName, qs.ToString(), ms.ToString(),
                    $": the memory must be a batched sequence [Tk, {d}]"));
        }
        if (AttentionContract.ModelHeads(heads, d) is { } why) throw Invalid(at, opName, why);
        string saved = _layer;
        _layer = name;
        int wIn = AddParameter(new ParameterSpec(AttentionContract.ParameterName(name, 0), new[] { 3 * d, d }, InitGlorotUniform, 0, d, 3 * d, null), location);
        int bIn = AddParameter(new ParameterSpec(AttentionContract.ParameterName(name, 1), new[] { 3 * d }, InitZeros, 0, d, 3 * d, null), location);
        int wOut = AddParameter(new ParameterSpec(AttentionContract.ParameterName(name, 2), new[] { d, d }, InitUniform, (float)(1 / System.Math.Sqrt(d)), d, d, null), location);
        int bOut = AddParameter(new ParameterSpec(AttentionContract.ParameterName(name, 3), new[] { d }, InitZeros, 0, d, d, null), location);
        int a;
        if (memory is not { } memoryNode)
        {
            int qkv = Affine(query, wIn, bIn, name + ".qkv", location);
            a = AttentionNode(qkv, qkv, qkv, mask, heads, causal, true, Projections(d, self: true), at, opName);
        }
        else
        {
            int RowSlice(int p, int start, int length) => Add(NodeKind.Slice, "", "slice", null, new[] { p }, 
                ShapeInference.Slice(Nodes[p].Shape, 0, start, length, true, out _), new SliceAttributes(0, start, length, true), SavedValues.Nothing, true, location);
            int q = Affine(query, RowSlice(wIn, 0, d), RowSlice(bIn, 0, d), name + ".q", location);
            int kv = Affine(memoryNode, RowSlice(wIn, d, 2 * d), RowSlice(bIn, d, 2 * d), name + ".kv", location);
            a = AttentionNode(q, kv, kv, mask, heads, false, true, Projections(d, self: false), at, opName);
        }
        Nodes[a] = Nodes[a] with { Label = name + ".attention" };
        int y = Affine(a, wOut, bOut, name, location);
        _layer = saved;
        if (_collectLayers && _layer.Length == 0) Layers.Add(new LayerSpec(name, opName, Nodes[y].Shape.Dims, 4L * d * d + 4L * d));
        return y;
    }

    /// <summary>x·Wᵀ + b with given weight [out, in] and bias [out] nodes.</summary>
    private int Affine(int x, int w, int b, string label, Location location)
    {
        int product = Add(NodeKind.MatMul, label + ".matmul", "linear", null, new[] { x, w },
            ShapeInference.MatMul(Nodes[x].Shape, Nodes[w].Shape, true, out _), new MatMulAttributes(true), SavedValues.Input, true, location);
        int y = Add(NodeKind.Binary, label, "add", "global::Dl.AddOp", new[] { product, b }, Nodes[product].Shape, null, SavedValues.Nothing, true, location);
        Nodes[y] = Nodes[y] with { PassesGradientA = true };
        return y;
    }
}
