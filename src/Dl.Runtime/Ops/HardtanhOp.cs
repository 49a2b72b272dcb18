using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Hardtanh: y = min(max(x, a), b) with a = min (-1 by default) and b = max (1 by default) (PyTorch's
/// <c>F.hardtanh(x, min_val, max_val)</c>, <c>nn.Hardtanh</c>).</summary>
/// <remarks>The value is <see cref="ClampOp"/>'s; the derivative is 1 strictly inside (a &lt; x &lt; b) and 0 elsewhere,
/// bounds included, read from the saved input: PyTorch's hardtanh_backward (torch.clamp's passes the gradient at the
/// bounds). It is written as PyTorch's, 0 where x ≤ a or x ≥ b, so a NaN input passes its gradient (clamp's gives it 0).
/// min and max are finite with min ≤ max (<c>Dl.LayerRules.Bounds</c>; PyTorch no longer checks). NaN propagates.</remarks>
[DlOp("hardtanh", Saves = Saved.Input, ConstantsAreBounds = true, Tolerance = 1e-7)]
public readonly struct HardtanhOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => ClampOp.Forward(x, a, b);

    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => ClampOp.Forward(x, a, b);

    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>
        => x <= a || x >= b ? T.Zero : dy;

    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a,
        Vector256<float> b = default)
        => Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, a) | Vector256.GreaterThanOrEqual(x, b), Vector256<float>.Zero, dy);
}

public static partial class Ops
{
    /// <inheritdoc cref="HardtanhOp"/>
    /// <param name="x">The input.</param>
    /// <param name="min">The lower bound (PyTorch's min_val; finite, ≤ max).</param>
    /// <param name="max">The upper bound (PyTorch's max_val; finite, ≥ min).</param>
    [Op(OpKind.Unary, typeof(HardtanhOp))]
    public static Tensor Hardtanh(Tensor x, float min = -1f, float max = 1f) => TapeOps.Unary<HardtanhOp>(x, min, max);
}
