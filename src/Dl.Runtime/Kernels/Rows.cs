using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>Drivers for row-wise ops and per-sample losses over a row-major [rows, cols] block (the last axis is the row),
/// and the vectorized row reductions the row ops are built from (max, Σ, Σ e^(x - m), dot products).</summary>
/// <remarks>The reductions take any <see cref="IFloatingPointIeee754{TSelf}"/> type and use a Vector256 body for float
/// (the <c>typeof(T) == typeof(float)</c> test is a JIT-time constant, so each instantiation keeps one path).
/// Sums run in Vector256 lanes then combine, so a float sum may differ from a sequential sum in the last bits.</remarks>
public static class Rows
{
    /// <summary>y_r = f(x_r) for every row r of a [rows, cols] block. <paramref name="y"/> may be <paramref name="x"/> itself.</summary>
    public static void RowWise<TOp>(ReadOnlySpan<float> x, Span<float> y, int rows, int cols) where TOp : IRowOp
        => RowWiseCore<TOp, float>(x, y, rows, cols);

    /// <inheritdoc cref="RowWise{TOp}(ReadOnlySpan{float}, Span{float}, int, int)"/>
    public static void RowWise<TOp>(ReadOnlySpan<double> x, Span<double> y, int rows, int cols) where TOp : IRowOp
        => RowWiseCore<TOp, double>(x, y, rows, cols);

