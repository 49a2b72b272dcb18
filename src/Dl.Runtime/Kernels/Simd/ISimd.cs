using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

/// <summary>The vector operations Dl's kernels are written against: one generic body runs on Vector512
/// (<see cref="V512"/>), Vector256 (<see cref="V256"/>) or one float (<see cref="VScalar"/>).</summary>
/// <remarks>
/// A kernel is a generic method <c>Run&lt;TS, TV&gt;() where TS : struct, ISimd&lt;TV&gt;</c>: the type arguments are
/// structs, so the JIT compiles one specialised copy per width with every member inlined, the same machine code as the
/// hand-written per-width copies it replaces. The width is chosen once, by the caller (Vector512.IsHardwareAccelerated
/// and so on, see <see cref="SimdWidth"/>). Every member maps to one Vector256/Vector512 operation, so the bits a kernel
/// computes do not depend on going through this interface. The scalar form keeps the scalar paths' arithmetic
/// (a·b + c unfused: a software FMA would cost several times the multiply-add where the hardware has none).
/// </remarks>
internal interface ISimd<TV> where TV : unmanaged
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }
    static abstract TV Zero { get; }
    static abstract TV One { get; }
    static abstract TV AllBitsSet { get; }
    static abstract TV Splat(float x);
    static abstract unsafe TV Load(float* p);
    static abstract unsafe void Store(float* p, TV v);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    static abstract TV Div(TV a, TV b);
    static abstract TV Negate(TV a);
    /// <summary>a·b + c (one rounding on the vector widths).</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    /// <summary>The larger of a and b, as the instruction does it (for NaN or ±0, the second operand).</summary>
    static abstract TV Max(TV a, TV b);
    /// <summary>The smaller of a and b, as the instruction does it (for NaN or ±0, the second operand).</summary>
    static abstract TV Min(TV a, TV b);
    static abstract TV And(TV a, TV b);
    /// <summary>a with the bits of <paramref name="mask"/> cleared.</summary>
    static abstract TV AndNot(TV a, TV mask);
    /// <summary>All ones where a &lt; b, else 0.</summary>
    static abstract TV LessThan(TV a, TV b);
    static abstract TV Floor(TV a);
    /// <summary>2^n for whole numbers n in [-126, 127]: n + 127 put into the exponent bits.</summary>
    static abstract TV Pow2(TV n);
    /// <summary>The value whose bits are those of <paramref name="t"/> shifted left by 23 (the low mantissa bits of
    /// <paramref name="t"/> become the exponent).</summary>
    static abstract TV ShiftIntoExponent(TV t);
    /// <summary><paramref name="value"/> where <paramref name="v"/> is a number, <paramref name="v"/> where it is NaN.</summary>
    static abstract TV PropagateNaN(TV v, TV value);
    /// <summary>0 where <paramref name="test"/> is −∞, else <paramref name="value"/>.</summary>
    static abstract TV ClearWhereNegativeInfinity(TV value, TV test);
    /// <summary><paramref name="v"/> in its first <paramref name="count"/> lanes, 0 in the others.</summary>
    static abstract TV ZeroFrom(TV v, int count);
    /// <summary>All ones in the last <paramref name="count"/> lanes (0 ≤ count ≤ Count), 0 in the others.</summary>
    static abstract TV LastLanes(int count);
    static abstract float MaxAcross(TV v);
    static abstract float SumAcross(TV v);
    static abstract float Lane(TV v, int i);
    /// <summary>[max across a, max across b, max across c, max across d].</summary>
    static abstract Vector128<float> Max4(TV a, TV b, TV c, TV d);
    /// <summary>[sum across a, sum across b, sum across c, sum across d].</summary>
    static abstract Vector128<float> Sum4(TV a, TV b, TV c, TV d);
}

/// <summary>Which <see cref="ISimd{TV}"/> form a kernel runs, fixed for the process by the JIT.</summary>
internal enum SimdWidth : byte { Scalar, V256, V512 }

internal static class Simd
{
    /// <summary>The widest accelerated form: V512, else V256, else Scalar.</summary>
    public static SimdWidth Widest
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.IsHardwareAccelerated ? SimdWidth.V512 : Vector256.IsHardwareAccelerated ? SimdWidth.V256 : SimdWidth.Scalar;
    }

    /// <summary>16 zero lanes, then 16 all-ones lanes: Count lanes loaded at offset 16 − Count + n keep the last n.</summary>
    internal static ReadOnlySpan<uint> LastLanesTable =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
        0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
    ];

    internal static ref float LastLanesBase => ref Unsafe.As<uint, float>(ref MemoryMarshal.GetReference(LastLanesTable));
}

