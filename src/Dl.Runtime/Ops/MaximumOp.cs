using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Element-wise maximum: y = max(a, b), IEEE 754-2019 <c>maximum</c> (NaN propagates, max(-0, +0) = +0),
/// like <see cref="Math.Max(float, float)"/> and torch.maximum.</summary>
/// <remarks>The derivative goes to the larger operand: dA = dy where a &gt; b, dB = dy where b &gt; a. Tie rule: where
/// a == b the gradient is split ½/½ between the operands (torch.maximum, tinygrad), so dA + dB = dy always; a NaN
/// operand sends no gradient to either. Reads the saved inputs.</remarks>
[DlOp("maximum", Saves = Saved.Input, Tolerance = 0)]
public readonly struct MaximumOp : IBinaryOp
{
    public static T Forward<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.Max(a, b);
    public static Vector256<float> Forward(Vector256<float> a, Vector256<float> b)
    {
        // Ties: a & b picks +0 from {-0, +0} and is a itself otherwise; a + b is NaN when either is.
        Vector256<float> tie = Vector256.ConditionalSelect(Vector256.Equals(a, b), a & b, a + b);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(a, b), a,
            Vector256.ConditionalSelect(Vector256.LessThan(a, b), b, tie));
    }
    public static T GradA<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T>
        => a > b ? dy : a == b ? dy * T.CreateTruncating(0.5) : T.Zero;
    public static Vector256<float> GradA(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy)
        => (Vector256.GreaterThan(a, b) & dy) | (Vector256.Equals(a, b) & (dy * 0.5f));
    public static T GradB<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T>
        => b > a ? dy : a == b ? dy * T.CreateTruncating(0.5) : T.Zero;
    public static Vector256<float> GradB(Vector256<float> a, Vector256<float> b, Vector256<float> y, Vector256<float> dy)
        => (Vector256.GreaterThan(b, a) & dy) | (Vector256.Equals(a, b) & (dy * 0.5f));
}

public static partial class Ops
{
    /// <inheritdoc cref="MaximumOp"/>
    [Op(OpKind.Binary, typeof(MaximumOp))]
    public static Tensor Maximum(Tensor a, Tensor b) => TapeOps.Binary<MaximumOp>(a, b);
}
