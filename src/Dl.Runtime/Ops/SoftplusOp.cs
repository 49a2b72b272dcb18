using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Softplus: y = ln(1 + e^x), and y = x above 20 (PyTorch's <c>F.softplus</c> with beta 1 and threshold 20).</summary>
/// <remarks>Computed as max(x, 0) + ln(1 + e^-|x|), which neither overflows for large x nor loses the small values of
/// the left tail (softplus(-20) ≈ 2.1e-9, where ln(1 + e^x) in float would round to 0): ln(1 + u) is taken as
/// ln(w)·u/(w - 1) with w = 1 + u (exact to a few ulps; u itself when w rounds to 1). The derivative is the sigmoid of
/// x, read from the saved input: dx = dy·e^x/(1 + e^x), and dx = dy above the threshold, as PyTorch. softplus(-∞) = 0,
/// softplus(+∞) = +∞; NaN propagates.</remarks>
[DlOp("softplus", Saves = Saved.Input, DomainMin = -25, DomainMax = 25, Tolerance = 1e-6)]
public readonly struct SoftplusOp : IUnaryOp
{
    /// <summary>PyTorch's default threshold: above it softplus is the identity.</summary>
    public const float Threshold = 20f;

    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T>
    {
        if (x > T.CreateTruncating(Threshold)) return x;
        T u = T.Exp(-T.Abs(x));
        T w = T.One + u;
        T log1p = w == T.One ? u : T.Log(w) * (u / (w - T.One));
        return (x > T.Zero ? x : T.Zero) + log1p;
    }

    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default)
    {
        Vector256<float> u = Vector256.Exp(-Vector256.Abs(x));
        Vector256<float> w = Vector256<float>.One + u;
        Vector256<float> log1p = Vector256.ConditionalSelect(Vector256.Equals(w, Vector256<float>.One), u,
            Vector256.Log(w) * (u / (w - Vector256<float>.One)));
        Vector256<float> y = Vector256.Max(x, Vector256<float>.Zero) + log1p;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(Threshold)), x, y);
    }

    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>
    {
        if (x > T.CreateTruncating(Threshold)) return dy;
        T z = T.Exp(x);
        return dy * (z / (z + T.One));
    }

    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
    {
        Vector256<float> z = Vector256.Exp(x);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(Threshold)), dy, dy * (z / (z + Vector256<float>.One)));
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="SoftplusOp"/>
    [Op(OpKind.Unary, typeof(SoftplusOp))]
    public static Tensor Softplus(Tensor x) => TapeOps.Unary<SoftplusOp>(x, 0f);
}
