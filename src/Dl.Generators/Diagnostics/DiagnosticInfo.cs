using Microsoft.CodeAnalysis.Text;

namespace Dl.Generators.Diagnostics;

/// <summary>An equatable, symbol-free diagnostic: descriptor id, location parts and message arguments.</summary>
public sealed record DiagnosticInfo(string Id, string FilePath, TextSpan Span, LinePositionSpan Lines, EquatableArray<string> Args)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, Location? location, params string[] args)
    {
        location ??= Location.None;
        var line = location.GetLineSpan();
        // Every argument on one line, whatever it quotes (code, an exception's message): a message is one line.
        return new DiagnosticInfo(descriptor.Id, line.Path ?? "", location.SourceSpan, line.Span, args.Select(MessageText.OneLine).ToArray());
    }

    public Diagnostic ToDiagnostic()
    {
        var descriptor = Id switch
        {
            "DL0001" => DiagnosticDescriptors.UnsupportedConstruct,
            "DL0002" => DiagnosticDescriptors.UnknownOp,
            "DL0003" => DiagnosticDescriptors.ShapeMismatch,
            "DL0004" => DiagnosticDescriptors.NonConstantArgument,
            "DL0005" => DiagnosticDescriptors.ModelNotPartial,
            "DL0006" => DiagnosticDescriptors.MissingForward,
            "DL0007" => DiagnosticDescriptors.InvalidLoss,
            "DL0008" => DiagnosticDescriptors.DuplicateParameter,
            "DL0009" => DiagnosticDescriptors.NotDifferentiable,
            "DL0013" => DiagnosticDescriptors.WindowGeometry,
            "DL0011" => DiagnosticDescriptors.MissingShape,
            "DL0012" => DiagnosticDescriptors.InvalidArgument,
            "DL0014" => DiagnosticDescriptors.GeneratedMemberCollision,
            "DL0015" => DiagnosticDescriptors.BufferTooLarge,
            _ => DiagnosticDescriptors.InternalError,
        };
        var location = string.IsNullOrEmpty(FilePath) ? Location.None : Location.Create(FilePath, Span, Lines);
        return Diagnostic.Create(descriptor, location, Args.AsSpan().ToArray());
    }
}

/// <summary>Thrown inside a stage to abort the model with a diagnostic; caught at the stage boundary.</summary>
internal sealed class ModelErrorException(DiagnosticInfo diagnostic) : System.Exception(diagnostic.Id)
{
    public DiagnosticInfo Diagnostic { get; } = diagnostic;
}
