namespace Dl;

/// <summary>Marks a <c>partial</c> class as a model: the generator compiles its <see cref="ForwardAttribute"/>
/// and <see cref="LossAttribute"/> methods into specialized forward, backward and training code.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ModelAttribute : Attribute;

/// <summary>The model's forward pass. Its parameters are the model inputs, each with a <see cref="ShapeAttribute"/>.
/// Shapes are per sample: the batch dimension is implicit and chosen at run time.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class ForwardAttribute : Attribute;

/// <summary>The training loss. First parameter: the forward output; second: the target
/// (<see cref="LabelsAttribute"/> for integer class labels, <see cref="ShapeAttribute"/> for real targets).
/// The training loss is the batch mean of the per-sample value this method returns.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class LossAttribute : Attribute;

/// <summary>A reusable sub-graph in a model class, inlined at each call site.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class BlockAttribute : Attribute;

/// <summary>A per-sample input shape (the batch dimension is implicit).</summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class ShapeAttribute(params int[] dims) : Attribute
{
    public int[] Dims { get; } = dims;
}

/// <summary>An integer class label per sample in <c>[0, classes)</c>.</summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class LabelsAttribute(int classes) : Attribute
{
    public int Classes { get; } = classes;
}

/// <summary>An explicit trainable tensor field of the given shape.</summary>
[AttributeUsage(AttributeTargets.Field, Inherited = false)]
public sealed class ParamAttribute(params int[] dims) : Attribute
{
    public int[] Dims { get; } = dims;
    /// <summary>How the tensor is initialized; <see cref="Init.Default"/> is Glorot uniform.</summary>
    public Init Init { get; init; }
    /// <summary>The bound <c>a</c> of <see cref="Init.Uniform"/>, or the value of <see cref="Init.Constant"/>.</summary>
    public float Scale { get; init; }
}
