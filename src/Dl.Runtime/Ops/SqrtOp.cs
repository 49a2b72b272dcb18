using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Square root: y = √x, defined for x ≥ 0.</summary>
/// <remarks>The derivative is 1 / (2√x) = 1 / (2y), read from the saved output: dx = dy / (2y).
/// At x = 0 the derivative is +∞ (dx = ±∞ for dy ≠ 0, NaN for dy = 0), as in PyTorch; add an epsilon (√(x + ε)) when
/// zeros are possible. √(-0) = -0, √(x &lt; 0) = NaN, √(+∞) = +∞, NaN propagates. The forward is correctly rounded.</remarks>
[DlOp("sqrt", Saves = Saved.Output, DomainMin = 0.01, DomainMax = 10, Tolerance = 1e-7)]
public readonly struct SqrtOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => T.Sqrt(x);
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => Vector256.Sqrt(x);
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => dy / (y + y);
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default) => dy / (y + y);
}

public static partial class Ops
{
    /// <inheritdoc cref="SqrtOp"/>
    [Op(OpKind.Unary, typeof(SqrtOp))]
    public static Tensor Sqrt(Tensor x) => TapeOps.Unary<SqrtOp>(x, 0f);
}
