using System.Numerics;
using Dl.Kernels;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    // ================================================================================================================
    // Reduce: y = Σ x (or Σ x², or the mean) over all per-sample elements or one axis.
    // Backward: dx += broadcast(dy) · (2x if squared) / (count if mean).
    // ================================================================================================================

    public static Tensor Reduce(Tensor x, int? axis, bool mean, bool squared)
    {
        ArgumentNullException.ThrowIfNull(x);
        string op = squared ? (mean ? "mean_squares" : "sum_squares") : (mean ? "mean" : "sum");
        int outer = 1, length = x.SizeValue, inner = 1;
        int[] shape = [];
        if (axis is int requested)
        {
            int a = NormalizeAxis(op, x, requested);
            length = x.ShapeArray[a];
            for (int i = 0; i < a; i++) outer *= x.ShapeArray[i];
            for (int i = a + 1; i < x.Rank; i++) inner *= x.ShapeArray[i];
            Span<int> reduced = stackalloc int[x.Rank - 1];
            x.ShapeArray.AsSpan(0, a).CopyTo(reduced);
            x.ShapeArray.AsSpan(a + 1).CopyTo(reduced[a..]);
            shape = x.Tape.Intern(reduced);
        }
        if (length == 0) throw new ArgumentException($"{op}: cannot reduce an empty axis of {x.ShapeText}.");
        return x.Tape.IsDouble
            ? ReduceCore<double>(x, op, shape, outer, length, inner, mean, squared)
            : ReduceCore<float>(x, op, shape, outer, length, inner, mean, squared);
    }

    private static Tensor ReduceCore<T>(Tensor x, string op, int[] shape, int outer, int length, int inner, bool mean, bool squared)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor y = x.Tape.Node<T>(op, shape, x.Batched, x);
        y.Arg0 = outer;
        y.Arg1 = length;
        y.Arg2 = inner;
        y.Flag0 = mean;
        y.Flag1 = squared;
        ReadOnlySpan<T> xv = x.Values<T>();
        Span<T> yv = y.Values<T>();
        T scale = mean ? T.One / T.CreateTruncating(length) : T.One;
        int groups = x.Samples * outer;
        for (int g = 0; g < groups; g++)
        {
            ReadOnlySpan<T> block = xv.Slice(g * length * inner, length * inner);
            Span<T> dst = yv.Slice(g * inner, inner);
            if (inner == 1)
            {
                if (!squared) dst[0] = TapeKernels.Sum(block) * scale;
                else
                {
                    T total = T.Zero;
                    foreach (T v in block) total += v * v;
                    dst[0] = total * scale;
                }
                continue;
            }
            dst.Clear();
            for (int j = 0; j < length; j++)
            {
                ReadOnlySpan<T> row = block.Slice(j * inner, inner);
                for (int i = 0; i < inner; i++) dst[i] += squared ? row[i] * row[i] : row[i];
            }
            for (int i = 0; i < inner; i++) dst[i] *= scale;
        }
        if (y.RequiresGrad) y.BackwardRule = ReduceRules<T>.Backward;
        return y;
    }

    private static class ReduceRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            int length = y.Arg1, inner = y.Arg2;
            bool squared = y.Flag1;
            T scale = y.Flag0 ? T.One / T.CreateTruncating(length) : T.One;
            Span<T> dx = x.GradTarget<T>(out bool acc);
            ReadOnlySpan<T> xv = x.Values<T>(), dy = y.Upstream<T>();
            int groups = x.Samples * y.Arg0;
            T two = T.CreateTruncating(2);
            if (inner == 1 && !squared)
            {
                // Sum or mean of whole rows: every element of a row gets the same dy · scale.
                for (int g = 0; g < groups; g++)
                {
                    Span<T> row = dx.Slice(g * length, length);
                    T d = dy[g] * scale;
                    if (!acc) row.Fill(d);
                    else for (int j = 0; j < length; j++) row[j] += d;
                }
                return;
            }
            for (int g = 0; g < groups; g++)
            {
                int baseX = g * length * inner;
                for (int j = 0; j < length; j++)
                    for (int i = 0; i < inner; i++)
                    {
                        int at = baseX + j * inner + i;
                        T d = dy[g * inner + i] * scale;
                        if (squared) d *= two * xv[at];
                        dx[at] = acc ? dx[at] + d : d;
                    }
            }
        };
    }

    // ================================================================================================================
    // Transpose [M, N] -> [N, M]. Backward: dx += dyᵀ.
    // ================================================================================================================

    public static Tensor Transpose(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2) throw new ArgumentException($"transpose: expects a matrix [M, N] per sample, got {x.ShapeText}.");
        int m = x.ShapeArray[0], n = x.ShapeArray[1];
        Tensor y = x.Tape.IsDouble ? TransposeCore<double>(x, m, n) : TransposeCore<float>(x, m, n);
        return y;
    }

    private static Tensor TransposeCore<T>(Tensor x, int m, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = x.Tape;
        Tensor y = tape.Node<T>("transpose", tape.Intern([n, m]), x.Batched, x);
        TransposeInto<T>(x.Values<T>(), y.Values<T>(), x.Samples, m, n, accumulate: false);
        if (y.RequiresGrad) y.BackwardRule = TransposeRules<T>.Backward;
        return y;
    }

    private static void TransposeInto<T>(ReadOnlySpan<T> src, Span<T> dst, int samples, int m, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int s = 0; s < samples; s++)
        {
            int o = s * m * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    T v = src[o + i * n + j];
                    ref T d = ref dst[o + j * m + i];
                    d = accumulate ? d + v : v;
                }
        }
    }

    private static class TransposeRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            Span<T> dx = x.GradTarget<T>(out bool acc);
            // dy is [N, M] per sample; transposing it back gives [M, N].
            TransposeInto<T>(y.Upstream<T>(), dx, x.Samples, y.ShapeArray[0], y.ShapeArray[1], acc);
        };
    }

    // ================================================================================================================
    // Reshape: a view with new per-sample dims (no copy). Backward: dx += dy (same layout).
    // ================================================================================================================

    public static Tensor Reshape(Tensor x, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        Span<int> resolved = stackalloc int[shape.Length];
        int known = 1, inferred = -1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (inferred >= 0) throw new ArgumentException($"reshape: at most one dimension may be -1, got {Tensor.FormatShape(shape)}.");
                inferred = i;
            }
            else if (shape[i] <= 0) throw new ArgumentException($"reshape: dimensions must be positive (or one -1), got {Tensor.FormatShape(shape)}.");
            else known *= shape[i];
            resolved[i] = shape[i];
        }
        if (inferred >= 0)
        {
            if (known == 0 || x.SizeValue % known != 0)
                throw new ArgumentException($"reshape: cannot reshape {x.ShapeText} ({x.SizeValue} elements) to {Tensor.FormatShape(shape)}.");
            resolved[inferred] = x.SizeValue / known;
            known *= resolved[inferred];
        }
        if (known != x.SizeValue)
            throw new ArgumentException($"reshape: cannot reshape {x.ShapeText} ({x.SizeValue} elements) to {Tensor.FormatShape(shape)} ({known} elements).");
        Tape tape = x.Tape;
        Tensor y = tape.View("reshape", tape.Intern(resolved), x.Batched, x.DataArray!, x.DataOffset, x);
        y.ClassCount = x.ClassCount;
        if (y.RequiresGrad) y.BackwardRule = tape.IsDouble ? ReshapeRules<double>.Backward : ReshapeRules<float>.Backward;
        return y;
    }

    private static class ReshapeRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            Span<T> dx = x.GradTarget<T>(out bool acc);
            TapeKernels.CopyOrAdd(dx, y.Upstream<T>(), acc);
        };
    }

    // ================================================================================================================
    // Slice: elements start .. start+length along an axis (the axis dropped when !keepAxis: indexing).
    // Backward: the slice of dx += dy.
    // ================================================================================================================

    /// <summary>Element <paramref name="index"/> (from the start, or from the end with ^) of an axis, the axis removed.</summary>
    public static Tensor Index(Tensor x, int axis, Index index)
    {
        ArgumentNullException.ThrowIfNull(x);
        int a = NormalizeAxis("index", x, axis);
        return Slice(x, a, index.GetOffset(x.ShapeArray[a]), 1, keepAxis: false);
    }

    public static Tensor Slice(Tensor x, int axis, Range range)
    {
        ArgumentNullException.ThrowIfNull(x);
        int a = NormalizeAxis("slice", x, axis);
        int dim = x.ShapeArray[a];
        int start = range.Start.GetOffset(dim), end = range.End.GetOffset(dim);
        if (start < 0 || end > dim || end < start)
            throw new ArgumentOutOfRangeException(nameof(range), $"slice: range {range} is outside axis {a} of {x.ShapeText} (length {dim}).");
        return Slice(x, a, start, end - start, keepAxis: true);
    }

    public static Tensor Slice(Tensor x, int axis, int start, int length, bool keepAxis)
    {
        ArgumentNullException.ThrowIfNull(x);
        int a = NormalizeAxis(keepAxis ? "slice" : "index", x, axis);
        int dim = x.ShapeArray[a];
        if (start < 0 || length < 1 || start + length > dim)
        {
            string what = keepAxis ? $"elements {start} .. {start + length}" : $"index {start}";
            throw new ArgumentOutOfRangeException(nameof(start), $"{(keepAxis ? "slice" : "index")}: {what} is outside axis {a} of {x.ShapeText} (length {dim}).");
        }
        if (!keepAxis && length != 1) throw new ArgumentException($"index: dropping axis {a} needs length 1, got {length}.");
        Span<int> shape = stackalloc int[x.Rank];
        x.ShapeArray.CopyTo(shape);
        shape[a] = length;
        if (!keepAxis)
        {
            shape[a..].Slice(1).CopyTo(shape[a..]);
            shape = shape[..^1];
        }
        int outer = 1, inner = 1;
        for (int i = 0; i < a; i++) outer *= x.ShapeArray[i];
        for (int i = a + 1; i < x.Rank; i++) inner *= x.ShapeArray[i];
        Tape tape = x.Tape;
        int[] interned = tape.Intern(shape);
        return tape.IsDouble
            ? SliceCore<double>(x, interned, keepAxis, a, start, length, outer, dim, inner)
            : SliceCore<float>(x, interned, keepAxis, a, start, length, outer, dim, inner);
    }

    private static Tensor SliceCore<T>(Tensor x, int[] shape, bool keepAxis, int axis, int start, int length, int outer, int dim, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor y = x.Tape.Node<T>(keepAxis ? "slice" : "index", shape, x.Batched, x);
        y.Arg0 = axis;
        y.Arg1 = start;
        y.Arg2 = length;
        y.Flag0 = keepAxis;
        TapeKernels.CopyBlocks(x.Values<T>(), x.SizeValue, y.Values<T>(), y.SizeValue, x.Samples,
            StructuralGeometry.Slice(outer, dim, inner, start, length), accumulate: false);
        if (y.RequiresGrad) y.BackwardRule = SliceRules<T>.Backward;
        return y;
    }

    private static class SliceRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            int axis = y.Arg0, start = y.Arg1, length = y.Arg2;
            int dim = x.ShapeArray[axis], outer = 1, inner = 1;
            for (int i = 0; i < axis; i++) outer *= x.ShapeArray[i];
            for (int i = axis + 1; i < x.Rank; i++) inner *= x.ShapeArray[i];
            TapeKernels.CopyBlocks(y.Upstream<T>(), y.SizeValue, x.GradAccumulator<T>(), x.SizeValue, x.Samples,
                StructuralGeometry.Slice(outer, dim, inner, start, length).Reversed(), accumulate: true);
        };
    }

    // ================================================================================================================
    // Concat along an axis (two parts or more), and stack (parts of one shape along a new axis). An unbatched part joined
    // to batched ones repeats in every sample. Backward: each part takes back its slice of dy (summed over the batch when
    // it was repeated). The blocks are the shared StructuralGeometry.ConcatPart the generated code copies.
    // ================================================================================================================

    public static Tensor Concat(Tensor a, Tensor b, int axis) => Concat([a, b], axis, stack: false);

    public static Tensor Concat(ReadOnlySpan<Tensor> parts, int axis, bool stack)
    {
        string op = stack ? "stack" : "concat";
        if (parts.Length < (stack ? 1 : 2))
            throw new ArgumentException($"{op}: needs at least {(stack ? "one part" : "two parts")}, got {parts.Length}.", nameof(parts));
        foreach (Tensor p in parts) ArgumentNullException.ThrowIfNull(p, nameof(parts));
        Tensor a = parts[0];
        bool batched = false;
        foreach (Tensor p in parts)
        {
            if (!ReferenceEquals(p.Tape, a.Tape)) throw new ArgumentException($"{op}: the parts {a} and {p} belong to different models' tapes.");
            if (p.Rank != a.Rank || (!stack && a.Rank == 0))
                throw new ArgumentException($"{op}: parts need the same rank{(stack ? "" : " (at least 1)")}, got {a.ShapeText} and {p.ShapeText}.");
            batched |= p.Batched;
        }
        int rank = a.Rank + (stack ? 1 : 0);
        int ax = axis < 0 ? axis + rank : axis;
        if (ax < 0 || ax >= rank)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{op}: axis {axis} is out of range for a result of rank {rank} (parts {a.ShapeText}).");
        Span<int> shape = stackalloc int[rank];
        int length = stack ? parts.Length : 0;
        foreach (Tensor p in parts)
        {
            for (int i = 0; i < a.Rank; i++)
                if ((stack || i != ax) && a.ShapeArray[i] != p.ShapeArray[i])
                    throw new ArgumentException(stack
                        ? $"stack: parts need one shape, got {a.ShapeText} and {p.ShapeText}."
                        : $"concat: shapes {a.ShapeText} and {p.ShapeText} differ on axis {i}; only the concat axis {ax} may differ.");
            if (!stack) length += p.ShapeArray[ax];
        }
        for (int i = 0; i < rank; i++) shape[i] = i < ax ? a.ShapeArray[i] : i == ax ? length : a.ShapeArray[stack ? i - 1 : i];
        Tape tape = a.Tape;
        int[] interned = tape.Intern(shape);
        return tape.IsDouble ? ConcatCore<double>(parts, op, interned, batched, ax, stack) : ConcatCore<float>(parts, op, interned, batched, ax, stack);
    }

    private static Tensor ConcatCore<T>(ReadOnlySpan<Tensor> parts, string op, int[] shape, bool batched, int axis, bool stack)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = parts[0].Tape;
        Tensor y = tape.NodeOf<T>(op, shape, batched, parts);
        y.Arg0 = axis;
        y.Flag0 = stack;
        Span<T> yv = y.Values<T>();
        int offset = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            Tensor x = parts[i];
            BlockCopy blocks = ConcatBlocks(y, x, offset, out int length);
            TapeKernels.CopyBlocks(x.Values<T>(), x.Batched ? x.SizeValue : 0, yv, y.SizeValue, y.Samples, blocks, false);
            offset += length;
        }
        if (y.RequiresGrad) y.BackwardRule = ConcatRules<T>.Backward;
        return y;
    }

    /// <summary>Where part <paramref name="x"/> goes in concat or stack node <paramref name="y"/>: the shared geometry, from
    /// the result's shape, the axis (Arg0) and whether the parts lack it (Flag0: stack).</summary>
    private static BlockCopy ConcatBlocks(Tensor y, Tensor x, int offset, out int length)
    {
        int axis = y.Arg0, outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= y.ShapeArray[i];
        for (int i = axis + 1; i < y.Rank; i++) inner *= y.ShapeArray[i];
        length = y.Flag0 ? 1 : x.ShapeArray[axis];
        return StructuralGeometry.ConcatPart(outer, y.ShapeArray[axis], offset, length, inner);
    }

    private static class ConcatRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            int offset = 0;
            for (int part = 0; part < y.InputCount; part++)
            {
                Tensor x = y.Input(part);
                BlockCopy blocks = ConcatBlocks(y, x, offset, out int length);
                offset += length;
                if (!x.RequiresGrad) continue;
                TapeKernels.CopyBlocks(y.Upstream<T>(), y.SizeValue, x.GradAccumulator<T>(), x.Batched ? x.SizeValue : 0, y.Samples,
                    blocks.Reversed(), accumulate: true);
            }
        };
    }

    // ================================================================================================================
    // Detach: the same values (a view of x), no gradient back to x.
    // ================================================================================================================

    public static Tensor Detach(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        Tensor y = x.Tape.View("detach", x.ShapeArray, x.Batched, x.DataArray!, x.DataOffset, x);
        y.ClassCount = x.ClassCount;
        y.RequiresGrad = false;
        return y;
    }

    private static int NormalizeAxis(string op, Tensor x, int axis)
    {
        int a = axis < 0 ? axis + x.Rank : axis;
        if (a < 0 || a >= x.Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{op}: axis {axis} is out of range for a per-sample shape {x.ShapeText} (rank {x.Rank}; {LayerRules.PerSampleAxes}).");
        return a;
    }
}
