using Geometry = Dl.Kernels.WindowGeometry;

namespace Dl.Generators.Parsing;

// The spatial ops: convolution and pooling (batch norm and dropout: Layers/). Their constant arguments (kernel, stride, padding) are
// read from the call's syntax: ints, tuples (3, 2) and the Pad.Same / Pad.Valid / Pad.Full members; the geometry is
// checked here with the runtime's rule (src/Shared/WindowGeometry.cs), so an impossible combination is DL0013 at the call.
internal sealed partial class GraphBuilder
{
    private const int KConv = (int)OpKind.Conv, KPool = (int)OpKind.Pool;
    internal const int InitZeros = (int)global::Dl.Init.Zeros, InitConstant = (int)global::Dl.Init.Constant;

    /// <summary>Non-trainable state tensors (batch norm running statistics), in the order of the state block.</summary>
    public List<ParameterSpec> States { get; } = new();

    /// <summary>A padding constant: a mode ("same", "full") or explicit cells per side.</summary>
    private sealed record PadValue(string Mode, int Top, int Bottom, int Left, int Right)
    {
        public override string ToString() => Mode.Length > 0 ? Mode : $"({Top}, {Bottom}, {Left}, {Right})";
    }

    /// <summary><c>Pad.Same</c>, <c>Pad.Valid</c>, <c>Pad.Full</c> as constants (null for any other symbol).</summary>
    private static Value? PadMember(ISymbol? symbol)
    {
        if (symbol is not (IPropertySymbol or IFieldSymbol) || !symbol.IsStatic || symbol.ContainingType?.ToDisplayString() != "Dl.Pad") return null;
        return symbol.Name switch
        {
            "Same" => Value.Const(new PadValue("same", 0, 0, 0, 0)),
            "Full" => Value.Const(new PadValue("full", 0, 0, 0, 0)),
            "Valid" => Value.Const(new PadValue("", 0, 0, 0, 0)),
            _ => null,
        };
    }

    /// <summary>A tuple of constants, (3, 2) or (0, 1, 0, 1), as an int array.</summary>
    private Value Tuple(TupleExpressionSyntax tuple, Dictionary<string, Value> scope) =>
        Value.Const(tuple.Arguments.Select(a => System.Convert.ToInt32(Constant(a.Expression, scope, "tuple"))).ToArray());

