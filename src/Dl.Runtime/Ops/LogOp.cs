using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Natural logarithm: y = ln x, defined for x &gt; 0.</summary>
/// <remarks>The derivative is 1/x, read from the saved input: dx = dy / x.
/// ln(±0) = -∞, ln(x &lt; 0) = NaN, ln(+∞) = +∞, NaN propagates (IEEE 754; no exception is thrown on the hot path).
/// For losses on probabilities prefer <see cref="Ops.LogSoftmax"/> or a clamped loss over ln of a softmax.</remarks>
[DlOp("log", Saves = Saved.Input, DomainMin = 0.01, DomainMax = 10, Tolerance = 1e-6)]
public readonly struct LogOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => T.Log(x);
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => Vector256.Log(x);
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => dy / x;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default) => dy / x;
}

public static partial class Ops
{
    /// <inheritdoc cref="LogOp"/>
    [Op(OpKind.Unary, typeof(LogOp))]
    public static Tensor Log(Tensor x) => TapeOps.Unary<LogOp>(x, 0f);
}
