using System.Collections.Generic;
using System.Linq;
using Dl.Generators.Model;
using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Lowering;

// Convolution, pooling, batch norm and dropout lower to calls of runtime kernels with the node's literal geometry. The
// kernel variant (direct or im2col + GEMM) is picked here per shape; train/evaluation behaviour becomes a ModeStep.
internal sealed partial class Lowering
{
    private const string Kernels = "global::Dl.Kernels.";
    private readonly Dictionary<int, Buffer> _columns = new();
    private readonly Dictionary<int, (Buffer Mean, Buffer InvStd)> _normSaved = new();
    private readonly Dictionary<int, (Buffer Mean, Buffer Var)> _normState = new();
    private readonly Dictionary<int, Buffer> _masks = new();

    /// <summary>The convolution kernels for a shape: the shared rule (Dl.Kernels.ConvAlgorithm), which the tape applies too.</summary>
    internal static bool Direct(WindowSpec w) => Dl.Kernels.ConvAlgorithm.Direct(w.StrideH, w.StrideW, w.OutW, w.KernelH, w.KernelW, w.ColRows);

    internal static bool DirectData(WindowSpec w) =>
        Dl.Kernels.ConvAlgorithm.DirectData(w.StrideH, w.StrideW, w.OutW, w.KernelH, w.KernelW, w.ColRows, w.Channels, w.Width);

    private static CallArg Geometry(NodeSpec n) => Lit(n.Window.Literal);
    private static string Bool(bool b) => b ? "true" : "false";

    private Buffer StateBuffer(int index)
    {
        int offset = 0;
        for (int i = 0; i < index; i++) offset += _model.States[i].Size;
        var b = _plan.AddBuffer(_model.States[index].Name, _model.States[index].Size, false, Space.State);
        b.Offset = offset;
        return b;
    }

    private static MapStep Copy(string comment, Buffer from, Buffer to, bool accumulate) =>
        new(comment, new[] { from.Length }, new[] { new Operand(from, 0, new[] { 1 }) }, to, new[] { 1 }, accumulate, "$0", "$0", false);

    private IEnumerable<Step> SpatialForward(NodeSpec n, Buffer y, string comment)
    {
        var x = V(n.Inputs[0]);
        switch (n.Kind)
        {
            case NodeKind.Conv:
            {
                var w = n.Window;
                int cout = n.Int(WindowSpec.IntCount);
                var bias = n.Inputs.Count > 2 ? In(V(n.Inputs[2])) : Lit("default");
                if (!Direct(w))
                {
                    var col = _columns[n.Id] = _plan.AddBuffer(n.Label + ".columns", w.ColRows * w.OutPlane, true, Space.Batched);
                    yield return new CallStep(comment + " [im2col + GEMM]", Kernels + "Conv2d.ForwardIm2Col",
                        new[] { Geometry(n), Lit(cout), Lit("batch"), In(x), In(V(n.Inputs[1])), bias, Out(y), Out(col), Lit("_gemm") });
                }
                else
                    yield return new CallStep(comment + " [direct]", Kernels + "Conv2d.ForwardDirect",
                        new[] { Geometry(n), Lit(cout), Lit("batch"), In(x), In(V(n.Inputs[1])), bias, Out(y) });
                break;
            }
            case NodeKind.Pool:
                yield return n.Mean
                    ? new CallStep(comment, Kernels + "Pool2d.AvgForward", new[] { Geometry(n), Lit("batch"), In(x), Out(y) })
                    : new CallStep(comment, Kernels + "Pool2d.MaxForward", new[] { Geometry(n), Lit("batch"), In(x), Out(y), Lit($"relu: {Bool(n.Scalar != 0)}") });
                break;
            case NodeKind.Norm:
            {
                int channels = n.Int(0), plane = n.Int(1);
                var mean = _plan.AddBuffer(n.Label + ".mean", channels, false, Space.Fixed);
                var invStd = _plan.AddBuffer(n.Label + ".inv_std", channels, false, Space.Fixed);
                var runningMean = StateBuffer(n.Int(2));
                var runningVar = StateBuffer(n.Int(3));
                _normSaved[n.Id] = (mean, invStd);
                _normState[n.Id] = (runningMean, runningVar);
                var gamma = V(n.Inputs[1]); var beta = V(n.Inputs[2]);
                var train = new CallStep("training: batch statistics; running statistics updated", Kernels + "BatchNorm.ForwardTrain",
                    new[] { Lit("batch"), Lit(channels), Lit(plane), In(x), In(gamma), In(beta), Out(y), Out(mean), Out(invStd),
                        InOut(runningMean), InOut(runningVar), Lit(Emit.Literals.Float(n.Scalar2)), Lit(Emit.Literals.Float(n.Scalar)) });
                var eval = new CallStep("evaluation: running statistics", Kernels + "BatchNorm.ForwardEval",
                    new[] { Lit("batch"), Lit(channels), Lit(plane), In(x), In(gamma), In(beta), Out(y), In(runningMean), In(runningVar),
                        Lit(Emit.Literals.Float(n.Scalar)) });
                yield return new ModeStep(comment, new Step[] { train }, new Step[] { eval });
                break;
            }
            case NodeKind.Dropout:
            {
                var mask = _masks[n.Id] = _plan.AddBuffer(n.Label + ".mask", n.Shape.Size, true, Space.Batched);
                var train = new CallStep("training: mask from (seed, dropout index, step)", Kernels + "Dropout.Forward",
                    new[] { In(x), Out(y), Out(mask), Lit(Emit.Literals.Float(n.Scalar)), Lit("_seed"), Lit(n.Int(0)), Lit("DropoutStep") });
                yield return new ModeStep(comment, new Step[] { train }, new Step[] { Copy("evaluation: identity", x, y, false) });
                break;
            }
        }
    }

