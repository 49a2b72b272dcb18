using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

public static partial class Elementwise
{
    /// <summary>y_i = f(a_i, b_i) over two spans of the same length.</summary>
    /// <exception cref="ArgumentException">The operands differ in length, <paramref name="y"/> is too short, or it partially overlaps an operand.</exception>
    public static void Binary<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : IBinaryOp
    {
        int n = a.Length;
        CheckSame(b.Length, n, nameof(b), nameof(a));
        CheckDestination(n, y.Length, nameof(y));
        CheckAlias(a, y, nameof(y));
        CheckAlias(b, y, nameof(y));
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                TOp.Forward(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Forward(Unsafe.Add(ref ar, i), Unsafe.Add(ref br, i));
    }

    /// <summary>y_i = f(a_i, b) with a scalar second operand.</summary>
    public static void BinaryScalarB<TOp>(ReadOnlySpan<float> a, float b, Span<float> y) where TOp : IBinaryOp
    {
        int n = a.Length;
        CheckDestination(n, y.Length, nameof(y));
        CheckAlias(a, y, nameof(y));
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> bv = Vector256.Create(b);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                TOp.Forward(Vector256.LoadUnsafe(ref ar, (nuint)i), bv).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Forward(Unsafe.Add(ref ar, i), b);
    }

    /// <summary>y_i = f(a, b_i) with a scalar first operand.</summary>
    public static void BinaryScalarA<TOp>(float a, ReadOnlySpan<float> b, Span<float> y) where TOp : IBinaryOp
    {
        int n = b.Length;
        CheckDestination(n, y.Length, nameof(y));
        CheckAlias(b, y, nameof(y));
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> av = Vector256.Create(a);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                TOp.Forward(av, Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Forward(a, Unsafe.Add(ref br, i));
    }

    /// <summary>da_i += ∂f/∂a(a_i, b_i)·dy_i and db_i += ∂f/∂b(a_i, b_i)·dy_i (accumulating). Pass an empty
    /// <paramref name="da"/> or <paramref name="db"/> for an operand that needs no gradient.</summary>
    /// <exception cref="ArgumentException">A non-empty span differs in length from dy, or a gradient partially overlaps an input.</exception>
    public static void BinaryBackward<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> da, Span<float> db) where TOp : IBinaryOp
    {
        int n = dy.Length;
        CheckSame(a.Length, n, nameof(a), nameof(dy));
        CheckSame(b.Length, n, nameof(b), nameof(dy));
        CheckSame(y.Length, n, nameof(y), nameof(dy));
        if (!da.IsEmpty) { CheckSame(da.Length, n, nameof(da), nameof(dy)); CheckAlias(a, da, nameof(da)); CheckAlias(b, da, nameof(da)); CheckAlias(dy, da, nameof(da)); }
        if (!db.IsEmpty) { CheckSame(db.Length, n, nameof(db), nameof(dy)); CheckAlias(a, db, nameof(db)); CheckAlias(b, db, nameof(db)); CheckAlias(dy, db, nameof(db)); }
        if (!da.IsEmpty && da.Overlaps(db))
            throw new ArgumentException("'da' and 'db' overlap; pass distinct buffers and add them afterwards.", nameof(db));
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        if (!da.IsEmpty) GradLoop<TOp>(ref ar, ref br, ref yr, ref gr, ref MemoryMarshal.GetReference(da), n, gradA: true);
        if (!db.IsEmpty) GradLoop<TOp>(ref ar, ref br, ref yr, ref gr, ref MemoryMarshal.GetReference(db), n, gradA: false);
    }

    /// <summary>da_i += ∂f/∂a(a_i, b)·dy_i for a scalar second operand (which gets no gradient).</summary>
    public static void BinaryScalarBBackward<TOp>(ReadOnlySpan<float> a, float b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> da)
        where TOp : IBinaryOp
    {
        int n = dy.Length;
        CheckSame(a.Length, n, nameof(a), nameof(dy));
        CheckSame(y.Length, n, nameof(y), nameof(dy));
        CheckSame(da.Length, n, nameof(da), nameof(dy));
        CheckAlias(a, da, nameof(da));
        CheckAlias(dy, da, nameof(da));
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float dr = ref MemoryMarshal.GetReference(da);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> bv = Vector256.Create(b);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> g = TOp.GradA(Vector256.LoadUnsafe(ref ar, (nuint)i), bv, Vector256.LoadUnsafe(ref yr, (nuint)i), Vector256.LoadUnsafe(ref gr, (nuint)i));
                (Vector256.LoadUnsafe(ref dr, (nuint)i) + g).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref dr, i) += TOp.GradA(Unsafe.Add(ref ar, i), b, Unsafe.Add(ref yr, i), Unsafe.Add(ref gr, i));
    }

    /// <summary>db_i += ∂f/∂b(a, b_i)·dy_i for a scalar first operand (which gets no gradient).</summary>
    public static void BinaryScalarABackward<TOp>(float a, ReadOnlySpan<float> b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> db)
        where TOp : IBinaryOp
    {
        int n = dy.Length;
        CheckSame(b.Length, n, nameof(b), nameof(dy));
        CheckSame(y.Length, n, nameof(y), nameof(dy));
        CheckSame(db.Length, n, nameof(db), nameof(dy));
        CheckAlias(b, db, nameof(db));
        CheckAlias(dy, db, nameof(db));
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float dr = ref MemoryMarshal.GetReference(db);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> av = Vector256.Create(a);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> g = TOp.GradB(av, Vector256.LoadUnsafe(ref br, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i), Vector256.LoadUnsafe(ref gr, (nuint)i));
                (Vector256.LoadUnsafe(ref dr, (nuint)i) + g).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref dr, i) += TOp.GradB(a, Unsafe.Add(ref br, i), Unsafe.Add(ref yr, i), Unsafe.Add(ref gr, i));
    }

    private static void GradLoop<TOp>(ref float ar, ref float br, ref float yr, ref float gr, ref float dr, int n, bool gradA) where TOp : IBinaryOp
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> av = Vector256.LoadUnsafe(ref ar, (nuint)i), bv = Vector256.LoadUnsafe(ref br, (nuint)i);
                Vector256<float> yv = Vector256.LoadUnsafe(ref yr, (nuint)i), gv = Vector256.LoadUnsafe(ref gr, (nuint)i);
                Vector256<float> g = gradA ? TOp.GradA(av, bv, yv, gv) : TOp.GradB(av, bv, yv, gv);
                (Vector256.LoadUnsafe(ref dr, (nuint)i) + g).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float av = Unsafe.Add(ref ar, i), bv = Unsafe.Add(ref br, i), yv = Unsafe.Add(ref yr, i), gv = Unsafe.Add(ref gr, i);
            Unsafe.Add(ref dr, i) += gradA ? TOp.GradA(av, bv, yv, gv) : TOp.GradB(av, bv, yv, gv);
        }
    }
}
