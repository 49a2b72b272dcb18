using System.Numerics;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>Element-wise product: y = a·b (the <c>*</c> operator of <see cref="Tensor"/>).</summary>
/// <remarks>The derivatives swap the operands ("the multiply gate"): dA = b·dy, dB = a·dy, read from the saved inputs.</remarks>
[DlOp("multiply", Saves = Saved.Input, Tolerance = 0)]
public readonly struct MultiplyOp : IBinaryOp
{
    public static T Forward<T>(T a, T b) where T : IFloatingPointIeee754<T> => a * b;
    public static Vector256<float> Forward(Vector256<float> a, Vector256<float> b) => a * b;
    public static T GradA<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T> => b * dy;
    public static Vector256<float> GradA(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy) => b * dy;
    public static T GradB<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T> => a * dy;
    public static Vector256<float> GradB(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy) => a * dy;
}
