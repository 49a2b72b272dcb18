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

/// <summary>Parameter initializers. Fan-in and fan-out come from the parameter's role
/// (a linear weight <c>[out, in]</c> has fan-in <c>in</c> and fan-out <c>out</c>; other tensors use their last two dims).</summary>
public enum Init
{
    /// <summary>Glorot uniform for weights, zeros for biases.</summary>
    Default,
    /// <summary>All zeros.</summary>
    Zeros,
    /// <summary>All equal to <see cref="ParamAttribute.Scale"/>.</summary>
    Constant,
    /// <summary>U[-a, a] with a = <see cref="ParamAttribute.Scale"/>.</summary>
    Uniform,
    /// <summary>Glorot/Xavier uniform: U[-a, a], a = sqrt(6 / (fan_in + fan_out)).</summary>
    GlorotUniform,
    /// <summary>Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out)).</summary>
    GlorotNormal,
    /// <summary>He/Kaiming uniform: U[-a, a], a = sqrt(6 / fan_in).</summary>
    HeUniform,
    /// <summary>He/Kaiming normal: N(0, 2 / fan_in).</summary>
    HeNormal,
    /// <summary>N(0, a²) with a = <see cref="ParamAttribute.Scale"/> (an embedding table: PyTorch's N(0, 1)).</summary>
    Normal,
}