    private Value ApplySpatial(OpInfo op, ISymbol symbol, Value[] args, ExpressionSyntax at, string[]? names)
    {
        string opName = symbol.Name;
        var location = at.GetLocation();
        object Arg(int i, string what) => i < args.Length && !args[i].IsTensor
            ? args[i].Constant ?? DefaultMarker
            : throw new ModelErrorException(DiagnosticInfo.Create(NonConstantArgument, location, names?[i] ?? what, opName));
        int Int(int i, string what) => Arg(i, what) is var v && v != DefaultMarker ? System.Convert.ToInt32(v) : throw Invalid(at, opName, what + " is required");
        int x = TensorArg(args[0], at);
        var xs = Nodes[x].Shape;
        if (op.Kind is KConv or KPool && !xs.Batched) throw Invalid(at, opName, $"the input must be a batched sample, got {xs}");

        switch (op.Kind)
        {
            case KConv:
            {
                bool one = opName == "Conv1d";
                if (xs.Rank != (one ? 2 : 3))
                    throw Invalid(at, opName, $"expected a sample of shape {(one ? "[C, L]" : "[C, H, W]")}, got {xs}");
                int outChannels = Int(1, "outChannels");
                if (outChannels <= 0) throw Invalid(at, opName, $"outChannels must be positive, got {outChannels}");
                var kernel = one ? (1, Int(2, "kernel")) : Size2(Arg(2, "kernel"), null, "kernel", at, opName);
                string name = LayerName(Arg(3, "name"), at, opName);
                var stride = one ? (1, Arg(4, "stride") is int s ? s : 1) : Size2(Arg(4, "stride"), (1, 1), "stride", at, opName);
                var pad = Padding(Arg(5, "padding"), at, opName);
                // Conv1d: an int pads both ends (Pad's int conversion fills all four sides; the vertical ones are dropped).
                if (one && pad.Mode.Length == 0 && pad.Top == pad.Left && pad.Bottom == pad.Right) pad = pad with { Top = 0, Bottom = 0 };
                if (one && pad.Mode.Length == 0 && (pad.Top != 0 || pad.Bottom != 0))
                    throw Invalid(at, opName, $"a 1-D padding has no top or bottom; use an int, Pad.Same/Valid/Full or (0, 0, left, right), got {pad}");
                bool bias = !(Arg(6, "bias") is false);
                int init = Arg(7, "init") is int i ? i : 0;
                var window = Window(opName, xs.Dims[0], one ? 1 : xs.Dims[1], xs.Dims[xs.Rank - 1], kernel, stride, pad, pooling: false, at);

                string saved = _layer;
                _layer = name;
                int fanIn = window.ColRows, fanOut = outChannels * window.KernelH * window.KernelW;
                int[] weightShape = one ? new[] { outChannels, window.Channels, window.KernelW } : new[] { outChannels, window.Channels, window.KernelH, window.KernelW };
                int w = AddParameter(new ParameterSpec(name + ".weight", weightShape, init, 0, fanIn, fanOut, null), location);
                var inputs = new List<int> { x, w };
                if (bias) inputs.Add(AddParameter(new ParameterSpec(name + ".bias", new[] { outChannels }, InitZeros, 0, fanIn, fanOut, null), location));
                var shape = new ShapeSpec(one ? new[] { outChannels, window.OutW } : new[] { outChannels, window.OutH, window.OutW }, xs.Batched);
                int y = Add(NodeKind.Conv, name, one ? "conv1d" : "conv2d", null, inputs.ToArray(), shape,
                    new ConvAttributes(window, outChannels, one), SavedValues.Input, true, location);
                _layer = saved;
                if (_collectLayers && _layer.Length == 0)
                    Layers.Add(new LayerSpec(name, one ? "Conv1d" : "Conv2d", shape.Dims, (long)outChannels * window.ColRows + (bias ? outChannels : 0)));
                return Value.Of(y);
            }
            case KPool:
            {
                // MaxPool1d/AvgPool1d: a sample [C, L] is a [C, 1, L] plane, pooled by the 2-D kernels with a window of height 1.
                bool one = opName.EndsWith("1d", System.StringComparison.Ordinal);
                if (xs.Rank != (one ? 2 : 3)) throw Invalid(at, opName, $"expected a sample of shape {(one ? "[C, L]" : "[C, H, W]")}, got {xs}");
                bool global = args.Length == 1;
                WindowSpec window;
                if (global) window = new WindowSpec(xs.Dims[0], xs.Dims[1], xs.Dims[2], xs.Dims[1], xs.Dims[2], 1, 1, 0, 0, 0, 0);
                else if (one)
                {
                    int kernel = Int(1, "kernel");
                    int stride = Arg(2, "stride") is int s ? s : kernel;
                    int p = Arg(3, "padding") is int pv ? pv : 0;
                    window = Window(opName, xs.Dims[0], 1, xs.Dims[1], (1, kernel), (1, stride), new PadValue("", 0, 0, p, p), pooling: true, at);
                }
                else
                {
                    var kernel = Size2(Arg(1, "kernel"), null, "kernel", at, opName);
                    var stride = Size2(Arg(2, "stride"), kernel, "stride", at, opName);
                    var pad = Padding(Arg(3, "padding"), at, opName);
                    if (pad.Mode.Length > 0) throw Invalid(at, opName, $"pooling takes explicit padding, got {pad.Mode}");
                    window = Window(opName, xs.Dims[0], xs.Dims[1], xs.Dims[2], kernel, stride, pad, pooling: true, at);
                }
                var shape = new ShapeSpec(global ? new[] { window.Channels } : one ? new[] { window.Channels, window.OutW } : new[] { window.Channels, window.OutH, window.OutW },
                    xs.Batched);
                string name = global ? "global_avg_pool2d" : (op.Mean ? "avg_pool" : "max_pool") + (one ? "1d" : "2d");
                return Value.Of(Add(NodeKind.Pool, "", name, null, new[] { x }, shape, new PoolAttributes(window, op.Mean, Relu: false),
                    op.Mean ? SavedValues.Nothing : SavedValues.Both, true, location));
            }
            default:
                throw new ModelErrorException(DiagnosticInfo.Create(UnknownOp, location, symbol.Name));
        }
    }

