using System.Numerics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

/// <summary>Softmax over the last axis: y_i = e^(x_i - m) / Σ_j e^(x_j - m), with m = max_j x_j (subtracting the
/// maximum changes nothing mathematically and keeps every exponent ≤ 0, so no overflow).</summary>
/// <remarks>The vector-Jacobian product is dx = y ⊙ (dy - ⟨dy, y⟩) (J = diag(y) - y yᵀ), computed from the saved
/// output: <see cref="Backward{T}"/> reads y and dy, not x. Elements equal to -∞ get probability 0; a NaN, a +∞, or a
/// row of all -∞ makes the row NaN (as in PyTorch). For a loss on the probabilities use
/// <see cref="Ops.SoftmaxCrossEntropy"/>, which is exact where log(softmax) underflows.</remarks>
[DlOp("softmax", Saves = Saved.Output, DomainMin = -5, DomainMax = 5, Tolerance = 1e-6)]
public readonly struct SoftmaxOp : IRowOp
{
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (y.Length != x.Length) throw new ArgumentException($"Output row has {y.Length} elements; expected {x.Length}.", nameof(y));
        if (x.IsEmpty) return;
        T m = Rows.Max(x);
        T s = Rows.ExpShifted(x, m, y);
        Rows.Scale<T>(y, T.One / s, y);
    }

    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : IFloatingPointIeee754<T>
    {
        if (dy.Length != y.Length || dx.Length != y.Length)
            throw new ArgumentException($"Row lengths differ: y {y.Length}, dy {dy.Length}, dx {dx.Length}.", nameof(dx));
        T d = Rows.Dot(dy, y);
        for (int i = 0; i < y.Length; i++) dx[i] += y[i] * (dy[i] - d);
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="SoftmaxOp"/>
    [Op(OpKind.RowWise, typeof(SoftmaxOp))]
    public static Tensor Softmax(Tensor x) => TapeOps.RowWise<SoftmaxOp>(x);
}
