using System.Numerics;
using System.Runtime.Intrinsics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

/// <summary>SiLU (swish): y = x·σ(x) = x / (1 + e^-x) (PyTorch's <c>F.silu</c>, <c>nn.SiLU</c>).</summary>
/// <remarks>The derivative is σ(x)·(1 + x·(1 - σ(x))), read from the saved input, as PyTorch's silu_backward. The
/// scalar path is PyTorch's formula x / (1 + e^-x); the vector path is x·<see cref="VectorMath.Sigmoid(Vector256{float})"/>
/// (within 1.9e-7 relative). silu(+∞) = +∞; silu(-∞) is NaN (-∞·0), as in PyTorch; NaN propagates.</remarks>
[DlOp("silu", Saves = Saved.Input, DomainMin = -10, DomainMax = 10, Tolerance = 1e-6)]
public readonly struct SiluOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T> => x / (T.One + T.Exp(-x));

    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default) => x * VectorMath.Sigmoid(x);

    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>
    {
        T s = T.One / (T.One + T.Exp(-x));
        return dy * s * (T.One + x * (T.One - s));
    }

    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a,
        Vector256<float> b = default)
    {
        Vector256<float> s = VectorMath.Sigmoid(x);
        return dy * s * (Vector256<float>.One + x * (Vector256<float>.One - s));
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="SiluOp"/>
    [Op(OpKind.Unary, typeof(SiluOp))]
    public static Tensor Silu(Tensor x) => TapeOps.Unary<SiluOp>(x, 0f);
}
