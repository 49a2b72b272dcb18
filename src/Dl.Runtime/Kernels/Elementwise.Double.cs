namespace Dl.Kernels;

// Double-precision drivers: the dynamic tape's reference mode and the finite-difference tests. Scalar loops over the
// generic op paths (the op structs have no Vector256<double> path); the same checks as the float drivers.
public static partial class Elementwise
{
    /// <summary>y_i = f(x_i; a, b) in double precision.</summary>
    public static void Unary<TOp>(ReadOnlySpan<double> x, Span<double> y, double a, double b = 0) where TOp : IUnaryOp
    {
        CheckDestination(x.Length, y.Length, nameof(y));
        CheckAlias(x, y, nameof(y));
        for (int i = 0; i < x.Length; i++) y[i] = TOp.Forward(x[i], a, b);
    }

    /// <summary>dx_i = f'(x_i)·dy_i (or += when <paramref name="accumulate"/>) in double precision.</summary>
    public static void UnaryBackward<TOp>(ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> dx, double a, bool accumulate, double b = 0)
        where TOp : IUnaryOp
    {
        int n = dy.Length;
        CheckSame(x.Length, n, nameof(x), nameof(dy));
        CheckSame(y.Length, n, nameof(y), nameof(dy));
        CheckSame(dx.Length, n, nameof(dx), nameof(dy));
        CheckAlias(x, dx, nameof(dx));
        CheckAlias(y, dx, nameof(dx));
        CheckAlias(dy, dx, nameof(dx));
        for (int i = 0; i < n; i++)
        {
            double g = TOp.Backward(x[i], y[i], dy[i], a, b);
            dx[i] = accumulate ? dx[i] + g : g;
        }
    }

    /// <summary>y_i = f(a_i, b_i) in double precision.</summary>
    public static void Binary<TOp>(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> y) where TOp : IBinaryOp
    {
        CheckSame(b.Length, a.Length, nameof(b), nameof(a));
        CheckDestination(a.Length, y.Length, nameof(y));
        CheckAlias(a, y, nameof(y));
        CheckAlias(b, y, nameof(y));
        for (int i = 0; i < a.Length; i++) y[i] = TOp.Forward(a[i], b[i]);
    }

    /// <summary>y_i = f(a_i, b) in double precision.</summary>
    public static void BinaryScalarB<TOp>(ReadOnlySpan<double> a, double b, Span<double> y) where TOp : IBinaryOp
    {
        CheckDestination(a.Length, y.Length, nameof(y));
        CheckAlias(a, y, nameof(y));
        for (int i = 0; i < a.Length; i++) y[i] = TOp.Forward(a[i], b);
    }

    /// <summary>y_i = f(a, b_i) in double precision.</summary>
    public static void BinaryScalarA<TOp>(double a, ReadOnlySpan<double> b, Span<double> y) where TOp : IBinaryOp
    {
        CheckDestination(b.Length, y.Length, nameof(y));
        CheckAlias(b, y, nameof(y));
        for (int i = 0; i < b.Length; i++) y[i] = TOp.Forward(a, b[i]);
    }

    /// <summary>da_i += ∂f/∂a·dy_i, db_i += ∂f/∂b·dy_i in double precision; an empty da or db is skipped.</summary>
    public static void BinaryBackward<TOp>(ReadOnlySpan<double> a, ReadOnlySpan<double> b, ReadOnlySpan<double> y, ReadOnlySpan<double> dy,
        Span<double> da, Span<double> db) where TOp : IBinaryOp
    {
        int n = dy.Length;
        CheckSame(a.Length, n, nameof(a), nameof(dy));
        CheckSame(b.Length, n, nameof(b), nameof(dy));
        CheckSame(y.Length, n, nameof(y), nameof(dy));
        if (!da.IsEmpty) { CheckSame(da.Length, n, nameof(da), nameof(dy)); CheckAlias(a, da, nameof(da)); CheckAlias(b, da, nameof(da)); CheckAlias(dy, da, nameof(da)); }
        if (!db.IsEmpty) { CheckSame(db.Length, n, nameof(db), nameof(dy)); CheckAlias(a, db, nameof(db)); CheckAlias(b, db, nameof(db)); CheckAlias(dy, db, nameof(db)); }
        if (!da.IsEmpty && da.Overlaps(db))
            throw new ArgumentException("'da' and 'db' overlap; pass distinct buffers and add them afterwards.", nameof(db));
        if (!da.IsEmpty) for (int i = 0; i < n; i++) da[i] += TOp.GradA(a[i], b[i], y[i], dy[i]);
        if (!db.IsEmpty) for (int i = 0; i < n; i++) db[i] += TOp.GradB(a[i], b[i], y[i], dy[i]);
    }

    /// <summary>da_i += ∂f/∂a(a_i, b)·dy_i in double precision.</summary>
    public static void BinaryScalarBBackward<TOp>(ReadOnlySpan<double> a, double b, ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> da)
        where TOp : IBinaryOp
    {
        int n = dy.Length;
        CheckSame(a.Length, n, nameof(a), nameof(dy));
        CheckSame(y.Length, n, nameof(y), nameof(dy));
        CheckSame(da.Length, n, nameof(da), nameof(dy));
        CheckAlias(a, da, nameof(da));
        CheckAlias(dy, da, nameof(da));
        for (int i = 0; i < n; i++) da[i] += TOp.GradA(a[i], b, y[i], dy[i]);
    }

    /// <summary>db_i += ∂f/∂b(a, b_i)·dy_i in double precision.</summary>
    public static void BinaryScalarABackward<TOp>(double a, ReadOnlySpan<double> b, ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> db)
        where TOp : IBinaryOp
    {
        int n = dy.Length;
        CheckSame(b.Length, n, nameof(b), nameof(dy));
        CheckSame(y.Length, n, nameof(y), nameof(dy));
        CheckSame(db.Length, n, nameof(db), nameof(dy));
        CheckAlias(b, db, nameof(db));
        CheckAlias(dy, db, nameof(db));
        for (int i = 0; i < n; i++) db[i] += TOp.GradB(a, b[i], y[i], dy[i]);
    }
}
