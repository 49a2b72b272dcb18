using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Dl.Dynamic;

namespace Dl;

/// <summary>GELU, the exact form: y = x·Φ(x) = ½·x·(1 + erf(x/√2)), with Φ the standard normal distribution function
/// (PyTorch's nn.GELU() default, approximate='none'; not the tanh approximation).</summary>
/// <remarks>The derivative is Φ(x) + x·φ(x), with φ(x) = e^(-x²/2)/√(2π) the normal density, computed from the saved
/// input. GELU(+∞) = +∞ (derivative 1), GELU(-∞) = -0 (derivative 0; the limit, where the formula gives ∞·0),
/// GELU(±0) = ±0, NaN propagates.
/// <para>Accuracy. Φ is evaluated as 1 - Q(x) for x ≥ 0 and Q(-x) for x &lt; 0, with Q(a) = ½·erfc(a/√2) the upper
/// tail, so negative inputs keep their relative accuracy far into the tail (no 1 - erf cancellation). In double:
/// erf by its positive-term series for |x| &lt; 2.8 and erfc by Laplace's continued fraction beyond, with the square
/// x² split exactly (FMA) before the exponential, ≈ 1e-15 relative, so that finite differences of Forward agree with
/// Backward to ~1e-9. In float (the vector path and the scalar tail): Q(a) = e^(-a²/2)·t·P(t) with t = 1/(1 + a/4)
/// and P a degree-10 polynomial fitted (relative minimax, Lawson iterations) for this kernel, evaluated in double:
/// relative error ≈ 1.3e-9 before the final rounding to float, so the float results are within one ulp.</para></remarks>
[DlOp("gelu", Saves = Saved.Input, DomainMin = -6, DomainMax = 6, Tolerance = 1e-6)]
public readonly struct GeluOp : IUnaryOp
{
    public static T Forward<T>(T x, T a, T b = default!) where T : IFloatingPointIeee754<T>
    {
        double v = double.CreateTruncating(x);
        if (typeof(T) == typeof(double)) return T.CreateTruncating(GeluMath.Exact(v));
        return T.CreateTruncating(GeluMath.Fast(v));
    }

    public static Vector256<float> Forward(Vector256<float> x, Vector256<float> a, Vector256<float> b = default)
    {
        (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(x);
        return Vector256.Narrow(GeluMath.Forward(lo), GeluMath.Forward(hi));
    }

    public static T Backward<T>(T x, T y, T dy, T a, T b = default!) where T : IFloatingPointIeee754<T>
    {
        double v = double.CreateTruncating(x);
        double d = typeof(T) == typeof(double) ? GeluMath.ExactDerivative(v) : GeluMath.FastDerivative(v);
        return T.CreateTruncating(d) * dy;
    }

    public static Vector256<float> Backward(Vector256<float> x, Vector256<float> y, Vector256<float> dy, Vector256<float> a, Vector256<float> b = default)
    {
        (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(x);
        return Vector256.Narrow(GeluMath.Derivative(lo), GeluMath.Derivative(hi)) * dy;
    }
}

public static partial class Ops
{
    /// <inheritdoc cref="GeluOp"/>
    [Op(OpKind.Unary, typeof(GeluOp))]
    public static Tensor Gelu(Tensor x) => TapeOps.Unary<GeluOp>(x, 0f);
}

/// <summary>The normal tail Q(a) = ½·erfc(a/√2) = P(Z &gt; a) behind <see cref="GeluOp"/>: an exact double evaluation and a
/// fast one (accurate to ~1e-9 relative, for float results), scalar and Vector256&lt;double&gt;.</summary>
internal static class GeluMath
{
    private const double InvSqrt2 = 0.70710678118654752440, InvSqrtPi = 0.56418958354775628695, InvSqrt2Pi = 0.39894228040143267794;

    // ---- Exact (double): series / continued fraction ----

    /// <summary>x·Φ(x) to ≈ 1e-15 relative.</summary>
    public static double Exact(double x)
    {
        if (!double.IsFinite(x)) return double.IsNegative(x) && !double.IsNaN(x) ? -0.0 : x;
        return x * Cdf(x);
    }

    /// <summary>Φ(x) + x·φ(x) to ≈ 1e-15.</summary>
    public static double ExactDerivative(double x)
    {
        if (!double.IsFinite(x)) return double.IsNaN(x) ? x : x > 0 ? 1.0 : 0.0;
        return Cdf(x) + x * HalfGaussian(x) * InvSqrt2Pi;
    }

    /// <summary>Φ(x): ½(1 + erf(|x|/√2)) or its complement; the tail side from erfc directly.</summary>
    private static double Cdf(double x)
    {
        double a = Math.Abs(x);
        // Below |x| = 2.8 (z = 1.98) the series needs ≤ 40 terms; above, 60 terms of the continued fraction reach
        // 1e-15 (checked against a 250-digit evaluation). On the tail side of the small range, 1 - erf loses at most
        // a factor 1/erfc(1.98) ≈ 200 of relative accuracy: ≈ 2e-14, still smooth to well below the FD step.
        if (a < 2.8)
        {
            double e = Erf(a);
            return x >= 0 ? 0.5 + 0.5 * e : 0.5 - 0.5 * e;
        }
        double q = 0.5 * Erfc(a);
        return x >= 0 ? 1.0 - q : q;
    }

    /// <summary>e^(-x²/2) with x² split exactly into hi + lo (so that the rounding of x² does not cost x²·2^-53).</summary>
    private static double HalfGaussian(double x)
    {
        double hi = x * x, lo = Math.FusedMultiplyAdd(x, x, -hi);
        return Math.Exp(-0.5 * hi) * (1.0 - 0.5 * lo);
    }

    /// <summary>erf(a/√2) for 0 ≤ a &lt; 2.8 by erf(z) = (2/√π)·e^(-z²)·Σ z·(2z²)^n / (1·3·…·(2n + 1)): every term is
    /// positive, so the sum loses nothing to cancellation.</summary>
    private static double Erf(double a)
    {
        double z = a * InvSqrt2, z2x2 = a * a, term = z, sum = z;
        for (int n = 1; n < 80; n++)
        {
            term *= z2x2 / (2 * n + 1);
            sum += term;
            if (term <= 1e-17 * sum) break;
        }
        return 2 * InvSqrtPi * HalfGaussian(a) * sum;
    }

    /// <summary>erfc(a/√2) for a ≥ 2.8 by Laplace's continued fraction
    /// erfc(z) = e^(-z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated backwards from 60 terms.</summary>
    private static double Erfc(double a)
    {
        double z = a * InvSqrt2, k = z;
        for (int n = 60; n >= 1; n--) k = z + 0.5 * n / k;
        return InvSqrtPi * HalfGaussian(a) / k;
    }

    // ---- Fast (float results): Q(a) = e^(-a²/2)·t·P(t), t = 1/(1 + a/4), evaluated in double ----

    // P fitted to Q(a)·e^(a²/2)/t on a ∈ [0, 15] (beyond, float results underflow): relative error 1.3e-9.
    private const double P0 = 0.0997276836556916, P1 = 0.0999303048514155, P2 = 0.09138863033888023, P3 = 0.0943191718757297,
        P4 = 0.009927142406417969, P5 = 0.18809226180145444, P6 = -0.24182836173569977, P7 = 0.3293157995616697,
        P8 = -0.24508315561547908, P9 = 0.08574609611729947, P10 = -0.011535572605787687;

    public static double Fast(double x)
    {
        if (!double.IsFinite(x)) return double.IsNegative(x) && !double.IsNaN(x) ? -0.0 : x;
        double a = Math.Abs(x), t = 1.0 / (1.0 + 0.25 * a);
        double q = Math.Exp(-0.5 * (x * x)) * t * Poly(t);
        return x * (x < 0 ? q : 1.0 - q);
    }

    public static double FastDerivative(double x)
    {
        if (!double.IsFinite(x)) return double.IsNaN(x) ? x : x > 0 ? 1.0 : 0.0;
        double a = Math.Abs(x), t = 1.0 / (1.0 + 0.25 * a), e = Math.Exp(-0.5 * (x * x));
        double q = e * t * Poly(t);
        return (x < 0 ? q : 1.0 - q) + x * e * InvSqrt2Pi;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Poly(double t)
        => ((((((((((P10 * t + P9) * t + P8) * t + P7) * t + P6) * t + P5) * t + P4) * t + P3) * t + P2) * t + P1) * t + P0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Poly(Vector256<double> t)
    {
        Vector256<double> p = Vector256.Create(P10);
        p = p * t + Vector256.Create(P9);
        p = p * t + Vector256.Create(P8);
        p = p * t + Vector256.Create(P7);
        p = p * t + Vector256.Create(P6);
        p = p * t + Vector256.Create(P5);
        p = p * t + Vector256.Create(P4);
        p = p * t + Vector256.Create(P3);
        p = p * t + Vector256.Create(P2);
        p = p * t + Vector256.Create(P1);
        return p * t + Vector256.Create(P0);
    }

    /// <summary>The upper tail q = Q(|x|) and e = e^(-x²/2), four lanes. x came from a float, so x² is exact in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Tail(Vector256<double> x, out Vector256<double> e)
    {
        Vector256<double> t = Vector256<double>.One / (Vector256<double>.One + Vector256.Create(0.25) * Vector256.Abs(x));
        e = Vector256.Exp(Vector256.Create(-0.5) * (x * x));
        // ±∞: t = 0 and e = 0, so q = 0 (not 0·∞).
        return e * t * Poly(t);
    }

    /// <summary>x·Φ(x), four lanes (see <see cref="Fast"/>).</summary>
    public static Vector256<double> Forward(Vector256<double> x)
    {
        Vector256<double> q = Tail(x, out _);
        Vector256<double> cdf = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<double>.Zero), q, Vector256<double>.One - q);
        // Φ = 0 only far out on the left (x < -38.6, or -∞): the limit -0, not -∞·0 = NaN.
        return Vector256.ConditionalSelect(Vector256.Equals(cdf, Vector256<double>.Zero), Vector256.Create(-0.0), x * cdf);
    }

    /// <summary>Φ(x) + x·φ(x), four lanes (see <see cref="FastDerivative"/>).</summary>
    public static Vector256<double> Derivative(Vector256<double> x)
    {
        Vector256<double> q = Tail(x, out Vector256<double> e);
        Vector256<double> cdf = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<double>.Zero), q, Vector256<double>.One - q);
        // x·φ(x) → 0 where e underflows (including ±∞, where the product would be NaN).
        Vector256<double> xphi = Vector256.ConditionalSelect(Vector256.Equals(e, Vector256<double>.Zero), Vector256<double>.Zero,
            x * e * Vector256.Create(InvSqrt2Pi));
        return cdf + xphi;
    }
}
