using Dl.Kernels;

namespace Dl.Onnx;

/// <summary>Convolution, transposed convolution, pooling and the normalizations over channels (batch norm with its
/// running statistics, group norm). Dropout records no node in evaluation mode, so it exports as the identity.</summary>
internal static class SpatialMappings
{
    public static void Register(Dictionary<string, OnnxMapping> map)
    {
        map["conv2d"] = (g, t) => Conv(g, t, oneD: false);
        map["conv1d"] = (g, t) => Conv(g, t, oneD: true);
        map["max_pool2d"] = (g, t) => Pool(g, t, oneD: false);
        map["avg_pool2d"] = (g, t) => Pool(g, t, oneD: false);
        map["max_pool1d"] = (g, t) => Pool(g, t, oneD: true);
        map["avg_pool1d"] = (g, t) => Pool(g, t, oneD: true);
        map["global_avg_pool2d"] = (g, t) =>
        {
            string scope = g.Scope(t);
            string pooled = g.Node("GlobalAveragePool", scope, [g.Value(t.In0!)]);
            g.Bind(t, g.Node("Reshape", scope, [pooled, g.Ints("shape", [0, t.ShapeArray[0]])]));
        };
        map["conv_transpose2d"] = ConvTranspose;
        map["batch_norm"] = BatchNorm;
        map["group_norm"] = GroupNorm;
        map["dropout"] = (g, t) => throw new NotSupportedException(
            $"ONNX export of {g.ModelName}: a training-mode dropout (node %{t.Id}) was recorded; export runs in evaluation mode, where dropout is the identity.");
    }

    private static List<global::Onnx.AttributeProto> Window(Window2d w, bool oneD) => oneD
        ? [Attr.Ints("kernel_shape", w.KernelW), Attr.Ints("strides", w.StrideW), Attr.Ints("pads", w.PadLeft, w.PadRight)]
        : [Attr.Ints("kernel_shape", w.KernelH, w.KernelW), Attr.Ints("strides", w.StrideH, w.StrideW),
           Attr.Ints("pads", w.PadTop, w.PadLeft, w.PadBottom, w.PadRight)];

    // y = W ⋆ x + b (cross-correlation), W [out, C, kh, kw] (or [out, C, k]): ONNX Conv, one group.
    private static void Conv(OnnxGraph g, Tensor t, bool oneD)
    {
        Tensor x = t.In0!, w = t.In1!;
        string[] inputs = t.In2 is { } b ? [g.Value(x), g.Value(w), g.Value(b)] : [g.Value(x), g.Value(w)];
        g.Bind(t, g.Node("Conv", g.Scope(t), inputs, attributes: [.. Window(t.Window, oneD), Attr.Int("group", 1)]));
    }

    // Max pooling pads with −∞; average pooling divides by the whole window, padding included (count_include_pad = 1).
    private static void Pool(OnnxGraph g, Tensor t, bool oneD)
    {
        bool average = t.Flag0;
        var attributes = Window(t.Window, oneD);
        if (average) attributes.Add(Attr.Int("count_include_pad", 1));
        g.Bind(t, g.Node(average ? "AveragePool" : "MaxPool", g.Scope(t), [g.Value(t.In0!)], attributes: [.. attributes]));
    }

    // The window is the adjoint convolution's (output [out, H, W], symmetric padding); output_padding recovers the
    // extra bottom and right cells.
    private static void ConvTranspose(OnnxGraph g, Tensor t)
    {
        Tensor x = t.In0!, w = t.In1!;
        Window2d a = t.Window;
        long extraH = a.Height - ((long)(x.ShapeArray[1] - 1) * a.StrideH - 2L * a.PadTop + a.KernelH);
        long extraW = a.Width - ((long)(x.ShapeArray[2] - 1) * a.StrideW - 2L * a.PadLeft + a.KernelW);
        string[] inputs = t.In2 is { } b ? [g.Value(x), g.Value(w), g.Value(b)] : [g.Value(x), g.Value(w)];
        g.Bind(t, g.Node("ConvTranspose", g.Scope(t), inputs, attributes:
        [
            Attr.Ints("kernel_shape", a.KernelH, a.KernelW), Attr.Ints("strides", a.StrideH, a.StrideW),
            Attr.Ints("pads", a.PadTop, a.PadLeft, a.PadBottom, a.PadRight), Attr.Ints("output_padding", extraH, extraW),
        ]));
    }

    // Evaluation mode: y = (x − running_mean)/√(running_var + ε)·γ + β, the statistics as initializers named like
    // PyTorch's buffers ({layer}.running_mean, {layer}.running_var).
    private static void BatchNorm(OnnxGraph g, Tensor t)
    {
        if (t.Flag0)
            throw new NotSupportedException($"ONNX export of {g.ModelName}: batch norm node %{t.Id} ran on batch statistics (training mode).");
        Tensor gamma = t.In1!, beta = t.In2!;
        string layer = g.Scope(t);
        int channels = t.Arg0;
        string mean = layer + ".running_mean", variance = layer + ".running_var";
        g.AddInitializer(mean, [channels], ((float[])t.Aux0!).AsSpan(0, channels));
        g.AddInitializer(variance, [channels], ((float[])t.Aux1!).AsSpan(0, channels));
        g.Bind(t, g.Node("BatchNormalization", layer, [g.Value(t.In0!), g.Value(gamma), g.Value(beta), mean, variance],
            attributes: [Attr.Float("epsilon", t.ScalarA)]));
    }

    // GroupNormalization is opset 18 (and changed at 21), so at 17 it is written out: per sample and group of channels,
    // (x − μ)/√(σ² + ε), then γ and β per channel.
    private static void GroupNorm(OnnxGraph g, Tensor t)
    {
        Tensor x = t.In0!;
        string scope = g.Scope(t);
        int groups = t.Arg0, channels = x.ShapeArray[0];
        string grouped = g.Node("Reshape", scope, [g.Value(x), g.Ints("shape", [0, groups, -1])]);
        string mean = g.Node("ReduceMean", scope, [grouped], attributes: [Attr.Ints("axes", 2), Attr.Int("keepdims", 1)]);
        string centered = g.Node("Sub", scope, [grouped, mean]);
        string variance = g.Node("ReduceMean", scope, [g.Node("Mul", scope, [centered, centered])], attributes: [Attr.Ints("axes", 2), Attr.Int("keepdims", 1)]);
        string std = g.Node("Sqrt", scope, [g.Node("Add", scope, [variance, g.Floats("eps", [], [t.ScalarA])])]);
        string normalized = g.Node("Div", scope, [centered, std]);
        long[] shape = [0, .. x.ShapeArray.Select(d => (long)d)];
        string back = g.Node("Reshape", scope, [normalized, g.Ints("shape", shape)]);
        long[] perChannel = [channels, .. Enumerable.Repeat(1L, x.Rank - 1)];
        string gamma = g.Node("Reshape", scope, [g.Value(t.In1!), g.Ints("shape", perChannel)]);
        string beta = g.Node("Reshape", scope, [g.Value(t.In2!), g.Ints("shape", perChannel)]);
        g.Bind(t, g.Node("Add", scope, [g.Node("Mul", scope, [back, gamma]), beta]));
    }
}
