using System.Reflection;

namespace Dl.Generators.Diagnostics;

/// <summary>Every diagnostic the generator reports. IDs are stable; each is listed in AnalyzerReleases.*.md
/// and has a test that triggers it.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "Dl";

    /// <summary>The start of every help link: the section <c>## DL####</c> of docs/diagnostics.md on GitHub, where an IDE
    /// or a build log can open it. The repository's address is the MSBuild property RepositoryUrl (Directory.Build.props),
    /// which the project file stores in this assembly's metadata, so that it is written down once.</summary>
    private static readonly string Help = typeof(DiagnosticDescriptors).Assembly.GetCustomAttributes(typeof(AssemblyMetadataAttribute), false)
        .OfType<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryUrl")?.Value + "/blob/main/docs/diagnostics.md#";

    private static DiagnosticDescriptor Error(string id, string title, string format) =>
        new(id, title, format, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: Help + id.ToLowerInvariant());

    /// <summary>DL0001: "'{0}' is not supported in model code: {1}".</summary>
    public static readonly DiagnosticDescriptor UnsupportedConstruct = Error("DL0001", "Unsupported construct", "'{0}' is not supported in model code: {1}");
    /// <summary>DL0002: "'{0}' is not a Dl op or a [Block] method of this model".</summary>
    public static readonly DiagnosticDescriptor UnknownOp = Error("DL0002", "Unknown op", "'{0}' is not a Dl op or a [Block] method of this model");
    /// <summary>DL0003: "Shape mismatch in {0}: {1} and {2}{3}".</summary>
    public static readonly DiagnosticDescriptor ShapeMismatch = Error("DL0003", "Shape mismatch", "Shape mismatch in {0}: {1} and {2}{3}");
    /// <summary>DL0004: "Argument '{0}' of {1} must be a compile-time constant".</summary>
    public static readonly DiagnosticDescriptor NonConstantArgument = Error("DL0004", "Non-constant shape argument", "Argument '{0}' of {1} must be a compile-time constant");
    /// <summary>DL0005: "Model class '{0}' must be declared partial".</summary>
    public static readonly DiagnosticDescriptor ModelNotPartial = Error("DL0005", "Model class not partial", "Model class '{0}' must be declared partial");
    /// <summary>DL0006: "Model '{0}' has no [Forward] method".</summary>
    public static readonly DiagnosticDescriptor MissingForward = Error("DL0006", "Missing forward", "Model '{0}' has no [Forward] method");
    /// <summary>DL0007: "Invalid loss in model '{0}': {1}".</summary>
    public static readonly DiagnosticDescriptor InvalidLoss = Error("DL0007", "Invalid or missing loss", "Invalid loss in model '{0}': {1}");
    /// <summary>DL0008: "Parameter name '{0}' is used twice in model '{1}'".</summary>
    public static readonly DiagnosticDescriptor DuplicateParameter = Error("DL0008", "Duplicate parameter name", "Parameter name '{0}' is used twice in model '{1}'");
    /// <summary>DL0009: "'{0}' is not differentiable, but the loss depends on parameters through it".</summary>
    public static readonly DiagnosticDescriptor NotDifferentiable = Error("DL0009", "Differentiating a non-differentiable op", "'{0}' is not differentiable, but the loss depends on parameters through it");
    /// <summary>DL0010: "Internal generator error while compiling model '{0}': {1}".</summary>
    public static readonly DiagnosticDescriptor InternalError = Error("DL0010", "Internal generator error", "Internal generator error while compiling model '{0}': {1}");
    /// <summary>DL0011: "Input '{0}' needs a [Shape(...)] or [Labels(n)] attribute".</summary>
    public static readonly DiagnosticDescriptor MissingShape = Error("DL0011", "Input without shape", "Input '{0}' needs a [Shape(...)] or [Labels(n)] attribute");
    /// <summary>DL0012: "Invalid argument of {0}: {1}".</summary>
    public static readonly DiagnosticDescriptor InvalidArgument = Error("DL0012", "Invalid op argument", "Invalid argument of {0}: {1}");
    /// <summary>DL0013: "Impossible window geometry in {0}: {1}".</summary>
    public static readonly DiagnosticDescriptor WindowGeometry = Error("DL0013", "Impossible window geometry", "Impossible window geometry in {0}: {1}");
    /// <summary>DL0014: "'{0}' in model '{1}' collides with generated code: {2}".</summary>
    public static readonly DiagnosticDescriptor GeneratedMemberCollision = Error("DL0014", "Member collides with generated code", "'{0}' in model '{1}' collides with generated code: {2}");
    /// <summary>DL0015: "{0} {1} has {2}; a buffer holds at most {3} elements (Array.MaxLength)".</summary>
    public static readonly DiagnosticDescriptor BufferTooLarge = Error("DL0015", "Buffer too large", "{0} {1} has {2}; a buffer holds at most {3} elements (Array.MaxLength)");
}
