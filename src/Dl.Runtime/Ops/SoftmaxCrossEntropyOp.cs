using System.Numerics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl;

/// <summary>Softmax cross-entropy against a probability target, per sample: ℓ = -Σ_i t_i ln softmax(x)_i
/// = Σ_i t_i (lse(x) - x_i), with lse(x) = m + ln Σ_j e^(x_j - m), m = max_j x_j.</summary>
/// <remarks>The gradient is ∂ℓ/∂x = p Σ_i t_i - t with p = softmax(x), which is the familiar p - t when the target sums
/// to 1 (a distribution, e.g. one-hot or label-smoothed). Forward leaves p in <c>scratch</c>; backward reads p and t,
/// not x. Terms with t_i = 0 are skipped, so a logit of -∞ for a class of target 0 is allowed (0·∞ is not formed).
/// For integer class labels use <see cref="SoftmaxCrossEntropyLabelsOp"/> (<see cref="Ops.SoftmaxCrossEntropy"/>
/// picks it when the target holds labels).</remarks>
[DlOp("softmax_cross_entropy", Saves = Saved.Input, DomainMin = -5, DomainMax = 5, Tolerance = 1e-5)]
public readonly struct SoftmaxCrossEntropyOp : ILossOp
{
    public static T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T>
    {
        LossChecks.SameLength(x.Length, target.Length, scratch.Length);
        if (x.IsEmpty) return T.Zero;
        T lse = LossChecks.SoftmaxInto(x, scratch);
        T loss = T.Zero;
        for (int i = 0; i < x.Length; i++)
            if (target[i] != T.Zero) loss += target[i] * (lse - x[i]);
        return loss;
    }

    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>
    {
        LossChecks.SameLength(x.Length, target.Length, scratch.Length);
        LossChecks.Gradient(dx.Length, x.Length);
        T ts = Rows.Sum(target) * dLoss;
        for (int i = 0; i < dx.Length; i++) dx[i] += scratch[i] * ts - target[i] * dLoss;
    }
}

/// <summary>Softmax cross-entropy against integer class labels, per sample: with one label k, ℓ = -ln softmax(x)_k =
/// lse(x) - x_k, lse(x) = m + ln Σ_j e^(x_j - m), m = max_j x_j; with R labels (a sequence, one per step) the prediction
/// holds R rows of C = length / R scores and ℓ = (1/R) Σ_r (lse(x_r) - x_r[k_r]), the mean over steps (so the batch loss
/// is PyTorch's cross_entropy over all batch x step rows).</summary>
/// <remarks>The gradient is (p_r - onehot(k_r)) / R per row with p = softmax(x) (PyTorch's cross_entropy with class
/// indices). Forward leaves p in <c>scratch</c>; backward reads p and k. A label that is not an integer in [0, C) throws
/// <see cref="ArgumentOutOfRangeException"/> naming the label and the class count.</remarks>
[DlOp("softmax_cross_entropy_labels", Saves = Saved.Input, DomainMin = -5, DomainMax = 5, Tolerance = 1e-5)]
public readonly struct SoftmaxCrossEntropyLabelsOp : ILossOp
{
    public static T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T>
    {
        int rows = Rows(x.Length, target.Length), classes = x.Length / rows;
        LossChecks.Scratch(scratch.Length, x.Length);
        T loss = T.Zero;
        for (int r = 0; r < rows; r++)
        {
            int k = Label(target, r, classes);
            ReadOnlySpan<T> xr = x.Slice(r * classes, classes);
            loss += LossChecks.SoftmaxInto(xr, scratch.Slice(r * classes, classes)) - xr[k];
        }
        return rows == 1 ? loss : loss / T.CreateTruncating(rows);
    }

    public static void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>
    {
        int rows = Rows(x.Length, target.Length), classes = x.Length / rows;
        LossChecks.Scratch(scratch.Length, x.Length);
        LossChecks.Gradient(dx.Length, x.Length);
        T d = rows == 1 ? dLoss : dLoss / T.CreateTruncating(rows);
        for (int i = 0; i < x.Length; i++) dx[i] += scratch[i] * d;
        for (int r = 0; r < rows; r++) dx[r * classes + Label(target, r, classes)] -= d;
    }

    private static int Rows(int x, int labels)
    {
        if (labels == 0 || x % labels != 0)
            throw new ArgumentException($"A label target of {labels} class indices needs a prediction of whole rows, one per label; got {x} scores.", "target");
        return labels;
    }

    private static int Label<T>(ReadOnlySpan<T> target, int row, int classes) where T : IFloatingPointIeee754<T>
    {
        T label = target[row];
        if (!T.IsInteger(label) || label < T.Zero || label >= T.CreateTruncating(classes))
            throw new ArgumentOutOfRangeException(nameof(target), label, target.Length == 1
                ? $"Class label {label} is not an integer class index in [0, {classes}) for {classes} classes."
                : $"Class label {label} at step {row} is not an integer class index in [0, {classes}) for {classes} classes.");
        return int.CreateTruncating(label);
    }

    /// <summary>The class index held by a label target row, validated against the class count.</summary>
    public static int Label<T>(ReadOnlySpan<T> target, int classes) where T : IFloatingPointIeee754<T>
    {
        if (target.Length != 1)
            throw new ArgumentException($"A label target has one element per sample (the class index); got {target.Length}.", nameof(target));
        T label = target[0];
        if (!T.IsInteger(label) || label < T.Zero || label >= T.CreateTruncating(classes))
            throw new ArgumentOutOfRangeException(nameof(target), label,
                $"Class label {label} is not an integer class index in [0, {classes}) for {classes} classes.");
        return int.CreateTruncating(label);
    }
}

