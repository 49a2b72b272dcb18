using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

// The vector types of Attention's loops (Attention.cs): one generic body runs on Vector512, Vector256 or one float.
public static unsafe partial class Attention
{
    // ---- the vector types: one generic loop body for Vector512, Vector256 and scalars ------------------------------

    // e^x as Cephes' expf (RecurrentMath.Exp: x = n·ln 2 + r, ln 2 in two parts, degree-7 polynomial on |r| ≤ ln2/2, max
    // relative error 1.2e-7), specialised for x ≤ 0: no upper clamp, and n = round(x·log2 e) and 2^n (as n + 127 in the
    // exponent bits) both read off one FMA with 1.5·2²³ + 127, which leaves n + 127 in the low mantissa bits, instead of
    // a floor and a float-to-int conversion (measured at the benchmark shape: the forward 10% faster).
    // The reduction and polynomial constants are RecurrentMath's.
    private const float ExpMagic = 12583039f;

    private interface ISimd<TV> where TV : unmanaged
    {
        static abstract int Count { get; }
        static abstract TV Zero { get; }
        static abstract TV Splat(float x);
        static abstract TV Load(float* p);
        static abstract void Store(float* p, TV v);
        static abstract TV Add(TV a, TV b);
        static abstract TV Sub(TV a, TV b);
        static abstract TV Mul(TV a, TV b);
        /// <summary>a·b + c.</summary>
        static abstract TV Fma(TV a, TV b, TV c);
        static abstract TV Max(TV a, TV b);
        /// <summary>e^x for x ≤ 0 (a score minus its row's maximum); −∞ and anything below −87.3 give ~1.2e-38.</summary>
        static abstract TV ExpNonPositive(TV x);
        /// <summary>0 where <paramref name="test"/> is −∞, else <paramref name="value"/>.</summary>
        static abstract TV ClearWhereNegativeInfinity(TV value, TV test);
        /// <summary><paramref name="v"/> in its first <paramref name="count"/> lanes, 0 in the others.</summary>
        static abstract TV ZeroFrom(TV v, int count);
        static abstract float MaxAcross(TV v);
        static abstract float SumAcross(TV v);
        static abstract float Lane(TV v, int i);
        /// <summary>[max across a, max across b, max across c, max across d].</summary>
        static abstract Vector128<float> Max4(TV a, TV b, TV c, TV d);
        /// <summary>[sum across a, sum across b, sum across c, sum across d].</summary>
        static abstract Vector128<float> Sum4(TV a, TV b, TV c, TV d);
    }

    private readonly struct V512 : ISimd<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;
        public static Vector512<float> Zero => Vector512<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ExpNonPositive(Vector512<float> x)
        {
            x = Vector512.MaxNative(x, Vector512.Create(RecurrentMath.ExpLo));
            Vector512<float> t = Vector512.FusedMultiplyAdd(x, Vector512.Create(RecurrentMath.Log2E), Vector512.Create(ExpMagic));
            Vector512<float> n = t - Vector512.Create(ExpMagic);
            Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-RecurrentMath.Ln2Hi), x);
            r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-RecurrentMath.Ln2Lo), r);
            Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(RecurrentMath.E7), r, Vector512.Create(RecurrentMath.E6));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(RecurrentMath.E5));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(RecurrentMath.E4));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(RecurrentMath.E3));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(RecurrentMath.E2));
            p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
            return p * (t.AsInt32() << 23).AsSingle();
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ClearWhereNegativeInfinity(Vector512<float> value, Vector512<float> test)
            => Vector512.AndNot(value, Vector512.Equals(test, Vector512.Create(float.NegativeInfinity)));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ZeroFrom(Vector512<float> v, int count)
            => v & Vector512.LessThan(Vector512.CreateSequence(0, 1), Vector512.Create(count)).AsSingle();
        public static float MaxAcross(Vector512<float> v) => V256.MaxAcross(Vector256.MaxNative(v.GetLower(), v.GetUpper()));
        public static float SumAcross(Vector512<float> v) => Vector512.Sum(v);
        public static float Lane(Vector512<float> v, int i) => v.GetElement(i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Max4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
            => V256.Max4(Vector256.MaxNative(a.GetLower(), a.GetUpper()), Vector256.MaxNative(b.GetLower(), b.GetUpper()),
                Vector256.MaxNative(c.GetLower(), c.GetUpper()), Vector256.MaxNative(d.GetLower(), d.GetUpper()));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
            => V256.Sum4(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper(), c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper());
    }

    private readonly struct V256 : ISimd<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;
        public static Vector256<float> Zero => Vector256<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ExpNonPositive(Vector256<float> x)
        {
            x = Vector256.MaxNative(x, Vector256.Create(RecurrentMath.ExpLo));
            Vector256<float> t = Vector256.FusedMultiplyAdd(x, Vector256.Create(RecurrentMath.Log2E), Vector256.Create(ExpMagic));
            Vector256<float> n = t - Vector256.Create(ExpMagic);
            Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-RecurrentMath.Ln2Hi), x);
            r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-RecurrentMath.Ln2Lo), r);
            Vector256<float> p = Vector256.FusedMultiplyAdd(Vector256.Create(RecurrentMath.E7), r, Vector256.Create(RecurrentMath.E6));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(RecurrentMath.E5));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(RecurrentMath.E4));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(RecurrentMath.E3));
            p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(RecurrentMath.E2));
            p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
            return p * (t.AsInt32() << 23).AsSingle();
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ClearWhereNegativeInfinity(Vector256<float> value, Vector256<float> test)
            => Vector256.AndNot(value, Vector256.Equals(test, Vector256.Create(float.NegativeInfinity)));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ZeroFrom(Vector256<float> v, int count)
            => v & Vector256.LessThan(Vector256.CreateSequence(0, 1), Vector256.Create(count)).AsSingle();
        public static float MaxAcross(Vector256<float> v)
        {
            Vector128<float> m = Vector128.MaxNative(v.GetLower(), v.GetUpper());
            m = Vector128.MaxNative(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
            return Vector128.MaxNative(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2))).ToScalar();
        }
        public static float SumAcross(Vector256<float> v) => Vector256.Sum(v);
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
    private readonly struct Scalar : ISimd<float>
    {
        public static int Count => 1;
        public static float Zero => 0f;
        public static float Splat(float x) => x;
        public static float Load(float* p) => *p;
        public static void Store(float* p, float v) => *p = v;
        public static float Add(float a, float b) => a + b;
        public static float Sub(float a, float b) => a - b;
        public static float Mul(float a, float b) => a * b;
        public static float Fma(float a, float b, float c) => a * b + c;
        public static float Max(float a, float b) => MathF.Max(a, b);
        public static float ExpNonPositive(float x) => MathF.Exp(x);
        public static float ClearWhereNegativeInfinity(float value, float test) => test == float.NegativeInfinity ? 0f : value;
        public static float ZeroFrom(float v, int count) => count >= 1 ? v : 0f;
        public static float MaxAcross(float v) => v;
        public static float SumAcross(float v) => v;
        public static float Lane(float v, int i) => v;
        public static Vector128<float> Max4(float a, float b, float c, float d) => Vector128.Create(a, b, c, d);
        public static Vector128<float> Sum4(float a, float b, float c, float d) => Vector128.Create(a, b, c, d);
    }
}
