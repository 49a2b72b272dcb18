namespace Dl.Generators.Parsing;

/// <summary>What a [Model] declaration must satisfy before the generator can emit for it, checked in stage 1 so that each
/// problem is one DL diagnostic at the declaration instead of generated code that does not compile: the class's modifiers,
/// the signatures of its [Forward], [Loss] and [Block] methods, its [Param] fields, members whose names the generated
/// half of the class uses, and sizes (every buffer fits a .NET array). Also how names are printed as identifiers.</summary>
internal static class DeclarationChecks
{
    /// <summary>The most elements one .NET array may hold (<c>Array.MaxLength</c>): every buffer of a model (the
    /// parameters, one activation, an input) is one array or a slice of one.</summary>
    public const long MaxElements = 0x7FFFFFC7;

    /// <summary>Members the generated half of a model declares (<see cref="Emit.ModelEmitter"/>, its chunked training
    /// and the stub): a user member of the same name would be a duplicate definition or would hide the generated one.
    /// <c>GeneratedMembersTests</c> checks that every member of generated code is listed here.</summary>
    public static readonly HashSet<string> GeneratedMembers = new(System.StringComparer.Ordinal)
    {
        "StaticDescription", "Description", "MaxBatch", "Parameters", "Gradients", "Training", "State", "DropoutStep",
        "Parameter", "Gradient", "Summary", "Graph", "Save", "Load", "Predict", "TrainStep", "ComputeGradients", "Loss",
        "Trace", "Stage", "RunForward", "RunLoss", "RunBackward", "ParameterTotal", "InputSize",
        "OutputSize", "BatchedArenaPerSample", "FixedArenaSize", "DlBuildError", "_params", "_grads", "_arena", "_fixed",
        "_arenaStart", "_fixedStart", "_state", "_seed", "_gemm", "_maxBatch", "_chunkLimit", "_gradSum", "_chunkGrads",
        "_backwardGrads", "PredictInChunks", "ComputeInChunks", "ComputeGradientsInChunks", "Chunk", "ChunkSamples",
        "_owner", "_stateBefore", "SaveState", "RestoreState", "LossCore", "ComputeGradientsCore",
        "PredictGuarded", "TrainStepGuarded", "ComputeGradientsGuarded", "LossGuarded", "TraceGuarded", "StageInputs", "_inputs", "TapeForward", "TapeLoss",
    };

    /// <summary>The public methods of generated code and their parameter counts for a model with one input: a user method of
    /// the same name with another count is an overload and may stay (the usual <c>[Loss] Tensor Loss(Tensor y, Tensor t)</c>
    /// beside the generated <c>Loss(x, y, batch)</c>); with the same count it would duplicate or be ambiguous with the
    /// generated one. The data methods (<see cref="DataMethods"/>) take one more parameter per further input.</summary>
    private static readonly Dictionary<string, int> PublicMethods = new(System.StringComparer.Ordinal)
    {
        ["Parameter"] = 1, ["Gradient"] = 1, ["Summary"] = 0, ["Graph"] = 1, ["Save"] = 1, ["Load"] = 1, ["Predict"] = 3,
        ["TrainStep"] = 4, ["ComputeGradients"] = 3, ["Loss"] = 3, ["Trace"] = 3,
    };

    /// <summary>The public methods with one span parameter per input (<see cref="Emit.ApiSurface"/>).</summary>
    private static readonly HashSet<string> DataMethods = new(System.StringComparer.Ordinal)
    {
        "Predict", "TrainStep", "ComputeGradients", "Loss", "Trace",
    };

    /// <summary>The dimensions of a <c>[Shape(...)]</c> or <c>[Param(...)]</c> attribute, or null when the compiler could not
    /// bind them (the attribute has a C# error: the compiler reports it, the generator must not crash on it).</summary>
    public static int[]? Dims(AttributeData attribute)
    {
        if (attribute.ConstructorArguments.Length != 1 || attribute.ConstructorArguments[0] is not { Kind: TypedConstantKind.Array, IsNull: false } array)
            return null;
        var dims = new int[array.Values.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (array.Values[i].Value is not int d) return null;
            dims[i] = d;
        }
        return dims;
    }

    /// <summary>A name as C# source spells it: <c>@if</c> for a reserved keyword, the name itself otherwise.</summary>
    public static string Identifier(string name) => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    /// <summary>A namespace as a <c>namespace</c> declaration spells it (each part escaped: <c>@class.X</c>), "" for the global one.</summary>
    public static string Namespace(INamespaceSymbol ns)
    {
        var parts = new List<string>();
        for (var n = ns; n is { IsGlobalNamespace: false }; n = n.ContainingNamespace) parts.Insert(0, Identifier(n.Name));
        return string.Join(".", parts);
    }

    /// <summary>DL0001 for a class the generated partial class cannot complete: abstract (the generated code constructs
    /// it), static (a model has instance state) or file-local (a partial file type cannot be continued in another file).
    /// Null when the class is fine.</summary>
    public static DiagnosticInfo? Class(INamedTypeSymbol type, ClassDeclarationSyntax syntax)
    {
        string? why = type.IsStatic ? "a model class cannot be static: each model is an instance with its own weights"
            : type.IsAbstract ? "a model class cannot be abstract: the generated code constructs it"
            : syntax.Modifiers.Any(SyntaxKind.FileKeyword) || type.IsFileLocal ? "a model class cannot be file-local: its generated half is another file"
            : null;
        return why is null ? null : DiagnosticInfo.Create(UnsupportedConstruct, syntax.Identifier.GetLocation(), type.Name, why);
    }

