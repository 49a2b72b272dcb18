using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Dl.Tests;

/// <summary>Every project that uses the generator gets its own internal <c>Dl.Transformer</c>. Two such projects where
/// one has InternalsVisibleTo the other must not see each other's copy (CS0436, an error under -warnaserror): the
/// generator marks it [Embedded].</summary>
public class InternalsVisibleToTests
{
    private const string Model = """
        [Model] public sealed partial class Encoder
        {
            [Forward] Tensor Forward([Shape(4, 8)] Tensor x) => Linear(Mean(Transformer.EncoderLayer(x, heads: 2, feedForward: 16, name: "enc"), 0), 2, "fc");
            [Loss] Tensor Loss(Tensor y, [Labels(2)] Tensor t) => SoftmaxCrossEntropy(y, t);
        }
        """;

    [Fact]
    public void TwoProjectsUsingTransformer_JoinedByInternalsVisibleTo_Compile()
    {
        var a = Build("A", [], """
            [assembly: System.Runtime.CompilerServices.InternalsVisibleTo("B")]
            namespace LibA;
            """ + "\n" + Model);
        using var image = new MemoryStream();
        var emitted = a.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));

        Build("B", [MetadataReference.CreateFromImage(image.ToArray())], """
            namespace LibB;
            public static class UsesA
            {
                public static LibA.Encoder Make() => new(new ModelOptions());
            }
            """ + "\n" + Model);
    }

    /// <summary>Generates and compiles one project with warnings as errors; asserts that nothing is reported.</summary>
    private static CSharpCompilation Build(string name, MetadataReference[] references, string source)
    {
        var compilation = CSharpCompilation.Create(name,
            [CSharpSyntaxTree.ParseText(GeneratorHarness.Usings + source, GeneratorHarness.ParseOptions, path: name + ".cs")],
            GeneratorHarness.References.AddRange(references),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                generalDiagnosticOption: ReportDiagnostic.Error));
        GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generator);
        Assert.Empty(generator);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
        Assert.True(errors.Length == 0, $"{name}:\n{string.Join("\n", errors.Select(e => e.ToString()))}");
        return (CSharpCompilation)output;
    }
}
