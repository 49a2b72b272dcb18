using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dl.Kernels;

namespace Dl.Dynamic;

/// <summary>
/// The tape's bridge to the shared kernels, generic over the tape's precision: single precision calls exactly the
/// drivers the generated models call (<see cref="Elementwise"/>, <see cref="Gemm"/>), double precision their double
/// overloads. <c>typeof(T) == typeof(float)</c> is a JIT-time constant, so each instantiation keeps one branch.
/// </summary>
internal static class TapeKernels
{
    public static void Unary<TOp, T>(ReadOnlySpan<T> x, Span<T> y, float a, float b) where TOp : IUnaryOp where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Elementwise.Unary<TOp>(AsFloat(x), AsFloat(y), a, b);
        else Elementwise.Unary<TOp>(AsDouble(x), AsDouble(y), a, b);
    }

    /// <summary>dx (+)= f'(x) · dy.</summary>
    public static void UnaryBackward<TOp, T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, float a, float b, bool accumulate)
        where TOp : IUnaryOp where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Elementwise.UnaryBackward<TOp>(AsFloat(x), AsFloat(y), AsFloat(dy), AsFloat(dx), a, accumulate, b);
        else Elementwise.UnaryBackward<TOp>(AsDouble(x), AsDouble(y), AsDouble(dy), AsDouble(dx), a, accumulate, b);
    }

    public static void Binary<TOp, T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where TOp : IBinaryOp where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Elementwise.Binary<TOp>(AsFloat(a), AsFloat(b), AsFloat(y));
        else Elementwise.Binary<TOp>(AsDouble(a), AsDouble(b), AsDouble(y));
    }

    /// <summary>y = f(a, b) with a scalar second operand.</summary>
    public static void BinaryScalarB<TOp, T>(ReadOnlySpan<T> a, T b, Span<T> y) where TOp : IBinaryOp where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Elementwise.BinaryScalarB<TOp>(AsFloat(a), Unsafe.As<T, float>(ref b), AsFloat(y));
        else Elementwise.BinaryScalarB<TOp>(AsDouble(a), Unsafe.As<T, double>(ref b), AsDouble(y));
    }

    /// <summary>y = f(a, b) with a scalar first operand.</summary>
    public static void BinaryScalarA<TOp, T>(T a, ReadOnlySpan<T> b, Span<T> y) where TOp : IBinaryOp where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Elementwise.BinaryScalarA<TOp>(Unsafe.As<T, float>(ref a), AsFloat(b), AsFloat(y));
        else Elementwise.BinaryScalarA<TOp>(Unsafe.As<T, double>(ref a), AsDouble(b), AsDouble(y));
    }

    /// <summary>da (+)= ∂f/∂a · dy and db (+)= ∂f/∂b · dy; an empty <paramref name="da"/> or <paramref name="db"/> is
    /// skipped. The shared driver accumulates, so a gradient written for the first time is cleared first.</summary>
    public static void BinaryBackward<TOp, T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> y, ReadOnlySpan<T> dy,
        Span<T> da, bool accumulateA, Span<T> db, bool accumulateB) where TOp : IBinaryOp where T : unmanaged
    {
        if (!da.IsEmpty && !accumulateA) da.Clear();
        if (!db.IsEmpty && !accumulateB && !da.Overlaps(db)) db.Clear();
        if (!da.IsEmpty && !db.IsEmpty && da.Overlaps(db))
        {
            // x ∘ x: both gradients go to the same buffer, one contribution after the other.
            BinaryBackwardShared<TOp, T>(a, b, y, dy, da, default);
            BinaryBackwardShared<TOp, T>(a, b, y, dy, default, db);
            return;
        }
        BinaryBackwardShared<TOp, T>(a, b, y, dy, da, db);
    }

    private static void BinaryBackwardShared<TOp, T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> y, ReadOnlySpan<T> dy,
        Span<T> da, Span<T> db) where TOp : IBinaryOp where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Elementwise.BinaryBackward<TOp>(AsFloat(a), AsFloat(b), AsFloat(y), AsFloat(dy), AsFloat(da), AsFloat(db));
        else
            Elementwise.BinaryBackward<TOp>(AsDouble(a), AsDouble(b), AsDouble(y), AsDouble(dy), AsDouble(da), AsDouble(db));
    }

    /// <summary>da (+)= ∂f/∂a(a, b) · dy for a scalar second operand.</summary>
    public static void BinaryScalarBBackward<TOp, T>(ReadOnlySpan<T> a, T b, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> da, bool accumulate)
        where TOp : IBinaryOp where T : unmanaged
    {
        if (!accumulate) da.Clear();
        if (typeof(T) == typeof(float)) Elementwise.BinaryScalarBBackward<TOp>(AsFloat(a), Unsafe.As<T, float>(ref b), AsFloat(y), AsFloat(dy), AsFloat(da));
        else Elementwise.BinaryScalarBBackward<TOp>(AsDouble(a), Unsafe.As<T, double>(ref b), AsDouble(y), AsDouble(dy), AsDouble(da));
    }

    /// <summary>db (+)= ∂f/∂b(a, b) · dy for a scalar first operand.</summary>
    public static void BinaryScalarABackward<TOp, T>(T a, ReadOnlySpan<T> b, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> db, bool accumulate)
        where TOp : IBinaryOp where T : unmanaged
    {
        if (!accumulate) db.Clear();
        if (typeof(T) == typeof(float)) Elementwise.BinaryScalarABackward<TOp>(Unsafe.As<T, float>(ref a), AsFloat(b), AsFloat(y), AsFloat(dy), AsFloat(db));
        else Elementwise.BinaryScalarABackward<TOp>(Unsafe.As<T, double>(ref a), AsDouble(b), AsDouble(y), AsDouble(dy), AsDouble(db));
    }

    /// <summary>y_r = f(x_r) for each row of a [rows, cols] block.</summary>
    public static void RowWise<TOp, T>(ReadOnlySpan<T> x, Span<T> y, int rows, int cols) where TOp : IRowOp where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Rows.RowWise<TOp>(AsFloat(x), AsFloat(y), rows, cols);
        else Rows.RowWise<TOp>(AsDouble(x), AsDouble(y), rows, cols);
    }

    /// <summary>dx_r += J(x_r)ᵀ dy_r (accumulates).</summary>
    public static void RowWiseBackward<TOp, T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int rows, int cols)
        where TOp : IRowOp where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Rows.RowWiseBackward<TOp>(AsFloat(x), AsFloat(y), AsFloat(dy), AsFloat(dx), rows, cols);
        else Rows.RowWiseBackward<TOp>(AsDouble(x), AsDouble(y), AsDouble(dy), AsDouble(dx), rows, cols);
    }

    /// <summary>loss[r] = ℓ(prediction_r, target_r); the target has cols (tensor) or 1 (label) elements per row.</summary>
    public static void Loss<TOp, T>(ReadOnlySpan<T> prediction, ReadOnlySpan<T> target, Span<T> scratch, Span<T> loss, int rows, int cols)
        where TOp : ILossOp where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Rows.Loss<TOp>(AsFloat(prediction), AsFloat(target), AsFloat(scratch), AsFloat(loss), rows, cols);
        else Rows.Loss<TOp>(AsDouble(prediction), AsDouble(target), AsDouble(scratch), AsDouble(loss), rows, cols);
    }

    /// <summary>dx_r += dLoss[r] · ∂ℓ/∂prediction_r (accumulates).</summary>
    public static void LossBackward<TOp, T>(ReadOnlySpan<T> prediction, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, ReadOnlySpan<T> dLoss,
        Span<T> dx, int rows, int cols) where TOp : ILossOp where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Rows.LossBackward<TOp>(AsFloat(prediction), AsFloat(target), AsFloat(scratch), AsFloat(dLoss), AsFloat(dx), rows, cols);
        else
            Rows.LossBackward<TOp>(AsDouble(prediction), AsDouble(target), AsDouble(scratch), AsDouble(dLoss), AsDouble(dx), rows, cols);
    }

    /// <summary>C[m, n] (+)= op(A)[m, k] · op(B)[k, n]; op(A) = Aᵀ when <paramref name="transA"/> (A stored [k, m]),
    /// op(B) = Bᵀ when <paramref name="transB"/> (B stored [n, k]).</summary>
    public static void Gemm<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k,
        bool transA, bool transB, bool accumulate, GemmContext context) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Kernels.Gemm.Multiply(AsFloat(a), AsFloat(b), AsFloat(c), m, n, k, transA, transB, accumulate, context);
        else
            Kernels.Gemm.Multiply(AsDouble(a), AsDouble(b), AsDouble(c), m, n, k, transA, transB, accumulate);
    }

    /// <summary>dst += src (gradient plumbing: sum_to and fan-out accumulation).</summary>
    public static void AddInto<T>(Span<T> dst, ReadOnlySpan<T> src) where T : unmanaged, INumberBase<T>
    {
        if (dst.Length != src.Length) throw new ArgumentException("AddInto: length mismatch.");
        int i = 0;
        if (Vector.IsHardwareAccelerated && dst.Length >= Vector<T>.Count)
        {
            ref T d = ref MemoryMarshal.GetReference(dst);
            ref T s = ref MemoryMarshal.GetReference(src);
            for (; i <= dst.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector<T> sum = Vector.LoadUnsafe(ref d, (nuint)i) + Vector.LoadUnsafe(ref s, (nuint)i);
                sum.StoreUnsafe(ref d, (nuint)i);
            }
        }
        for (; i < dst.Length; i++) dst[i] += src[i];   // scalar tail: never re-add an element
    }

    /// <summary>Executes a <see cref="BlockCopy"/> (the shared geometry of slice and concat) on every sample: samples are
    /// <paramref name="sourceSample"/> and <paramref name="targetSample"/> apart (0: the same one, an unbatched operand);
    /// the runs are copied, or added when <paramref name="accumulate"/> (a gradient, summed over the batch for a target
    /// shared by every sample).</summary>
    public static void CopyBlocks<T>(ReadOnlySpan<T> source, int sourceSample, Span<T> target, int targetSample, int samples, in BlockCopy c,
        bool accumulate) where T : unmanaged, INumberBase<T>
    {
        for (int s = 0; s < samples; s++)
            for (int g = 0; g < c.Groups; g++)
            {
                ReadOnlySpan<T> from = source.Slice(s * sourceSample + g * c.SourceStride + c.SourceOffset, c.Run);
                Span<T> to = target.Slice(s * targetSample + g * c.TargetStride + c.TargetOffset, c.Run);
                if (accumulate) AddInto(to, from);
                else from.CopyTo(to);
            }
    }

    /// <summary>dst = src or dst += src.</summary>
    public static void CopyOrAdd<T>(Span<T> dst, ReadOnlySpan<T> src, bool accumulate) where T : unmanaged, INumberBase<T>
    {
        if (accumulate) AddInto(dst, src);
        else src.CopyTo(dst);
    }

    /// <summary>Σ src.</summary>
    public static T Sum<T>(ReadOnlySpan<T> src) where T : unmanaged, INumberBase<T>
    {
        T total = T.Zero;
        int i = 0;
        if (Vector.IsHardwareAccelerated && src.Length >= Vector<T>.Count)
        {
            Vector<T> acc = Vector<T>.Zero;
            ref T s = ref MemoryMarshal.GetReference(src);
            for (; i <= src.Length - Vector<T>.Count; i += Vector<T>.Count) acc += Vector.LoadUnsafe(ref s, (nuint)i);
            total = Vector.Sum(acc);
        }
        for (; i < src.Length; i++) total += src[i];
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Span<float> AsFloat<T>(Span<T> s) where T : unmanaged => MemoryMarshal.Cast<T, float>(s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<float> AsFloat<T>(ReadOnlySpan<T> s) where T : unmanaged => MemoryMarshal.Cast<T, float>(s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Span<double> AsDouble<T>(Span<T> s) where T : unmanaged => MemoryMarshal.Cast<T, double>(s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<double> AsDouble<T>(ReadOnlySpan<T> s) where T : unmanaged => MemoryMarshal.Cast<T, double>(s);
}
