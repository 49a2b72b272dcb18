using System.Numerics;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>Addition: y = a + b (the <c>+</c> operator of <see cref="Tensor"/>).</summary>
/// <remarks>The derivative is 1 for both operands: the gradient is distributed unchanged ("the sum gate").</remarks>
[DlOp("add", Saves = Saved.Nothing, PassesGradientA = true)]
public readonly struct AddOp : IBinaryOp
{
    public static T Forward<T>(T a, T b) where T : IFloatingPointIeee754<T> => a + b;
    public static Vector256<float> Forward(Vector256<float> a, Vector256<float> b) => a + b;
    public static T GradA<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T> => dy;
    public static Vector256<float> GradA(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy) => dy;
    public static T GradB<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T> => dy;
    public static Vector256<float> GradB(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy) => dy;
}
