using Dl.Generators.Layers;
using Dl.Kernels;

namespace Dl.Generators.Lowering;

/// <summary>Stages 3 to 5: lowers a <see cref="ModelSpec"/> to a <see cref="ProgramPlan"/>. Forward steps come from each
/// node's kind; the backward pass is built in reverse from one vector-Jacobian rule per kind (the op structs supply the
/// element-wise math); then element-wise chains are fused and the buffers planned.</summary>
internal sealed partial class PlanBuilder
{
    private readonly ModelSpec _model;
    private readonly ProgramPlan _plan = new();
    private readonly HashSet<int> _written = new();
    private readonly int[] _paramOffsets;

    private PlanBuilder(ModelSpec model)
    {
        _model = model;
        _paramOffsets = new int[model.Parameters.Count];
        for (int i = 1; i < _paramOffsets.Length; i++) _paramOffsets[i] = _paramOffsets[i - 1] + model.Parameters[i - 1].Size;
    }

    public static ProgramPlan Lower(ModelSpec model)
    {
        var lowering = new PlanBuilder(model);
        lowering.BuildForward();
        // No backward pass for a loss that depends on no parameter (nothing to train; its trace runs on the tape).
        bool trains = GraphReach.Trains(model);
        if (trains) lowering.BuildBackward();
        Fusion.FuseElementwise(lowering._plan, model);
        if (trains) lowering._plan.BackwardSgd = SgdFusion.Build(lowering._plan);
        BufferPlanner.Plan(lowering._plan, model);
        return lowering._plan;
    }

    private NodeSpec Node(int id) => _model.Nodes[id];
    private Buffer V(int id) => _plan.Values[id]!;

    // ---- forward ------------------------------------------------------------------------------------------

    private void BuildForward()
    {
        var nodes = _model.Nodes;
        _plan.Values = new Buffer?[nodes.Count];
        // Nodes that neither the output nor the loss reads (left behind by a pair rewrite) are not computed.
        var live = GraphReach.Live(nodes, _model.OutputNode, _model.LossNode);
        int inputOffset = 0;
        foreach (var n in nodes)
        {
            if (!live[n.Id] && n.Kind is not (NodeKind.Input or NodeKind.Target or NodeKind.Param)) continue;
            switch (n.Kind)
            {
                case NodeKind.Input:
                    var input = _plan.AddBuffer(n.Label, n.Shape.Size, true, Space.Input);
                    input.Offset = inputOffset;
                    inputOffset += n.Shape.Size;
                    _plan.Values[n.Id] = input;
                    continue;
                case NodeKind.Target:
                    bool labels = _model.Target!.IsLabels;
                    _plan.Values[n.Id] = _plan.AddBuffer(n.Label, n.Shape.Size, true, labels ? Space.Batched : Space.Target);
                    if (labels) _plan.LabelsBuffer = _plan.Values[n.Id];
                    continue;
                case NodeKind.Param:
                    var p = _plan.AddBuffer(n.Label, n.Shape.Size, false, Space.Params);
                    p.Offset = _paramOffsets[n.Attr<LeafAttributes>().Index];
                    _plan.Values[n.Id] = p;
                    continue;
                case NodeKind.Constant:
                    continue;
            }
            if (n.Kind is NodeKind.Reshape or NodeKind.Detach && _plan.Values[n.Inputs[0]] is { } same && Node(n.Inputs[0]).Shape.Batched == n.Shape.Batched)
            {
                // A reshape (flatten) is a view: same elements, same order; its value is its input's buffer. (Not a
                // broadcast of an unbatched value to the batch: that one is a copy per sample.) So is a detach, whose
                // backward is nothing.
                _plan.Values[n.Id] = same;
                continue;
            }
            var y = _plan.Values[n.Id] = NewBuffer(n.Label, n.Shape);
            (n.Id <= _model.OutputNode ? _plan.Forward : _plan.Loss).AddRange(ForwardSteps(n, y));
        }
    }

    private Buffer NewBuffer(string name, ShapeSpec shape) =>
        _plan.AddBuffer(name, shape.Size, shape.Batched, shape.Batched ? Space.Batched : Space.Fixed);

