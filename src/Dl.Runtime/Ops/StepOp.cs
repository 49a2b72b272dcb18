using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Heaviside step: y = 1 for x &gt; 0, 0 otherwise (step(0) = 0, the perceptron's threshold unit).</summary>
/// <remarks>Not differentiable: its derivative is 0 almost everywhere, so no gradient would flow; the generator reports
/// differentiating through it (DL0008). <see cref="Backward{T}"/> returns 0 and is never used by a correct caller.
/// NaN propagates (a NaN input is a bug upstream, not class 0).</remarks>
[DlOp("step", Saves = Saved.Nothing, Differentiable = false, Tolerance = 0)]
public readonly struct StepOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => x > T.Zero ? T.One : T.IsNaN(x) ? x : T.Zero;
    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default)
    {
        // NaN lanes keep x; every other lane becomes 1 or 0.
        Vector256<float> isNumber = Vector256.Equals(x, x);
        Vector256<float> step = Vector256.GreaterThan(x, Vector256<float>.Zero) & Vector256<float>.One;
        return Vector256.ConditionalSelect(isNumber, step, x);
    }
    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T> => T.Zero;
    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
        => Vector256<float>.Zero;
}

public static partial class Ops
{
    /// <inheritdoc cref="StepOp"/>
    [Op(OpKind.Unary, typeof(StepOp))]
    public static Tensor Step(Tensor x) => TapeOps.Unary<StepOp>(x, 0f);
}
