using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>
/// Gradient clipping. By norm (PyTorch <c>clip_grad_norm_</c>): ‖g‖ = √(Σ gᵢ²); when c = maxNorm / (‖g‖ + 10⁻⁶) &lt; 1,
/// g ← c·g. By value (PyTorch <c>clip_grad_value_</c>): gᵢ ← clamp(gᵢ, −v, v).
/// </summary>
public static class GradientClipping
{
    /// <summary>The Euclidean norm √(Σ gᵢ²), accumulated in double.</summary>
    public static float Norm(ReadOnlySpan<float> gradients) => (float)Math.Sqrt(SumOfSquares(gradients));

    /// <summary>Scales <paramref name="gradients"/> so their norm is at most about <paramref name="maxNorm"/>;
    /// returns the norm before clipping. A non-finite norm leaves the gradients unchanged and is returned as is.</summary>
    public static float ClipByNorm(Span<float> gradients, float maxNorm)
    {
        if (!(maxNorm > 0) || !float.IsFinite(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be finite and > 0.");
        float norm = Norm(gradients);
        float coefficient = maxNorm / (norm + 1e-6f);
        if (coefficient < 1f) Scale(gradients, coefficient);
        return norm;
    }

    /// <summary>Clamps every gradient to [−<paramref name="maxValue"/>, <paramref name="maxValue"/>].</summary>
    public static void ClipByValue(Span<float> gradients, float maxValue)
    {
        if (!(maxValue > 0) || !float.IsFinite(maxValue))
            throw new ArgumentOutOfRangeException(nameof(maxValue), maxValue, "maxValue must be finite and > 0.");
        ref float g = ref MemoryMarshal.GetReference(gradients);
        int n = gradients.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> hi = Vector256.Create(maxValue), lo = Vector256.Create(-maxValue);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                Vector256.Min(Vector256.Max(Vector256.LoadUnsafe(ref g, (nuint)i), lo), hi).StoreUnsafe(ref g, (nuint)i);
        }
        for (; i < n; i++) gradients[i] = Math.Clamp(gradients[i], -maxValue, maxValue);
    }

    private static double SumOfSquares(ReadOnlySpan<float> x)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            // Widen to double before squaring: the sum of 10⁶ float squares loses digits in single precision.
            Vector256<double> acc0 = Vector256<double>.Zero, acc1 = Vector256<double>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(Vector256.LoadUnsafe(ref r, (nuint)i));
                acc0 += lo * lo;
                acc1 += hi * hi;
            }
            sum = Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum += (double)x[i] * x[i];
        return sum;
    }

    private static void Scale(Span<float> x, float factor)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> f = Vector256.Create(factor);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref r, (nuint)i) * f).StoreUnsafe(ref r, (nuint)i);
        }
        for (; i < n; i++) x[i] *= factor;
    }
}