    private Operand Operand(int node, int[] strides)
    {
        var n = Node(node);
        return n.Kind == NodeKind.Constant ? new Operand(null, n.Attr<ConstantAttributes>().Value, strides) : new Operand(V(node), 0, strides);
    }

    private IEnumerable<Step> ForwardSteps(NodeSpec n, Buffer y)
    {
        string comment = $"{n.Label} = {n.Op}({string.Join(", ", n.Inputs.Select(i => Node(i).Label))}) {n.Shape}";
        if (LayerRegistry.ForNode(n.Kind) is { } layer)
        {
            foreach (var step in layer.Forward(this, n, y, comment)) yield return step;
            yield break;
        }
        switch (n.Kind)
        {
            case NodeKind.Unary:
            {
                var nest = LoopNest.Build(n.Shape, Node(n.Inputs[0]).Shape);
                var (a, va) = UnaryConstants(n);
                yield return new MapStep(comment, nest.Dims, new[] { Operand(n.Inputs[0], nest.Strides[0]) }, y, nest.Out, false,
                    $"{n.Impl}.Forward<float>($0, {a})", $"{n.Impl}.Forward($0, {va})", false);
                break;
            }
            case NodeKind.Binary:
            {
                var nest = LoopNest.Build(n.Shape, Node(n.Inputs[0]).Shape, Node(n.Inputs[1]).Shape);
                yield return new MapStep(comment, nest.Dims, new[] { Operand(n.Inputs[0], nest.Strides[0]), Operand(n.Inputs[1], nest.Strides[1]) },
                    y, nest.Out, false, $"{n.Impl}.Forward<float>($0, $1)", $"{n.Impl}.Forward($0, $1)", false);
                break;
            }
            case NodeKind.MatMul:
                yield return MatMulStep(comment, n, V(n.Inputs[0]), V(n.Inputs[1]), y, false, 'C');
                break;
            case NodeKind.Reduce:
            {
                var x = Node(n.Inputs[0]);
                var kept = KeepDims(x.Shape, n.Attr<ReduceAttributes>().Axis, n.Shape.Batched);
                var nest = LoopNest.Build(x.Shape, x.Shape, kept);
                int count = x.Shape.Size / System.Math.Max(1, kept.Size);
                string scale = n.Attr<ReduceAttributes>().Mean ? " * " + Literals.Float(1f / count) : "";
                bool square = n.Impl is not null;
                yield return new MapStep(comment, nest.Dims, new[] { Operand(n.Inputs[0], nest.Strides[0]) }, y, nest.Strides[1], true,
                    (square ? "$0 * $0" : "$0") + scale, (square ? "$0 * $0" : "$0") + scale, true);
                break;
            }
            case NodeKind.RowWise:
            {
                int cols = n.Shape.Last;
                var rows = new Extent(n.Shape.Size / cols, n.Shape.Batched);
                yield return new RowCallStep(comment, $"{n.Impl}.Forward<float>($in0, $out0)", rows, new[] { V(n.Inputs[0]) }, new[] { cols },
                    new[] { y }, new[] { cols }, false);
                break;
            }
            case NodeKind.Loss:
            {
                var p = Node(n.Inputs[0]);
                var scratch = _plan.AddBuffer(n.Label + ".scratch", p.Shape.Size, true, Space.Batched);
                _scratch[n.Id] = scratch;
                int targetLength = Node(n.Inputs[1]).Shape.Size;
                yield return new RowCallStep(comment, $"$out0[0] = {n.Impl}.Forward<float>($in0, $in1, $out1)", new Extent(1, true),
                    new[] { V(n.Inputs[0]), V(n.Inputs[1]) }, new[] { p.Shape.Size, targetLength }, new[] { y, scratch }, new[] { 1, p.Shape.Size }, false);
                break;
            }
            case NodeKind.Reshape:
            {
                // An unbatched input of a batched reshape (the broadcast of an output that does not depend on the input)
                // is read with stride 0 across the batch.
                var nest = LoopNest.Build(new ShapeSpec(new[] { n.Shape.Size }, n.Shape.Batched), new ShapeSpec(new[] { n.Shape.Size }, Node(n.Inputs[0]).Shape.Batched));
                yield return new MapStep(comment, nest.Dims, new[] { Operand(n.Inputs[0], nest.Strides[0]) }, y, nest.Out, false, "$0", "$0", false);
                break;
            }
            case NodeKind.Transpose:
            {
                int m = Node(n.Inputs[0]).Shape.Dims[0], cols = Node(n.Inputs[0]).Shape.Dims[1];
                yield return new CopyStep(comment, V(n.Inputs[0]), y, new Extent(1, n.Shape.Batched), m * cols, m * cols, m, cols, m, cols, 0, 0, true, false, false);
                break;
            }
            case NodeKind.Slice:
            {
                var x = Node(n.Inputs[0]).Shape;
                var (axis, start, length, _) = n.Attr<SliceAttributes>();
                var blocks = StructuralGeometry.Slice(Prod(x, 0, axis), x.Dims[axis], Prod(x, axis + 1, x.Rank), start, length);
                yield return Copy(comment, V(n.Inputs[0]), y, x.Batched, blocks, false, false);
                break;
            }
            case NodeKind.Concat:
                for (int part = 0; part < n.Inputs.Count; part++)
                {
                    string which = part == 0 ? "" : part == 1 ? " (second part)" : $" (part {part + 1})";
                    yield return Copy(comment + which, V(n.Inputs[part]), y, n.Shape.Batched, ConcatBlocks(n, part), false, false);
                }
                break;
            case NodeKind.Where:
            {
                // y = mask != 0 ? a : b (a NaN mask selects a, as NaN != 0).
                var nest = LoopNest.Build(n.Shape, Node(n.Inputs[0]).Shape, Node(n.Inputs[1]).Shape, Node(n.Inputs[2]).Shape);
                yield return new MapStep(comment, nest.Dims, new[] { Operand(n.Inputs[0], nest.Strides[0]), Operand(n.Inputs[1], nest.Strides[1]),
                        Operand(n.Inputs[2], nest.Strides[2]) }, y, nest.Out, false,
                    "($0 != 0f ? $1 : $2)", $"{Literals.V256}.ConditionalSelect({Literals.V256}.Equals($0, {Literals.V256F}.Zero), $2, $1)", false);
                break;
            }
            case NodeKind.Detach:   // of a constant (otherwise a view, above)
            {
                var nest = LoopNest.Build(n.Shape, Node(n.Inputs[0]).Shape);
                yield return new MapStep(comment, nest.Dims, new[] { Operand(n.Inputs[0], nest.Strides[0]) }, y, nest.Out, false, "$0", "$0", false);
                break;
            }
            case NodeKind.Conv or NodeKind.Pool:
                foreach (var step in SpatialForward(n, y, comment)) yield return step;
                break;
            case NodeKind.Recurrent:
                foreach (var step in SequenceForward(n, y, comment)) yield return step;
                break;
            case NodeKind.Attention:
                foreach (var step in TransformerForward(n, y, comment)) yield return step;
                break;
        }
    }