    /// <summary>dx_r += J(x_r)ᵀ dy_r for every row r (accumulates; the op reads x or y as it documents).</summary>
    public static void RowWiseBackward<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, int rows, int cols)
        where TOp : IRowOp => RowWiseBackwardCore<TOp, float>(x, y, dy, dx, rows, cols);

    /// <inheritdoc cref="RowWiseBackward{TOp}(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int)"/>
    public static void RowWiseBackward<TOp>(ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> dx, int rows, int cols)
        where TOp : IRowOp => RowWiseBackwardCore<TOp, double>(x, y, dy, dx, rows, cols);

    /// <summary>loss[r] = ℓ(prediction_r, target_r) for every row r of a [rows, cols] prediction. The target has
    /// <c>target.Length / rows</c> elements per row: <paramref name="cols"/> for tensor targets, 1 for class labels, one per
    /// step for a sequence of labels.
    /// <paramref name="scratch"/> ([rows, cols]) receives what <see cref="LossBackward{TOp}(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int)"/> needs.</summary>
    public static void Loss<TOp>(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> scratch, Span<float> loss, int rows, int cols)
        where TOp : ILossOp => LossCore<TOp, float>(prediction, target, scratch, loss, rows, cols);

    /// <inheritdoc cref="Loss{TOp}(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, int, int)"/>
    public static void Loss<TOp>(ReadOnlySpan<double> prediction, ReadOnlySpan<double> target, Span<double> scratch, Span<double> loss, int rows, int cols)
        where TOp : ILossOp => LossCore<TOp, double>(prediction, target, scratch, loss, rows, cols);

    /// <summary>dx_r += dLoss[r] · ∂ℓ(prediction_r, target_r)/∂prediction_r for every row r (accumulates).</summary>
    public static void LossBackward<TOp>(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, ReadOnlySpan<float> scratch, ReadOnlySpan<float> dLoss,
        Span<float> dx, int rows, int cols) where TOp : ILossOp => LossBackwardCore<TOp, float>(prediction, target, scratch, dLoss, dx, rows, cols);

    /// <inheritdoc cref="LossBackward{TOp}(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int)"/>
    public static void LossBackward<TOp>(ReadOnlySpan<double> prediction, ReadOnlySpan<double> target, ReadOnlySpan<double> scratch, ReadOnlySpan<double> dLoss,
        Span<double> dx, int rows, int cols) where TOp : ILossOp => LossBackwardCore<TOp, double>(prediction, target, scratch, dLoss, dx, rows, cols);

    private static void CheckBlock(int length, int rows, int cols, string name)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(cols), "rows and cols must be non-negative.");
        if (length != (long)rows * cols)
            throw new ArgumentException($"{name} has {length} elements; expected rows × cols = {rows} × {cols} = {(long)rows * cols}.", name);
    }

    private static void RowWiseCore<TOp, T>(ReadOnlySpan<T> x, Span<T> y, int rows, int cols) where TOp : IRowOp where T : IFloatingPointIeee754<T>
    {
        CheckBlock(x.Length, rows, cols, nameof(x));
        CheckBlock(y.Length, rows, cols, nameof(y));
        for (int r = 0; r < rows; r++)
            TOp.Forward(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
    }

    private static void RowWiseBackwardCore<TOp, T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int rows, int cols)
        where TOp : IRowOp where T : IFloatingPointIeee754<T>
    {
        CheckBlock(x.Length, rows, cols, nameof(x));
        CheckBlock(y.Length, rows, cols, nameof(y));
        CheckBlock(dy.Length, rows, cols, nameof(dy));
        CheckBlock(dx.Length, rows, cols, nameof(dx));
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            TOp.Backward(x.Slice(o, cols), y.Slice(o, cols), dy.Slice(o, cols), dx.Slice(o, cols));
        }
    }

    private static int TargetCols(int targetLength, int rows, int cols)
    {
        if (rows == 0) return 0;
        // One class label per row, one per step of the row (a sequence), or a whole row of targets: the op checks which.
        if (targetLength % rows != 0 || targetLength / rows > cols)
            throw new ArgumentException($"target has {targetLength} elements; expected the same number per row for {rows} rows: 1 (a class label), one label per step, or rows × cols = {(long)rows * cols}.", "target");
        return targetLength / rows;
    }

    private static void LossCore<TOp, T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch, Span<T> loss, int rows, int cols)
        where TOp : ILossOp where T : IFloatingPointIeee754<T>
    {
        CheckBlock(x.Length, rows, cols, "prediction");
        CheckBlock(scratch.Length, rows, cols, nameof(scratch));
        if (loss.Length != rows) throw new ArgumentException($"loss has {loss.Length} elements; expected one per row ({rows}).", nameof(loss));
        int tc = TargetCols(target.Length, rows, cols);
        for (int r = 0; r < rows; r++)
            loss[r] = TOp.Forward(x.Slice(r * cols, cols), target.Slice(r * tc, tc), scratch.Slice(r * cols, cols));
    }

    private static void LossBackwardCore<TOp, T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, ReadOnlySpan<T> dLoss, Span<T> dx, int rows, int cols)
        where TOp : ILossOp where T : IFloatingPointIeee754<T>
    {
        CheckBlock(x.Length, rows, cols, "prediction");
        CheckBlock(scratch.Length, rows, cols, nameof(scratch));
        CheckBlock(dx.Length, rows, cols, nameof(dx));
        if (dLoss.Length != rows) throw new ArgumentException($"dLoss has {dLoss.Length} elements; expected one per row ({rows}).", nameof(dLoss));
        int tc = TargetCols(target.Length, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            TOp.Backward(x.Slice(o, cols), target.Slice(r * tc, tc), scratch.Slice(o, cols), dLoss[r], dx.Slice(o, cols));
        }
    }

    // ---- Row reductions (vector body for float) ----

    /// <summary>max_i x_i (−∞ for an empty row). A NaN element makes the result unspecified among NaN and the other
    /// elements; the callers' results are NaN either way.</summary>
    public static T Max<T>(ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            float r = MaxFloat(AsFloat(x));
            return Unsafe.As<float, T>(ref r);
        }
        T m = T.NegativeInfinity;
        foreach (T v in x) m = T.Max(m, v);
        return m;
    }

    /// <summary>Σ_i x_i.</summary>
    public static T Sum<T>(ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            float r = SumFloat(AsFloat(x));
            return Unsafe.As<float, T>(ref r);
        }
        T s = T.Zero;
        foreach (T v in x) s += v;
        return s;
    }

    /// <summary>Σ_i a_i b_i over two rows of the same length.</summary>
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IFloatingPointIeee754<T>
    {
        if (a.Length != b.Length) throw new ArgumentException($"Rows differ in length: {a.Length} and {b.Length}.", nameof(b));
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            float r = DotFloat(AsFloat(a), AsFloat(b));
            return Unsafe.As<float, T>(ref r);
        }
        T s = T.Zero;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>y_i = e^(x_i - shift); returns Σ_i y_i. <paramref name="y"/> may be <paramref name="x"/> itself.</summary>
    public static T ExpShifted<T>(ReadOnlySpan<T> x, T shift, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (y.Length < x.Length) throw new ArgumentException($"Destination has {y.Length} elements; expected at least {x.Length}.", nameof(y));
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            float r = ExpShiftedFloat(AsFloat(x), Unsafe.As<T, float>(ref shift), AsFloat(y), store: true);
            return Unsafe.As<float, T>(ref r);
        }
        T s = T.Zero;
        for (int i = 0; i < x.Length; i++) { T e = T.Exp(x[i] - shift); y[i] = e; s += e; }
        return s;
    }

    /// <summary>Σ_i e^(x_i - shift), storing nothing.</summary>
    public static T SumExpShifted<T>(ReadOnlySpan<T> x, T shift) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            float r = ExpShiftedFloat(AsFloat(x), Unsafe.As<T, float>(ref shift), default, store: false);
            return Unsafe.As<float, T>(ref r);
        }
        T s = T.Zero;
        foreach (T v in x) s += T.Exp(v - shift);
        return s;
    }

    /// <summary>y_i = x_i · s. <paramref name="y"/> may be <paramref name="x"/> itself.</summary>
    public static void Scale<T>(ReadOnlySpan<T> x, T s, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (y.Length < x.Length) throw new ArgumentException($"Destination has {y.Length} elements; expected at least {x.Length}.", nameof(y));
        int i = 0;
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(AsFloat(x));
            ref float yr = ref MemoryMarshal.GetReference(AsFloat(y));
            Vector256<float> sv = Vector256.Create(Unsafe.As<T, float>(ref s));
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref xr, (nuint)i) * sv).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < x.Length; i++) y[i] = x[i] * s;
    }

    /// <summary>y_i = x_i + s. <paramref name="y"/> may be <paramref name="x"/> itself.</summary>
    public static void AddScalar<T>(ReadOnlySpan<T> x, T s, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (y.Length < x.Length) throw new ArgumentException($"Destination has {y.Length} elements; expected at least {x.Length}.", nameof(y));
        int i = 0;
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(AsFloat(x));
            ref float yr = ref MemoryMarshal.GetReference(AsFloat(y));
            Vector256<float> sv = Vector256.Create(Unsafe.As<T, float>(ref s));
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref xr, (nuint)i) + sv).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < x.Length; i++) y[i] = x[i] + s;
    }

    internal static ReadOnlySpan<float> AsFloat<T>(ReadOnlySpan<T> x)
        => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x)), x.Length);

    internal static Span<float> AsFloat<T>(Span<T> x)
        => MemoryMarshal.CreateSpan(ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x)), x.Length);

    private static float MaxFloat(ReadOnlySpan<float> x)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int i = 0;
        float m = float.NegativeInfinity;
        if (x.Length >= Vector256<float>.Count)
        {
            Vector256<float> acc = Vector256.Create(float.NegativeInfinity);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                acc = Vector256.Max(acc, Vector256.LoadUnsafe(ref r, (nuint)i));
            for (int k = 0; k < Vector256<float>.Count; k++) m = MathF.Max(m, acc.GetElement(k));
        }
        for (; i < x.Length; i++) m = MathF.Max(m, Unsafe.Add(ref r, i));
        return m;
    }

    private static float SumFloat(ReadOnlySpan<float> x)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int i = 0;
        Vector256<float> acc = Vector256<float>.Zero;
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            acc += Vector256.LoadUnsafe(ref r, (nuint)i);
        float s = Vector256.Sum(acc);
        for (; i < x.Length; i++) s += Unsafe.Add(ref r, i);
        return s;
    }

    private static float DotFloat(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        int i = 0;
        Vector256<float> acc = Vector256<float>.Zero;
        for (; i <= a.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            acc += Vector256.LoadUnsafe(ref ar, (nuint)i) * Vector256.LoadUnsafe(ref br, (nuint)i);
        float s = Vector256.Sum(acc);
        for (; i < a.Length; i++) s += Unsafe.Add(ref ar, i) * Unsafe.Add(ref br, i);
        return s;
    }

    private static float ExpShiftedFloat(ReadOnlySpan<float> x, float shift, Span<float> y, bool store)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        Vector256<float> acc = Vector256<float>.Zero;
        Vector256<float> sv = Vector256.Create(shift);
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            Vector256<float> e = Vector256.Exp(Vector256.LoadUnsafe(ref xr, (nuint)i) - sv);
            if (store) e.StoreUnsafe(ref yr, (nuint)i);
            acc += e;
        }
        float s = Vector256.Sum(acc);
        for (; i < x.Length; i++)
        {
            float e = MathF.Exp(Unsafe.Add(ref xr, i) - shift);
            if (store) Unsafe.Add(ref yr, i) = e;
            s += e;
        }
        return s;
    }
}
