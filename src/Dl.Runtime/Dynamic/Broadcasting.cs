using System.Numerics;

namespace Dl.Dynamic;

/// <summary>
/// broadcast_to and its adjoint sum_to between an operand and a result it broadcast into. Both views include the
/// batch as a leading axis (1 for an unbatched operand). Axes are coalesced first, so the common cases, a scalar, a
/// parameter against a batch, a row against a matrix, become one outer loop around a contiguous run.
/// </summary>
internal static class Broadcasting
{
    private const int MaxRank = 16;

    /// <summary>full[i] = x[index of i in x]: the operand repeated along its broadcast axes.</summary>
    public static void Expand<T>(ReadOnlySpan<T> x, Span<T> full, Tensor operand, Tensor result) where T : unmanaged
    {
        Span<int> dims = stackalloc int[MaxRank];
        Span<int> strides = stackalloc int[MaxRank];
        int n = Plan(operand, result, dims, strides);
        int inner = dims[n - 1], innerStride = strides[n - 1];
        Span<int> index = stackalloc int[n];
        index.Clear();
        int src = 0;
        for (int dst = 0; dst < full.Length; dst += inner)
        {
            if (innerStride == 0) full.Slice(dst, inner).Fill(x[src]);
            else x.Slice(src, inner).CopyTo(full.Slice(dst, inner));
            src = Advance(index, dims, strides, n, src);
        }
    }

    /// <summary>Adds (or, when the operand has no gradient yet, writes) the sum of <paramref name="full"/> over the
    /// operand's broadcast axes into the operand's gradient.</summary>
    public static void SumTo<T>(ReadOnlySpan<T> full, Tensor operand, Tensor result) where T : unmanaged, INumberBase<T>
    {
        Span<T> grad = operand.GradAccumulator<T>();
        Span<int> dims = stackalloc int[MaxRank];
        Span<int> strides = stackalloc int[MaxRank];
        int n = Plan(operand, result, dims, strides);
        int inner = dims[n - 1], innerStride = strides[n - 1];
        Span<int> index = stackalloc int[n];
        index.Clear();
        int dst = 0;
        for (int src = 0; src < full.Length; src += inner)
        {
            if (innerStride == 0) grad[dst] += TapeKernels.Sum(full.Slice(src, inner));
            else TapeKernels.AddInto(grad.Slice(dst, inner), full.Slice(src, inner));
            dst = Advance(index, dims, strides, n, dst);
        }
    }

    /// <summary>Steps the odometer over all axes but the innermost; returns the operand offset of the next run.</summary>
    private static int Advance(Span<int> index, ReadOnlySpan<int> dims, ReadOnlySpan<int> strides, int n, int offset)
    {
        for (int d = n - 2; d >= 0; d--)
        {
            offset += strides[d];
            if (++index[d] < dims[d]) return offset;
            offset -= strides[d] * dims[d];
            index[d] = 0;
        }
        return offset;
    }

    /// <summary>The result's axes (batch first) with the operand's stride along each (0 where it broadcasts), size-1
    /// axes dropped and neighbours merged where the operand is laid out contiguously across them. Returns the count (≥ 1).</summary>
    private static int Plan(Tensor operand, Tensor result, Span<int> dims, Span<int> strides)
    {
        int rank = result.ShapeArray.Length + 1;
        if (rank > MaxRank)
            throw new ArgumentException($"Broadcasting supports at most {MaxRank - 1} per-sample axes; got {result.ShapeText}.");
        Span<int> full = stackalloc int[rank];
        Span<int> own = stackalloc int[rank];
        full[0] = result.Samples;
        own[0] = operand.Samples;
        int offset = rank - 1 - operand.ShapeArray.Length;
        for (int i = 1; i < rank; i++)
        {
            full[i] = result.ShapeArray[i - 1];
            own[i] = i - 1 >= offset ? operand.ShapeArray[i - 1 - offset] : 1;
        }
        // Contiguous strides of the operand, zeroed where it has size 1 against a larger result axis.
        Span<int> ownStride = stackalloc int[rank];
        int stride = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            ownStride[i] = own[i] == 1 ? 0 : stride;
            stride *= own[i];
        }
        int n = 0;
        for (int i = 0; i < rank; i++)
        {
            if (full[i] == 1) continue;
            if (n > 0 && strides[n - 1] == ownStride[i] * full[i])
            {
                dims[n - 1] *= full[i];
                strides[n - 1] = ownStride[i];
                continue;
            }
            dims[n] = full[i];
            strides[n] = ownStride[i];
            n++;
        }
        if (n == 0)
        {
            dims[0] = 1;
            strides[0] = 1;
            n = 1;
        }
        return n;
    }
}
