using System.Numerics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Half squared error per sample: ℓ = ½ Σ_i (x_i - t_i)², the form of the course notes (the ½ cancels in
/// the derivative).</summary>
/// <remarks>The gradient is ∂ℓ/∂x_i = x_i - t_i, read from the inputs (scratch is not used). An empty row gives 0.</remarks>
[DlOp("half_squared_error", Saves = Saved.Input, Tolerance = 1e-6)]
public readonly struct HalfSquaredErrorOp : ILossOp
{
    public static T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T>
    {
        if (target.Length != x.Length) throw new ArgumentException($"Target row has {target.Length} elements; expected the prediction's {x.Length}.", nameof(target));
        T s = T.Zero;
        for (int i = 0; i < x.Length; i++) { T d = x[i] - target[i]; s += d * d; }
        return s / (T.One + T.One);
    }

    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>
    {
        if (target.Length != x.Length) throw new ArgumentException($"Target row has {target.Length} elements; expected the prediction's {x.Length}.", nameof(target));
        LossChecks.Gradient(dx.Length, x.Length);
        for (int i = 0; i < x.Length; i++) dx[i] += dLoss * (x[i] - target[i]);
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="HalfSquaredErrorOp"/>
    [Op(OpKind.Loss, typeof(HalfSquaredErrorOp))]
    public static Tensor HalfSquaredError(Tensor prediction, Tensor target) => TapeOps.Loss<HalfSquaredErrorOp>(prediction, target);
}
