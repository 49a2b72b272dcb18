using System.Collections.Immutable;
using Dl.Generators;
using Dl.Generators.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Dl.Tests;

/// <summary>Runs the model generator over source text with CSharpGeneratorDriver against the real Dl.Runtime.</summary>
internal static class GeneratorHarness
{
    /// <summary>The framework and Dl.Runtime.</summary>
    public static readonly ImmutableArray<MetadataReference> References = CreateReferences();

    private static ImmutableArray<MetadataReference> CreateReferences()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Append(typeof(Dl.Tensor).Assembly.Location);
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    }

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create("ModelTests",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Model{i}.cs")),
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: false));

    public static GeneratorDriver Driver() =>
        CSharpGeneratorDriver.Create(new[] { new ModelGenerator().AsSourceGenerator() }, parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Generates, then compiles everything; returns generator diagnostics, the generated model sources (without
    /// the library blocks every run adds, <see cref="IsLibraryBlocks"/>) and the compiler's errors over the combined code.</summary>
    public static (ImmutableArray<Diagnostic> Generator, string[] Sources, Diagnostic[] CompileErrors) Run(params string[] sources) =>
        Run(Compilation(sources));

    /// <summary><see cref="Run(string[])"/> with every warning an error, as a build with -warnaserror sees the code.</summary>
    public static (ImmutableArray<Diagnostic> Generator, string[] Sources, Diagnostic[] CompileErrors) RunWarningsAsErrors(params string[] sources)
    {
        var compilation = Compilation(sources);
        return Run(compilation.WithOptions(compilation.Options.WithGeneralDiagnosticOption(ReportDiagnostic.Error)));
    }

    private static (ImmutableArray<Diagnostic> Generator, string[] Sources, Diagnostic[] CompileErrors) Run(CSharpCompilation compilation)
    {
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var result = driver.GetRunResult();
        var generated = result.GeneratedTrees.Where(t => !IsLibraryBlocks(t)).Select(t => t.ToString()).ToArray();
        // With the generator assembly's suppressor, as a build runs it (a suppressed warning is no error).
        var all = output.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new ParamFieldSuppressor())).GetAllDiagnosticsAsync().GetAwaiter().GetResult();
        var errors = all.Where(d => !d.IsSuppressed && (d.Severity == DiagnosticSeverity.Error || d.IsWarningAsError)).ToArray();
        return (diagnostics, generated, errors);
    }

    /// <summary>What the generator adds to every compilation (post-initialization output): the transformer blocks and
    /// Roslyn's EmbeddedAttribute, which hides them from other assemblies.</summary>
    public static bool IsLibraryBlocks(SyntaxTree tree) =>
        tree.FilePath.EndsWith("Dl.Transformer.g.cs", System.StringComparison.Ordinal)
        || tree.FilePath.EndsWith("Microsoft.CodeAnalysis.EmbeddedAttribute.cs", System.StringComparison.Ordinal);

    public const string Usings = "using Dl;\nusing static Dl.Ops;\n";

    /// <summary>A model source (usings added): the generator's and compiler's diagnostics together, the generated code
    /// joined, and the source as compiled.</summary>
    public static (Diagnostic[] Diagnostics, string Generated, string Source) RunModel(string model)
    {
        string source = Usings + model;
        var (generator, sources, errors) = Run(source);
        return (generator.Concat(errors).ToArray(), string.Join("\n", sources), source);
    }

    /// <summary>Asserts that <paramref name="model"/> yields exactly one diagnostic <paramref name="id"/>; returns it and
    /// the source text it points at.</summary>
    public static Diagnostic SingleDiagnostic(string model, string id, out string text)
    {
        var (diagnostics, _, source) = RunModel(model);
        var found = diagnostics.Where(d => d.Id == id).ToList();
        Assert.True(found.Count == 1, $"expected one {id}, got: {string.Join("; ", diagnostics.Select(d => d.Id + " " + d.GetMessage()))}");
        text = source.Substring(found[0].Location.SourceSpan.Start, found[0].Location.SourceSpan.Length);
        return found[0];
    }
}
