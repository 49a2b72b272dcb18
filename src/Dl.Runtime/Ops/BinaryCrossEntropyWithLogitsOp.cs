using System.Numerics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

/// <summary>Binary cross-entropy on logits per sample: ℓ = (1/n) Σ_i [max(x_i, 0) - x_i t_i + ln(1 + e^-|x_i|)],
/// which equals -(1/n) Σ_i [t_i ln σ(x_i) + (1 - t_i) ln(1 - σ(x_i))] without forming σ, so it neither overflows nor
/// takes ln 0 (PyTorch's BCEWithLogitsLoss, mean over the row).</summary>
/// <remarks>The gradient is ∂ℓ/∂x_i = (σ(x_i) - t_i) / n, read from the inputs (scratch is not used). ln(1 + u) is
/// evaluated accurately for small u, so the loss of a confident correct prediction is not rounded to 0.
/// An empty row throws <see cref="ArgumentException"/>.</remarks>
[DlOp("binary_cross_entropy_with_logits", Saves = Saved.Input, DomainMin = -8, DomainMax = 8, Tolerance = 1e-5)]
public readonly struct BinaryCrossEntropyWithLogitsOp : ILossOp
{
    public static T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T>
    {
        LossChecks.NotEmpty(x.Length);
        if (target.Length != x.Length) throw new ArgumentException($"Target row has {target.Length} elements; expected the prediction's {x.Length}.", nameof(target));
        T s = T.Zero;
        for (int i = 0; i < x.Length; i++)
        {
            T v = x[i];
            s += T.Max(v, T.Zero) - v * target[i] + ElementwiseMath.Log1P(T.Exp(-T.Abs(v)));
        }
        return s / T.CreateTruncating(x.Length);
    }

    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>
    {
        LossChecks.NotEmpty(x.Length);
        if (target.Length != x.Length) throw new ArgumentException($"Target row has {target.Length} elements; expected the prediction's {x.Length}.", nameof(target));
        LossChecks.Gradient(dx.Length, x.Length);
        T c = dLoss / T.CreateTruncating(x.Length);
        for (int i = 0; i < x.Length; i++) dx[i] += c * (ElementwiseMath.Sigmoid(x[i]) - target[i]);
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="BinaryCrossEntropyWithLogitsOp"/>
    [Op(OpKind.Loss, typeof(BinaryCrossEntropyWithLogitsOp))]
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target) => TapeOps.Loss<BinaryCrossEntropyWithLogitsOp>(logits, target);
}
