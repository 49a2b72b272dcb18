using System.Numerics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

/// <summary>Log-softmax over the last axis: y_i = x_i - m - ln Σ_j e^(x_j - m), with m = max_j x_j
/// (exact where ln(softmax(x)) would underflow to -∞).</summary>
/// <remarks>The vector-Jacobian product is dx = dy - softmax(x) Σ_j dy_j, with softmax(x) = e^y recomputed from the
/// saved output: <see cref="Backward{T}"/> reads y and dy, not x. A NaN, a +∞, or a row of all -∞ makes the row NaN.</remarks>
[DlOp("log_softmax", Saves = Saved.Output, DomainMin = -5, DomainMax = 5, Tolerance = 1e-6)]
public readonly struct LogSoftmaxOp : IRowOp
{
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (y.Length != x.Length) throw new ArgumentException($"Output row has {y.Length} elements; expected {x.Length}.", nameof(y));
        if (x.IsEmpty) return;
        T m = Rows.Max(x);
        T lse = m + T.Log(Rows.SumExpShifted(x, m));
        Rows.AddScalar(x, -lse, y);
    }

    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : IFloatingPointIeee754<T>
    {
        if (dy.Length != y.Length || dx.Length != y.Length)
            throw new ArgumentException($"Row lengths differ: y {y.Length}, dy {dy.Length}, dx {dx.Length}.", nameof(dx));
        T s = Rows.Sum(dy);
        for (int i = 0; i < y.Length; i++) dx[i] += dy[i] - T.Exp(y[i]) * s;
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="LogSoftmaxOp"/>
    [Op(OpKind.RowWise, typeof(LogSoftmaxOp))]
    public static Tensor LogSoftmax(Tensor x) => TapeOps.RowWise<LogSoftmaxOp>(x);
}
