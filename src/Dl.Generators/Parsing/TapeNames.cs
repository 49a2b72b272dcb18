using System.Threading;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace Dl.Generators.Parsing;

/// <summary>
/// Local variable names for the trace. The dynamic tape runs the user's <c>[Forward]</c> and <c>[Loss]</c> methods as
/// C#, so it never sees a local's name; the generator therefore gives the tape a copy of each method (<c>TapeForward</c>,
/// <c>TapeLoss</c>) in which every assignment to a <see cref="Dl.Tensor"/> local or parameter passes its value through
/// <c>Dl.Dynamic.DynamicContext.Named(value, "h")</c>, which names the tape node (<c>DynamicTrace.Find("h")</c>).
/// </summary>
/// <remarks>The copy is the method's syntax with its trivia removed (comments, whitespace and preprocessor directives:
/// the active code only, so an edit of a comment leaves the spec equal) and normalized, in a file of its own that repeats
/// the source file's using directives and nullable context and disables warnings (the user's <c>#pragma</c>s are not
/// copied). A method without such an assignment (an expression body) is not copied: the tape calls it directly.
/// Compound assignments (<c>h += x</c>) and deconstructions are not named.</remarks>
internal static class TapeNames
{
    public static TapeMethod? Copy(IMethodSymbol method, string name, Compilation compilation, CancellationToken token)
    {
        var syntax = method.DeclaringSyntaxReferences.Select(r => r.GetSyntax(token)).OfType<MethodDeclarationSyntax>().FirstOrDefault();
        if (syntax is null || (syntax.Body is null && syntax.ExpressionBody is null)) return null;
        var model = compilation.GetSemanticModel(syntax.SyntaxTree);
        var targets = new Dictionary<ExpressionSyntax, string>();
        foreach (var node in syntax.DescendantNodes())
        {
            switch (node)
            {
                case VariableDeclaratorSyntax { Initializer.Value: { } value } declarator
                    when model.GetDeclaredSymbol(declarator, token) is ILocalSymbol local && IsTensor(local.Type):
                    targets[value] = declarator.Identifier.ValueText;
                    break;
                case AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.SimpleAssignmentExpression, Left: IdentifierNameSyntax left } assignment
                    when model.GetSymbolInfo(left, token).Symbol is ILocalSymbol { Type: var t } && IsTensor(t)
                        || model.GetSymbolInfo(left, token).Symbol is IParameterSymbol { Type: var p } && IsTensor(p):
                    targets[assignment.Right] = left.Identifier.ValueText;
                    break;
            }
        }
        if (targets.Count == 0) return null;

        var rewritten = syntax.ReplaceNodes(targets.Keys, (original, current) =>
            InvocationExpression(ParseExpression("global::Dl.Dynamic.DynamicContext.Named"), ArgumentList(SeparatedList(new[]
            {
                Argument(current.WithoutTrivia()),
                Argument(LiteralExpression(SyntaxKind.StringLiteralExpression, Literal(targets[original]))),
            }))));
        var modifiers = rewritten.Modifiers.Where(m => m.IsKind(SyntaxKind.StaticKeyword) || m.IsKind(SyntaxKind.UnsafeKeyword));
        rewritten = rewritten
            .WithAttributeLists(default)
            .WithModifiers(TokenList(new[] { Token(SyntaxKind.PrivateKeyword) }.Concat(modifiers.Select(m => Token(m.Kind())))))
            .WithExplicitInterfaceSpecifier(null)
            .WithIdentifier(Identifier(name))
            .WithParameterList(rewritten.ParameterList.WithParameters(SeparatedList(rewritten.ParameterList.Parameters.Select(p => p.WithAttributeLists(default)))));
        rewritten = rewritten.ReplaceTrivia(rewritten.DescendantTrivia(descendIntoTrivia: true), (_, _) => ElasticMarker);
        string text = rewritten.WithoutTrivia().NormalizeWhitespace().ToFullString();

        // The using directives in force at the method: the file's, then those of the namespace declarations around it.
        var root = (CompilationUnitSyntax)syntax.SyntaxTree.GetRoot(token);
        var fileUsings = root.Externs.Select(e => e.WithoutTrivia().NormalizeWhitespace().ToFullString())
            .Concat(root.Usings.Where(u => u.GlobalKeyword.IsKind(SyntaxKind.None)).Select(u => u.WithoutTrivia().NormalizeWhitespace().ToFullString()));
        var namespaceUsings = syntax.Ancestors().OfType<BaseNamespaceDeclarationSyntax>().Reverse()
            .SelectMany(n => n.Usings.Select(u => u.WithoutTrivia().NormalizeWhitespace().ToFullString()));
        var context = model.GetNullableContext(syntax.SpanStart);
        string nullable = context.AnnotationsEnabled() && context.WarningsEnabled() ? "enable"
            : context.AnnotationsEnabled() ? "enable annotations" : context.WarningsEnabled() ? "enable warnings" : "disable";
        return new TapeMethod(name, fileUsings.ToArray(), namespaceUsings.ToArray(), nullable, text);
    }

    private static bool IsTensor(ITypeSymbol type) => type.ToDisplayString() is "Dl.Tensor" or "Dl.Tensor?";
}
