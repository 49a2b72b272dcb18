using System.Threading;

namespace Dl.Generators.Parsing;

/// <summary>Stage 1: a [Model] class symbol becomes a <see cref="ModelSpec"/>. Runs once per edit of the class's
/// syntax tree (ForAttributeWithMetadataName). Symbols and syntax do not leave this stage. Never throws:
/// user errors and internal failures come back as diagnostics.</summary>
internal static class ModelParser
{
    public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken token)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        if (context.TargetNode is not ClassDeclarationSyntax syntax)
        {
            var node = (TypeDeclarationSyntax)context.TargetNode;
            return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedConstruct, node.Identifier.GetLocation(), type.Name,
                "[Model] applies to a partial class, not a struct or record"), null);
        }
        // [Model] on two partial declarations of one class: the class is parsed once, at the first (a second output with
        // the same hint name would fail the whole generator, CS8785); the compiler reports the duplicate attribute.
        if (!IsFirstModelDeclaration(type, syntax, token)) return new ParseResult(null, null, EquatableArray<DiagnosticInfo>.Empty);
        // From here on a failure comes with a stub of the class, once the class can be extended (partial, in partial types).
        ModelShell? shell = null;
        try
        {
            if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
                return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.ModelNotPartial, syntax.Identifier.GetLocation(), type.Name), null);
            // Abstract, static or file-local: the generated half (and a stub) could not complete the class.
            if (DeclarationChecks.Class(type, syntax) is { } unsupported) return Fail(unsupported, null);
            var containers = new List<string>();
            for (var outer = syntax.Parent as TypeDeclarationSyntax; outer is not null; outer = outer.Parent as TypeDeclarationSyntax)
            {
                if (!outer.Modifiers.Any(SyntaxKind.PartialKeyword))
                    return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.ModelNotPartial, outer.Identifier.GetLocation(), outer.Identifier.Text + " (it contains the model " + type.Name + ")"), null);
                string keyword = outer is RecordDeclarationSyntax r ? "record " + (r.ClassOrStructKeyword.Text is { Length: > 0 } k ? k : "") : outer.Keyword.Text;
                containers.Insert(0, $"partial {keyword} {outer.Identifier.Text}{outer.TypeParameterList}".Replace("  ", " "));
            }
            // A member named like a generated one (DL0014) would clash with the stub's members too: no stub.
            DeclarationChecks.Members(type);
            shell = Shell(type, syntax, containers);

            if (type.IsGenericType)
                return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedConstruct, syntax.Identifier.GetLocation(), type.Name,
                    "a model class cannot be generic: every shape is fixed at build time"), shell);

            var builder = new GraphBuilder(context.SemanticModel, type, token);
            builder.CollectFieldParameters();

            var methods = type.GetMembers().OfType<IMethodSymbol>().ToArray();
            var forward = methods.FirstOrDefault(m => HasAttribute(m, "Dl.ForwardAttribute"));
            if (forward is null)
                return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.MissingForward, syntax.Identifier.GetLocation(), type.Name), shell);
            var loss = methods.FirstOrDefault(m => HasAttribute(m, "Dl.LossAttribute"));
            DeclarationChecks.Method(forward, "[Forward]");
            if (loss is not null) DeclarationChecks.Method(loss, "[Loss]");

            var inputs = new List<InputSpec>();
            var inputNodes = new List<int>();
            foreach (var p in forward.Parameters)
            {
                var input = ReadInput(p, type.Name);
                inputNodes.Add(builder.AddInput(input, inputs.Count, isTarget: false));
                inputs.Add(input);
            }
            token.ThrowIfCancellationRequested();
            int output = builder.BroadcastToBatch(builder.BuildMethod(forward, inputNodes));
            builder.NameLayerRows();

            InputSpec? target = null;
            int lossNode = -1;
            if (loss is not null)
            {
                if (loss.Parameters.Length != 2)
                    throw Error(DiagnosticDescriptors.InvalidLoss, loss, type.Name, "the [Loss] method must take (output, target)");
                target = ReadInput(loss.Parameters[1], type.Name);
                builder.SetTargetClasses(target.Classes);
                int targetNode = builder.AddInput(target, 0, isTarget: true);
                lossNode = builder.BuildMethod(loss, new List<int> { output, targetNode });
                var lossShape = builder.Nodes[lossNode].Shape;
                if (lossShape.Rank != 0)
                    throw Error(DiagnosticDescriptors.InvalidLoss, loss, type.Name, $"the loss must be a scalar per sample, not {lossShape}");
                token.ThrowIfCancellationRequested();
                builder.CheckDifferentiable(lossNode, type.Name);
                // A loss that depends on no parameter is allowed (the course notes' f(x, y, z) = (x + y) z, traced and
                // differentiated with respect to its inputs): the model then has Loss and Trace but no training methods.
            }

            DeclarationChecks.Totals(type.Name, builder.Parameters, builder.States, syntax.Identifier.GetLocation());
            string modifiers = string.Join(" ", syntax.Modifiers.Select(m => m.Text));
            // Names printed as identifiers are escaped (@class, @if); the spec holds them as C# spells them.
            var spec = new ModelSpec(
                DeclarationChecks.Namespace(type.ContainingNamespace),
                DeclarationChecks.Identifier(type.Name), modifiers, DeclarationChecks.Identifier(forward.Name),
                loss is null ? null : DeclarationChecks.Identifier(loss.Name),
                inputs.ToArray(), target, builder.Parameters.ToArray(), builder.Nodes.ToArray(), output, lossNode,
                builder.Layers.ToArray())
            {
                Containers = containers.ToArray(), States = builder.States.ToArray(),
                TapeMethods = new[] { TapeNames.Copy(forward, "TapeForward", context.SemanticModel.Compilation, token),
                    loss is null ? null : TapeNames.Copy(loss, "TapeLoss", context.SemanticModel.Compilation, token) }.OfType<TapeMethod>().ToArray(),
            };
            return new ParseResult(spec, null, EquatableArray<DiagnosticInfo>.Empty);
        }
        catch (ModelErrorException e)
        {
            return Fail(e.Diagnostic, shell);
        }
        catch (System.OperationCanceledException)
        {
            throw;
        }
        catch (System.Exception e)
        {
            return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, syntax.Identifier.GetLocation(), type.Name,
                e.GetType().Name + ": " + e.Message), shell);
        }
    }

    private static ParseResult Fail(DiagnosticInfo d, ModelShell? shell) => new(null, shell, new[] { d });

    /// <summary>Whether <paramref name="syntax"/> is the first declaration of <paramref name="type"/> that carries [Model].</summary>
    private static bool IsFirstModelDeclaration(INamedTypeSymbol type, TypeDeclarationSyntax syntax, CancellationToken token)
    {
        var first = type.GetAttributes().Where(a => a.AttributeClass?.ToDisplayString() == "Dl.ModelAttribute")
            .Select(a => a.ApplicationSyntaxReference).Where(r => r is not null)
            .OrderBy(r => r!.SyntaxTree.FilePath, System.StringComparer.Ordinal).ThenBy(r => r!.Span.Start).FirstOrDefault();
        return first is null || (first.SyntaxTree == syntax.SyntaxTree && syntax.Span.Contains(first.Span));
    }

    /// <summary>The stub's shell: read from the declaration and attributes alone, so that it exists whatever the error.</summary>
    private static ModelShell Shell(INamedTypeSymbol type, ClassDeclarationSyntax syntax, List<string> containers)
    {
        var fields = type.GetMembers().OfType<IFieldSymbol>()
            .Where(f => !f.IsStatic && !f.IsConst && !f.IsReadOnly && HasAttribute(f, "Dl.ParamAttribute"))
            .Select(f => DeclarationChecks.Identifier(f.Name)).ToArray();
        var loss = type.GetMembers().OfType<IMethodSymbol>().FirstOrDefault(m => HasAttribute(m, "Dl.LossAttribute"));
        var target = loss is { Parameters.Length: 2 } ? loss.Parameters[1] : null;
        string[] targets = loss is null ? new string[0]
            : target is not null && HasAttribute(target, "Dl.LabelsAttribute") ? new[] { "int" }
            : target is not null && HasAttribute(target, "Dl.ShapeAttribute") ? new[] { "float" }
            : new[] { "float", "int" };
        var forward = type.GetMembers().OfType<IMethodSymbol>().FirstOrDefault(m => HasAttribute(m, "Dl.ForwardAttribute"));
        return new ModelShell(DeclarationChecks.Namespace(type.ContainingNamespace), DeclarationChecks.Identifier(type.Name), syntax.TypeParameterList?.ToString() ?? "", containers.ToArray(), fields, targets)
        {
            InputNames = forward is null ? new string[0] : forward.Parameters.Select(p => p.Name).ToArray(),
            TargetName = target?.Name,
        };
    }

    internal static bool HasAttribute(ISymbol symbol, string fullName) =>
        symbol.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == fullName);

    internal static ModelErrorException Error(DiagnosticDescriptor d, ISymbol at, params string[] args) =>
        new(DiagnosticInfo.Create(d, at.Locations.FirstOrDefault(), args));

    private static InputSpec ReadInput(IParameterSymbol p, string model)
    {
        // [Shape(...)] alone: a real tensor; [Labels(n)] alone: one class index per sample; both: a class index per
        // element of the shape (a language model's next tokens, [Labels(65), Shape(35)]).
        int[]? dims = null;
        int classes = 0;
        foreach (var a in p.GetAttributes())
        {
            switch (a.AttributeClass?.ToDisplayString())
            {
                case "Dl.ShapeAttribute":
                    dims = DeclarationChecks.Dims(a) ?? throw Error(DiagnosticDescriptors.InvalidArgument, p, "[Shape]", "the dimensions must be constant integers");
                    if (dims.Any(d => d <= 0))
                        throw Error(DiagnosticDescriptors.InvalidArgument, p, "[Shape]", $"dimensions must be positive, got [{string.Join(", ", dims)}]");
                    DeclarationChecks.Size(dims, p.Locations.FirstOrDefault(), "input " + p.Name);
                    break;
                case "Dl.LabelsAttribute":
                    classes = a.ConstructorArguments.Length == 1 && a.ConstructorArguments[0].Value is int n ? n
                        : throw Error(DiagnosticDescriptors.InvalidArgument, p, "[Labels]", "the class count must be a constant integer");
                    if (classes < 2)
                        throw Error(DiagnosticDescriptors.InvalidArgument, p, "[Labels]", $"a label needs at least 2 classes, got {classes}");
                    break;
            }
        }
        if (dims is null && classes == 0) throw Error(DiagnosticDescriptors.MissingShape, p, p.Name);
        return new InputSpec(p.Name, dims ?? new int[0], classes);
    }
}
