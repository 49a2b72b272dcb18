using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Lowering;

// Convolution and pooling lower to calls of runtime kernels with the node's literal geometry. The
// kernel variant (direct or im2col + GEMM) is picked here per shape; train/evaluation behaviour becomes a ModeStep.
internal sealed partial class PlanBuilder
{
    private const string Kernels = "global::Dl.Kernels.";
    private readonly Dictionary<int, Buffer> _columns = new();

    /// <summary>The convolution kernels for a shape: the shared rule (Dl.Kernels.ConvAlgorithm), which the tape applies too.</summary>
    internal static bool Direct(WindowSpec w) => Dl.Kernels.ConvAlgorithm.Direct(w.StrideH, w.StrideW, w.OutW, w.KernelH, w.KernelW, w.ColRows);

    internal static bool DirectData(WindowSpec w) =>
        Dl.Kernels.ConvAlgorithm.DirectData(w.StrideH, w.StrideW, w.OutW, w.KernelH, w.KernelW, w.ColRows, w.Channels, w.Width);

    private static CallArg Geometry(NodeSpec n) => Lit(Window(n).Literal);

    private static WindowSpec Window(NodeSpec n) => n.Attributes switch
    {
        ConvAttributes conv => conv.Window,
        PoolAttributes pool => pool.Window,
        _ => throw new System.InvalidOperationException($"node {n.Label} ({n.Kind}) has no window"),
    };
    private static string Bool(bool b) => b ? "true" : "false";

    private Buffer StateBuffer(int index)
    {
        int offset = 0;
        for (int i = 0; i < index; i++) offset += _model.States[i].Size;
        var b = _plan.AddBuffer(_model.States[index].Name, _model.States[index].Size, false, Space.State);
        b.Offset = offset;
        return b;
    }

    private IEnumerable<Step> SpatialForward(NodeSpec n, Buffer y, string comment)
    {
        var x = V(n.Inputs[0]);
        switch (n.Kind)
        {
            case NodeKind.Conv:
            {
                var (w, cout, _) = n.Attr<ConvAttributes>();
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
                yield return n.Attr<PoolAttributes>().Mean
                    ? new CallStep(comment, Kernels + "Pool2d.AvgForward", new[] { Geometry(n), Lit("batch"), In(x), Out(y) })
                    : new CallStep(comment, Kernels + "Pool2d.MaxForward", new[] { Geometry(n), Lit("batch"), In(x), Out(y), Lit($"relu: {Bool(n.Attr<PoolAttributes>().Relu)}") });
                break;
        }
    }

    private IEnumerable<Step> SpatialBackward(NodeSpec n, int slot, Buffer dy, Buffer dx, bool first, string comment)
    {
        switch (n.Kind)
        {
            case NodeKind.Conv:
            {
                var (w, cout, _) = n.Attr<ConvAttributes>();
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
                yield return n.Attr<PoolAttributes>().Mean
                    ? new CallStep(comment, Kernels + "Pool2d.AvgBackward", new[] { Geometry(n), Lit("batch"), In(dy), Out(dx, !first), Lit(!first) })
                    : new CallStep(comment, Kernels + "Pool2d.MaxBackward",
                        new[] { Geometry(n), Lit("batch"), In(x), In(V(n.Id)), In(dy), Out(dx, !first), Lit(!first), Lit($"relu: {Bool(n.Attr<PoolAttributes>().Relu)}") });
                break;
            }
        }
    }
}
