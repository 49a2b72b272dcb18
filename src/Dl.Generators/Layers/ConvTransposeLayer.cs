using static Dl.Generators.Lowering.CallArg;
using Geometry = Dl.Kernels.WindowGeometry;

namespace Dl.Generators.Layers;

/// <summary><c>ConvTranspose2d(x, outChannels, kernel, name, stride, padding, outputPadding, bias, init)</c>, PyTorch's
/// nn.ConvTranspose2d on a sample [C, H, W]: parameters <c>{name}.weight</c> [C, out, kh, kw] and <c>{name}.bias</c> [out],
/// output [out, (H - 1)·s - 2p + k + output_padding, ...]. The node keeps the geometry of the adjoint convolution (input
/// [out, OutH, OutW], output [C, H, W]) and lowers to the Conv2d kernels with the roles exchanged: forward is its data
/// gradient (Dl.Kernels.ConvTranspose2d adds the bias), dx its forward pass on dy, dW its weight gradient with dy as the
/// input (im2col's columns of dy, made for dx, are reused), db the sum of dy per channel.</summary>
internal sealed class ConvTransposeLayer : LayerDefinition
{
    public override OpKind Op => OpKind.ConvTranspose;
    public override NodeKind Kind => NodeKind.ConvTranspose;

    public override int Build(LayerCall call)
    {
        int x = call.Tensor(0);
        var shape = call.Shape(x);
        if (!shape.Batched) throw call.Invalid($"the input must be a batched sample, got {shape}");
        if (shape.Rank != 3) throw call.Invalid($"expected a sample of shape [C, H, W], got {shape}");
        int outChannels = call.Int(1, "outChannels");
        if (outChannels <= 0) throw call.Invalid($"outChannels must be positive, got {outChannels}");
        var kernel = call.Size2(2, "kernel", null);
        string name = call.Name(3);
        var stride = call.Size2(4, "stride", (1, 1));
        var padding = call.Size2(5, "padding", (0, 0));
        var outputPadding = call.Size2(6, "outputPadding", (0, 0));
        bool bias = call.Constant(7, "bias") is not false;
        int init = call.Constant(8, "init") is int i ? i : 0;
        int c = shape.Dims[0], h = shape.Dims[1], w = shape.Dims[2];
        if (Geometry.CheckTransposed(c, h, w, outChannels, kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W, outputPadding.H, outputPadding.W)
            is { } why)
            throw call.Geometry(why);
        var window = new WindowSpec(outChannels, (int)Geometry.TransposedOutSize(h, kernel.H, stride.H, padding.H, outputPadding.H),
            (int)Geometry.TransposedOutSize(w, kernel.W, stride.W, padding.W, outputPadding.W), kernel.H, kernel.W, stride.H, stride.W,
            padding.H, padding.H, padding.W, padding.W);

        string outer = call.EnterLayer(name);
        int fanIn = c * kernel.H * kernel.W, fanOut = outChannels * kernel.H * kernel.W;
        var inputs = new List<int> { x, call.Parameter(new ParameterSpec(name + ".weight", new[] { c, outChannels, kernel.H, kernel.W }, init, 0, fanIn, fanOut, null)) };
        if (bias) inputs.Add(call.Parameter(new ParameterSpec(name + ".bias", new[] { outChannels }, GraphBuilder.InitZeros, 0, fanIn, fanOut, null)));
        var output = new ShapeSpec(new[] { outChannels, window.Height, window.Width }, true);
        int y = call.AddNode(NodeKind.ConvTranspose, name, "conv_transpose2d", null, inputs.ToArray(), output,
            new ConvTransposeAttributes(window, c), SavedValues.Input, true);
        call.ExitLayer(outer, new LayerSpec(name, "ConvTranspose2d", output.Dims, (long)c * fanOut + (bias ? outChannels : 0)));
        return y;
    }

    public override bool KeepsLabel(NodeSpec n) => true;

