using System.Threading;
using Microsoft.CodeAnalysis.Operations;

namespace Dl.Generators.Parsing;

// The C# interpreter half of the graph builder: statements (locals, assignments, return, for loops unrolled over
// constant bounds), expressions (operators, calls, [Block] inlining, indexers and ranges) and compile-time constants.
// What it evaluates to tensors goes through the graph half (GraphBuilder.cs, GraphBuilder.Ops.cs).
internal sealed partial class GraphBuilder
{
    // ---- methods and statements ---------------------------------------------------------------------------

    /// <summary>Builds the body of a [Forward], [Loss] or [Block] method with its tensor parameters bound to
    /// <paramref name="arguments"/>; returns the node of the returned value.</summary>
    public int BuildMethod(IMethodSymbol method, List<int> arguments)
    {
        _collectLayers = HasAttr(method, "Dl.ForwardAttribute");
        var scope = new Dictionary<string, Value>();
        for (int i = 0; i < method.Parameters.Length; i++) scope[method.Parameters[i].Name] = Value.Of(arguments[i]);
        var result = BuildBody(method, scope);
        _collectLayers = false;
        return result;
    }

    private int BuildBody(IMethodSymbol method, Dictionary<string, Value> scope)
    {
        var syntax = method.DeclaringSyntaxReferences.Select(r => r.GetSyntax(token)).OfType<MethodDeclarationSyntax>().FirstOrDefault()
            ?? throw ModelParser.Error(UnsupportedConstruct, method, method.Name, "the method needs a body in source");
        Value? result;
        if (syntax.ExpressionBody is { } arrow) result = Eval(arrow.Expression, scope);
        else if (syntax.Body is { } body) result = Execute(body.Statements, scope, topLevel: true);
        else throw ModelParser.Error(UnsupportedConstruct, method, method.Name, "the method needs a body in source");
        if (result is null) throw ModelParser.Error(UnsupportedConstruct, method, method.Name, "the method must return a tensor");
        if (!result.Value.IsTensor) throw ModelParser.Error(UnsupportedConstruct, method, method.Name, "the method must return a tensor, not a constant");
        return result.Value.Node;
    }

    /// <summary>Most loop-body copies a model's <c>for</c> loops may unroll to, all loops together (nested ones multiply).
    /// Each copy adds nodes, and each node its forward and backward code: the generated code grows by about 3.7 KB per
    /// iteration of <c>h = h * 0.5f + h0</c>, and its build time with it. Measured in-process (2 shared cores, 2026-12-07):
    /// 128 iterations, the limit, 493 KB generated in 0.2 s and compiled in 4.2 s; 256: 948 KB, 10 to 22 s; 1,024: 3.7 MB,
    /// 13 to 29 s in the generator and 60 to 100 s in the compiler (a long fused chain also hit CS8078). A recurrence over
    /// many steps belongs in Rnn, Lstm or Gru, whose kernel loops over time.</summary>
    internal const int MaxUnroll = 128;

    /// <summary>Most nodes one model may have (unrolled loops and inlined blocks included): a bound on generated code and
    /// build time whatever the source does (a block calling itself twice per level would otherwise double per level).</summary>
    internal const int MaxNodes = 2048;

    private int _unrolled;

