using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Layers;

/// <summary><c>BatchNorm(x, name, momentum = 0.1, eps = 1e-5)</c>, PyTorch's BatchNorm1d/2d over the first axis of a
/// sample [C, ...]: parameters <c>{name}.weight</c> (γ) and <c>{name}.bias</c> (β), state <c>{name}.running_mean</c> and
/// <c>.running_var</c>. Training normalizes with the batch's statistics (saving each channel's mean and 1/σ) and updates
/// the running ones; evaluation uses the running statistics (a ModeStep holds both).</summary>
internal sealed class BatchNormLayer : LayerDefinition
{
    public override OpKind Op => OpKind.Norm;
    public override NodeKind Kind => NodeKind.Norm;

    public override int Build(LayerCall call)
    {
        int x = call.Tensor(0);
        var xs = call.Shape(x);
        if (xs.Rank < 1) throw call.Invalid($"expected a sample with a channel or feature axis, got {xs}");
        if (!xs.Batched) throw call.Invalid("the input must be batched (statistics are over the batch)");
        string name = call.Name(1);
        float momentum = call.Constant(2, "momentum") is { } m ? System.Convert.ToSingle(m) : 0.1f;
        float eps = call.Constant(3, "eps") is { } e ? System.Convert.ToSingle(e) : 1e-5f;
        if (!(momentum >= 0f && momentum <= 1f)) throw call.Invalid($"momentum must be in [0, 1], got {momentum}");
        if (LayerRules.NormEps(eps) is { } badEps) throw call.Invalid(badEps);
        int channels = xs.Dims[0], plane = xs.Size / channels;
        string outer = call.EnterLayer(name);
        ParameterSpec Vector(string suffix, int init, float scale) => new(name + suffix, new[] { channels }, init, scale, channels, channels, null);
        int gamma = call.Parameter(Vector(".weight", GraphBuilder.InitConstant, 1f));
        int beta = call.Parameter(Vector(".bias", GraphBuilder.InitZeros, 0f));
        int meanState = call.State(Vector(".running_mean", GraphBuilder.InitZeros, 0f));
        int varState = call.State(Vector(".running_var", GraphBuilder.InitConstant, 1f));
        int y = call.AddNode(NodeKind.Norm, name, "batch_norm", null, new[] { x, gamma, beta }, xs,
            new BatchNormAttributes(channels, plane, meanState, varState, eps, momentum), SavedValues.Input, true);
        call.ExitLayer(outer, new LayerSpec(name, "BatchNorm", xs.Dims, 2L * channels));
        return y;
    }

    public override bool KeepsLabel(NodeSpec n) => true;

    public override IEnumerable<Step> Forward(ILayerLowering lower, NodeSpec n, Buffer y, string comment)
    {
        var norm = n.Attr<BatchNormAttributes>();
        int channels = norm.Channels, plane = norm.Plane;
        var x = lower.Value(n.Inputs[0]);
        var mean = lower.Workspace(n, "mean", channels, false);
        var invStd = lower.Workspace(n, "inv_std", channels, false);
        var runningMean = lower.State(n, "running_mean", norm.RunningMeanState);
        var runningVar = lower.State(n, "running_var", norm.RunningVarState);
        var gamma = lower.Value(n.Inputs[1]); var beta = lower.Value(n.Inputs[2]);
        var train = new CallStep("training: batch statistics; running statistics updated", Kernels + "BatchNorm.ForwardTrain",
            new[] { Lit("batch"), Lit(channels), Lit(plane), In(x), In(gamma), In(beta), Out(y), Out(mean), Out(invStd),
                InOut(runningMean), InOut(runningVar), Lit(Literals.Float(norm.Momentum)), Lit(Literals.Float(norm.Eps)) });
        var eval = new CallStep("evaluation: running statistics", Kernels + "BatchNorm.ForwardEval",
            new[] { Lit("batch"), Lit(channels), Lit(plane), In(x), In(gamma), In(beta), Out(y), In(runningMean), In(runningVar),
                Lit(Literals.Float(norm.Eps)) });
        yield return new ModeStep(comment, new Step[] { train }, new Step[] { eval });
    }

    public override bool WholeBackward => true;

    /// <summary>One call writes dx, dγ and dβ with one accumulate flag (false): a dx that already holds a contribution, or
    /// that nothing needs, gets scratch (added afterwards when needed).</summary>
    public override IEnumerable<Step> Backward(ILayerLowering lower, NodeSpec n, Buffer dy, bool[] needs)
    {
        var dx = lower.Gradient(n, 0, needs);
        bool firstX = dx is not null && lower.FirstWrite(dx);
        var dgamma = lower.Gradient(n, 1, needs)!; var dbeta = lower.Gradient(n, 2, needs)!;
        lower.FirstWrite(dgamma); lower.FirstWrite(dbeta);
        string xLabel = lower.Node(n.Inputs[0]).Label;
        string comment = $"d{xLabel}, d{lower.Node(n.Inputs[1]).Label}, d{lower.Node(n.Inputs[2]).Label} from d{n.Label}  [batch_norm]";
        var norm = n.Attr<BatchNormAttributes>();
        int channels = norm.Channels, plane = norm.Plane;
        bool direct = dx is not null && firstX;
        var target = direct ? dx! : lower.Workspace(n, "dx", n.Shape.Size, true);
        var x = lower.Value(n.Inputs[0]); var gamma = lower.Value(n.Inputs[1]);
        var train = new CallStep("training: batch statistics", Kernels + "BatchNorm.BackwardTrain",
            new[] { Lit("batch"), Lit(channels), Lit(plane), In(x), In(gamma), In(lower.Saved(n, "mean")), In(lower.Saved(n, "inv_std")), In(dy),
                Out(target), Out(dgamma), Out(dbeta), Lit(false) });
        var eval = new CallStep("evaluation: running statistics are constants", Kernels + "BatchNorm.BackwardEval",
            new[] { Lit("batch"), Lit(channels), Lit(plane), In(x), In(gamma), In(lower.Saved(n, "running_mean")), In(lower.Saved(n, "running_var")),
                Lit(Literals.Float(norm.Eps)), In(dy), Out(target), Out(dgamma), Out(dbeta), Lit(false) });
        yield return new ModeStep(comment, new Step[] { train }, new Step[] { eval });
        if (dx is not null && !direct) yield return Copy($"d{xLabel} += batch norm's input gradient", target, dx, true);
    }
}
