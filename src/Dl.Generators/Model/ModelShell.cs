namespace Dl.Generators.Model;

/// <summary>What the stub of a model that failed to build needs (<see cref="Emit.StubEmitter"/>): where the class is
/// declared and the parts of the generated public surface that vary between models. A model with a DL error still gets
/// its constructor, <c>TrainStep</c> and the rest, so the build shows the DL diagnostic instead of a cascade of
/// compiler errors at every use of the model. Equatable and symbol-free, like <see cref="ModelSpec"/>.</summary>
/// <param name="TypeParameters">The class's type parameter list as written (<c>&lt;T&gt;</c>), or empty: a generic
/// model is an error, but its stub still has to name the same type.</param>
/// <param name="ParamFields">The <c>[Param]</c> fields, which the stub's constructor assigns (no CS8618/CS0649).</param>
/// <param name="TargetTypes">The element types of the loss target: none without a <c>[Loss]</c> method, <c>int</c> for
/// <c>[Labels]</c>, <c>float</c> for <c>[Shape]</c>, both when the target could not be read (the most general surface:
/// a call written for either compiles).</param>
public sealed record ModelShell(string Namespace, string ClassName, string TypeParameters, EquatableArray<string> Containers,
    EquatableArray<string> ParamFields, EquatableArray<string> TargetTypes)
{
    /// <summary>The <c>[Forward]</c> method's parameter names (the data methods' input parameters, <see cref="Emit.ApiSurface"/>);
    /// empty when there is no such method (then one input, <c>input</c>).</summary>
    public EquatableArray<string> InputNames { get; init; } = EquatableArray<string>.Empty;
    /// <summary>The <c>[Loss]</c> method's target parameter name, or null.</summary>
    public string? TargetName { get; init; }

    /// <summary>The class as its own members name it: <c>Net</c>, <c>Net&lt;T&gt;</c>.</summary>
    public string SelfType => ClassName + TypeParameters;

    /// <summary>The generated file's name; the arity (<c>Net`1</c>) keeps type parameters' brackets out of it, and the
    /// <c>@</c> of escaped keywords (<c>@class</c>), which a hint name may not contain, is dropped.</summary>
    public string HintName =>
        ((string.IsNullOrEmpty(Namespace) ? "" : Namespace + ".")
        + string.Concat(Containers.Select(c => Name(c.Split('<')[0]) + Arity(c) + "."))
        + ClassName + (TypeParameters.Length == 0 ? "" : "`" + (TypeParameters.Count(c => c == ',') + 1)) + ".g.cs").Replace("@", "");

    private static string Arity(string declaration) =>
        declaration.IndexOf('<') < 0 ? "" : "`" + (declaration.Substring(declaration.IndexOf('<')).Count(c => c == ',') + 1);

    private static string Name(string declaration) => declaration.Substring(declaration.TrimEnd().LastIndexOf(' ') + 1).Trim();

    /// <summary>The shell of a model that parsed but failed later (lowering or emission, DL0010).</summary>
    public static ModelShell Of(ModelSpec spec) => new(spec.Namespace, spec.ClassName, "", spec.Containers,
        spec.Parameters.Where(p => p.FieldName is not null).Select(p => p.FieldName!).ToArray(),
        spec.Target is null ? new string[0] : new[] { spec.Target.IsLabels ? "int" : "float" })
    {
        InputNames = spec.Inputs.Select(i => i.Name).ToArray(),
        TargetName = spec.Target?.Name,
    };
}
