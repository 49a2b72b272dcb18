using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>Vector and scalar math the op structs share where the BCL has no vector form (pow) or its scalar form
/// is not accurate enough (log1p); e^x, σ and tanh are <see cref="VectorMath"/>'s. Internal: the public surface is the
/// op structs.</summary>
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