    /// <summary>Runs statements in order: local declarations, assignments to locals, <c>for</c> loops over constant
    /// bounds (unrolled; the loop variable is a constant in each copy) and, at the top level only, one final return.</summary>
    private Value? Execute(IEnumerable<StatementSyntax> statements, Dictionary<string, Value> scope, bool topLevel)
    {
        Value? result = null;
        foreach (var statement in statements)
        {
            token.ThrowIfCancellationRequested();
            if (result is not null) throw Unsupported(statement, "nothing may follow the return");
            switch (statement)
            {
                case LocalDeclarationStatementSyntax local:
                    foreach (var v in local.Declaration.Variables)
                    {
                        if (v.Initializer is null) throw Unsupported(v, "a local needs an initializer");
                        var value = Eval(v.Initializer.Value, scope);
                        if (value.IsTensor) Relabel(value.Node, v.Identifier.ValueText);
                        scope[v.Identifier.ValueText] = value;
                    }
                    break;
                case ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax assign }
                    when assign.Left is IdentifierNameSyntax target && scope.ContainsKey(target.Identifier.ValueText):
                    // h = Relu(h); h += x;  a compound assignment applies the operator the compiler bound
                    var assigned = assign.IsKind(SyntaxKind.SimpleAssignmentExpression)
                        ? Eval(assign.Right, scope)
                        : Compound(assign, scope[target.Identifier.ValueText], scope);
                    if (assigned.IsTensor) Relabel(assigned.Node, target.Identifier.ValueText);
                    scope[target.Identifier.ValueText] = assigned;
                    break;
                case ForStatementSyntax loop:
                    Unroll(loop, scope);
                    break;
                case BlockSyntax block:
                    if (Execute(block.Statements, scope, topLevel: false) is not null) throw Unsupported(block, "return only at the end of the method");
                    break;
                case ReturnStatementSyntax ret when topLevel && ret.Expression is not null:
                    result = Eval(ret.Expression, scope);
                    break;
                default:
                    throw Unsupported(statement, "model methods contain local declarations, assignments to locals, for loops over constant bounds and one final return");
            }
        }
        return result;
    }

    /// <summary><c>for (int i = a; i &lt; b; i += c) body</c> with constant a, b, c: the body once per value of i.</summary>
    private void Unroll(ForStatementSyntax loop, Dictionary<string, Value> scope)
    {
        if (loop.Declaration is not { Variables.Count: 1 } declaration || declaration.Variables[0].Initializer is not { } init
            || loop.Condition is not BinaryExpressionSyntax condition || loop.Incrementors.Count != 1)
            throw Unsupported(loop, "a model loop is for (int i = start; i < end; i++) with constant bounds");
        string name = declaration.Variables[0].Identifier.ValueText;
        int start = LoopConstant(init.Value, scope, "the start");
        if (condition.Left is not IdentifierNameSyntax { Identifier.ValueText: var left } || left != name)
            throw Unsupported(condition, $"the condition must compare {name} with a constant");
        int end = LoopConstant(condition.Right, scope, "the bound");
        int step = loop.Incrementors[0] switch
        {
            PostfixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PostIncrementExpression) => 1,
            PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PreIncrementExpression) => 1,
            PostfixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PostDecrementExpression) => -1,
            PrefixUnaryExpressionSyntax p when p.IsKind(SyntaxKind.PreDecrementExpression) => -1,
            AssignmentExpressionSyntax a when a.IsKind(SyntaxKind.AddAssignmentExpression) => LoopConstant(a.Right, scope, "the step"),
            AssignmentExpressionSyntax a when a.IsKind(SyntaxKind.SubtractAssignmentExpression) => -LoopConstant(a.Right, scope, "the step"),
            _ => throw Unsupported(loop.Incrementors[0], "the loop variable steps by a constant (i++, i--, i += c)"),
        };
        System.Func<int, bool> holds = condition.Kind() switch
        {
            SyntaxKind.LessThanExpression => i => i < end,
            SyntaxKind.LessThanOrEqualExpression => i => i <= end,
            SyntaxKind.GreaterThanExpression => i => i > end,
            SyntaxKind.GreaterThanOrEqualExpression => i => i >= end,
            _ => throw Unsupported(condition, "the condition is <, <=, > or >="),
        };
        if (step == 0) throw Invalid(loop, "for", "the step is 0");
        var body = loop.Statement is BlockSyntax b ? (IEnumerable<StatementSyntax>)b.Statements : new[] { loop.Statement };
        int count = 0;
        for (int i = start; holds(i); i += step)
        {
            if (++count + _unrolled > MaxUnroll)
                throw Invalid(loop, "for", $"the model's loops unroll to more than {MaxUnroll} iterations in all, the most the generator unrolls (a recurrence over many steps is Rnn, Lstm or Gru, whose kernel loops)");
            scope[name] = Value.Const(i);
            if (Execute(body, scope, topLevel: false) is not null) throw Unsupported(loop, "return only at the end of the method");
        }
        _unrolled += count;
        scope.Remove(name);
    }

    private int LoopConstant(ExpressionSyntax e, Dictionary<string, Value> scope, string what)
    {
        Value v;
        // A loop is unrolled at compile time (a recurrence over many steps belongs in a recurrent op, whose kernel loops).
        try { v = Eval(e, scope); }
        catch (ModelErrorException error) when (error.Diagnostic.Id is "DL0001" or "DL0004")
        {
            throw new ModelErrorException(DiagnosticInfo.Create(NonConstantArgument, e.GetLocation(), MessageText.Code(e), "for (" + what + " of the loop)"));
        }
        if (v.IsTensor || v.Constant is not int i)
            throw new ModelErrorException(DiagnosticInfo.Create(NonConstantArgument, e.GetLocation(), MessageText.Code(e), "for (" + what + " of the loop)"));
        return i;
    }

    private Value Compound(AssignmentExpressionSyntax assign, Value current, Dictionary<string, Value> scope)
    {
        var right = Eval(assign.Right, scope);
        if (!current.IsTensor && !right.IsTensor) throw Unsupported(assign, "compound assignment of constants");
        return Apply(OperatorSymbol(assign), new[] { current, right }, assign, null);
    }

    private void Relabel(int node, string name)
    {
        var n = Nodes[node];
        if (n.Kind is NodeKind.Input or NodeKind.Target or NodeKind.Param or NodeKind.Constant) return;
        if (n.Kind is NodeKind.Conv or NodeKind.Recurrent or NodeKind.Attention || KeepsLabel(n)) return;   // a named layer keeps its name (the summary row and the graph)
        // The summary row of an op outside a named layer is named after the local (NameLayerRows); a named layer's row
        // (Linear's, whose node is relabeled) keeps the layer's name.
        if (_collectLayers) foreach (var row in _autoRows) if (row.Value == node) _rowLocals[row.Key] = name;
        if (Nodes.Any(m => m.Label == name)) name = name + "_" + node;   // a reassigned local: h, h_7, ...
        Nodes[node] = n with { Label = name };
    }

    // ---- expressions --------------------------------------------------------------------------------------

    private SemanticModel ModelFor(SyntaxNode node)
    {
        if (!_models.TryGetValue(node.SyntaxTree, out var m))
            _models[node.SyntaxTree] = m = semanticModel.Compilation.GetSemanticModel(node.SyntaxTree);
        return m;
    }

    private Value Eval(ExpressionSyntax e, Dictionary<string, Value> scope)
    {
        token.ThrowIfCancellationRequested();
        switch (e)
        {
            case ParenthesizedExpressionSyntax p:
                return Eval(p.Expression, scope);
            case IdentifierNameSyntax id when scope.TryGetValue(id.Identifier.ValueText, out var bound):
                return bound;
            case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Features" or "Size" or "Rank" } member
                when ModelFor(member).GetTypeInfo(member.Expression, token).Type?.ToDisplayString() == "Dl.Tensor":
            {
                // Shape properties of a tensor are compile-time constants (a block sizes its layers from its input).
                var of = Eval(member.Expression, scope);
                if (!of.IsTensor) throw Unsupported(member, "the tensor is not known here");
                var shape = Nodes[of.Node].Shape;
                return Value.Const(member.Name.Identifier.ValueText switch { "Features" => shape.Last, "Size" => shape.Size, _ => shape.Rank });
            }
        }
        var model = ModelFor(e);
        var constant = model.GetConstantValue(e, token);
        if (constant.HasValue) return Value.Const(constant.Value);

        switch (e)
        {
            case IdentifierNameSyntax or MemberAccessExpressionSyntax:
                var symbol = model.GetSymbolInfo(e, token).Symbol;
                if (PadMember(symbol) is { } padConstant) return padConstant;
                if (symbol is IFieldSymbol f && SymbolEqualityComparer.Default.Equals(f.ContainingType, type) && _fieldNodes.TryGetValue(f.Name, out int fn))
                    return Value.Of(fn);
                if (symbol is IFieldSymbol or IPropertySymbol or ILocalSymbol or IParameterSymbol && model.GetTypeInfo(e, token).Type?.ToDisplayString() != "Dl.Tensor")
                    throw new ModelErrorException(DiagnosticInfo.Create(NonConstantArgument, e.GetLocation(), MessageText.Code(e), "model code"));
                throw Unsupported(e, "only locals, inputs, [Param] fields and constants can be read");
            case PrefixUnaryExpressionSyntax u when u.IsKind(SyntaxKind.UnaryMinusExpression):
                var operand = Eval(u.Operand, scope);
                if (!operand.IsTensor) return Value.Const(Negate(operand.Constant, u));
                return Apply(OperatorSymbol(u), new[] { operand }, u, null);
            case PrefixUnaryExpressionSyntax u when u.IsKind(SyntaxKind.UnaryPlusExpression):
                return Eval(u.Operand, scope);
            case BinaryExpressionSyntax b:
                var left = Eval(b.Left, scope);
                var right = Eval(b.Right, scope);
                if (!left.IsTensor && !right.IsTensor) return Value.Const(Fold(b, left.Constant, right.Constant));
                return Apply(OperatorSymbol(b), new[] { left, right }, b, null);
            case InterpolatedStringExpressionSyntax s:
                return Value.Const(string.Concat(s.Contents.Select(c => c switch
                {
                    InterpolatedStringTextSyntax t => t.TextToken.ValueText,
                    InterpolationSyntax i => System.Convert.ToString(Constant(i.Expression, scope, "interpolation"), System.Globalization.CultureInfo.InvariantCulture),
                    _ => "",
                })));
            case InvocationExpressionSyntax call:
                return Invoke(call, scope);
            case ElementAccessExpressionSyntax access:
                return Index(access, scope);
            case TupleExpressionSyntax tuple:
                return Tuple(tuple, scope);
            case ConditionalExpressionSyntax conditional:
                // Only a constant condition: the branch not taken is not built.
                return Constant(conditional.Condition, scope, "?:") is bool take
                    ? Eval(take ? conditional.WhenTrue : conditional.WhenFalse, scope)
                    : throw Unsupported(conditional, "the condition must be a constant bool");
            case PrefixUnaryExpressionSyntax not when not.IsKind(SyntaxKind.LogicalNotExpression):
                return Constant(not.Operand, scope, "!") is bool v ? Value.Const(!v) : throw Unsupported(not, "! applies to a constant bool");
            default:
                throw Unsupported(e, "model code is built from Dl ops, operators, locals and constants");
        }
    }

    private IMethodSymbol OperatorSymbol(ExpressionSyntax e) =>
        ModelFor(e).GetSymbolInfo(e, token).Symbol as IMethodSymbol
        ?? throw Unsupported(e, "the operator does not resolve to a Tensor operator");

    private Value Invoke(InvocationExpressionSyntax call, Dictionary<string, Value> scope)
    {
        var model = ModelFor(call);
        var info = model.GetSymbolInfo(call, token);
        var method = info.Symbol as IMethodSymbol;
        if (method is null && !info.CandidateSymbols.IsEmpty)
            throw Unsupported(call, "the call matches no overload of " + info.CandidateSymbols[0].Name + " (see the compiler's error for the argument types)");
        if (method is null) throw new ModelErrorException(DiagnosticInfo.Create(UnknownOp, call.GetLocation(), MessageText.Code(call.Expression)));

        // A [Block] of the model itself, or a static one of another class in source (the library's Dl.Transformer).
        if (HasAttr(method, "Dl.BlockAttribute") && (method.IsStatic || SymbolEqualityComparer.Default.Equals(method.ContainingType, type)))
            return InlineBlock(method, call, scope);
        if (method.Name == "Prefixed" && method.ContainingType.ToDisplayString() == "Dl.Ops" && call.ArgumentList.Arguments.Count == 2)
        {
            // A layer name under a block's name: "enc" and "norm1" make "enc.norm1" (the tape caches it instead of concatenating).
            var parent = Constant(call.ArgumentList.Arguments[0].Expression, scope, method.Name);
            var child = Constant(call.ArgumentList.Arguments[1].Expression, scope, method.Name);
            return Value.Const(parent + "." + child);
        }
        if (ReadOp(method) is null) throw new ModelErrorException(DiagnosticInfo.Create(UnknownOp, call.GetLocation(), method.Name));

        var operation = model.GetOperation(call, token) as IInvocationOperation
            ?? throw Unsupported(call, "the call could not be bound");
        var args = new Value[method.Parameters.Length];
        foreach (var arg in operation.Arguments)
        {
            int i = arg.Parameter!.Ordinal;
            args[i] = arg.ArgumentKind switch
            {
                ArgumentKind.DefaultValue => Value.Const(arg.Value.ConstantValue.Value),
                ArgumentKind.ParamArray or ArgumentKind.ParamCollection => Value.Const(ParamsArray(arg.Value, scope, method.Name)),
                _ when IsTensorList(arg.Parameter.Type) => Value.Const(TensorList(arg.Value, scope)),
                // An argument whose operation has no syntax of its own (compiler-synthesized) would re-enter this call.
                _ when Unwrap(arg.Value).Syntax == call => throw Unsupported(call, $"argument '{arg.Parameter.Name}' of {method.Name} must be written out"),
                _ => Eval((ExpressionSyntax)Unwrap(arg.Value).Syntax, scope),
            };
        }
        return Apply(method, args, call, method.Parameters.Select(p => p.Name).ToArray());
    }

    /// <summary>A ReadOnlySpan&lt;Tensor&gt; or Tensor[] parameter (the parts of Concat and Stack).</summary>
    private static bool IsTensorList(ITypeSymbol type) =>
        type is IArrayTypeSymbol { ElementType: var e } && e.ToDisplayString() == "Dl.Tensor"
        || type is INamedTypeSymbol { Name: "ReadOnlySpan", TypeArguments.Length: 1 } span && span.TypeArguments[0].ToDisplayString() == "Dl.Tensor";

    /// <summary>The tensors listed in a collection expression <c>[a, b, c]</c> or an array creation <c>new[] { a, b }</c>.</summary>
    private TensorParts TensorList(IOperation value, Dictionary<string, Value> scope)
    {
        var elements = Unwrap(value) switch
        {
            ICollectionExpressionOperation c => c.Elements,
            IArrayCreationOperation { Initializer: { } init } => init.ElementValues,
            _ => throw Unsupported(value.Syntax, "list the tensors where they are passed: [a, b, c]"),
        };
        var nodes = new int[elements.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            if (elements[i] is ISpreadOperation) throw Unsupported(elements[i].Syntax, "list the tensors one by one");
            var v = Eval((ExpressionSyntax)Unwrap(elements[i]).Syntax, scope);
            nodes[i] = v.IsTensor ? v.Node : throw Unsupported(elements[i].Syntax, "a part must be a tensor");
        }
        return new TensorParts(nodes);
    }

    private static IOperation Unwrap(IOperation op) => op is IConversionOperation { IsImplicit: true } c ? Unwrap(c.Operand) : op;

    private int[] ParamsArray(IOperation value, Dictionary<string, Value> scope, string op)
    {
        if (value is IArrayCreationOperation { Initializer: { } init })
            return init.ElementValues.Select(v => System.Convert.ToInt32(Constant((ExpressionSyntax)Unwrap(v).Syntax, scope, op))).ToArray();
        if (Unwrap(value) is ICollectionExpressionOperation collection)   // params ReadOnlySpan<int>
            return collection.Elements.Select(v => System.Convert.ToInt32(Constant((ExpressionSyntax)Unwrap(v).Syntax, scope, op))).ToArray();
        throw Unsupported(value.Syntax, "a params argument must list constants");
    }

    private Value InlineBlock(IMethodSymbol method, InvocationExpressionSyntax call, Dictionary<string, Value> scope)
    {
        if (++_depth > 32) throw Unsupported(call, "blocks nest deeper than 32 (recursion?)");
        DeclarationChecks.Method(method, "[Block]");
        var operation = ModelFor(call).GetOperation(call, token) as IInvocationOperation;
        var inner = new Dictionary<string, Value>();
        foreach (var arg in operation!.Arguments)
            inner[arg.Parameter!.Name] = arg.ArgumentKind == ArgumentKind.DefaultValue
                ? Value.Const(arg.Value.ConstantValue.Value)
                : Eval((ExpressionSyntax)Unwrap(arg.Value).Syntax, scope);
        bool collect = _collectLayers;
        int result;
        try
        {
            result = BuildBody(method, inner);
        }
        catch (ModelErrorException e) when (e.Diagnostic.FilePath.EndsWith(".g.cs", System.StringComparison.Ordinal))
        {
            // A mistake found inside a library block (generated source the user cannot see or edit) is reported at the
            // call, naming the block: heads that do not divide D are the caller's argument.
            var location = call.GetLocation();
            var line = location.GetLineSpan();
            var d = e.Diagnostic;
            var args = d.Args.AsSpan().ToArray();
            if (args.Length > 0) args[0] = $"{method.ContainingType.Name}.{method.Name} ({args[0]})";
            throw new ModelErrorException(d with { FilePath = line.Path ?? "", Span = location.SourceSpan, Lines = line.Span, Args = args });
        }
        _collectLayers = collect;
        _depth--;
        return Value.Of(result);
    }

    private Value Index(ElementAccessExpressionSyntax access, Dictionary<string, Value> scope)
    {
        var target = Eval(access.Expression, scope);
        if (!target.IsTensor || access.ArgumentList.Arguments.Count != 1)
            throw Unsupported(access, "index a tensor with one constant index or range");
        var shape = Nodes[target.Node].Shape;
        if (shape.Rank == 0) throw Invalid(access, "indexer", $"a per-sample scalar {shape} cannot be indexed");
        int dim = shape.Dims[0];
        var arg = access.ArgumentList.Arguments[0].Expression;
        int start, length; bool keep;
        if (arg is RangeExpressionSyntax range)
        {
            start = range.LeftOperand is null ? 0 : IndexValue(range.LeftOperand, scope, dim);
            int end = range.RightOperand is null ? dim : IndexValue(range.RightOperand, scope, dim);
            length = end - start; keep = true;
        }
        else
        {
            start = IndexValue(arg, scope, dim); length = 1; keep = false;
            if (start < 0) start += dim;
        }
        var output = ShapeInference.Slice(shape, 0, start, length, keep, out var error);
        if (error is not null) throw Invalid(access, "indexer", error);
        return Value.Of(Add(NodeKind.Slice, "", "slice", null, new[] { target.Node }, output, new SliceAttributes(0, start, length, keep),
            SavedValues.Nothing, true, access.GetLocation()));
    }

    private int IndexValue(ExpressionSyntax e, Dictionary<string, Value> scope, int dim)
    {
        if (e is PrefixUnaryExpressionSyntax hat && hat.IsKind(SyntaxKind.IndexExpression))
            return dim - System.Convert.ToInt32(Constant(hat.Operand, scope, "indexer"));
        return System.Convert.ToInt32(Constant(e, scope, "indexer"));
    }

    private object Constant(ExpressionSyntax e, Dictionary<string, Value> scope, string op)
    {
        var v = Eval(e, scope);
        if (v.IsTensor || v.Constant is null)
            throw new ModelErrorException(DiagnosticInfo.Create(NonConstantArgument, e.GetLocation(), MessageText.Code(e), op));
        return v.Constant;
    }

    // ---- constants ----------------------------------------------------------------------------------------

    private object Negate(object? c, ExpressionSyntax at) => c switch
    {
        int i => -i,
        float f => -f,
        double d => -d,
        _ => throw Unsupported(at, "only numbers can be negated"),
    };

    private object Fold(BinaryExpressionSyntax b, object? l, object? r)
    {
        // Comparisons and logic over constants (block arguments: stride == 1 ? a : Project(a)).
        switch (b.Kind())
        {
            case SyntaxKind.EqualsExpression: return Equals(l, r) || (IsNumber(l) && IsNumber(r) && System.Convert.ToDouble(l) == System.Convert.ToDouble(r));
            case SyntaxKind.NotEqualsExpression: return !(Equals(l, r) || (IsNumber(l) && IsNumber(r) && System.Convert.ToDouble(l) == System.Convert.ToDouble(r)));
            case SyntaxKind.LessThanExpression: return System.Convert.ToDouble(l) < System.Convert.ToDouble(r);
            case SyntaxKind.LessThanOrEqualExpression: return System.Convert.ToDouble(l) <= System.Convert.ToDouble(r);
            case SyntaxKind.GreaterThanExpression: return System.Convert.ToDouble(l) > System.Convert.ToDouble(r);
            case SyntaxKind.GreaterThanOrEqualExpression: return System.Convert.ToDouble(l) >= System.Convert.ToDouble(r);
            case SyntaxKind.LogicalAndExpression when l is bool la && r is bool ra: return la && ra;
            case SyntaxKind.LogicalOrExpression when l is bool lo && r is bool ro: return lo || ro;
        }
        if (l is string || r is string)
            return b.IsKind(SyntaxKind.AddExpression) ? string.Concat(l, r) : throw Unsupported(b, "only + applies to strings");
        if (l is int li && r is int ri)
            return b.Kind() switch
            {
                SyntaxKind.AddExpression => li + ri,
                SyntaxKind.SubtractExpression => li - ri,
                SyntaxKind.MultiplyExpression => li * ri,
                SyntaxKind.DivideExpression when ri != 0 => li / ri,
                _ => throw Unsupported(b, "unsupported integer operator"),
            };
        double x = System.Convert.ToDouble(l), y = System.Convert.ToDouble(r);
        return (float)(b.Kind() switch
        {
            SyntaxKind.AddExpression => x + y,
            SyntaxKind.SubtractExpression => x - y,
            SyntaxKind.MultiplyExpression => x * y,
            SyntaxKind.DivideExpression => x / y,
            _ => throw Unsupported(b, "unsupported numeric operator"),
        });
    }

    private static bool IsNumber(object? o) => o is int or float or double or long;
}
