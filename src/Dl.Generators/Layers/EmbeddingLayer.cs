using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Layers;

/// <summary>Token lookups: <c>Embedding(tokens, vocabulary, dimension, name)</c> (PyTorch's nn.Embedding, the table
/// <c>{name}.weight</c> [vocabulary, dimension], N(0, 1)) and <c>OneHot(tokens, classes)</c> (no table). Tokens are
/// numbers in the input, [T] or one per sample; a token that is not an integer in range throws naming it. Tokens get no
/// gradient; the table's gradient adds each row of dy to its token's row.</summary>
internal sealed class EmbeddingLayer : LayerDefinition
{
    public override OpKind Op => OpKind.Embedding;
    public override NodeKind Kind => NodeKind.Embedding;

    public override int Build(LayerCall call)
    {
        int tokens = call.Tensor(0);
        var ts = call.Shape(tokens);
        if (ts.Rank > 1) throw call.Invalid($"expected tokens of shape [T] or a single token [], got {ts}");
        bool oneHot = call.OpName == "OneHot";
        int vocabulary = call.Int(1, oneHot ? "classes" : "vocabulary");
        if (vocabulary <= 0) throw call.Invalid($"{(oneHot ? "classes" : "vocabulary")} must be positive, got {vocabulary}");
        int dimension = oneHot ? vocabulary : call.Int(2, "dimension");
        if (dimension <= 0) throw call.Invalid($"dimension must be positive, got {dimension}");
        var shape = new ShapeSpec(ts.Rank == 0 ? new[] { dimension } : new[] { ts.Dims[0], dimension }, ts.Batched);
        var attributes = new EmbeddingAttributes(vocabulary, dimension);
        if (oneHot) return call.AddNode(NodeKind.Embedding, "", "one_hot", null, new[] { tokens }, shape, attributes, SavedValues.Input, false);
        string name = call.CheckedName(call.Count > 3 && call.OptionalTensor(3) is null ? call.Constant(3, "name") : null);
        string outer = call.EnterLayer(name);
        int table = call.Parameter(new ParameterSpec(name + ".weight", new[] { vocabulary, dimension }, GraphBuilder.InitNormal, 1f, vocabulary, dimension, null));
        int y = call.AddNode(NodeKind.Embedding, name, "embedding", null, new[] { tokens, table }, shape, attributes, SavedValues.Input, true);
        call.ExitLayer(outer, new LayerSpec(name, "Embedding", shape.Dims, (long)vocabulary * dimension));
        return y;
    }

    public override bool KeepsLabel(NodeSpec n) => n.Op == "embedding";

    /// <summary>The rows looked up: the batch times the tokens per sample.</summary>
    private static string Rows(ILayerLowering lower, NodeSpec n)
    {
        var tokens = lower.Node(n.Inputs[0]);
        return tokens.Shape.Rank == 0 ? "batch" : $"batch * {tokens.Shape.Dims[0]}";
    }

    public override IEnumerable<Step> Forward(ILayerLowering lower, NodeSpec n, Buffer y, string comment)
    {
        var table = n.Inputs.Count > 1 ? In(lower.Value(n.Inputs[1])) : Lit("default");
        var e = n.Attr<EmbeddingAttributes>();
        yield return new CallStep(comment, Kernels + "EmbeddingLookup.Forward<float>",
            new[] { Lit(Rows(lower, n)), Lit(e.Vocabulary), Lit(e.Dimension), In(lower.Value(n.Inputs[0])), table, Out(y) });
    }

    public override IEnumerable<Step> BackwardInput(ILayerLowering lower, NodeSpec n, int slot, Buffer dy, Buffer dx, bool first, string comment)
    {
        // Tokens are integers: the lookup is constant between them, so they get no gradient (slot 0).
        if (slot != 1) yield break;
        var e = n.Attr<EmbeddingAttributes>();
        yield return new CallStep(comment, Kernels + "EmbeddingLookup.Backward<float>",
            new[] { Lit(Rows(lower, n)), Lit(e.Vocabulary), Lit(e.Dimension), In(lower.Value(n.Inputs[0])), In(dy), Out(dx, !first), Lit(!first) });
    }
}
