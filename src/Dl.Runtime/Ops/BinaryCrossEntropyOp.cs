using System.Numerics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Binary cross-entropy on probabilities per sample: ℓ = (1/n) Σ_i [-t_i ln p_i - (1 - t_i) ln(1 - p_i)],
/// with p_i = clamp(x_i, ε, 1 - ε), ε = 1e-7 (Keras's epsilon and clipping), so a saturated probability costs at most
/// about 16.1 instead of ∞.</summary>
/// <remarks>The gradient is ∂ℓ/∂x_i = (p_i - t_i) / (p_i (1 - p_i)) / n where ε ≤ x_i ≤ 1 - ε, and 0 outside, the
/// clamp's derivative (as in Keras): a prediction stuck at exactly 0 or 1 gets no gradient. Prefer
/// <see cref="BinaryCrossEntropyWithLogitsOp"/> on the logits. Reads the inputs (scratch is not used).
/// An empty row throws <see cref="ArgumentException"/>; NaN propagates.</remarks>
[DlOp("binary_cross_entropy", Saves = Saved.Input, FuseAfter = "sigmoid", FusedWith = typeof(BinaryCrossEntropyWithLogitsOp), DomainMin = 0.02, DomainMax = 0.98, Tolerance = 1e-5)]
public readonly struct BinaryCrossEntropyOp : ILossOp
{
    public static T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T>
    {
        LossChecks.NotEmpty(x.Length);
        if (target.Length != x.Length) throw new ArgumentException($"Target row has {target.Length} elements; expected the prediction's {x.Length}.", nameof(target));
        T eps = T.CreateTruncating(1e-7), hi = T.One - eps;
        T s = T.Zero;
        for (int i = 0; i < x.Length; i++)
        {
            T p = T.Clamp(x[i], eps, hi), t = target[i];
            s -= t * T.Log(p) + (T.One - t) * T.Log(T.One - p);
        }
        return s / T.CreateTruncating(x.Length);
    }

    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>
    {
        LossChecks.NotEmpty(x.Length);
        if (target.Length != x.Length) throw new ArgumentException($"Target row has {target.Length} elements; expected the prediction's {x.Length}.", nameof(target));
        LossChecks.Gradient(dx.Length, x.Length);
        T eps = T.CreateTruncating(1e-7), hi = T.One - eps;
        T c = dLoss / T.CreateTruncating(x.Length);
        for (int i = 0; i < x.Length; i++)
        {
            T p = x[i];
            if (p < eps || p > hi) continue;
            dx[i] += c * (p - target[i]) / (p * (T.One - p));
        }
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="BinaryCrossEntropyOp"/>
    [Op(OpKind.Loss, typeof(BinaryCrossEntropyOp))]
    public static Tensor BinaryCrossEntropy(Tensor probabilities, Tensor target) => TapeOps.Loss<BinaryCrossEntropyOp>(probabilities, target);
}