internal readonly unsafe struct V512 : ISimd<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    public static Vector512<float> One => Vector512<float>.One;
    public static Vector512<float> AllBitsSet => Vector512<float>.AllBitsSet;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Negate(Vector512<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> AndNot(Vector512<float> a, Vector512<float> mask) => Vector512.AndNot(a, mask);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Floor(Vector512<float> a) => Vector512.Floor(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2(Vector512<float> n) => ((Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ShiftIntoExponent(Vector512<float> t) => (t.AsInt32() << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> PropagateNaN(Vector512<float> v, Vector512<float> value) => Vector512.ConditionalSelect(Vector512.Equals(v, v), value, v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ClearWhereNegativeInfinity(Vector512<float> value, Vector512<float> test)
        => Vector512.AndNot(value, Vector512.Equals(test, Vector512.Create(float.NegativeInfinity)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ZeroFrom(Vector512<float> v, int count)
        => v & Vector512.LessThan(Vector512.CreateSequence(0, 1), Vector512.Create(count)).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LastLanes(int count) => Vector512.LoadUnsafe(ref Simd.LastLanesBase, (nuint)count);
    public static float MaxAcross(Vector512<float> v) => V256.MaxAcross(Vector256.MaxNative(v.GetLower(), v.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(Vector512<float> v) => Vector512.Sum(v);
    public static float Lane(Vector512<float> v, int i) => v.GetElement(i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
        => V256.Max4(Vector256.MaxNative(a.GetLower(), a.GetUpper()), Vector256.MaxNative(b.GetLower(), b.GetUpper()),
            Vector256.MaxNative(c.GetLower(), c.GetUpper()), Vector256.MaxNative(d.GetLower(), d.GetUpper()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
        => V256.Sum4(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper(), c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper());
}

internal readonly unsafe struct V256 : ISimd<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    public static Vector256<float> One => Vector256<float>.One;
    public static Vector256<float> AllBitsSet => Vector256<float>.AllBitsSet;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Negate(Vector256<float> a) => -a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> AndNot(Vector256<float> a, Vector256<float> mask) => Vector256.AndNot(a, mask);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Floor(Vector256<float> a) => Vector256.Floor(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2(Vector256<float> n) => ((Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ShiftIntoExponent(Vector256<float> t) => (t.AsInt32() << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> PropagateNaN(Vector256<float> v, Vector256<float> value) => Vector256.ConditionalSelect(Vector256.Equals(v, v), value, v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ClearWhereNegativeInfinity(Vector256<float> value, Vector256<float> test)
        => Vector256.AndNot(value, Vector256.Equals(test, Vector256.Create(float.NegativeInfinity)));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZeroFrom(Vector256<float> v, int count)
        => v & Vector256.LessThan(Vector256.CreateSequence(0, 1), Vector256.Create(count)).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LastLanes(int count) => Vector256.LoadUnsafe(ref Simd.LastLanesBase, (nuint)(8 + count));
    public static float MaxAcross(Vector256<float> v)
    {
        Vector128<float> m = Vector128.MaxNative(v.GetLower(), v.GetUpper());
        m = Vector128.MaxNative(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        return Vector128.MaxNative(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float SumAcross(Vector256<float> v) => Vector256.Sum(v);
    public static float Lane(Vector256<float> v, int i) => v.GetElement(i);
    // Four horizontal reductions at once: interleave pairs (each 128-bit half then holds partial results of a and
    // b, c and d), combine, gather the four partials per half, combine, then the two halves.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        if (!Avx.IsSupported) return Vector128.Create(MaxAcross(a), MaxAcross(b), MaxAcross(c), MaxAcross(d));
        Vector256<float> ab = Vector256.MaxNative(Avx.UnpackLow(a, b), Avx.UnpackHigh(a, b));
        Vector256<float> cd = Vector256.MaxNative(Avx.UnpackLow(c, d), Avx.UnpackHigh(c, d));
        Vector256<float> abcd = Vector256.MaxNative(Avx.Shuffle(ab, cd, 0b01_00_01_00), Avx.Shuffle(ab, cd, 0b11_10_11_10));
        return Vector128.MaxNative(abcd.GetLower(), abcd.GetUpper());
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        if (!Avx.IsSupported) return Vector128.Create(SumAcross(a), SumAcross(b), SumAcross(c), SumAcross(d));
        Vector256<float> ab = Avx.UnpackLow(a, b) + Avx.UnpackHigh(a, b);
        Vector256<float> cd = Avx.UnpackLow(c, d) + Avx.UnpackHigh(c, d);
        Vector256<float> abcd = Avx.Shuffle(ab, cd, 0b01_00_01_00) + Avx.Shuffle(ab, cd, 0b11_10_11_10);
        return abcd.GetLower() + abcd.GetUpper();
    }
}

/// <summary>One float per "vector": the fallback without Vector256, and short rows.</summary>
internal readonly unsafe struct VScalar : ISimd<float>
{
    public static int Count => 1;
    public static float Zero => 0f;
    public static float One => 1f;
    public static float AllBitsSet => BitConverter.Int32BitsToSingle(-1);
    public static float Splat(float x) => x;
    public static float Load(float* p) => *p;
    public static void Store(float* p, float v) => *p = v;
    public static float Add(float a, float b) => a + b;
    public static float Sub(float a, float b) => a - b;
    public static float Mul(float a, float b) => a * b;
    public static float Div(float a, float b) => a / b;
    public static float Negate(float a) => -a;
    public static float Fma(float a, float b, float c) => a * b + c;
    public static float Max(float a, float b) => MathF.Max(a, b);
    public static float Min(float a, float b) => MathF.Min(a, b);
    public static float And(float a, float b) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) & BitConverter.SingleToInt32Bits(b));
    public static float AndNot(float a, float mask) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) & ~BitConverter.SingleToInt32Bits(mask));
    public static float LessThan(float a, float b) => a < b ? AllBitsSet : 0f;
    public static float Floor(float a) => MathF.Floor(a);
    public static float Pow2(float n) => BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    public static float ShiftIntoExponent(float t) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(t) << 23);
    public static float PropagateNaN(float v, float value) => float.IsNaN(v) ? v : value;
    public static float ClearWhereNegativeInfinity(float value, float test) => test == float.NegativeInfinity ? 0f : value;
    public static float ZeroFrom(float v, int count) => count >= 1 ? v : 0f;
    public static float LastLanes(int count) => count >= 1 ? AllBitsSet : 0f;
    public static float MaxAcross(float v) => v;
    public static float SumAcross(float v) => v;
    public static float Lane(float v, int i) => v;
    public static Vector128<float> Max4(float a, float b, float c, float d) => Vector128.Create(a, b, c, d);
    public static Vector128<float> Sum4(float a, float b, float c, float d) => Vector128.Create(a, b, c, d);
}
