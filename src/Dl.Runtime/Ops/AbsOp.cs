using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Absolute value: y = |x|.</summary>
/// <remarks>The derivative is sign(x), read from the saved input: dx = sign(x)·dy, with the subgradient 0 at x = 0
/// (PyTorch's choice; also 0 for NaN). |±0| = +0, |±∞| = +∞, NaN propagates. The forward is exact.</remarks>
[DlOp("abs", Saves = Saved.Input, Tolerance = 0)]
public readonly struct AbsOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => T.Abs(x);
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => Vector256.Abs(x);
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>
        => x > T.Zero ? dy : x < T.Zero ? -dy : T.Zero;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
        => (Vector256.GreaterThan(x, Vector256<float>.Zero) & dy) | (Vector256.LessThan(x, Vector256<float>.Zero) & -dy);
}

public static partial class Ops
{
    /// <inheritdoc cref="AbsOp"/>
    [Op(OpKind.Unary, typeof(AbsOp))]
    public static Tensor Abs(Tensor x) => TapeOps.Unary<AbsOp>(x, 0f);
}
