using System.Numerics;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    // ================================================================================================================
    // RowWise: y_row = f(x_row) over the last axis (softmax, log-softmax). Backward: dx_row += J(x_row)ᵀ · dy_row.
    // ================================================================================================================

    public static Tensor RowWise<TOp>(Tensor x) where TOp : struct, IRowOp
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1)
            throw new ArgumentException($"{OpInfo<TOp>.Name}: works on the last axis, so the input needs at least one axis; got {x.ShapeText}.");
        return x.Tape.IsDouble ? RowWiseCore<TOp, double>(x) : RowWiseCore<TOp, float>(x);
    }

    private static Tensor RowWiseCore<TOp, T>(Tensor x) where TOp : struct, IRowOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor y = x.Tape.Node<T>(OpInfo<TOp>.Name, x.ShapeArray, x.Batched, x);
        int width = x.ShapeArray[^1];
        TapeKernels.RowWise<TOp, T>(x.Values<T>(), y.Values<T>(), width == 0 ? 0 : x.Length / width, width);
        if (y.RequiresGrad) y.BackwardRule = RowRules<TOp, T>.Backward;
        return y;
    }

    private static class RowRules<TOp, T> where TOp : struct, IRowOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            if (!OpInfo<TOp>.Differentiable) throw OpInfo<TOp>.NotDifferentiable(y);
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            int width = x.ShapeArray[^1];
            Span<T> dx = x.GradAccumulator<T>();
            TapeKernels.RowWiseBackward<TOp, T>(x.Values<T>(), y.Values<T>(), y.Upstream<T>(), dx, width == 0 ? 0 : x.Length / width, width);
        };
    }

    // ================================================================================================================
    // Loss: one value per sample, ℓ_s = loss(prediction_s, target_s). Backward: dprediction_s += dℓ_s · ∂ℓ/∂prediction_s.
    // ================================================================================================================

    public static Tensor Loss<TOp>(Tensor prediction, Tensor target) where TOp : struct, ILossOp
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        string name = OpInfo<TOp>.Name;
        if (!ReferenceEquals(prediction.Tape, target.Tape))
            throw new ArgumentException($"{name}: the prediction {prediction} and the target {target} belong to different models' tapes.");
        if (target.IsLabels)
        {
            // One label per sample (shape []) or per step ([T]): the prediction has the labels' shape plus the classes.
            bool ok = prediction.Rank == target.Rank + 1 && prediction.ShapeArray[^1] == target.ClassCount;
            for (int i = 0; ok && i < target.Rank; i++) ok = prediction.ShapeArray[i] == target.ShapeArray[i];
            if (!ok)
                throw new ArgumentException(
                    $"{name}: labels {target.ShapeText} of {target.ClassCount} classes need a prediction of shape {target.ShapeText[..^1]}{(target.Rank > 0 ? ", " : "")}{target.ClassCount}] per sample, got {prediction.ShapeText}.");
        }
        else if (!SameShape(prediction, target))
        {
            throw new ArgumentException($"{name}: the prediction {prediction.ShapeText} and the target {target.ShapeText} must have the same shape.");
        }
        return prediction.Tape.IsDouble ? LossCore<TOp, double>(prediction, target) : LossCore<TOp, float>(prediction, target);
    }

    private static Tensor LossCore<TOp, T>(Tensor prediction, Tensor target) where TOp : struct, ILossOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = prediction.Tape;
        Tensor loss = tape.Node<T>(OpInfo<TOp>.Name, [], prediction.Batched || target.Batched, prediction, target);
        int size = prediction.SizeValue;
        T[] scratch = tape.Rent<T>(loss.Samples * size);
        loss.Aux0 = scratch;
        Span<T> values = loss.Values<T>();
        if (prediction.Batched == target.Batched)
            TapeKernels.Loss<TOp, T>(prediction.Values<T>(), target.Values<T>(), scratch, values, loss.Samples, size);
        else   // one side broadcasts over the batch: one row per call
            for (int s = 0; s < loss.Samples; s++)
                TapeKernels.Loss<TOp, T>(prediction.SampleValues<T>(s), target.SampleValues<T>(s), scratch.AsSpan(s * size, size),
                    values.Slice(s, 1), 1, size);
        if (loss.RequiresGrad) loss.BackwardRule = LossRules<TOp, T>.Backward;
        return loss;
    }

    private static class LossRules<TOp, T> where TOp : struct, ILossOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static loss =>
        {
            if (!OpInfo<TOp>.Differentiable) throw OpInfo<TOp>.NotDifferentiable(loss);
            Tensor prediction = loss.In0!, target = loss.In1!;
            if (target.RequiresGrad && target.Kind == Tensor.NodeKind.Op)
                throw new NotSupportedException(
                    $"{OpInfo<TOp>.Name}: the target {target} depends on parameters, but the loss has no gradient with respect to its target. " +
                    "Pass a fixed target (an input or a constant).");
            if (!prediction.RequiresGrad) return;
            int size = prediction.SizeValue;
            Span<T> dp = prediction.GradAccumulator<T>();
            ReadOnlySpan<T> dl = loss.Upstream<T>();
            T[] scratch = (T[])loss.Aux0!;
            if (prediction.Batched == target.Batched)
            {
                TapeKernels.LossBackward<TOp, T>(prediction.Values<T>(), target.Values<T>(), scratch, dl, dp, loss.Samples, size);
                return;
            }
            for (int s = 0; s < loss.Samples; s++)
            {
                Span<T> rowGrad = prediction.Batched ? dp.Slice(s * size, size) : dp;
                TapeKernels.LossBackward<TOp, T>(prediction.SampleValues<T>(s), target.SampleValues<T>(s), scratch.AsSpan(s * size, size),
                    dl.Slice(s, 1), rowGrad, 1, size);
            }
        };
    }
}
