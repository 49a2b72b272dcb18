using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Layers;

/// <summary><c>GroupNorm(x, groups, name, eps = 1e-5)</c>, PyTorch's nn.GroupNorm(groups, C) on a sample [C, ...]:
/// parameters <c>{name}.weight</c> (γ, ones) and <c>{name}.bias</c> (β, zeros) [C]; one node with inputs x, γ, β, lowered
/// to Dl.Kernels.GroupNorm, whose forward saves each group's mean and 1/σ (the <c>stats</c> workspace) for the backward
/// call that writes dx, dγ and dβ.</summary>
internal sealed class GroupNormLayer : LayerDefinition
{
    public override OpKind Op => OpKind.GroupNorm;
    public override NodeKind Kind => NodeKind.GroupNorm;

    public override int Build(LayerCall call)
    {
        int x = call.Tensor(0);
        var shape = call.Shape(x);
        int groups = call.Int(1, "groups");
        string name = call.Name(2);
        float eps = call.Constant(3, "eps") is { } e ? System.Convert.ToSingle(e) : 1e-5f;
        if (LayerRules.NormEps(eps) is { } badEps) throw call.Invalid(badEps);
        if (!shape.Batched || shape.Rank < 1) throw call.Invalid($"expected a batched sample [C, ...], got {shape}");
        int channels = shape.Dims[0];
        if (LayerRules.Groups(channels, groups) is { } badGroups) throw call.Invalid(badGroups);
        string outer = call.EnterLayer(name);
        int gamma = call.Parameter(new ParameterSpec(name + ".weight", new[] { channels }, GraphBuilder.InitConstant, 1f, channels, channels, null));
        int beta = call.Parameter(new ParameterSpec(name + ".bias", new[] { channels }, GraphBuilder.InitZeros, 0f, channels, channels, null));
        int y = call.AddNode(NodeKind.GroupNorm, name, "group_norm", null, new[] { x, gamma, beta }, shape,
            new GroupNormAttributes(channels, groups, shape.Size / channels, eps), SavedValues.Input, true);
        call.ExitLayer(outer, new LayerSpec(name, "GroupNorm", shape.Dims, 2L * channels));
        return y;
    }

    public override bool KeepsLabel(NodeSpec n) => true;

    public override IEnumerable<Step> Forward(ILayerLowering lower, NodeSpec n, Buffer y, string comment)
    {
        var a = n.Attr<GroupNormAttributes>();
        var stats = lower.Workspace(n, "stats", 2 * a.Groups, true);
        yield return new CallStep(comment, Kernels + "GroupNorm.Forward<float>",
            new[] { Lit("batch"), Lit(a.Channels), Lit(a.Groups), Lit(a.Plane), Lit(Literals.Float(a.Eps)), In(lower.Value(n.Inputs[0])),
                In(lower.Value(n.Inputs[1])), In(lower.Value(n.Inputs[2])), Out(y), Out(stats) });
    }

    public override bool WholeBackward => true;

    public override IEnumerable<Step> Backward(ILayerLowering lower, NodeSpec n, Buffer dy, bool[] needs)
    {
        CallArg G(Buffer? b, bool accumulate) => b is null ? Lit("default") : Out(b, accumulate);
        var a = n.Attr<GroupNormAttributes>();
        var steps = new List<Step>();
        var dx = lower.Gradient(n, 0, needs);
        var parameters = new[] { lower.Gradient(n, 1, needs), lower.Gradient(n, 2, needs) };
        bool accumulate = lower.AccumulateFlag(steps, new[] { dx }, n.Label), accumulateParameters = lower.AccumulateFlag(steps, parameters, n.Label);
        steps.Add(new CallStep($"d{n.Label}'s input, γ and β  [group_norm]", Kernels + "GroupNorm.Backward<float>",
            new[] { Lit("batch"), Lit(a.Channels), Lit(a.Groups), Lit(a.Plane), In(lower.Value(n.Inputs[0])), In(lower.Value(n.Inputs[1])),
                In(lower.Saved(n, "stats")), In(dy), G(dx, accumulate), Lit(accumulate), G(parameters[0], accumulateParameters),
                G(parameters[1], accumulateParameters), Lit(accumulateParameters) }));
        return steps;
    }
}
