using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Leaky ReLU: y = x for x &gt; 0, a·x otherwise (a is the negative slope, 0.01 by default).</summary>
/// <remarks>The derivative is 1 for x &gt; 0 and a otherwise, read from the saved input (the slope may be negative, so
/// the sign of y does not tell): dx = dy or a·dy; at the kink we take the left derivative a, consistent with
/// ReLU'(0) = 0. NaN propagates; y(-∞) = -∞ for a &gt; 0.</remarks>
[DlOp("leaky_relu", Saves = Saved.Input, Tolerance = 1e-7)]
public readonly struct LeakyReluOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => x > T.Zero ? x : a * x;
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, a * x);
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => x > T.Zero ? dy : a * dy;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), dy, a * dy);
}

public static partial class Ops
{
    /// <inheritdoc cref="LeakyReluOp"/>
    /// <param name="x">The input.</param>
    /// <param name="slope">The slope a for x ≤ 0 (PyTorch's negative_slope).</param>
    [Op(OpKind.Unary, typeof(LeakyReluOp))]
    public static Tensor LeakyRelu(Tensor x, float slope = 0.01f) => TapeOps.Unary<LeakyReluOp>(x, slope);
}