    public override IEnumerable<Step> Forward(ILayerLowering lower, NodeSpec n, Buffer y, string comment)
    {
        var a = n.Attr<ConvTransposeAttributes>();
        var g = a.Window;
        var bias = n.Inputs.Count > 2 ? In(lower.Value(n.Inputs[2])) : Lit("default");
        var args = new List<CallArg> { Lit(g.Literal), Lit(a.InChannels), Lit("batch"), In(lower.Value(n.Inputs[0])), In(lower.Value(n.Inputs[1])), bias, Out(y) };
        if (PlanBuilder.DirectData(g))
            yield return new CallStep(comment + " [direct]", Kernels + "ConvTranspose2d.ForwardDirect", args.ToArray());
        else
        {
            // One sample's columns: the kernel folds each sample's columns into y before the next.
            args.Add(Out(lower.Workspace(n, "dcolumns", g.ColRows * g.OutPlane, false)));
            args.Add(Lit("_gemm"));
            yield return new CallStep(comment + " [GEMM + col2im]", Kernels + "ConvTranspose2d.ForwardIm2Col", args.ToArray());
        }
    }

    public override bool WholeBackward => true;

    public override IEnumerable<Step> Backward(ILayerLowering lower, NodeSpec n, Buffer dy, bool[] needs)
    {
        var a = n.Attr<ConvTransposeAttributes>();
        var g = a.Window;
        var geometry = Lit(g.Literal);
        var steps = new List<Step>();
        var x = lower.Value(n.Inputs[0]);
        var weight = lower.Value(n.Inputs[1]);
        bool direct = PlanBuilder.Direct(g);
        Buffer? columns = null;
        if (lower.Gradient(n, 0, needs) is { } dx)
        {
            // dx = conv(dy, W), which overwrites: a later contribution goes through a workspace and is added.
            bool first = lower.FirstWrite(dx);
            var target = first ? dx : lower.Workspace(n, "dinput", dx.PerSample, true);
            string comment = $"d{lower.Node(n.Inputs[0]).Label} = conv2d(d{n.Label}, {n.Label}.weight)  [conv_transpose2d]";
            if (direct)
                steps.Add(new CallStep(comment + " [direct]", Kernels + "Conv2d.ForwardDirect",
                    new[] { geometry, Lit(a.InChannels), Lit("batch"), In(dy), In(weight), Lit("default"), Out(target) }));
            else
            {
                columns = lower.Workspace(n, "columns", g.ColRows * g.OutPlane, true);
                steps.Add(new CallStep(comment + " [im2col + GEMM]", Kernels + "Conv2d.ForwardIm2Col",
                    new[] { geometry, Lit(a.InChannels), Lit("batch"), In(dy), In(weight), Lit("default"), Out(target), Out(columns), Lit("_gemm") }));
            }
            if (!first) steps.Add(Copy($"d{lower.Node(n.Inputs[0]).Label} += its conv_transpose2d contribution", target, dx, true));
        }
        if (lower.Gradient(n, 1, needs) is { } dw)
        {
            bool first = lower.FirstWrite(dw);
            string comment = $"d{n.Label}.weight = Σ x ⋆ d{n.Label}  [conv_transpose2d]";
            if (direct)
                steps.Add(new CallStep(comment, Kernels + "Conv2d.BackwardWeightDirect",
                    new[] { geometry, Lit(a.InChannels), Lit("batch"), In(dy), In(x), Out(dw, !first), Lit("default"), Lit(!first) }));
            else
            {
                bool valid = columns is not null;
                columns ??= lower.Workspace(n, "columns", g.ColRows * g.OutPlane, true);
                steps.Add(new CallStep(comment, Kernels + "Conv2d.BackwardWeightIm2Col",
                    new[] { geometry, Lit(a.InChannels), Lit("batch"), In(dy), In(x), Out(dw, !first), Lit("default"), Lit(!first),
                        valid ? InOut(columns) : Out(columns), Lit(valid), Lit("_gemm") }));
            }
        }
        if (lower.Gradient(n, 2, needs) is { } db)
        {
            // db[c] (+)= Σ over the batch and the plane of dy[b, c, p].
            bool first = lower.FirstWrite(db);
            int channels = g.Channels, plane = g.Height * g.Width;
            var dims = new[] { new Extent(1, true), new Extent(channels, false), new Extent(plane, false) };
            steps.Add(new MapStep($"d{n.Label}.bias = Σ d{n.Label}", dims, new[] { new Operand(dy, 0, new[] { channels * plane, plane, 1 }) }, db,
                new[] { 0, 1, 0 }, true, "$0", "$0", first));
        }
        return steps;
    }
}
