using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Square: y = x².</summary>
/// <remarks>The derivative is 2x, read from the saved input: dx = 2x·dy. The forward is correctly rounded;
/// (±∞)² = +∞, NaN propagates.</remarks>
[DlOp("square", Saves = Saved.Input, Tolerance = 1e-7)]
public readonly struct SquareOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => x * x;
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => x * x;
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => (x + x) * dy;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default) => (x + x) * dy;
}

public static partial class Ops
{
    /// <inheritdoc cref="SquareOp"/>
    [Op(OpKind.Unary, typeof(SquareOp))]
    public static Tensor Square(Tensor x) => TapeOps.Unary<SquareOp>(x, 0f);
}