    private readonly Dictionary<int, Buffer> _scratch = new();

    /// <summary>A copy step executing the shared geometry of a slice or concat (the tape runs the same blocks).</summary>
    private static CopyStep Copy(string comment, Buffer source, Buffer target, bool batched, BlockCopy c, bool accumulate, bool zeroFirst) =>
        new(comment, source, target, new Extent(c.Groups, batched), c.SourceStride, c.TargetStride, 1, 0, 0, c.Run, c.SourceOffset, c.TargetOffset,
            false, accumulate, zeroFirst);

    /// <summary>The shared geometry of part <paramref name="part"/> of a concat or stack node, from the result's shape.</summary>
    private BlockCopy ConcatBlocks(NodeSpec n, int part)
    {
        var (axis, newAxis) = n.Attr<ConcatAttributes>();
        int Length(int i) => newAxis ? 1 : Node(n.Inputs[i]).Shape.Dims[axis];
        int offset = 0;
        for (int i = 0; i < part; i++) offset += Length(i);
        return StructuralGeometry.ConcatPart(Prod(n.Shape, 0, axis), n.Shape.Dims[axis], offset, Length(part), Prod(n.Shape, axis + 1, n.Shape.Rank));
    }

    private static int Prod(ShapeSpec s, int from, int to)
    {
        int p = 1;
        for (int i = from; i < to; i++) p *= s.Dims[i];
        return p;
    }

