using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>ELU: y = x for x &gt; 0, α·(e^x - 1) otherwise (PyTorch's <c>F.elu</c>, <c>nn.ELU</c>; α = 1 by default).</summary>
/// <remarks>e^x - 1 is computed without cancellation near 0 (Kahan's form (u - 1)·x / ln u with u = e^x; x itself when u
/// rounds to 1, -1 when u - 1 does). The derivative is 1 for x &gt; 0 and α·e^x otherwise, read from the saved input, as
/// PyTorch's elu_backward (so α at the kink x = 0, its left derivative). elu(-∞) = -α, elu(+∞) = +∞; NaN propagates.</remarks>
[DlOp("elu", Saves = Saved.Input, DomainMin = -10, DomainMax = 5, Tolerance = 1e-6)]
public readonly struct EluOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T>
    {
        if (x > T.Zero) return x;
        T u = T.Exp(x);
        T um1 = u - T.One;
        T expm1 = u == T.One ? x : um1 == -T.One ? um1 : um1 * x / T.Log(u);
        return a * expm1;
    }

    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default)
    {
        Vector256<float> u = Vector256.Exp(x);
        Vector256<float> um1 = u - Vector256<float>.One;
        Vector256<float> expm1 = Vector256.ConditionalSelect(Vector256.Equals(u, Vector256<float>.One), x,
            Vector256.ConditionalSelect(Vector256.Equals(um1, -Vector256<float>.One), um1, um1 * x / Vector256.Log(u)));
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, a * expm1);
    }

    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>
        => x > T.Zero ? dy : dy * a * T.Exp(x);

    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a,
        Vector256<float> b = default)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), dy, dy * a * Vector256.Exp(x));
}

public static partial class Ops
{
    /// <inheritdoc cref="EluOp"/>
    /// <param name="x">The input.</param>
    /// <param name="alpha">α, the value ELU approaches for x → -∞ is -α (PyTorch's alpha).</param>
    [Op(OpKind.Unary, typeof(EluOp))]
    public static Tensor Elu(Tensor x, float alpha = 1f) => TapeOps.Unary<EluOp>(x, alpha);
}
