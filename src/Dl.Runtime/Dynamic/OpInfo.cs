using System.Reflection;

namespace Dl.Dynamic;

/// <summary>The <see cref="DlOpAttribute"/> metadata of an op struct, read once per type: the node name the tape
/// records and whether backward may pass through it.</summary>
/// <remarks>Reading a custom attribute off a statically known struct type is metadata access that Native AOT keeps;
/// nothing is created dynamically. A struct without the attribute is named after its type (<c>FooOp</c> → <c>foo</c>).</remarks>
internal static class OpInfo<TOp> where TOp : struct
{
    public static readonly string Name;
    public static readonly bool Differentiable;
    /// <summary>The op's constants are an interval [a, b] (<see cref="DlOpAttribute.ConstantsAreBounds"/>).</summary>
    public static readonly bool ConstantsAreBounds;

    static OpInfo()
    {
        DlOpAttribute? attribute = typeof(TOp).GetCustomAttribute<DlOpAttribute>(inherit: false);
        string typeName = typeof(TOp).Name;
        if (typeName.EndsWith("Op", StringComparison.Ordinal) && typeName.Length > 2) typeName = typeName[..^2];
        Name = attribute?.Name ?? typeName.ToLowerInvariant();
        Differentiable = attribute?.Differentiable ?? true;
        ConstantsAreBounds = attribute?.ConstantsAreBounds ?? false;
    }

    /// <summary>Thrown when a gradient reaches an op declared <c>Differentiable = false</c> (such as <c>step</c>).</summary>
    public static InvalidOperationException NotDifferentiable(Tensor node)
        => new($"Cannot backpropagate through '{Name}' (node %{node.Id}, shape {node.ShapeText}): the op is not differentiable " +
               $"(its derivative is zero almost everywhere and undefined at its jump). Detach its input from the loss, " +
               $"or use a smooth surrogate such as sigmoid.");
}
