using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Clamp: y = min(max(x, a), b) with a = min and b = max (PyTorch's <c>torch.clamp(x, min, max)</c>).</summary>
/// <remarks>The derivative is 1 for a ≤ x ≤ b, bounds included, and 0 outside, read from the saved input: PyTorch's
/// clamp_backward (which differs from <see cref="HardtanhOp"/>'s at the bounds). min and max are finite with min ≤ max
/// (<c>Dl.LayerRules.Bounds</c>: DL0012 at build time, ArgumentOutOfRangeException on the tape). NaN propagates
/// (and gets gradient 0); ±∞ clamp to the bounds.</remarks>
[DlOp("clamp", Saves = Saved.Input, ConstantsAreBounds = true, Tolerance = 1e-7)]
public readonly struct ClampOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => x < a ? a : x > b ? b : x;

    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default)
        => Vector256.ConditionalSelect(Vector256.LessThan(x, a), a, Vector256.ConditionalSelect(Vector256.GreaterThan(x, b), b, x));

    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>
        => x >= a && x <= b ? dy : T.Zero;

    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a,
        Vector256<float> b = default)
        => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, a) & Vector256.LessThanOrEqual(x, b), dy, Vector256<float>.Zero);
}

public static partial class Ops
{
    /// <inheritdoc cref="ClampOp"/>
    /// <param name="x">The input.</param>
    /// <param name="min">The lower bound (finite, ≤ max).</param>
    /// <param name="max">The upper bound (finite, ≥ min).</param>
    [Op(OpKind.Unary, typeof(ClampOp))]
    public static Tensor Clamp(Tensor x, float min, float max) => TapeOps.Unary<ClampOp>(x, min, max);
}
