using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

/// <summary>Logistic sigmoid: y = 1 / (1 + e^-x).</summary>
/// <remarks>The derivative is y (1 - y), computed from the saved output. The vector path is
/// <see cref="VectorMath.Sigmoid(Vector256{float})"/> (within 1.9e-7 relative of double math).</remarks>
[DlOp("sigmoid", Saves = Saved.Output, DomainMin = -8, DomainMax = 8)]
public readonly struct SigmoidOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default)
        => VectorMath.Sigmoid(x);
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => dy * y * (T.One - y);
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
        => dy * y * (Vector256<float>.One - y);
}

public static partial class Ops
{
    /// <inheritdoc cref="SigmoidOp"/>
    [Op(OpKind.Unary, typeof(SigmoidOp))]
    public static Tensor Sigmoid(Tensor x) => TapeOps.Unary<SigmoidOp>(x, 0f);
}
