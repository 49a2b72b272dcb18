using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Dl.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Dl.Tests;

/// <summary>Model sources generated (optionally with checked kernels), compiled in memory and loaded into a collectible
/// load context, so that tests can run a model's generated code as a build would produce it. Dl.Runtime resolves to
/// the test's own copy, so the loaded models implement the same IModel the tests call.</summary>
internal static class ModelAssemblies
{
    /// <summary>Analyzer options as MSBuild passes them: <c>build_property.*</c> global options.</summary>
    private sealed class BuildProperties(Dictionary<string, string> values) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Options(values);
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

        private sealed class Options(Dictionary<string, string> values) : AnalyzerConfigOptions
        {
            public static readonly Options Empty = new(new Dictionary<string, string>());
            public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
        }
    }

    /// <summary>Runs the generator over <paramref name="sources"/> with <c>DlCheckedKernels</c> set as given; returns the
    /// generated model sources and the compilation with them (errors asserted absent by <see cref="Load"/>).</summary>
    public static (CSharpCompilation Compilation, string[] Generated) Generate(bool checkedKernels, params string[] sources)
    {
        var options = new BuildProperties(new() { ["build_property.DlCheckedKernels"] = checkedKernels ? "true" : "false" });
        var driver = CSharpGeneratorDriver.Create(new[] { new ModelGenerator().AsSourceGenerator() }, parseOptions: GeneratorHarness.ParseOptions,
            optionsProvider: options);
        driver.RunGeneratorsAndUpdateCompilation(Compile(sources), out var output, out var diagnostics);
        Assert.Empty(diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
        var generated = output.SyntaxTrees.Skip(sources.Length).Where(t => !GeneratorHarness.IsLibraryBlocks(t)).Select(t => t.ToString()).ToArray();
        return ((CSharpCompilation)output, generated);
    }

    /// <summary>An optimized library compilation of <paramref name="sources"/> against the framework and Dl.Runtime.</summary>
    public static CSharpCompilation Compile(params string[] sources) =>
        CSharpCompilation.Create("Models" + Guid.NewGuid().ToString("N"),
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, GeneratorHarness.ParseOptions, path: $"Model{i}.cs")),
            GeneratorHarness.References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release,
                nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>Emits <paramref name="compilation"/> and loads it into a new collectible context.</summary>
    public static Assembly Load(Compilation compilation, out AssemblyLoadContext context)
    {
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(10)));
        image.Position = 0;
        context = new AssemblyLoadContext("models", isCollectible: true);
        return context.LoadFromStream(image);
    }

    /// <summary>The [Model] classes of an assembly.</summary>
    public static IEnumerable<Type> Models(Assembly assembly) =>
        assembly.GetTypes().Where(t => typeof(Dl.IModel).IsAssignableFrom(t) && t.GetCustomAttribute<Dl.ModelAttribute>() is not null);

    public static Dl.IModel Create(Type model, Dl.ModelOptions options) => (Dl.IModel)Activator.CreateInstance(model, options)!;
}