public static partial class Ops
{
    /// <summary>Softmax cross-entropy of <paramref name="logits"/> (the last axis holds the classes) against
    /// <paramref name="target"/>: a probability row (<see cref="SoftmaxCrossEntropyOp"/>) or, when
    /// <see cref="Tensor.IsLabels"/>, one integer class index per sample (<see cref="SoftmaxCrossEntropyLabelsOp"/>).
    /// Per sample: ℓ = -Σ t log softmax(logits); gradient p - t.</summary>
    [Op(OpKind.Loss, typeof(SoftmaxCrossEntropyOp), LabelsImpl = typeof(SoftmaxCrossEntropyLabelsOp))]
    public static Tensor SoftmaxCrossEntropy(Tensor logits, Tensor target)
        => target.IsLabels
            ? TapeOps.Loss<SoftmaxCrossEntropyLabelsOp>(logits, target)
            : TapeOps.Loss<SoftmaxCrossEntropyOp>(logits, target);
}

/// <summary>Argument checks shared by the loss ops (clear messages, nothing allocated on success).</summary>
internal static class LossChecks
{
    public static void SameLength(int x, int target, int scratch)
    {
        if (target != x) throw new ArgumentException($"Target row has {target} elements; expected the prediction's {x}.", nameof(target));
        Scratch(scratch, x);
    }

    public static void Scratch(int scratch, int x)
    {
        if (scratch < x) throw new ArgumentException($"Scratch row has {scratch} elements; expected at least {x}.", nameof(scratch));
    }

    public static void Gradient(int dx, int x)
    {
        if (dx != x) throw new ArgumentException($"Gradient row has {dx} elements; expected the prediction's {x}.", nameof(dx));
    }

    public static void NotEmpty(int x)
    {
        if (x == 0) throw new ArgumentException("A mean loss needs at least one element per sample.", "x");
    }

    /// <summary>p = softmax(x) into <paramref name="p"/>; returns lse(x) = m + ln Σ e^(x - m).</summary>
    public static T SoftmaxInto<T>(ReadOnlySpan<T> x, Span<T> p) where T : IFloatingPointIeee754<T>
    {
        T m = Rows.Max(x);
        T s = Rows.ExpShifted(x, m, p);
        Rows.Scale<T>(p.Slice(0, x.Length), T.One / s, p);
        return m + T.Log(s);
    }
}
