using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

/// <summary>Hyperbolic tangent: y = tanh x = (e^x - e^-x) / (e^x + e^-x).</summary>
/// <remarks>The derivative is 1 - tanh²x = 1 - y², read from the saved output: dx = (1 - y²)·dy.
/// tanh(±∞) = ±1, tanh(±0) = ±0, NaN propagates. The vector path is accurate near 0 (a series, not the cancelling
/// exponential form) and saturates to exactly ±1 for |x| ≳ 9.</remarks>
[DlOp("tanh", Saves = Saved.Output, DomainMin = -6, DomainMax = 6, Tolerance = 1e-6)]
public readonly struct TanhOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => T.Tanh(x);
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => VectorMath.TanhSaturating(x);
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => (T.One - y * y) * dy;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
        => (Vector256<float>.One - y * y) * dy;
}

public static partial class Ops
{
    /// <inheritdoc cref="TanhOp"/>
    [Op(OpKind.Unary, typeof(TanhOp))]
    public static Tensor Tanh(Tensor x) => TapeOps.Unary<TanhOp>(x, 0f);
}
