using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

/// <summary>Power with a constant exponent: y = x^a.</summary>
/// <remarks>The derivative is a·x^(a-1), read from the saved input: dx = a·x^(a-1)·dy (exact at x = 0 for a ≥ 1,
/// where a·y/x would be 0/0). IEEE pow conventions: x^0 = 1 (also for NaN), a negative base gives NaN unless a is an
/// integer (then the sign follows the parity of a), 0^a = +∞ for a &lt; 0. The domain the tests draw from is x &gt; 0 so
/// that every exponent is defined; <c>a</c> is the exponent, a compile-time constant of the model.</remarks>
[DlOp("pow", Saves = Saved.Input, DomainMin = 0.05, DomainMax = 4, Tolerance = 1e-6)]
public readonly struct PowOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => T.Pow(x, a);
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => ElementwiseMath.Pow(x, a.ToScalar());
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>
        => a == T.Zero ? T.Zero : a * T.Pow(x, a - T.One) * dy;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
    {
        float e = a.ToScalar();
        return e == 0f ? Vector256<float>.Zero : a * ElementwiseMath.Pow(x, e - 1f) * dy;
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="PowOp"/>
    /// <param name="x">The base.</param>
    /// <param name="exponent">The constant exponent a.</param>
    [Op(OpKind.Unary, typeof(PowOp))]
    public static Tensor Pow(Tensor x, float exponent) => TapeOps.Unary<PowOp>(x, exponent);
}
