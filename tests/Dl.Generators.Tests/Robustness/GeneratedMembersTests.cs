using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dl.Tests;

/// <summary>DL0014 knows every member name the generated half of a model uses: the members of generated code (plain,
/// chunked training, labels, state, a stub) are all in <see cref="Dl.Generators.Parsing.DeclarationChecks.GeneratedMembers"/>.</summary>
public class GeneratedMembersTests
{
    [Theory]
    [InlineData("[Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 3, \"fc\"); [Loss] Tensor L(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);")]
    [InlineData("[Forward] Tensor F([Shape(1, 8, 8)] Tensor x) => Linear(Flatten(Dropout(BatchNorm(Conv2d(x, 2, 3, \"c\"), \"bn\"), 0.5f)), 3, \"fc\"); [Loss] Tensor L(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);")]
    [InlineData("[Forward] Tensor F([Shape(256)] Tensor x) => Linear(Relu(Linear(x, 256, \"a\")), 10, \"b\"); [Loss] Tensor L(Tensor y, [Labels(10)] Tensor t) => SoftmaxCrossEntropy(y, t);")]
    [InlineData("[Forward] Tensor F([Shape(4)] Tensor x) => Mystery(x);")]
    public void EveryGeneratedMember_IsReserved(string members)
    {
        var (_, sources, _) = GeneratorHarness.Run(GeneratorHarness.Usings + "[Model] partial class M { " + members + " }");
        var names = sources.SelectMany(s => CSharpSyntaxTree.ParseText(s).GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>()
                .Where(c => c.Identifier.Text == "M").SelectMany(c => c.Members))
            .SelectMany(m => m switch
            {
                FieldDeclarationSyntax f => f.Declaration.Variables.Select(v => v.Identifier.Text),
                PropertyDeclarationSyntax p when p.ExplicitInterfaceSpecifier is null => new[] { p.Identifier.Text },
                MethodDeclarationSyntax md when md.ExplicitInterfaceSpecifier is null => new[] { md.Identifier.Text },
                _ => Array.Empty<string>(),
            }).Distinct().ToList();
        Assert.NotEmpty(names);
        Assert.All(names, n => Assert.Contains(n, Dl.Generators.Parsing.DeclarationChecks.GeneratedMembers));
    }
}
