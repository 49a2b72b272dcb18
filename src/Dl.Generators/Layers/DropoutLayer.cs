using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Layers;

/// <summary><c>Dropout(x, p)</c>: in training, each element is zeroed with probability p and the others scaled by
/// 1/(1 - p); in evaluation, the identity. The mask comes from a counter-based hash of (seed, the dropout's index in source
/// order, training step), the same on the tape; forward saves it (the <c>mask</c> workspace) and backward multiplies by it.</summary>
internal sealed class DropoutLayer : LayerDefinition
{
    public override OpKind Op => OpKind.Dropout;
    public override NodeKind Kind => NodeKind.Dropout;

    public override int Build(LayerCall call)
    {
        int x = call.Tensor(0);
        var xs = call.Shape(x);
        if (!xs.Batched) throw call.Invalid($"the input must be a batched sample, got {xs}");
        float p = System.Convert.ToSingle(call.Constant(1, "p") ?? throw call.Invalid("p is required"));
        if (!(p >= 0f && p < 1f)) throw call.Invalid($"p must be in [0, 1), got {p}");
        return call.AddNode(NodeKind.Dropout, "", "dropout", null, new[] { x }, xs, new DropoutAttributes(p, call.CountNodes(NodeKind.Dropout)),
            SavedValues.Nothing, true);
    }

    public override IEnumerable<Step> Forward(ILayerLowering lower, NodeSpec n, Buffer y, string comment)
    {
        var x = lower.Value(n.Inputs[0]);
        var dropout = n.Attr<DropoutAttributes>();
        var mask = lower.Workspace(n, "mask", n.Shape.Size, true);
        var train = new CallStep("training: mask from (seed, dropout index, step)", Kernels + "Dropout.Forward",
            new[] { In(x), Out(y), Out(mask), Lit(Literals.Float(dropout.P)), Lit("_seed"), Lit(dropout.Index), Lit("DropoutStep") });
        yield return new ModeStep(comment, new Step[] { train }, new Step[] { Copy("evaluation: identity", x, y, false) });
    }

    public override IEnumerable<Step> BackwardInput(ILayerLowering lower, NodeSpec n, int slot, Buffer dy, Buffer dx, bool first, string comment)
    {
        var train = new CallStep("training: through the mask", Kernels + "Dropout.Backward",
            new[] { In(dy), In(lower.Saved(n, "mask")), Out(dx, !first), Lit(!first) });
        yield return new ModeStep(comment, new Step[] { train }, new Step[] { Copy("evaluation: identity", dy, dx, !first) });
    }
}
