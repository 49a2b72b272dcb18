using System.Threading;

namespace Dl.Generators;

/// <summary>The Dl model generator: [Model] partial classes become specialized forward, backward and training code.
/// Pipeline: Parse (per model class; symbols end here) → Spec (equatable, cached) → Lower and Emit (per changed spec).
/// Diagnostics travel apart from the cached spec. A model that fails still gets a stub of its public surface
/// (<see cref="StubEmitter"/>), so that the build reports the DL diagnostic and not errors at every use of the model.</summary>
[Generator(LanguageNames.CSharp)]
public sealed class ModelGenerator : IIncrementalGenerator
{
    private static readonly string Version = typeof(ModelGenerator).Assembly.GetName().Version?.ToString() ?? "1.0.0";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Library blocks written as model code (the transformer layers): added to the compilation, inlined like a model's own.
        // Every project that uses the generator gets its own internal Dl.Transformer, marked [Embedded] (the attribute comes
        // from Roslyn, a partial class any generator may add): the compiler then hides it from other assemblies, so two such
        // projects joined by InternalsVisibleTo do not see two Dl.Transformer (CS0436).
        context.RegisterPostInitializationOutput(static ctx =>
        {
            ctx.AddEmbeddedAttributeDefinition();
            ctx.AddSource("Dl.Transformer.g.cs", BlockSource("Transformer.cs"));
        });

        // Runs once per edit of a [Model] class's syntax tree; returns the spec or diagnostics, never throws.
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName("Dl.ModelAttribute",
                static (node, _) => node is TypeDeclarationSyntax,
                static (ctx, token) => ModelParser.Parse(ctx, token))
            .WithTrackingName(TrackingNames.Parse);

        var diagnostics = parsed.Select(static (r, _) => r.Diagnostics).WithTrackingName(TrackingNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics, static (spc, list) =>
        {
            foreach (var d in list) spc.ReportDiagnostic(d.ToDiagnostic());
        });

        // A model with errors: the stub of its public surface.
        var shells = parsed.Select(static (r, _) => r.Shell).Where(static s => s is not null).WithTrackingName(TrackingNames.Shell);
        context.RegisterSourceOutput(shells, static (spc, shell) => AddSource(spc, shell!, () => StubEmitter.Emit(shell!, Version)));

        // Only a changed spec (or a changed DlCheckedKernels) reaches lowering and emission.
        var specs = parsed.Select(static (r, _) => r.Spec).Where(static s => s is not null).WithTrackingName(TrackingNames.Spec);
        var checkedKernels = context.AnalyzerConfigOptionsProvider.Select(static (options, _) => CheckedKernels(options.GlobalOptions));
        context.RegisterSourceOutput(specs.Combine(checkedKernels), static (spc, pair) => Generate(spc, pair.Left!, pair.Right));
    }

    /// <summary>The text of an embedded block source file (Blocks/*.cs in this project).</summary>
    internal static string BlockSource(string file)
    {
        using var stream = typeof(ModelGenerator).Assembly.GetManifestResourceStream("Dl.Generators.Blocks." + file)
            ?? throw new System.InvalidOperationException("missing embedded block source " + file);
        using var reader = new System.IO.StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The MSBuild property <c>DlCheckedKernels</c> (made visible to the compiler by Dl.props): true prints
    /// every buffer access of the generated kernels bounds-checked (<see cref="BufferAccess"/>).</summary>
    internal static bool CheckedKernels(Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions options) =>
        options.TryGetValue("build_property.DlCheckedKernels", out var value) && string.Equals(value?.Trim(), "true", System.StringComparison.OrdinalIgnoreCase);

    private static void Generate(SourceProductionContext context, ModelSpec spec, bool checkedKernels)
    {
        var (source, error) = Render(spec, checkedKernels);
        var shell = ModelShell.Of(spec);
        if (error is null)
        {
            AddSource(context, shell, () => source!);
            // The tape's copies of the forward and loss methods that name nodes after locals (TapeNames).
            foreach (var method in spec.TapeMethods)
                AddSource(context, shell, () => ModelEmitter.EmitTapeMethod(spec, method, Version), shell.HintName.Replace(".g.cs", "." + method.Name + ".g.cs"));
        }
        else
        {
            context.ReportDiagnostic(error);
            AddSource(context, shell, () => StubEmitter.Emit(shell, Version));
        }
    }

    /// <summary>Adds one model's file. An exception here would escape the generator and drop the output of every model in
    /// the project (CS8785): it becomes DL0010 for this model instead, at the class when the model can be found.</summary>
    private static void AddSource(SourceProductionContext context, ModelShell shell, System.Func<string> text, string? hintName = null)
    {
        try
        {
            context.AddSource(hintName ?? shell.HintName, text());
        }
        catch (System.Exception e) when (e is not System.OperationCanceledException)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, Location.None, shell.ClassName, e.GetType().Name + ": " + e.Message));
        }
    }

    /// <summary>Lowers and emits one model; an internal failure becomes DL0010 instead of an exception.</summary>
    internal static (string? Source, Diagnostic? Error) Render(ModelSpec spec, bool checkedKernels = false)
    {
        try
        {
            var optimized = Lowering.Fusion.RewritePairs(spec);
            return (ModelEmitter.Emit(optimized, Lowering.PlanBuilder.Lower(optimized), Version, checkedKernels), null);
        }
        catch (ModelErrorException e)
        {
            // A limit only lowering can see (the activation arena after reuse, DL0015); the spec holds no location.
            return (null, e.Diagnostic.ToDiagnostic());
        }
        catch (System.Exception e) when (e is not System.OperationCanceledException)
        {
            return (null, Diagnostic.Create(DiagnosticDescriptors.InternalError, Location.None, spec.ClassName, e.GetType().Name + ": " + e.Message));
        }
    }
}

/// <summary>Names of the tracked pipeline steps (asserted by the incrementality tests).</summary>
public static class TrackingNames
{
    public const string Parse = nameof(Parse);
    public const string Diagnostics = nameof(Diagnostics);
    public const string Spec = nameof(Spec);
    public const string Shell = nameof(Shell);
}
