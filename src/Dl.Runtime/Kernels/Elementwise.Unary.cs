using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>Element-wise drivers: run an op struct over spans with a Vector256 body and a scalar tail
/// (TensorPrimitives' driver/operator split). Used by the dynamic tape and the tests; generated code emits its own
/// fused loops over the same op structs.</summary>
/// <remarks>Remainder policy: every tail is scalar. Re-processing an overlapped last vector would be harmless for a
/// pure map but double-counts when accumulating (<c>dx += …</c>), so no driver does it. Outputs may be the very same
/// span as an input (in place) but must not otherwise overlap one (checked). Without Vector256 hardware acceleration
/// the scalar path (<c>TOp.Forward&lt;float&gt;</c>) runs throughout.</remarks>
public static partial class Elementwise
{
    /// <summary>y_i = f(x_i; a, b) for i &lt; x.Length (b: the second constant, read by clamp and hardtanh only).</summary>
    /// <exception cref="ArgumentException"><paramref name="y"/> is shorter than <paramref name="x"/>, or overlaps it partially.</exception>
    public static void Unary<TOp>(ReadOnlySpan<float> x, Span<float> y, float a, float b = 0) where TOp : IUnaryOp
    {
        CheckDestination(x.Length, y.Length, nameof(y));
        CheckAlias(x, y, nameof(y));
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> av = Vector256.Create(a), bv = Vector256.Create(b);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                TOp.Forward(Vector256.LoadUnsafe(ref xr, (nuint)i), av, bv).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Forward(Unsafe.Add(ref xr, i), a, b);
    }

    /// <summary>dx_i = f'(x_i)·dy_i (or dx_i += … when <paramref name="accumulate"/>), for i &lt; dy.Length, given the
    /// forward's input <paramref name="x"/> and output <paramref name="y"/> (the op reads what its <c>Saves</c> declares,
    /// but both must be supplied).</summary>
    /// <exception cref="ArgumentException">A length differs from dy's, or dx partially overlaps an input.</exception>
    public static void UnaryBackward<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float a, bool accumulate, float b = 0)
        where TOp : IUnaryOp
    {
        int n = dy.Length;
        CheckSame(x.Length, n, nameof(x), nameof(dy));
        CheckSame(y.Length, n, nameof(y), nameof(dy));
        CheckSame(dx.Length, n, nameof(dx), nameof(dy));
        CheckAlias(x, dx, nameof(dx));
        CheckAlias(y, dx, nameof(dx));
        CheckAlias(dy, dx, nameof(dx));
        int i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> av = Vector256.Create(a), bv = Vector256.Create(b);
            if (accumulate)
            {
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                {
                    Vector256<float> g = TOp.Backward(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i),
                        Vector256.LoadUnsafe(ref gr, (nuint)i), av, bv);
                    (Vector256.LoadUnsafe(ref dr, (nuint)i) + g).StoreUnsafe(ref dr, (nuint)i);
                }
            }
            else
            {
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                    TOp.Backward(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i),
                        Vector256.LoadUnsafe(ref gr, (nuint)i), av, bv).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float g = TOp.Backward(Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i), Unsafe.Add(ref gr, i), a, b);
            Unsafe.Add(ref dr, i) = accumulate ? Unsafe.Add(ref dr, i) + g : g;
        }
    }

    private static void CheckDestination(int n, int destination, string name)
    {
        if (destination < n)
            throw new ArgumentException($"Destination '{name}' has {destination} elements; expected at least {n}.", name);
    }

    private static void CheckSame(int length, int expected, string name, string reference)
    {
        if (length != expected)
            throw new ArgumentException($"'{name}' has {length} elements; expected {expected}, the length of '{reference}'.", name);
    }

    /// <summary>Outputs may be an input exactly (in place) but not shifted against it: a shifted overlap would read
    /// elements that this call already overwrote.</summary>
    private static void CheckAlias<T>(ReadOnlySpan<T> input, Span<T> output, string name)
    {
        if (input.Overlaps(output, out int offset) && offset != 0)
            throw new ArgumentException($"'{name}' overlaps an input at an offset of {offset} elements; it must be the same span or disjoint.", name);
    }
}
