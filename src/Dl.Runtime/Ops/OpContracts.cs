using System.Numerics;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>What an op's backward reads besides the upstream gradient (dfdx's DF_USES_FX, JAX's defjvp2):
/// the memory planner keeps exactly this alive until the backward pass.</summary>
public enum Saved
{
    /// <summary>Backward needs no forward value (the op is linear).</summary>
    Nothing = 0,
    /// <summary>Backward reads the op's inputs.</summary>
    Input = 1,
    /// <summary>Backward reads the op's output.</summary>
    Output = 2,
    /// <summary>Backward reads inputs and output.</summary>
    Both = 3,
}

/// <summary>Metadata of a primitive op struct, read by the generator and by the table-driven op tests.</summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class DlOpAttribute(string name) : Attribute
{
    public string Name { get; } = name;
    public Saved Saves { get; init; }
    /// <summary>False for ops such as <c>step</c>: differentiating through them is diagnostic DL0008.</summary>
    public bool Differentiable { get; init; } = true;
    /// <summary>Range the op tests draw points from (kinks and poles avoided by the test itself).</summary>
    public double DomainMin { get; init; } = -3;
    public double DomainMax { get; init; } = 3;
    /// <summary>Relative tolerance of the float forward against a double reference.</summary>
    public double Tolerance { get; init; } = 1e-5;
    /// <summary>With <see cref="FusedWith"/>: when this op's first input is the output of the op named here, the
    /// generator's optimizer replaces the pair by <see cref="FusedWith"/> applied to that op's input
    /// (sigmoid followed by binary cross-entropy becomes the numerically stable logits form).</summary>
    public string? FuseAfter { get; init; }
    /// <summary>True when <c>GradA</c> is the upstream gradient itself (d(a + b)/da = 1): the generator then lets the
    /// first operand share the output's gradient buffer instead of copying it, when that operand has no other use.</summary>
    public bool PassesGradientA { get; init; }
    /// <summary>A unary op whose constants are an interval [a, b] (clamp, hardtanh): both must be finite with a ≤ b
    /// (<c>Dl.LayerRules.Bounds</c>), checked by the generator (DL0012 at the call) and by the tape (an
    /// ArgumentOutOfRangeException) with one message.</summary>
    public bool ConstantsAreBounds { get; init; }
    /// <summary>The op struct that computes this op after <see cref="FuseAfter"/> in one step.</summary>
    public Type? FusedWith { get; init; }
}

/// <summary>Binds a surface method of <see cref="Ops"/> to its kind and implementing struct.</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Property, Inherited = false)]
public sealed class OpAttribute(OpKind kind, Type? impl = null) : Attribute
{
    public OpKind Kind { get; } = kind;
    public Type? Impl { get; } = impl;
    /// <summary>For losses: the struct used when the target is integer labels rather than a tensor.</summary>
    public Type? LabelsImpl { get; init; }
    /// <summary>For Reduce: true for mean, false for sum.</summary>
    public bool Mean { get; init; }
}

/// <summary>An element-wise function y = f(x; a, b), with <c>a</c> and <c>b</c> compile-time constants
/// (the slope of leaky ReLU, the exponent of a power, the bounds of clamp; ignored by most ops).</summary>
/// <remarks>Most ops take one constant or none: <c>b</c> has a default, so an op that ignores it declares
/// <c>T b = default</c> and is called (by generated code, by the drivers) with <c>a</c> alone. An op that reads
/// <c>b</c> (clamp, hardtanh) is called with both, by the generator when the node carries a second constant and by
/// the tape from the tensor's second scalar.</remarks>
public interface IUnaryOp
{
    static abstract T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T>;
    static abstract Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default);
    /// <summary>dL/dx = f'(x) * dy, given x, y = f(x) (whichever <see cref="DlOpAttribute.Saves"/> declares) and dy.</summary>
    static abstract T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>;
    static abstract Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a,
        Vector256<float> b = default);
}

/// <summary>An element-wise function y = f(a, b) with broadcasting done by the caller.</summary>
public interface IBinaryOp
{
    static abstract T Forward<T>(T a, T b) where T : IFloatingPointIeee754<T>;
    static abstract Vector256<float> Forward(Vector256<float> a, Vector256<float> b);
    static abstract T GradA<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T>;
    static abstract Vector256<float> GradA(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy);
    static abstract T GradB<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T>;
    static abstract Vector256<float> GradB(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy);
}

/// <summary>A function of a whole row (the last axis), such as softmax.</summary>
public interface IRowOp
{
    static abstract void Forward<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>;
    /// <summary>Accumulates: dx += J(x)^T dy, given y = f(x) (or x, as the op declares).</summary>
    static abstract void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : IFloatingPointIeee754<T>;
}

/// <summary>A per-sample loss of a row of predictions against a target row (or a class index, stored as a number).
/// <c>scratch</c> has the row's length and carries what backward needs (e.g. the softmax probabilities).</summary>
public interface ILossOp
{
    static abstract T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T>;
    /// <summary>Accumulates dx += dLoss * d(loss)/dx.</summary>
    static abstract void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>;
}
