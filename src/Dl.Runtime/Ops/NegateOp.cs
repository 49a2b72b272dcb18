using System.Numerics;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>Negation: y = -x (the unary <c>-</c> operator of <see cref="Tensor"/>).</summary>
/// <remarks>The derivative is -1: dx = -dy. Linear, so backward reads nothing. -(±0) = ∓0, -(±∞) = ∓∞, NaN propagates.</remarks>
[DlOp("negate", Saves = Saved.Nothing, Tolerance = 0)]
public readonly struct NegateOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => -x;
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => -x;
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => -dy;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default) => -dy;
}
