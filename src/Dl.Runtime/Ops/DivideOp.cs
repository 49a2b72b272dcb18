using System.Numerics;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>Element-wise quotient: y = a / b (the <c>/</c> operator of <see cref="Tensor"/>).</summary>
/// <remarks>The derivatives are dA = dy / b and dB = -dy·a / b², read from the saved inputs (not from y, so that
/// dB stays exact when a/b overflows). Division by ±0 gives ±∞ or NaN (IEEE), as do the gradients.</remarks>
[DlOp("divide", Saves = Saved.Input, Tolerance = 1e-7)]
public readonly struct DivideOp : IBinaryOp
{
    public static T Forward<T>(T a, T b) where T : IFloatingPointIeee754<T> => a / b;
    public static Vector256<float> Forward(Vector256<float> a, Vector256<float> b) => a / b;
    public static T GradA<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T> => dy / b;
    public static Vector256<float> GradA(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy) => dy / b;
    public static T GradB<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T> => -(dy * a) / (b * b);
    public static Vector256<float> GradB(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy)
        => -(dy * a) / (b * b);
}