    /// <summary>The reduced shape with the reduced axes kept as 1 (so a loop nest broadcasts over them).</summary>
    private static ShapeSpec KeepDims(ShapeSpec x, int axis, bool batched) =>
        new(x.Dims.Select((d, i) => axis < 0 || i == axis ? 1 : d).ToArray(), batched);

    /// <summary>Lowers one matrix product C = A·op(B) of per-sample operands, or one of its two gradients, to the GEMM the
    /// shared MatMulGeometry names: over the whole batch when only A is batched (the batch folds into M), otherwise per sample.</summary>
    private GemmStep MatMulStep(string comment, NodeSpec n, Buffer a, Buffer b, Buffer c, bool accumulate, char which)
    {
        var sa = Node(n.Inputs[0]).Shape;
        var sb = Node(n.Inputs[1]).Shape;
        bool transB = n.Attr<MatMulAttributes>().TransposeB;
        int rows = sa.Rank == 1 ? 1 : sa.Dims[0], k = sa.Last, cols = sb.Rank == 1 ? 1 : transB ? sb.Dims[0] : sb.Dims[1];
        bool folded = !sb.Batched;
        var m = new Extent(rows, sa.Batched && folded);
        var lit = (int v) => new Extent(v, false);
        bool perSample = !folded;
        int strideA = sa.Batched ? rows * k : 0, strideB = sb.Batched ? k * cols : 0, strideC = rows * cols;
        // a holds A (forward, dB) or dC (dA); b holds B (forward, dA) or dC (dB).
        var g = which == 'C' ? MatMulGeometry.Forward(transB) : which == 'A' ? MatMulGeometry.GradA(transB) : MatMulGeometry.GradB(transB);
        Buffer Of(MatMulRole r) => r == MatMulRole.B || (r == MatMulRole.C && which == 'B') ? b : a;
        Extent Dim(MatMulDim d) => d == MatMulDim.Rows ? m : lit(MatMulGeometry.Size(d, rows, k, cols));
        int Stride(MatMulRole r) => r == MatMulRole.A ? strideA : r == MatMulRole.B ? strideB : strideC;
        bool reduces = g.Target == MatMulRole.A ? !sa.Batched : g.Target == MatMulRole.B && !sb.Batched;
        return new GemmStep(comment, Of(g.Left), Of(g.Right), c, Dim(g.M), Dim(g.N), Dim(g.K), g.TransLeft, g.TransRight, accumulate,
            perSample ? new PerSampleStrides(Stride(g.Left), Stride(g.Right), Stride(g.Target), reduces) : null);
    }

    // ---- backward -----------------------------------------------------------------------------------------

