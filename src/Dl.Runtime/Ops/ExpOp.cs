using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Exponential: y = e^x.</summary>
/// <remarks>The derivative is e^x = y, read from the saved output: dx = y·dy.
/// exp(-∞) = 0, exp(+∞) = +∞, exp(±0) = 1; overflows to +∞ above ln(float.MaxValue) ≈ 88.72; NaN propagates.</remarks>
[DlOp("exp", Saves = Saved.Output, DomainMin = -10, DomainMax = 10, Tolerance = 1e-6)]
public readonly struct ExpOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => T.Exp(x);
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => Vector256.Exp(x);
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => y * dy;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default) => y * dy;
}

public static partial class Ops
{
    /// <inheritdoc cref="ExpOp"/>
    [Op(OpKind.Unary, typeof(ExpOp))]
    public static Tensor Exp(Tensor x) => TapeOps.Unary<ExpOp>(x, 0f);
}
