using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Layers;

/// <summary>Position encodings of a batched sequence [T, D]. <c>SinusoidalPositions(x, base = 10000)</c> adds the fixed
/// table sin/cos(t / base^(2i/D)) (one node; the gradient passes through unchanged, so x shares it when nothing else
/// reads x). <c>LearnedPositions(x, name)</c> adds a trained table <c>{name}.weight</c> [T, D] (an add node: no node of
/// this kind).</summary>
internal sealed class PositionalLayer : LayerDefinition
{
    public override OpKind Op => OpKind.Positional;
    public override NodeKind Kind => NodeKind.Positional;

    public override int Build(LayerCall call)
    {
        int x = call.Tensor(0);
        var shape = call.Shape(x);
        if (!shape.Batched || shape.Rank != 2) throw call.Invalid($"expected a batched sequence [T, D], got {shape}");
        if (call.OpName == "SinusoidalPositions")
        {
            float @base = call.Constant(1, "base") is { } b ? System.Convert.ToSingle(b) : 10000f;
            if (LayerRules.PositionalBase(@base) is { } badBase) throw call.Invalid(badBase);
            int id = call.AddNode(NodeKind.Positional, "", "sinusoidal_positions", null, new[] { x }, shape,
                new PositionalAttributes(shape.Dims[0], shape.Dims[1], @base), SavedValues.Nothing, true);
            call.PassesGradientA(id);
            return id;
        }
        string name = call.Name(1);
        string outer = call.EnterLayer(name);
        int table = call.Parameter(new ParameterSpec(name + ".weight", shape.Dims, GraphBuilder.InitNormal, 0.02f, shape.Last, shape.Last, null));
        int y = call.AddNode(NodeKind.Binary, name, "add", "global::Dl.AddOp", new[] { x, table }, shape, null, SavedValues.Nothing, true);
        call.PassesGradientA(y);
        call.ExitLayer(outer, new LayerSpec(name, "LearnedPositions", shape.Dims, shape.Size));
        return y;
    }

    public override IEnumerable<Step> Forward(ILayerLowering lower, NodeSpec n, Buffer y, string comment)
    {
        var positions = n.Attr<PositionalAttributes>();
        yield return new CallStep(comment, Kernels + "PositionalEncoding.Add<float>",
            new[] { Lit("batch"), Lit(positions.Steps), Lit(positions.Dim), Lit(Literals.Float(positions.Base)), In(lower.Value(n.Inputs[0])), Out(y) });
    }

    /// <summary>The table is a constant: dx = dy (a copy only when x's gradient cannot be dy's buffer itself).</summary>
    public override IEnumerable<Step> BackwardInput(ILayerLowering lower, NodeSpec n, int slot, Buffer dy, Buffer dx, bool first, string comment)
    {
        var size = new ShapeSpec(new[] { n.Shape.Size }, true);
        var nest = LoopNest.Build(size, size, size);
        yield return new MapStep(comment, nest.Dims, new[] { new Operand(dy, 0, nest.Strides[0]) }, dx, nest.Strides[1], !first, "$0", "$0", false);
    }
}