    private void BuildBackward()
    {
        var nodes = _model.Nodes;
        var onPath = GraphReach.GradientPath(nodes, _model.LossNode);

        _plan.Gradients = new Buffer?[nodes.Count];
        foreach (var n in nodes)
        {
            if (!onPath[n.Id] || !onPath[n.Id]) continue;
            if (n.Kind == NodeKind.Param)
            {
                var g = _plan.AddBuffer("d" + n.Label, n.Shape.Size, false, Space.Grads);
                g.Offset = _paramOffsets[n.Attr<LeafAttributes>().Index];
                _plan.Gradients[n.Id] = g;
            }
            else _plan.Gradients[n.Id] = _plan.AddBuffer("d" + n.Label, n.Shape.Size, n.Shape.Batched, n.Shape.Batched ? Space.Batched : Space.Fixed);
        }

        var steps = _plan.Backward;
        steps.Clear();
        var lossGrad = _plan.Gradients[_model.LossNode]!;
        steps.Add(new FillStep("seed: dLoss = lossScale per sample (1/batch: the loss is the batch mean)", lossGrad, lossGrad.Batched ? "lossScale" : "1f"));
        _written.Add(lossGrad.Id);

        var uses = new int[nodes.Count];
        foreach (var n in nodes)
            if (onPath[n.Id])
                for (int slot = 0; slot < n.Inputs.Count; slot++)
                    if (GraphReach.CarriesGradient(n, slot)) uses[n.Inputs[slot]]++;

        for (int id = _model.LossNode; id >= 0; id--)
        {
            var n = nodes[id];
            if (!onPath[id] || !onPath[id] || n.Kind is NodeKind.Param or NodeKind.Input or NodeKind.Target or NodeKind.Constant) continue;
            var dy = _plan.Gradients[id]!;
            if (LayerRegistry.ForNode(n.Kind) is { WholeBackward: true } whole)
            {
                steps.AddRange(whole.Backward(this, n, dy, onPath));
                continue;
            }
            if (n.Kind == NodeKind.Recurrent)
            {
                steps.AddRange(RecurrentBackward(n, dy, onPath));
                continue;
            }
            if (n.Kind == NodeKind.Attention)
            {
                steps.AddRange(TransformerBackward(n, dy, onPath));
                continue;
            }
            for (int slot = 0; slot < n.Inputs.Count; slot++)
            {
                int input = n.Inputs[slot];
                if (!onPath[input] || !GraphReach.CarriesGradient(n, slot) || _plan.Gradients[input] is not { } dx) continue;
                bool view = n.Kind == NodeKind.Reshape && nodes[input].Shape.Batched == n.Shape.Batched;
                if (slot == 0 && (n.PassesGradientA && nodes[input].Shape == n.Shape || view) && uses[input] == 1 && dx.Space == dy.Space)
                {
                    // d(a + b)/da = 1 (or a reshape's view) and a has no other use: a's gradient is this node's gradient, no copy.
                    _plan.Gradients[input] = dy;
                    continue;
                }
                // The same node may feed both operands (x * x): each use is its own contribution.
                steps.AddRange(BackwardSteps(n, slot, dy, dx));
            }
        }

        // Parameters that the loss does not reach still get a defined (zero) gradient.
        var untouched = nodes.Where(n => n.Kind == NodeKind.Param && (_plan.Gradients[n.Id] is null)).ToList();
        foreach (var n in untouched)
        {
            var g = _plan.AddBuffer("d" + n.Label, n.Shape.Size, false, Space.Grads);
            g.Offset = _paramOffsets[n.Attr<LeafAttributes>().Index];
            steps.Insert(0, new FillStep($"d{n.Label} = 0 (the loss does not depend on it)", g, "0f"));
        }
    }

    /// <summary>True when this is the first write into <paramref name="dx"/> in backward order (then it assigns).</summary>
    private bool First(Buffer dx) => _written.Add(dx.Id);

    /// <summary>The accumulate flag of a kernel that writes several gradient <paramref name="targets"/> under one flag:
    /// false when every target is written here for the first time; otherwise true, and the targets written first here are
    /// zeroed beforehand (a step added to <paramref name="steps"/>). <paramref name="force"/>: the kernel adds several
    /// contributions into one target, so it must accumulate even into a target written first here.</summary>
    private bool AccumulateFlag(List<Step> steps, Buffer?[] targets, string label, bool force = false)
    {
        var present = targets.Where(t => t is not null).Select(t => t!).Distinct().ToList();
        var firsts = present.Select(First).ToList();
        if (firsts.All(f => f) && !force) return false;
        for (int i = 0; i < present.Count; i++)
            if (firsts[i]) steps.Add(new FillStep($"{present[i].Name} = 0 (accumulated with the other gradients of {label})", present[i], "0f"));
        return true;
    }

