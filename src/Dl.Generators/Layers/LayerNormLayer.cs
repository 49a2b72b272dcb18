using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Layers;

/// <summary><c>LayerNorm(x, name, eps = 1e-5)</c>, PyTorch's nn.LayerNorm(D) over the last axis: parameters
/// <c>{name}.weight</c> (γ, ones) and <c>{name}.bias</c> (β, zeros); one node with inputs x, γ, β. The forward kernel
/// saves each row's mean and 1/σ (the <c>stats</c> workspace), which the backward call reads to write dx, dγ and dβ.</summary>
internal sealed class LayerNormLayer : LayerDefinition
{
    public override OpKind Op => OpKind.LayerNorm;
    public override NodeKind Kind => NodeKind.LayerNorm;

    public override int Build(LayerCall call)
    {
        int x = call.Tensor(0);
        string name = call.Name(1);
        float eps = call.Constant(2, "eps") is { } e ? System.Convert.ToSingle(e) : 1e-5f;
        if (LayerRules.NormEps(eps) is { } badEps) throw call.Invalid(badEps);
        var shape = call.Shape(x);
        if (shape.Rank == 0) throw call.Invalid($"expected at least one axis to normalize, got {shape}");
        int dim = shape.Last;
        string outer = call.EnterLayer(name);
        int gamma = call.Parameter(new ParameterSpec(name + ".weight", new[] { dim }, GraphBuilder.InitConstant, 1f, dim, dim, null));
        int beta = call.Parameter(new ParameterSpec(name + ".bias", new[] { dim }, GraphBuilder.InitZeros, 0f, dim, dim, null));
        int y = call.AddNode(NodeKind.LayerNorm, name, "layer_norm", null, new[] { x, gamma, beta }, shape,
            new LayerNormAttributes(shape.Size / dim, dim, eps), SavedValues.Input, true);
        call.ExitLayer(outer, new LayerSpec(name, "LayerNorm", shape.Dims, 2L * dim));
        return y;
    }

    public override bool KeepsLabel(NodeSpec n) => true;

    /// <summary>The rows normalized: per sample times the batch.</summary>
    private static string Rows(NodeSpec n)
    {
        int rows = n.Attr<LayerNormAttributes>().Rows;
        return !n.Shape.Batched ? rows.ToString() : rows == 1 ? "batch" : $"batch * {rows}";
    }

    public override IEnumerable<Step> Forward(ILayerLowering lower, NodeSpec n, Buffer y, string comment)
    {
        var norm = n.Attr<LayerNormAttributes>();
        var stats = lower.Workspace(n, "stats", 2 * norm.Rows, n.Shape.Batched);
        yield return new CallStep(comment, Kernels + "LayerNorm.Forward<float>",
            new[] { Lit(Rows(n)), Lit(norm.Dim), Lit(Literals.Float(norm.Eps)), In(lower.Value(n.Inputs[0])), In(lower.Value(n.Inputs[1])),
                In(lower.Value(n.Inputs[2])), Out(y), Out(stats) });
    }

    public override bool WholeBackward => true;

    public override IEnumerable<Step> Backward(ILayerLowering lower, NodeSpec n, Buffer dy, bool[] needs)
    {
        CallArg G(Buffer? b, bool accumulate) => b is null ? Lit("default") : Out(b, accumulate);
        var steps = new List<Step>();
        var dx = lower.Gradient(n, 0, needs);
        var parameters = new[] { lower.Gradient(n, 1, needs), lower.Gradient(n, 2, needs) };
        bool accumulate = lower.AccumulateFlag(steps, new[] { dx }, n.Label), accumulateParameters = lower.AccumulateFlag(steps, parameters, n.Label);
        steps.Add(new CallStep($"d{n.Label}'s input, γ and β  [layer_norm]", Kernels + "LayerNorm.Backward<float>",
            new[] { Lit(Rows(n)), Lit(n.Attr<LayerNormAttributes>().Dim), In(lower.Value(n.Inputs[0])), In(lower.Value(n.Inputs[1])),
                In(lower.Saved(n, "stats")), In(dy), G(dx, accumulate), Lit(accumulate), G(parameters[0], accumulateParameters),
                G(parameters[1], accumulateParameters), Lit(accumulateParameters) }));
        return steps;
    }
}