    /// <summary>DL0014 for a user member the generated code declares too, or for an instance constructor (the generator
    /// declares the model's constructors).</summary>
    public static void Members(INamedTypeSymbol type)
    {
        var forward = type.GetMembers().OfType<IMethodSymbol>().FirstOrDefault(m => ModelParser.HasAttribute(m, "Dl.ForwardAttribute"));
        int furtherInputs = System.Math.Max(0, (forward?.Parameters.Length ?? 1) - 1);
        foreach (var member in type.GetMembers())
        {
            if (member.IsImplicitlyDeclared || member.Locations.FirstOrDefault() is not { IsInSource: true } location) continue;
            if (member is IMethodSymbol { MethodKind: MethodKind.Constructor })
                throw new ModelErrorException(DiagnosticInfo.Create(GeneratedMemberCollision, location, type.Name + "(...)", type.Name,
                    "the generator declares the model's constructors (new " + type.Name + "(options)); initialize in the [Param] attributes or a [Block] instead"));
            if (member is IMethodSymbol { MethodKind: not MethodKind.Ordinary } or INamedTypeSymbol) continue;
            // Trace also takes an optional `gradients` flag (and, with a loss, the target: one more parameter).
            if (member is IMethodSymbol method && PublicMethods.TryGetValue(member.Name, out int count))
            {
                int n = method.Parameters.Length - (DataMethods.Contains(member.Name) ? furtherInputs : 0);
                if (n != count && !(member.Name == "Trace" && n == count + 1)) continue;
            }
            if (GeneratedMembers.Contains(member.Name))
                throw new ModelErrorException(DiagnosticInfo.Create(GeneratedMemberCollision, location, member.Name, type.Name,
                    "the generated half of the class declares a member of that name; rename it"));
        }
    }

    /// <summary>DL0001 for a [Forward], [Loss] or [Block] method the generator cannot read or call: generic, async, or with
    /// ref, out, in or params parameters.</summary>
    public static void Method(IMethodSymbol method, string role)
    {
        string? why = method.IsGenericMethod ? $"a {role} method cannot be generic: every shape is fixed at build time"
            : method.IsAsync ? $"a {role} method cannot be async: model code runs synchronously, one op after another"
            : null;
        if (why is not null) throw ModelParser.Error(UnsupportedConstruct, method, method.Name, why);
        foreach (var p in method.Parameters)
        {
            if (p.RefKind != RefKind.None || p.IsParams)
                throw ModelParser.Error(UnsupportedConstruct, p, (p.IsParams ? "params" : p.RefKind.ToString().ToLowerInvariant()) + " " + p.Name,
                    $"the parameters of a {role} method are passed by value (no ref, out, in or params)");
        }
    }

    /// <summary>DL0001 for a [Param] field the generated code cannot assign (readonly, static, const); DL0012 for an
    /// <c>Init.Constant</c> whose value is NaN or infinite (the runtime's initializer refuses it at construction).</summary>
    public static void ParamField(IFieldSymbol field, int init, float scale)
    {
        string? why = field.IsConst ? "a [Param] field cannot be const"
            : field.IsStatic ? "a [Param] field cannot be static: each model instance has its own weights"
            : field.IsReadOnly ? "a [Param] field cannot be readonly: the dynamic tape binds it to a new tensor on every run"
            : null;
        if (why is not null) throw ModelParser.Error(UnsupportedConstruct, field, field.Name, why);
        // The rules of the runtime's initializer (Dl.Initializers.Fill), which would otherwise throw at construction.
        const int Constant = (int)global::Dl.Init.Constant, Uniform = (int)global::Dl.Init.Uniform, Normal = (int)global::Dl.Init.Normal;
        string shown = float.IsNaN(scale) ? "NaN" : float.IsInfinity(scale) ? (scale > 0 ? "+∞" : "-∞") : scale.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        if (init == Constant && (float.IsNaN(scale) || float.IsInfinity(scale)))
            throw ModelParser.Error(InvalidArgument, field, "[Param]", $"Init.Constant needs a finite Scale (the constant value), got {shown}");
        if (init is Uniform or Normal && (!(scale > 0) || float.IsInfinity(scale)))
            throw ModelParser.Error(InvalidArgument, field, "[Param]", $"Init.{(init == Uniform ? "Uniform" : "Normal")} needs a finite Scale > 0, got {shown}");
    }

    /// <summary>The number of elements of <paramref name="dims"/>, in 64 bits; DL0015 at <paramref name="location"/> when
    /// it exceeds <see cref="MaxElements"/>.</summary>
    public static long Size(IEnumerable<int> dims, Location? location, string what)
    {
        // In double: the product of up to 2^31-sized dims never overflows it, and it is exact far beyond MaxElements.
        double total = 1;
        bool negative = false;
        foreach (int d in dims) { total *= d; negative |= d < 0; }   // a negative size is an int overflow upstream
        if (total > MaxElements || negative)
            throw TooLarge(location, what, "[" + string.Join(", ", dims) + "]", negative || total > long.MaxValue ? null : (long)total);
        return (long)total;
    }

    /// <summary>DL0015 when all parameters together, or all state tensors, exceed one array (each block is one array).</summary>
    public static void Totals(string model, List<Model.ParameterSpec> parameters, List<Model.ParameterSpec> states, Location location)
    {
        long p = parameters.Sum(x => (long)x.Size), s = states.Sum(x => (long)x.Size);
        if (p > MaxElements) throw TooLarge(location, "the parameters of " + model, "(all " + parameters.Count + " together)", p);
        if (s > MaxElements) throw TooLarge(location, "the state of " + model, "(all " + states.Count + " together)", s);
    }

    public static ModelErrorException TooLarge(Location? location, string what, string shape, long? elements) =>
        new(DiagnosticInfo.Create(BufferTooLarge, location, what, shape,
            elements is { } e ? e.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " elements" : "more elements",
            MaxElements.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)));
}