    private IEnumerable<Step> SpatialBackward(NodeSpec n, int slot, Buffer dy, Buffer dx, bool first, string comment)
    {
        switch (n.Kind)
        {
            case NodeKind.Conv:
            {
                int cout = n.Int(WindowSpec.IntCount);
                var w = n.Window;
                bool im2col = _columns.TryGetValue(n.Id, out var col);
                if (slot == 0)
                {
                    if (!DirectData(w))
                    {
                        // One sample's columns: the kernel folds each sample's dcol back before the next.
                        var scratch = _plan.AddBuffer(n.Label + ".dcolumns", w.ColRows * w.OutPlane, false, Space.Fixed);
                        yield return new CallStep(comment, Kernels + "Conv2d.BackwardDataIm2Col",
                            new[] { Geometry(n), Lit(cout), Lit("batch"), In(dy), In(V(n.Inputs[1])), Out(dx, !first), Lit(!first), Out(scratch), Lit("_gemm") });
                    }
                    else
                        yield return new CallStep(comment, Kernels + "Conv2d.BackwardDataDirect",
                            new[] { Geometry(n), Lit(cout), Lit("batch"), In(dy), In(V(n.Inputs[1])), Out(dx, !first), Lit(!first) });
                }
                else if (slot == 1)
                {
                    yield return im2col
                        ? new CallStep(comment, Kernels + "Conv2d.BackwardWeightIm2Col",
                            new[] { Geometry(n), Lit(cout), Lit("batch"), In(V(n.Inputs[0])), In(dy), Out(dx, !first), Lit("default"), Lit(!first), InOut(col!), Lit(true), Lit("_gemm") })
                        : new CallStep(comment, Kernels + "Conv2d.BackwardWeightDirect",
                            new[] { Geometry(n), Lit(cout), Lit("batch"), In(V(n.Inputs[0])), In(dy), Out(dx, !first), Lit("default"), Lit(!first) });
                }
                else
                {
                    // db[c] (+)= Σ over the batch and the plane of dy[b, c, p].
                    int plane = n.Shape.Size / cout;
                    var dims = new[] { new Extent(1, true), new Extent(cout, false), new Extent(plane, false) };
                    yield return new MapStep(comment, dims, new[] { new Operand(dy, 0, new[] { cout * plane, plane, 1 }) }, dx, new[] { 0, 1, 0 }, true,
                        "$0", "$0", first);
                }
                break;
            }
            case NodeKind.Pool:
            {
                var x = V(n.Inputs[0]);
                yield return n.Mean
                    ? new CallStep(comment, Kernels + "Pool2d.AvgBackward", new[] { Geometry(n), Lit("batch"), In(dy), Out(dx, !first), Lit(!first) })
                    : new CallStep(comment, Kernels + "Pool2d.MaxBackward",
                        new[] { Geometry(n), Lit("batch"), In(x), In(V(n.Id)), In(dy), Out(dx, !first), Lit(!first), Lit($"relu: {Bool(n.Scalar != 0)}") });
                break;
            }
            case NodeKind.Dropout:
            {
                var train = new CallStep("training: through the mask", Kernels + "Dropout.Backward", new[] { In(dy), In(_masks[n.Id]), Out(dx, !first), Lit(!first) });
                yield return new ModeStep(comment, new Step[] { train }, new Step[] { Copy("evaluation: identity", dy, dx, !first) });
                break;
            }
        }
    }

    /// <summary>Batch norm's backward writes dx, dgamma and dbeta in one call with one accumulate flag (false): a dx that
    /// already holds a contribution, or that nothing needs, gets scratch (added afterwards when needed).</summary>
    private IEnumerable<Step> NormBackward(NodeSpec n, Buffer dy, Buffer? dx, Buffer dgamma, Buffer dbeta, bool firstX)
    {
        string comment = $"d{Node(n.Inputs[0]).Label}, d{Node(n.Inputs[1]).Label}, d{Node(n.Inputs[2]).Label} from d{n.Label}  [batch_norm]";
        int channels = n.Int(0), plane = n.Int(1);
        bool direct = dx is not null && firstX;
        var target = direct ? dx! : _plan.AddBuffer(n.Label + ".dx", n.Shape.Size, true, Space.Batched);
        var x = V(n.Inputs[0]); var gamma = V(n.Inputs[1]);
        var (mean, invStd) = _normSaved[n.Id];
        var (runningMean, runningVar) = _normState[n.Id];
        var train = new CallStep("training: batch statistics", Kernels + "BatchNorm.BackwardTrain",
            new[] { Lit("batch"), Lit(channels), Lit(plane), In(x), In(gamma), In(mean), In(invStd), In(dy), Out(target), Out(dgamma), Out(dbeta), Lit(false) });
        var eval = new CallStep("evaluation: running statistics are constants", Kernels + "BatchNorm.BackwardEval",
            new[] { Lit("batch"), Lit(channels), Lit(plane), In(x), In(gamma), In(runningMean), In(runningVar), Lit(Emit.Literals.Float(n.Scalar)),
                In(dy), Out(target), Out(dgamma), Out(dbeta), Lit(false) });
        yield return new ModeStep(comment, new Step[] { train }, new Step[] { eval });
        if (dx is not null && !direct) yield return Copy($"d{Node(n.Inputs[0]).Label} += batch norm's input gradient", target, dx, true);
    }
}
