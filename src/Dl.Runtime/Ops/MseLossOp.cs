using System.Numerics;
using Dl.Dynamic;

namespace Dl;

/// <summary>Mean squared error per sample: ℓ = (1/n) Σ_i (x_i - t_i)² over the n elements of the row
/// (PyTorch's MSELoss with reduction 'mean' applied per sample; the training loss is then the batch mean).</summary>
/// <remarks>The gradient is ∂ℓ/∂x_i = 2 (x_i - t_i) / n, read from the inputs (scratch is not used).
/// An empty row throws <see cref="ArgumentException"/> (the mean of nothing is undefined).</remarks>
[DlOp("mse_loss", Saves = Saved.Input, Tolerance = 1e-6)]
public readonly struct MseLossOp : ILossOp
{
    public static T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T>
    {
        LossChecks.NotEmpty(x.Length);
        if (target.Length != x.Length) throw new ArgumentException($"Target row has {target.Length} elements; expected the prediction's {x.Length}.", nameof(target));
        T s = T.Zero;
        for (int i = 0; i < x.Length; i++) { T d = x[i] - target[i]; s += d * d; }
        return s / T.CreateTruncating(x.Length);
    }

    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>
    {
        LossChecks.NotEmpty(x.Length);
        if (target.Length != x.Length) throw new ArgumentException($"Target row has {target.Length} elements; expected the prediction's {x.Length}.", nameof(target));
        LossChecks.Gradient(dx.Length, x.Length);
        T c = (dLoss + dLoss) / T.CreateTruncating(x.Length);
        for (int i = 0; i < x.Length; i++) dx[i] += c * (x[i] - target[i]);
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="MseLossOp"/>
    [Op(OpKind.Loss, typeof(MseLossOp))]
    public static Tensor MseLoss(Tensor prediction, Tensor target) => TapeOps.Loss<MseLossOp>(prediction, target);
}
