using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>ReLU: y = max(0, x).</summary>
/// <remarks>The derivative is 1 for x &gt; 0 and 0 otherwise; at the kink we take ReLU'(0) = 0 (PyTorch does too).
/// NaN propagates: ReLU(NaN) = NaN.</remarks>
[DlOp("relu", Saves = Saved.Output)]
public readonly struct ReluOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => x > T.Zero ? x : (T.IsNaN(x) ? x : T.Zero);
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default)
        => Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.Zero, x);
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => y > T.Zero ? dy : T.Zero;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), dy, Vector256<float>.Zero);
}

public static partial class Ops
{
    /// <inheritdoc cref="ReluOp"/>
    [Op(OpKind.Unary, typeof(ReluOp))]
    public static Tensor Relu(Tensor x) => TapeOps.Unary<ReluOp>(x, 0f);
}
