using System.Threading;
using Microsoft.CodeAnalysis.Operations;

namespace Dl.Generators.Parsing;

// Calls of [Op] methods: reading the op's attribute and op struct, and adding its nodes (the primitive kinds here; layers
// with a definition through GraphBuilder.Layers.cs, the others through GraphBuilder.Spatial, .Recurrent and .Attention).
internal sealed partial class GraphBuilder
{
    // ---- ops ----------------------------------------------------------------------------------------------

    private static OpInfo? ReadOp(ISymbol symbol)
    {
        var attr = symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "Dl.OpAttribute");
        if (attr is null) return null;
        int kind = (int)attr.ConstructorArguments[0].Value!;
        var impl = attr.ConstructorArguments.Length > 1 ? attr.ConstructorArguments[1].Value as INamedTypeSymbol : null;
        INamedTypeSymbol? labels = null; bool mean = false;
        foreach (var named in attr.NamedArguments)
        {
            if (named.Key == "LabelsImpl") labels = named.Value.Value as INamedTypeSymbol;
            if (named.Key == "Mean") mean = (bool)named.Value.Value!;
        }
        return new OpInfo(kind, impl, labels, mean);
    }

    private static (string Name, SavedValues Saves, bool Differentiable) ReadImpl(INamedTypeSymbol impl)
    {
        var attr = impl.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "Dl.DlOpAttribute");
        if (attr is null) return (impl.Name, SavedValues.Both, true);
        string name = (string)attr.ConstructorArguments[0].Value!;
        var saves = SavedValues.Nothing; bool diff = true;
        foreach (var named in attr.NamedArguments)
        {
            if (named.Key == "Saves") saves = (SavedValues)(int)named.Value.Value!;
            if (named.Key == "Differentiable") diff = (bool)named.Value.Value!;
        }
        return (name, saves, diff);
    }

    private static bool ReadFlag(INamedTypeSymbol impl, string name) =>
        impl.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "Dl.DlOpAttribute")?.NamedArguments
            .Any(n => n.Key == name && n.Value.Value is true) == true;

    /// <summary>The pair rewrite an op struct declares through [DlOp(FuseAfter, FusedWith)], or null.</summary>
    private static FusedSpec? ReadFused(INamedTypeSymbol impl)
    {
        var attr = impl.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == "Dl.DlOpAttribute");
        if (attr is null) return null;
        string? after = null; INamedTypeSymbol? with = null;
        foreach (var named in attr.NamedArguments)
        {
            if (named.Key == "FuseAfter") after = named.Value.Value as string;
            if (named.Key == "FusedWith") with = named.Value.Value as INamedTypeSymbol;
        }
        if (after is null || with is null) return null;
        var (name, saves, _) = ReadImpl(with);
        return new FusedSpec(after, FullName(with), name, saves);
    }

    private static string FullName(INamedTypeSymbol t) => "global::" + t.ToDisplayString();

    private int TensorArg(Value v, ExpressionSyntax at)
    {
        if (v.IsTensor) return v.Node;
        float c = System.Convert.ToSingle(v.Constant, System.Globalization.CultureInfo.InvariantCulture);
        return Add(NodeKind.Constant, "", "const", null, new int[0], ShapeSpec.Scalar(false), new ConstantAttributes(c),
            SavedValues.Nothing, false, at.GetLocation());
    }

    private Value Apply(ISymbol symbol, Value[] args, ExpressionSyntax at, string[]? names)
    {
        var op = ReadOp(symbol) ?? throw new ModelErrorException(DiagnosticInfo.Create(UnknownOp, at.GetLocation(), symbol.Name));
        string opName = MessageText.OpName(symbol);
        if (TryApplyLayer(op.Kind, opName, args, at, names, out var layered)) return layered;
        var location = at.GetLocation();
        int T(int i) => TensorArg(args[i], at);
        int I(int i, string what)
        {
            if (args[i].IsTensor || args[i].Constant is null)
                throw new ModelErrorException(DiagnosticInfo.Create(NonConstantArgument, location, names?[i] ?? what, opName));
            return System.Convert.ToInt32(args[i].Constant);
        }
        ShapeSpec S(int node) => Nodes[node].Shape;
        ShapeSpec Check(ShapeSpec shape, string? error, params int[] operands)
        {
            if (error is null) return shape;
            string first = operands.Length > 0 ? S(operands[0]).ToString() : "";
            string second = operands.Length > 1 ? S(operands[1]).ToString() : "";
            throw operands.Length > 1
                ? new ModelErrorException(DiagnosticInfo.Create(ShapeMismatch, location, opName, first, second, ": " + error))
                : Invalid(at, opName, error + (first.Length > 0 ? $" (input {first})" : ""));
        }

        switch (op.Kind)
        {
            case KUnary:
            {
                var (name, saves, diff) = ReadImpl(op.Impl!);
                int x = T(0);
                float a = args.Length > 1 ? System.Convert.ToSingle(ConstOrThrow(args[1], names?[1] ?? "a", opName, location)) : 0f;
                // A second constant (clamp's max) only for the ops whose surface method takes one.
                float? b = args.Length > 2 ? System.Convert.ToSingle(ConstOrThrow(args[2], names?[2] ?? "b", opName, location)) : null;
                if (ReadFlag(op.Impl!, "ConstantsAreBounds") && LayerRules.Bounds(a, b ?? 0f) is { } why) throw Invalid(at, opName, why);
                return Value.Of(Add(NodeKind.Unary, "", name, FullName(op.Impl!), new[] { x }, S(x), new UnaryAttributes(a, b), saves, diff, location));
            }
            case KBinary:
            {
                var (name, saves, diff) = ReadImpl(op.Impl!);
                int a = T(0), b = T(1);
                var shape = Check(ShapeInference.Broadcast(S(a), S(b), out var error), error, a, b);
                int id = Add(NodeKind.Binary, "", name, FullName(op.Impl!), new[] { a, b }, shape, null, saves, diff, location);
                Nodes[id] = Nodes[id] with { PassesGradientA = ReadFlag(op.Impl!, "PassesGradientA") };
                return Value.Of(id);
            }
            case KMatMul:
            {
                int a = T(0), b = T(1);
                var shape = Check(ShapeInference.MatMul(S(a), S(b), false, out var error), error, a, b);
                return Value.Of(Add(NodeKind.MatMul, "", "matmul", null, new[] { a, b }, shape, new MatMulAttributes(false), SavedValues.Input, true, location));
            }
            case KLinear:
                return Value.Of(Linear(T(0), I(1, "outFeatures"), LayerName(ConstOrThrow(args[2], "name", opName, location), at, opName),
                    args.Length > 3 && System.Convert.ToBoolean(args[3].Constant), args.Length > 4 ? I(4, "init") : 0, at,
                    shared: args.Length > 5 && System.Convert.ToBoolean(args[5].Constant)));
            case KReduce:
            {
                int x = T(0);
                int? axis = args.Length > 1 ? I(1, "axis") : null;
                var shape = Check(ShapeInference.Reduce(S(x), axis, out var error), error, x);
                string? impl = op.Impl is null ? null : FullName(op.Impl);
                string name = op.Impl is not null ? "sum_squares" : op.Mean ? "mean" : "sum";
                return Value.Of(Add(NodeKind.Reduce, "", name, impl, new[] { x }, shape,
                    new ReduceAttributes(axis is null ? -1 : (axis.Value < 0 ? axis.Value + S(x).Rank : axis.Value), op.Mean),
                    impl is null ? SavedValues.Nothing : SavedValues.Input, true, location));
            }
            case KRowWise:
            {
                var (name, saves, diff) = ReadImpl(op.Impl!);
                int x = T(0);
                if (S(x).Rank == 0) throw Invalid(at, opName, "a row-wise op needs at least one per-sample axis");
                return Value.Of(Add(NodeKind.RowWise, "", name, FullName(op.Impl!), new[] { x }, S(x), null, saves, diff, location));
            }
            case KLoss:
            {
                int p = T(0), t = T(1);
                var target = Nodes[t];
                bool labels = target.Kind == NodeKind.Target && _targetClasses > 0;
                var impl = labels ? op.LabelsImpl : op.Impl;
                if (impl is null) throw Invalid(at, opName, labels ? "this loss does not take integer labels" : "this loss needs integer labels");
                var (name, saves, diff) = ReadImpl(impl);
                // The loss kernel runs one row per sample: an operand that is one unbatched value (a parameter, say) is
                // broadcast to every sample first.
                p = BroadcastToBatch(p);
                t = BroadcastToBatch(t);
                var shape = Check(ShapeInference.Loss(S(p), S(t), labels ? _targetClasses : 0, out var error), error, p, t);
                int id = Add(NodeKind.Loss, "", name, FullName(impl), new[] { p, t }, shape, new LossAttributes(labels ? _targetClasses : 0),
                    saves, diff, location);
                Nodes[id] = Nodes[id] with { Fused = ReadFused(impl) };
                return Value.Of(id);
            }
            case KReshape:
            {
                int x = T(0);
                // Flatten(x) is Reshape(x, -1).
                var dims = args.Length == 1 ? new[] { -1 } : args[1].Constant as int[] ?? throw Invalid(at, opName, "the shape must be constant integers");
                var shape = Check(ShapeInference.Reshape(S(x), dims, out var error), error, x);
                return Value.Of(Add(NodeKind.Reshape, "", "reshape", null, new[] { x }, shape, null, SavedValues.Nothing, true, location));
            }
            case KTranspose:
            {
                int x = T(0);
                var shape = Check(ShapeInference.Transpose(S(x), out var error), error, x);
                return Value.Of(Add(NodeKind.Transpose, "", "transpose", null, new[] { x }, shape, null, SavedValues.Nothing, true, location));
            }
            case KSlice:
            {
                int x = T(0);
                if (args.Length == 1)   // Last(x): the final step, axis dropped
                {
                    if (S(x).Rank == 0) throw Invalid(at, opName, $"expected a sequence [T, ...], got {S(x)}");
                    var last = ShapeInference.Slice(S(x), 0, S(x).Dims[0] - 1, 1, false, out _);
                    return Value.Of(Add(NodeKind.Slice, "", "last", null, new[] { x }, last, new SliceAttributes(0, S(x).Dims[0] - 1, 1, false), SavedValues.Nothing, true, location));
                }
                int axis = I(1, "axis"), start = I(2, "start"), length = I(3, "length");
                if (axis < 0) axis += S(x).Rank;
                var shape = Check(ShapeInference.Slice(S(x), axis, start, length, true, out var error), error, x);
                return Value.Of(Add(NodeKind.Slice, "", "slice", null, new[] { x }, shape, new SliceAttributes(axis, start, length, true), SavedValues.Nothing, true, location));
            }
            case KConcat or KStack:
            {
                // Concat(a, b, axis), Concat([a, b, c], axis) or Stack([a, b, c], axis): one node over every part.
                bool stack = op.Kind == KStack;
                int[] parts = args[0].Constant is TensorParts list ? list.Nodes : new[] { T(0), T(1) };
                int axisArg = args[0].Constant is TensorParts ? 1 : 2;
                int axis = args.Length > axisArg ? I(axisArg, "axis") : -1;
                if (parts.Length < (stack ? 1 : 2)) throw Invalid(at, opName, $"needs at least {(stack ? "one part" : "two parts")}, got {parts.Length}");
                if (axis < 0) axis += S(parts[0]).Rank + (stack ? 1 : 0);
                var shape = ShapeInference.Concat(parts.Select(S).ToList(), axis, stack, out var error);
                if (error is not null)
                {
                    if (stack && (axis < 0 || axis > S(parts[0]).Rank)) throw Invalid(at, opName, error);
                    int other = parts.Where(p => S(p) != S(parts[0])).DefaultIfEmpty(parts[parts.Length - 1]).First();
                    Check(shape, error, parts[0], other);
                }
                return Value.Of(Add(NodeKind.Concat, "", stack ? "stack" : "concat", null, parts, shape, new ConcatAttributes(axis, stack),
                    SavedValues.Nothing, true, location));
            }
            case KWhere:
            {
                // torch.where(mask != 0, a, b): a where the mask is nonzero, b elsewhere; the three broadcast together.
                int m = T(0), a = T(1), b = T(2);
                var ab = Check(ShapeInference.Broadcast(S(a), S(b), out var error), error, a, b);
                var shape = ShapeInference.Broadcast(S(m), ab, out error);
                if (error is not null)
                    throw new ModelErrorException(DiagnosticInfo.Create(ShapeMismatch, location, opName, S(m).ToString(), ab.ToString(), ": " + error));
                return Value.Of(Add(NodeKind.Where, "", "where", null, new[] { m, a, b }, shape, null, SavedValues.Input, true, location));
            }
            case KDetach:
            {
                int x = T(0);
                return Value.Of(Add(NodeKind.Detach, "", "detach", null, new[] { x }, S(x), null, SavedValues.Nothing, true, location));
            }
            case KConv or KPool:
                return ApplySpatial(op, symbol, args, at, names);
            case KRecurrent:
                return ApplyRecurrent(opName, args, at, names);
            case KAttention:
                return ApplyTransformer(op.Kind, opName, args, at, names);
            default:
                throw new ModelErrorException(DiagnosticInfo.Create(UnknownOp, location, symbol.Name));
        }
    }

    private int _targetClasses;

    /// <summary>The tensors of a list argument (<c>Concat([a, b, c], axis)</c>), as the parser holds it in a constant.</summary>
    internal sealed class TensorParts(int[] nodes)
    {
        public int[] Nodes { get; } = nodes;
    }

    /// <summary>Records the target's class count so that losses pick their labels implementation.</summary>
    public void SetTargetClasses(int classes) => _targetClasses = classes;

    private static object ConstOrThrow(Value v, string what, string op, Location location) =>
        !v.IsTensor && v.Constant is not null ? v.Constant
        : throw new ModelErrorException(DiagnosticInfo.Create(NonConstantArgument, location, what, op));

    /// <summary>Linear(x, n, name): parameters {name}.weight [n, in] and {name}.bias [n]; x·Wᵀ + b.</summary>
    private int Linear(int x, int outFeatures, string name, bool bias, int init, ExpressionSyntax at, bool shared = false)
    {
        var shape = Nodes[x].Shape;
        var location = at.GetLocation();
        if (outFeatures <= 0) throw Invalid(at, "Linear", $"outFeatures must be positive, got {outFeatures}");
        if ((long)outFeatures * shape.Last > DeclarationChecks.MaxElements)
            throw DeclarationChecks.TooLarge(location, "the weight of Linear", $"{name}.weight [{outFeatures}, {shape.Last}]", (long)outFeatures * shape.Last);
        if (shape.Rank is < 1 or > 2) throw Invalid(at, "Linear", $"the input must be a vector or matrix per sample, got {shape}");
        if (string.IsNullOrEmpty(name)) throw Invalid(at, "Linear", "the layer needs a non-empty name");
        int inFeatures = shape.Last;
        string saved = _layer;
        _layer = name;
        // shared: true reuses the earlier layer's parameter nodes (their gradients add up over the uses, as every
        // parameter used twice); without it a second layer of the same name is DL0008 (AddParameter).
        int w = shared ? SharedParameter(name + ".weight", name, new[] { outFeatures, inFeatures }, at)
            : AddParameter(new ParameterSpec(name + ".weight", new[] { outFeatures, inFeatures }, init, 0, inFeatures, outFeatures, null), location);
        int y = Add(NodeKind.MatMul, name, "linear", null, new[] { x, w },
            ShapeInference.MatMul(shape, Nodes[w].Shape, true, out _), new MatMulAttributes(true), SavedValues.Input, true, location);
        if (bias)
        {
            int b = shared ? SharedParameter(name + ".bias", name, new[] { outFeatures }, at)
                : AddParameter(new ParameterSpec(name + ".bias", new[] { outFeatures }, 1, 0, inFeatures, outFeatures, null), location);
            Nodes[y] = Nodes[y] with { Label = name + ".matmul" };
            y = Add(NodeKind.Binary, name, "add", "global::Dl.AddOp", new[] { y, b }, Nodes[y].Shape, null, SavedValues.Nothing, true, location);
            Nodes[y] = Nodes[y] with { PassesGradientA = true };
        }
        _layer = saved;
        if (_collectLayers && _layer.Length == 0)
            Layers.Add(new LayerSpec(name, shared ? "Linear (shared)" : "Linear", Nodes[y].Shape.Dims,
                shared ? 0 : (long)outFeatures * inFeatures + (bias ? outFeatures : 0)));
        return y;
    }

    /// <summary>The parameter node of an earlier layer that a <c>shared: true</c> call reuses; DL0012 when there is none or
    /// its shape is not the one this call needs (<c>LayerRules.Shared</c>, the tape's rule).</summary>
    private int SharedParameter(string parameter, string layer, int[] needed, ExpressionSyntax at)
    {
        int id = Nodes.FindIndex(n => n.Kind == NodeKind.Param && n.Label == parameter);
        if (LayerRules.Shared(layer, id < 0 ? null : Nodes[id].Shape.Dims.ToArray(), needed) is { } why) throw Invalid(at, "Linear", why);
        return id;
    }
}
