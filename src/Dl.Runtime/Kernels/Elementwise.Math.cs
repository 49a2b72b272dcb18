using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>Vector and scalar math the op structs share where the BCL has no vector form (tanh, pow) or its scalar form
/// is not accurate enough (log1p). Internal: the public surface is the op structs.</summary>
internal static class ElementwiseMath
{
    private static Vector256<float> SignMask => Vector256.Create(-0f);

    /// <summary>x^a for a vector of bases and a scalar exponent with the IEEE pow conventions the scalar path
    /// (<see cref="MathF.Pow"/>) follows: negative bases give NaN for a non-integer exponent and take the sign of the base
    /// for an odd integer one; pow(x, 0) = 1 even for NaN. The general case is e^(a·ln|x|) in double precision, so the
    /// float result is within an ulp whatever the size of a·ln|x| (a float-only e^(a·ln x) loses |a·ln x| ulps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow(Vector256<float> x, float a)
    {
        // The exponent is a compile-time constant of the model: these branches are predicted perfectly.
        if (a == 0f) return Vector256<float>.One;
        if (a == 1f) return x;
        if (a == 2f) return x * x;
        if (a == -1f) return Vector256<float>.One / x;

        Vector256<float> ax = Vector256.AndNot(x, SignMask);
        (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(ax);
        Vector256<double> ad = Vector256.Create((double)a);
        lo = Vector256.Exp(Vector256.Log(lo) * ad);
        hi = Vector256.Exp(Vector256.Log(hi) * ad);
        Vector256<float> r = Vector256.Narrow(lo, hi);

        if (float.IsInteger(a))
        {
            // |a| ≥ 2^24 is always even in float.
            bool odd = MathF.Abs(a) < 16777216f && ((long)a & 1) != 0;
            return odd ? r | (x & SignMask) : r;
        }
        // Non-integer power of a negative finite base is NaN; (-∞)^a follows (+∞)^a.
        Vector256<float> invalid = Vector256.LessThan(x, Vector256<float>.Zero)
            & ~Vector256.Equals(x, Vector256.Create(float.NegativeInfinity));
        return Vector256.ConditionalSelect(invalid, Vector256.Create(float.NaN), r);
    }

    // Taylor coefficients of tanh(x) = x + x³·P(x²): -1/3, 2/15, -17/315, 62/2835, -1382/155925, 21844/6081075,
    // -929569/638512875. On |x| < 0.5 the first omitted term is below 1e-8 relative.
    private const float T3 = -1f / 3f, T5 = 2f / 15f, T7 = -17f / 315f, T9 = 62f / 2835f, T11 = -1382f / 155925f,
        T13 = 21844f / 6081075f, T15 = -929569f / 638512875f;

    /// <summary>tanh for a float vector: the Taylor series on |x| &lt; 0.5 (relative accuracy near 0, where the
    /// exponential form cancels), 1 - 2/(e^(2|x|) + 1) above (saturates to exactly 1 for |x| ≳ 9, and for ±∞), with the
    /// sign of x restored. tanh(±0) = ±0; NaN propagates. Within 2e-7 relative of the double reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        Vector256<float> ax = Vector256.AndNot(x, SignMask);
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
        return r | (x & SignMask);
    }

    /// <summary>ln(1 + u) accurate for small u (Goldberg's correction: the generic <c>T.LogP1</c> is ln(1 + u) as written,
    /// which returns 0 for |u| below half an ulp of 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Log1P<T>(T u) where T : IFloatingPointIeee754<T>
    {
        T w = T.One + u;
        if (w == T.One || T.IsPositiveInfinity(u)) return u;
        return T.Log(w) * (u / (w - T.One));
    }

    /// <summary>σ(x) = 1 / (1 + e^-x); exact limits 0 and 1 at ±∞.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
}
