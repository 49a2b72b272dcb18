namespace Dl.Data;

/// <summary>
/// Drawing the next token from a model's scores, for text generation: softmax(logits / temperature) sampled, or the
/// argmax when the temperature is (near) zero.
/// </summary>
/// <remarks>
/// <para>Temperature must be finite and ≥ 0. At or below <see cref="ArgMaxTemperature"/> (including exactly 0) the
/// distribution is the argmax (the limit of softmax(x / τ) as τ → 0), with ties going to the lowest index; this also
/// avoids dividing by a vanishing τ. Below 1 sharpens the distribution, above 1 flattens it.</para>
/// <para>Logits may be −∞ (a masked token: probability 0) but not NaN or +∞, which are errors naming the index; at least
/// one logit must be finite. The arithmetic is in double, from the maximum (p_i ∝ exp((x_i − max) / τ)), so no logit
/// overflows whatever τ.</para>
/// </remarks>
public static class Sampling
{
    /// <summary>Temperatures at or below this are the argmax.</summary>
    public const float ArgMaxTemperature = 1e-6f;

    /// <summary>An index drawn from softmax(<paramref name="logits"/> / <paramref name="temperature"/>) with one
    /// <see cref="DlRandom.NextDouble"/> draw (none for the argmax), by inverting the cumulative distribution. Allocates nothing.</summary>
    public static int SampleWithTemperature(ReadOnlySpan<float> logits, float temperature, DlRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        CheckTemperature(temperature);
        int best = CheckedArgMax(logits);
        if (temperature <= ArgMaxTemperature) return best;

        double max = logits[best], scale = 1.0 / temperature;
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp((logits[i] - max) * scale);
        // sum ≥ 1 (the maximum's own term), so u is well inside the total mass.
        double u = random.NextDouble() * sum, cumulative = 0;
        int last = best;
        for (int i = 0; i < logits.Length; i++)
        {
            double w = Math.Exp((logits[i] - max) * scale);
            if (w == 0) continue;
            cumulative += w;
            last = i;
            if (u < cumulative) return i;
        }
        // Rounding can leave u just above the re-summed total: the last token with mass takes it.
        return last;
    }

    /// <summary>The index of the largest logit (the lowest such index on ties). NaN and +∞ are errors, as for sampling.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits) => CheckedArgMax(logits);

    /// <summary>Writes softmax(<paramref name="logits"/> / <paramref name="temperature"/>) to <paramref name="probabilities"/>:
    /// the distribution <see cref="SampleWithTemperature"/> draws from (one-hot at the argmax for τ ≤ <see cref="ArgMaxTemperature"/>).</summary>
    public static void Softmax(ReadOnlySpan<float> logits, float temperature, Span<float> probabilities)
    {
        CheckTemperature(temperature);
        int best = CheckedArgMax(logits);
        if (probabilities.Length < logits.Length)
            throw new ArgumentException($"probabilities holds {probabilities.Length} values; there are {logits.Length} logits.", nameof(probabilities));
        if (temperature <= ArgMaxTemperature)
        {
            probabilities[..logits.Length].Clear();
            probabilities[best] = 1f;
            return;
        }
        double max = logits[best], scale = 1.0 / temperature, sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp((logits[i] - max) * scale);
        for (int i = 0; i < logits.Length; i++) probabilities[i] = (float)(Math.Exp((logits[i] - max) * scale) / sum);
    }

    private static void CheckTemperature(float temperature)
    {
        if (!(temperature >= 0) || float.IsPositiveInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature,
                $"Expected a finite temperature ≥ 0 (≤ {ArgMaxTemperature} means argmax).");
    }

    private static int CheckedArgMax(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("There are no logits to sample from.", nameof(logits));
        int best = -1;
        float max = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
        {
            float x = logits[i];
            if (float.IsNaN(x) || float.IsPositiveInfinity(x))
                throw new ArgumentException($"Logit {i} of {logits.Length} is {x}; logits must be finite or -∞.", nameof(logits));
            if (x > max)
            {
                max = x;
                best = i;
            }
        }
        if (best < 0) throw new ArgumentException($"All {logits.Length} logits are -∞: no token has any probability.", nameof(logits));
        return best;
    }
}
