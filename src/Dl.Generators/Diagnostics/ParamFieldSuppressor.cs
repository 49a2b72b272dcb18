using System.Collections.Immutable;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Dl.Generators.Diagnostics;

/// <summary>Suppresses CS8618 (non-nullable field uninitialized), CS0649 (never assigned) and CS0169 (never used) on the
/// <c>[Param]</c> fields of a <c>[Model]</c> class: generated code assigns them. It matters where the generator cannot
/// emit that code, a model class that is not partial (DL0005): there the warnings, errors under -warnaserror, would
/// only repeat what DL0005 says. A model that fails otherwise gets a stub whose constructor assigns the fields
/// (<see cref="Emit.StubEmitter"/>), which works even in a build that skips analyzers and with them this suppressor.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ParamFieldSuppressor : DiagnosticSuppressor
{
    private const string Why = "[Param] fields of a [Model] class are assigned by generated code (or the model has a DL error)";

    private static readonly ImmutableArray<SuppressionDescriptor> Suppressions = ImmutableArray.Create(
        new SuppressionDescriptor("DLSP8618", "CS8618", Why),
        new SuppressionDescriptor("DLSP0649", "CS0649", Why),
        new SuppressionDescriptor("DLSP0169", "CS0169", Why));

    public override ImmutableArray<SuppressionDescriptor> SupportedSuppressions => Suppressions;

    public override void ReportSuppressions(SuppressionAnalysisContext context)
    {
        foreach (var diagnostic in context.ReportedDiagnostics)
        {
            if (diagnostic.Location.SourceTree is not { } tree) continue;
            var node = tree.GetRoot(context.CancellationToken).FindNode(diagnostic.Location.SourceSpan);
            if (node is not VariableDeclaratorSyntax) continue;
            var field = context.GetSemanticModel(tree).GetDeclaredSymbol(node, context.CancellationToken) as IFieldSymbol;
            if (field is null || !ModelParser.HasAttribute(field, "Dl.ParamAttribute") || !ModelParser.HasAttribute(field.ContainingType, "Dl.ModelAttribute"))
                continue;
            context.ReportSuppression(Suppression.Create(Suppressions.First(s => s.SuppressedDiagnosticId == diagnostic.Id), diagnostic));
        }
    }
}