    private static readonly object DefaultMarker = new();

    private int AddState(ParameterSpec p, Location? location)
    {
        if (States.Any(q => q.Name == p.Name) || Parameters.Any(q => q.Name == p.Name))
            throw new ModelErrorException(DiagnosticInfo.Create(DuplicateParameter, location, p.Name, type.Name));
        DeclarationChecks.Size(p.Shape, location, "state " + p.Name);
        States.Add(p);
        return States.Count - 1;
    }

    /// <summary>A kernel or stride: an int n (n x n), a tuple (h, w), or the default (null = required).</summary>
    private static (int H, int W) Size2(object value, (int, int)? fallback, string what, ExpressionSyntax at, string op)
    {
        if (value == DefaultMarker)
            return fallback ?? throw Invalid(at, op, what + " is required");
        return value switch
        {
            int n => (n, n),
            int[] { Length: 2 } t => (t[0], t[1]),
            _ => throw Invalid(at, op, $"{what} must be an int or a tuple (height, width)"),
        };
    }

    /// <summary>A padding: an int (every side), (h, w) (symmetric per dimension), (top, bottom, left, right), a Pad member.</summary>
    private static PadValue Padding(object value, ExpressionSyntax at, string op) => value switch
    {
        _ when value == DefaultMarker => new PadValue("", 0, 0, 0, 0),
        PadValue p => p,
        int n => new PadValue("", n, n, n, n),
        int[] { Length: 2 } t => new PadValue("", t[0], t[0], t[1], t[1]),
        int[] { Length: 4 } t => new PadValue("", t[0], t[1], t[2], t[3]),
        _ => throw Invalid(at, op, "padding must be an int, (h, w), (top, bottom, left, right), Pad.Valid, Pad.Same or Pad.Full"),
    };

    /// <summary>Resolves the padding against the kernel and checks the geometry with the runtime's rule
    /// (Dl.Kernels.WindowGeometry, shared): positive kernel and stride, non-negative padding smaller than the kernel
    /// (pooling: at most half of it), a kernel that fits the padded input.</summary>
    private static WindowSpec Window(string op, int channels, int height, int width, (int H, int W) kernel, (int H, int W) stride, PadValue pad,
        bool pooling, ExpressionSyntax at)
    {
        ModelErrorException Bad(string why) => new(DiagnosticInfo.Create(WindowGeometry, at.GetLocation(), op, why));
        var mode = pad.Mode switch { "same" => PadMode.Same, "full" => PadMode.Full, _ => PadMode.Explicit };
        if (Geometry.ModeFitsStride(mode, stride.H, stride.W) is { } modeWhy) throw Bad(modeWhy);
        var (top, bottom, left, right) = Geometry.Resolve(mode, kernel.H, kernel.W, pad.Top, pad.Bottom, pad.Left, pad.Right);
        if (Geometry.Check(channels, height, width, kernel.H, kernel.W, stride.H, stride.W, top, bottom, left, right, pooling) is { } why) throw Bad(why);
        return new WindowSpec(channels, height, width, kernel.H, kernel.W, stride.H, stride.W, top, bottom, left, right);
    }
}
