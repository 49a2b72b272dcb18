using static Dl.Generators.Diagnostics.MessageText;

namespace Dl.Generators.Parsing;

/// <summary>Stage 2: the static shape rule of every op kind. Each returns the output shape or an error message
/// naming both shapes; the parser turns the message into DL0003/DL0012 at the offending expression.</summary>
internal static class ShapeInference
{
    /// <summary>NumPy broadcasting over per-sample dims; a batched operand makes the result batched.</summary>
    public static ShapeSpec Broadcast(ShapeSpec a, ShapeSpec b, out string? error)
    {
        error = null;
        int rank = System.Math.Max(a.Rank, b.Rank);
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Rank) >= 0 ? a.Dims[i - (rank - a.Rank)] : 1;
            int db = i - (rank - b.Rank) >= 0 ? b.Dims[i - (rank - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1)
            {
                error = $"{Axis(i)}{(a.Rank != b.Rank ? " of the broadcast shape (aligned at the last axis)" : "")} is {da} against {db}; they broadcast only when equal or one is 1";
                return a;
            }
            dims[i] = System.Math.Max(da, db);
        }
        return new ShapeSpec(dims, a.Batched || b.Batched);
    }

    /// <summary>[K]·[K,N] = [N] and [M,K]·[K,N] = [M,N]; with <paramref name="transB"/> b is stored [N,K].</summary>
    public static ShapeSpec MatMul(ShapeSpec a, ShapeSpec b, bool transB, out string? error)
    {
        error = null;
        if (a.Rank is < 1 or > 2 || b.Rank is < 1 or > 2 || (transB && b.Rank != 2))
        {
            error = "matmul takes a vector or matrix on each side";
            return a;
        }
        int k = a.Dims[a.Rank - 1];
        int kb = transB ? b.Dims[1] : b.Dims[0];
        int n = b.Rank == 1 ? 1 : transB ? b.Dims[0] : b.Dims[1];
        if (k != kb)
        {
            error = $"inner dimensions differ ({k} against {kb})";
            return a;
        }
        var dims = new System.Collections.Generic.List<int>();
        if (a.Rank == 2) dims.Add(a.Dims[0]);
        if (b.Rank == 2) dims.Add(n);
        return new ShapeSpec(dims.ToArray(), a.Batched || b.Batched);
    }

    public static ShapeSpec Reduce(ShapeSpec x, int? axis, out string? error)
    {
        error = null;
        if (axis is null) return ShapeSpec.Scalar(x.Batched);
        int ax = axis.Value < 0 ? axis.Value + x.Rank : axis.Value;
        if (ax < 0 || ax >= x.Rank)
        {
            error = $"{Axis(axis.Value)} is out of range for per-sample shape {x.PerSample} ({LayerRules.PerSampleAxes})";
            return x;
        }
        return new ShapeSpec(x.Dims.Where((_, i) => i != ax).ToArray(), x.Batched);
    }

    public static ShapeSpec Loss(ShapeSpec prediction, ShapeSpec target, int classes, out string? error)
    {
        error = null;
        if (classes > 0)
        {
            // One label per sample ([]) or per step ([T]): the prediction is the labels' shape plus the classes.
            var expected = target.Dims.Concat(new[] { classes }).ToArray();
            if (!prediction.Dims.SequenceEqual(expected))
                error = $"labels {target.PerSample} of {classes} classes need a prediction of shape [{string.Join(", ", expected)}]";
        }
        else if (!prediction.Dims.Equals(target.Dims))
        {
            error = "prediction and target must have the same per-sample shape";
        }
        return ShapeSpec.Scalar(prediction.Batched || target.Batched);
    }

    public static ShapeSpec Reshape(ShapeSpec x, int[] shape, out string? error)
    {
        error = null;
        int known = 1, infer = -1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1 && infer < 0) infer = i;
            else if (shape[i] <= 0) { error = $"size {shape[i]} is not allowed (one -1 may be inferred)"; return x; }
            else known *= shape[i];
        }
        var dims = (int[])shape.Clone();
        if (infer >= 0)
        {
            if (known == 0 || x.Size % known != 0) { error = $"cannot infer -1: {x.Size} elements are not divisible by {known}"; return x; }
            dims[infer] = x.Size / known;
        }
        int size = dims.Aggregate(1, (p, d) => p * d);
        if (size != x.Size) { error = $"{x.Size} elements cannot be reshaped to [{string.Join(", ", dims)}] ({size} elements)"; return x; }
        return new ShapeSpec(dims, x.Batched);
    }

    public static ShapeSpec Transpose(ShapeSpec x, out string? error)
    {
        error = x.Rank == 2 ? null : $"transpose needs a per-sample matrix, got {x.PerSample}";
        return x.Rank == 2 ? new ShapeSpec(new[] { x.Dims[1], x.Dims[0] }, x.Batched) : x;
    }

    public static ShapeSpec Slice(ShapeSpec x, int axis, int start, int length, bool keepAxis, out string? error)
    {
        error = null;
        if (axis < 0 || axis >= x.Rank) { error = $"{Axis(axis)} is out of range for per-sample shape {x.PerSample}"; return x; }
        int dim = x.Dims[axis];
        if (start < 0 || length < 1 || start + length > dim)
        {
            error = keepAxis ? $"range {start}..{start + length} is outside 0..{dim} on {Axis(axis)} of per-sample shape {x.PerSample}"
                             : $"index {start} is outside 0..{dim - 1} on {Axis(axis)} of per-sample shape {x.PerSample}";
            return x;
        }
        var dims = new List<int>(x.Dims);
        if (keepAxis) dims[axis] = length; else dims.RemoveAt(axis);
        return new ShapeSpec(dims.ToArray(), x.Batched);
    }

    /// <summary>Parts joined along <paramref name="axis"/> (an axis of the parts; the other axes equal), or with
    /// <paramref name="newAxis"/> stacked along a new axis <paramref name="axis"/> of the result (the parts' shapes equal).
    /// The parts must all be batched or all not.</summary>
    public static ShapeSpec Concat(IReadOnlyList<ShapeSpec> parts, int axis, bool newAxis, out string? error)
    {
        error = null;
        var a = parts[0];
        int rank = a.Rank + (newAxis ? 1 : 0);
        if (axis < 0 || axis >= rank || (!newAxis && a.Rank == 0))
        {
            error = newAxis
                ? $"stacking along {Axis(axis)} needs an axis of the result, 0 to {a.Rank} for parts {a.PerSample} (negative counts from the end)"
                : $"concatenation along {Axis(axis)} needs operands of equal rank and batching";
            return a;
        }
        int length = newAxis ? parts.Count : 0;
        foreach (var b in parts)
        {
            if (b.Rank != a.Rank || b.Batched != a.Batched)
            {
                error = newAxis ? $"stacking needs parts of one shape and batching, got {a} and {b}"
                                : $"concatenation along {Axis(axis)} needs operands of equal rank and batching";
                return a;
            }
            for (int i = 0; i < a.Rank; i++)
                if ((newAxis || i != axis) && a.Dims[i] != b.Dims[i])
                {
                    error = newAxis ? $"stacking needs parts of one shape, got {a.PerSample} and {b.PerSample}"
                                    : $"{Axis(i)} differs ({a.Dims[i]} against {b.Dims[i]})";
                    return a;
                }
            if (!newAxis) length += b.Dims[axis];
        }
        var dims = a.Dims.ToList();
        if (newAxis) dims.Insert(axis, length); else dims[axis] = length;
        return new ShapeSpec(dims.ToArray(), a.Batched);
    }
}
