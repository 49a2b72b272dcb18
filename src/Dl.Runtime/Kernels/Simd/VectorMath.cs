using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>e^x, σ and tanh for float vectors, written once over <see cref="ISimd{TV}"/>: the element-wise ops, the
/// recurrent cells, the softmax rows and the attention softmax all call these. NaN propagates.</summary>
/// <remarks>
/// Why not Vector256.Exp: it is accurate to an ulp but slow inside a loop that does more than exp (measured per element on
/// Zen 4: σ through the BCL's Exp 3.9 ns inside a loop, 0.5 for Exp alone; through <see cref="Exp{TS, TV}"/> 0.51 ns,
/// 0.35 with Vector512; tanh through Exp 0.83 ns, with the rational form below 0.28 ns, 0.25 with Vector512).
/// Max error against double math, measured over every 7th float (by bit pattern) in [-20, 20]:
/// <list type="bullet">
/// <item>e^v: Cephes' expf. v = n·ln 2 + r with n = round(v / ln 2) and ln 2 split in two (Cody–Waite); e^r from a
/// degree-7 polynomial on |r| ≤ ln2/2; 2^n put into the exponent bits. Inputs are clamped to [-87.3, 88.4]
/// (results ~1.2e-38 … 2.4e38: −∞ gives ~1.2e-38, not 0, +∞ gives 2.4e38), max relative error 1.2e-7 (the BCL's
/// Vector256.Exp: 1.5e-7).</item>
/// <item>σ(v) = 1 / (1 + e^-v): no cancellation anywhere, relative error 1.9e-7 (2.2e-7 through the BCL's exp).</item>
/// <item>tanh(v): Eigen's rational approximation x·P(x²)/Q(x²) (odd degree 13 over even degree 6) on x = v clamped to
/// ±7.905, relative error 2.6e-7, also near 0 down to the smallest normal floats (1.6e-6 at |v| = 1e-37, where x·P
/// goes subnormal); it stops at 1 − 2.4e-7 instead of reaching 1. <see cref="TanhSaturating"/> has exact limits.</item>
/// </list>
/// With one lane (<see cref="VScalar"/>) they are the libm functions, as every scalar path and tail computes them.
/// </remarks>
internal static class VectorMath
{
    internal const float ExpLo = -87.33654f, ExpHi = 88.3762626647949f, Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    internal const float E7 = 1.9875691500e-4f, E6 = 1.3981999507e-3f, E5 = 8.3334519073e-3f, E4 = 4.1665795894e-2f, E3 = 1.6666665459e-1f, E2 = 5.0000001201e-1f;
    // ExpNonPositive: n = round(x·log2 e) and 2^n (as n + 127 in the exponent bits) both read off one FMA with
    // 1.5·2²³ + 127, which leaves n + 127 in the low mantissa bits.
    private const float ExpMagic = 12583039f;
    private const float TanhClamp = 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f, A7 = 5.12229709037114e-08f,
        A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    /// <summary>e^v, relative error 1.2e-7 (see the remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TS, TV>(TV v) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        if (TS.Count == 1) return TS.Splat(MathF.Exp(TS.Lane(v, 0)));
        v = TS.Min(TS.Max(v, TS.Splat(ExpLo)), TS.Splat(ExpHi));
        TV n = TS.Floor(TS.Fma(v, TS.Splat(Log2E), TS.Splat(0.5f)));
        return TS.Mul(ExpReduced<TS, TV>(v, n), TS.Pow2(n));
    }

    /// <summary>e^x for x ≤ 0 (a score minus its row's maximum): no upper clamp, and n and 2^n from one FMA instead of
    /// a floor and a float-to-int conversion (measured at the attention benchmark's shape: the forward 10% faster);
    /// −∞ and anything below −87.3 give ~1.2e-38.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpNonPositive<TS, TV>(TV x) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        if (TS.Count == 1) return TS.Splat(MathF.Exp(TS.Lane(x, 0)));
        x = TS.Max(x, TS.Splat(ExpLo));
        TV t = TS.Fma(x, TS.Splat(Log2E), TS.Splat(ExpMagic));
        TV n = TS.Sub(t, TS.Splat(ExpMagic));
        return TS.Mul(ExpReduced<TS, TV>(x, n), TS.ShiftIntoExponent(t));
    }

    /// <summary>e^(v − n·ln 2) for |v − n·ln 2| ≤ ln2/2: the reduction in two parts and the degree-7 polynomial.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpReduced<TS, TV>(TV v, TV n) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        TV r = TS.Fma(n, TS.Splat(-Ln2Hi), v);
        r = TS.Fma(n, TS.Splat(-Ln2Lo), r);
        TV p = TS.Fma(TS.Splat(E7), r, TS.Splat(E6));
        p = TS.Fma(p, r, TS.Splat(E5));
        p = TS.Fma(p, r, TS.Splat(E4));
        p = TS.Fma(p, r, TS.Splat(E3));
        p = TS.Fma(p, r, TS.Splat(E2));
        return TS.Fma(p, TS.Mul(r, r), TS.Add(r, TS.One));
    }

    /// <summary>σ(v) = 1 / (1 + e^-v), relative error ~2e-7; σ(+∞) = 1 and σ(v) = 0 below −88.37 (where e^-v, clamped,
    /// would leave ~4e-39; libm's e^-v overflows to ∞ there and gives 0 too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TS, TV>(TV v) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        if (TS.Count == 1) return TS.Splat(1f / (1f + MathF.Exp(-TS.Lane(v, 0))));
        TV s = TS.Div(TS.One, TS.Add(TS.One, Exp<TS, TV>(TS.Negate(v))));
        return TS.PropagateNaN(v, TS.AndNot(s, TS.LessThan(v, TS.Splat(-ExpHi))));
    }

    /// <summary>tanh(v), relative error 2.6e-7 (Eigen's rational form), exactly ±1 beyond ±7.905.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TS, TV>(TV v) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        if (TS.Count == 1) return TS.Splat(MathF.Tanh(TS.Lane(v, 0)));
        TV x = TS.Min(TS.Max(v, TS.Splat(-TanhClamp)), TS.Splat(TanhClamp));
        TV x2 = TS.Mul(x, x);
        TV p = TS.Fma(x2, TS.Splat(A13), TS.Splat(A11));
        p = TS.Fma(x2, p, TS.Splat(A9));
        p = TS.Fma(x2, p, TS.Splat(A7));
        p = TS.Fma(x2, p, TS.Splat(A5));
        p = TS.Fma(x2, p, TS.Splat(A3));
        p = TS.Fma(x2, p, TS.Splat(A1));
        TV q = TS.Fma(x2, TS.Splat(B6), TS.Splat(B4));
        q = TS.Fma(x2, q, TS.Splat(B2));
        q = TS.Fma(x2, q, TS.Splat(B0));
        return TS.PropagateNaN(v, TS.Div(TS.Mul(x, p), q));
    }

    // Taylor coefficients of tanh(x) = x + x³·P(x²): -1/3, 2/15, -17/315, 62/2835, -1382/155925, 21844/6081075,
    // -929569/638512875. On |x| < 0.5 the first omitted term is below 1e-8 relative.
    private const float T3 = -1f / 3f, T5 = 2f / 15f, T7 = -17f / 315f, T9 = 62f / 2835f, T11 = -1382f / 155925f,
        T13 = 21844f / 6081075f, T15 = -929569f / 638512875f;

    /// <summary>tanh for <see cref="TanhOp"/>: exactly ±1 from |x| ≈ 9 on and relatively accurate down to the subnormals
    /// (the rational <see cref="Tanh{TS, TV}"/> stops at 1 − 2.4e-7 and loses precision below |x| ≈ 1e-37; the op's contract and
    /// tests want the limits exact). The Taylor series on |x| &lt; 0.5 (relative accuracy near 0, where the
    /// exponential form cancels), 1 - 2/(e^(2|x|) + 1) above (saturates to exactly 1 for |x| ≳ 9, and for ±∞), with the
    /// sign of x restored. tanh(±0) = ±0; NaN propagates. Within 2.5e-7 relative of double (measured 2.42e-7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> TanhSaturating(Vector256<float> x)
    {
        Vector256<float> ax = Vector256.AndNot(x, Vector256.Create(-0f));
        Vector256<float> one = Vector256<float>.One;
        Vector256<float> e = Vector256.Exp(ax + ax);
        Vector256<float> large = one - Vector256.Create(2f) / (e + one);

        Vector256<float> x2 = ax * ax;
        Vector256<float> p = Vector256.Create(T15);
        p = p * x2 + Vector256.Create(T13);
        p = p * x2 + Vector256.Create(T11);
        p = p * x2 + Vector256.Create(T9);
        p = p * x2 + Vector256.Create(T7);
        p = p * x2 + Vector256.Create(T5);
        p = p * x2 + Vector256.Create(T3);
        Vector256<float> small = ax + ax * x2 * p;

        Vector256<float> r = Vector256.ConditionalSelect(Vector256.LessThan(ax, Vector256.Create(0.5f)), small, large);
        return r | (x & Vector256.Create(-0f));
    }

    // The fixed-width forms, for callers that are not generic over the width.

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Exp(Vector256<float> v) => Exp<V256, Vector256<float>>(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exp(Vector512<float> v) => Exp<V512, Vector512<float>>(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sigmoid(Vector256<float> v) => Sigmoid<V256, Vector256<float>>(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sigmoid(Vector512<float> v) => Sigmoid<V512, Vector512<float>>(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Tanh(Vector256<float> v) => Tanh<V256, Vector256<float>>(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Tanh(Vector512<float> v) => Tanh<V512, Vector512<float>>(v);
    public static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));
}