    private IEnumerable<Step> BackwardSteps(NodeSpec n, int slot, Buffer dy, Buffer dx)
    {
        var x = Node(n.Inputs[slot]);
        string comment = $"d{x.Label} += d{n.Label} * d{n.Label}/d{x.Label}  [{n.Op}]";
        bool first = First(dx);
        if (LayerRegistry.ForNode(n.Kind) is { } layer)
        {
            foreach (var step in layer.BackwardInput(this, n, slot, dy, dx, first, comment)) yield return step;
            yield break;
        }
        switch (n.Kind)
        {
            case NodeKind.Unary:
            {
                var nest = LoopNest.Build(n.Shape, x.Shape);
                bool useX = n.Saves is SavedValues.Input or SavedValues.Both, useY = n.Saves is SavedValues.Output or SavedValues.Both;
                var ops = new List<Operand> { new(dy, 0, nest.Out) };
                if (useX) ops.Add(Operand(n.Inputs[0], nest.Strides[0]));
                if (useY) ops.Add(new Operand(V(n.Id), 0, nest.Out));
                string sx = useX ? "$1" : "0f", sy = useY ? (useX ? "$2" : "$1") : "0f";
                string vx = useX ? "$1" : Literals.V256F + ".Zero", vy = useY ? (useX ? "$2" : "$1") : Literals.V256F + ".Zero";
                var (a, va) = UnaryConstants(n);
                yield return new MapStep(comment, nest.Dims, ops.ToArray(), dx, nest.Strides[0], !first,
                    $"{n.Impl}.Backward<float>({sx}, {sy}, $0, {a})", $"{n.Impl}.Backward({vx}, {vy}, $0, {va})", false);
                break;
            }
            case NodeKind.Binary:
            {
                var sa = Node(n.Inputs[0]).Shape; var sb = Node(n.Inputs[1]).Shape;
                var nest = LoopNest.Build(n.Shape, sa, sb);
                bool useIn = n.Saves is SavedValues.Input or SavedValues.Both, useY = n.Saves is SavedValues.Output or SavedValues.Both;
                var ops = new List<Operand> { new(dy, 0, nest.Out) };
                string A = "0f", B = "0f", Y = "0f", vA = Literals.V256F + ".Zero", vB = vA, vY = vA;
                if (useIn)
                {
                    ops.Add(Operand(n.Inputs[0], nest.Strides[0])); A = vA = "$1";
                    ops.Add(Operand(n.Inputs[1], nest.Strides[1])); B = vB = "$2";
                }
                if (useY) { ops.Add(new Operand(V(n.Id), 0, nest.Out)); Y = vY = "$" + (ops.Count - 1); }
                string grad = slot == 0 ? "GradA" : "GradB";
                var targetStrides = nest.Strides[slot];
                bool reduces = Reduces(nest, targetStrides);
                yield return new MapStep(comment, nest.Dims, ops.ToArray(), dx, targetStrides, !first || reduces,
                    $"{n.Impl}.{grad}<float>({A}, {B}, {Y}, $0)", $"{n.Impl}.{grad}({vA}, {vB}, {vY}, $0)", first && reduces);
                break;
            }
            case NodeKind.MatMul:
                yield return slot == 0
                    ? MatMulStep(comment, n, dy, V(n.Inputs[1]), dx, !first, 'A')
                    : MatMulStep(comment, n, V(n.Inputs[0]), dy, dx, !first, 'B');
                break;
            case NodeKind.Reduce:
            {
                var kept = KeepDims(x.Shape, n.Attr<ReduceAttributes>().Axis, n.Shape.Batched);
                var nest = LoopNest.Build(x.Shape, x.Shape, kept);
                int count = x.Shape.Size / System.Math.Max(1, kept.Size);
                string scale = n.Attr<ReduceAttributes>().Mean ? " * " + Literals.Float(1f / count) : "";
                bool square = n.Impl is not null;
                var ops = square
                    ? new[] { new Operand(dy, 0, nest.Strides[1]), Operand(n.Inputs[0], nest.Strides[0]) }
                    : new[] { new Operand(dy, 0, nest.Strides[1]) };
                yield return new MapStep(comment, nest.Dims, ops, dx, nest.Strides[0], !first,
                    (square ? "2f * $1 * $0" : "$0") + scale, (square ? "2f * $1 * $0" : "$0") + scale, false);
                break;
            }
            case NodeKind.RowWise:
            {
                int cols = n.Shape.Last;
                yield return new RowCallStep(comment, $"{n.Impl}.Backward<float>($in0, $in1, $in2, $out0)", new Extent(n.Shape.Size / cols, n.Shape.Batched),
                    new[] { V(n.Inputs[0]), V(n.Id), dy }, new[] { cols, cols, cols }, new[] { dx }, new[] { cols }, first);
                break;
            }
            case NodeKind.Loss:
            {
                var p = Node(n.Inputs[0]);
                var t = Node(n.Inputs[1]);
                int targetLength = t.Shape.Size;
                yield return new RowCallStep(comment, $"{n.Impl}.Backward<float>($in0, $in1, $in2, $in3[0], $out0)", new Extent(1, true),
                    new[] { V(n.Inputs[0]), V(n.Inputs[1]), _scratch[n.Id], dy }, new[] { p.Shape.Size, targetLength, p.Shape.Size, 1 },
                    new[] { dx }, new[] { p.Shape.Size }, first);
                break;
            }
            case NodeKind.Reshape:   // the same elements
            {
                // From a batched reshape back to an unbatched input (a broadcast output) the batch's gradients are summed.
                var size = new[] { n.Shape.Size };
                var nest = LoopNest.Build(new ShapeSpec(size, n.Shape.Batched), new ShapeSpec(size, n.Shape.Batched), new ShapeSpec(size, Node(n.Inputs[0]).Shape.Batched));
                bool reduces = Reduces(nest, nest.Strides[1]);
                yield return new MapStep(comment, nest.Dims, new[] { new Operand(dy, 0, nest.Strides[0]) }, dx, nest.Strides[1], !first || reduces, "$0", "$0", first && reduces);
                break;
            }
            case NodeKind.Transpose:
            {
                int m = n.Shape.Dims[0], cols = n.Shape.Dims[1];
                yield return new CopyStep(comment, dy, dx, new Extent(1, n.Shape.Batched), m * cols, m * cols, m, cols, m, cols, 0, 0, true, !first, false);
                break;
            }
            case NodeKind.Slice:
            {
                var (axis, start, length, _) = n.Attr<SliceAttributes>();
                int dim = x.Shape.Dims[axis];
                bool covers = length == dim;
                var blocks = StructuralGeometry.Slice(Prod(x.Shape, 0, axis), dim, Prod(x.Shape, axis + 1, x.Shape.Rank), start, length).Reversed();
                yield return Copy(comment, dy, dx, x.Shape.Batched, blocks, !first || !covers, first && !covers);
                break;
            }
            case NodeKind.Concat:
                yield return Copy(comment, dy, dx, n.Shape.Batched, ConcatBlocks(n, slot).Reversed(), !first, false);
                break;
            case NodeKind.Where:
            {
                // da = mask != 0 ? dy : 0, db = mask != 0 ? 0 : dy; summed over the axes the operand was broadcast along.
                var nest = LoopNest.Build(n.Shape, Node(n.Inputs[0]).Shape, Node(n.Inputs[slot]).Shape);
                var ops = new[] { new Operand(dy, 0, nest.Out), Operand(n.Inputs[0], nest.Strides[0]) };
                bool reduces = Reduces(nest, nest.Strides[1]);
                string zero = Literals.V256F + ".Zero";
                yield return new MapStep(comment, nest.Dims, ops, dx, nest.Strides[1], !first || reduces,
                    slot == 1 ? "($1 != 0f ? $0 : 0f)" : "($1 != 0f ? 0f : $0)",
                    slot == 1 ? $"{Literals.V256}.ConditionalSelect({Literals.V256}.Equals($1, {zero}), {zero}, $0)"
                              : $"{Literals.V256}.ConditionalSelect({Literals.V256}.Equals($1, {zero}), $0, {zero})",
                    first && reduces);
                break;
            }
            case NodeKind.Conv or NodeKind.Pool:
                foreach (var step in SpatialBackward(n, slot, dy, dx, first, comment)) yield return step;
                break;
        }
    }

    /// <summary>A unary op's constant arguments as printed in a scalar and in a Vector256 call: <c>a</c>, or <c>a, b</c>
    /// when the node has a second constant (the others are called without it: their <c>b</c> defaults).</summary>
    private static (string Scalar, string Vector) UnaryConstants(NodeSpec n)
    {
        var (a, b) = n.Attr<UnaryAttributes>();
        string sa = Literals.Float(a), va = $"{Literals.V256}.Create({sa})";
        if (b is not { } second) return (sa, va);
        string sb = Literals.Float(second);
        return ($"{sa}, {sb}", $"{va}, {Literals.V256}.Create({sb})");
    }

    /// <summary>True when a gradient target receives several output elements (broadcast in the forward pass).</summary>
    private static bool Reduces(LoopNest nest, int[] targetStrides)
    {
        for (int d = 0; d < nest.Dims.Length; d++)
            if (targetStrides[d] == 0 && (nest.Dims[d].Batched || nest.Dims[d].Literal > 1)) return true;
        return false;
    }
}
