namespace Dl.Cli;

/// <summary>Class probabilities from a classifier's logits.</summary>
internal static class Predictions
{
    /// <summary>p_i = exp(z_i − max z) / Σ_j exp(z_j − max z).</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        float max = float.NegativeInfinity;
        foreach (float z in logits) max = Math.Max(max, z);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += probabilities[i] = MathF.Exp(logits[i] - max);
        for (int i = 0; i < logits.Length; i++) probabilities[i] = (float)(probabilities[i] / sum);
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>The <paramref name="k"/> most probable classes, most probable first.</summary>
    public static int[] TopK(ReadOnlySpan<float> probabilities, int k)
    {
        float[] p = probabilities.ToArray();
        return [.. Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).Take(k)];
    }
}
