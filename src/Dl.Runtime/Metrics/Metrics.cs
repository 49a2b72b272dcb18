namespace Dl;

/// <summary>
/// Evaluation metrics. Accuracy = (1/n) Σ [argmax_c logits[i, c] = yᵢ] (the first maximal index wins ties);
/// MSE = (1/n) Σ (pᵢ − tᵢ)²; MAE = (1/n) Σ |pᵢ − tᵢ|. Sums are accumulated in double.
/// </summary>
public static class Metrics
{
    /// <summary>The index of the largest value; the first one on ties, and NaN never wins.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) throw new ArgumentException("ArgMax of an empty span.", nameof(values));
        int best = 0;
        float max = values[0];
        for (int i = 1; i < values.Length; i++)
        {
            // NaN at index 0 would otherwise block every later value: any number beats a NaN.
            if (values[i] > max || (float.IsNaN(max) && !float.IsNaN(values[i])))
            {
                max = values[i];
                best = i;
            }
        }
        return best;
    }

    /// <summary>Writes the predicted class of each row of the n × <paramref name="classes"/> <paramref name="logits"/>.</summary>
    public static void Predictions(ReadOnlySpan<float> logits, int classes, Span<int> predictions)
    {
        int n = Rows(logits, classes, nameof(logits));
        if (predictions.Length != n)
            throw new ArgumentException($"{n} rows of logits but room for {predictions.Length} predictions.", nameof(predictions));
        for (int i = 0; i < n; i++) predictions[i] = ArgMax(logits.Slice(i * classes, classes));
    }

    /// <summary>The number of rows whose argmax equals the label.</summary>
    public static int CorrectCount(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<int> labels)
    {
        int n = Rows(logits, classes, nameof(logits));
        if (labels.Length != n)
            throw new ArgumentException($"{n} rows of logits ({logits.Length} values / {classes} classes) but {labels.Length} labels.", nameof(labels));
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label {i} is {labels[i]}; expected a class in [0, {classes}).");
            if (ArgMax(logits.Slice(i * classes, classes)) == labels[i]) correct++;
        }
        return correct;
    }

    /// <summary>The fraction of rows of the n × <paramref name="classes"/> <paramref name="logits"/> whose argmax is the label (0 for n = 0).</summary>
    public static float Accuracy(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<int> labels)
    {
        int correct = CorrectCount(logits, classes, labels);
        return labels.Length == 0 ? 0f : (float)((double)correct / labels.Length);
    }

    /// <summary>(1/n) Σ (pᵢ − tᵢ)² over all elements.</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        SameLength(predictions, targets);
        if (predictions.IsEmpty) return 0f;
        double sum = 0;
        for (int i = 0; i < predictions.Length; i++)
        {
            double e = (double)predictions[i] - targets[i];
            sum += e * e;
        }
        return (float)(sum / predictions.Length);
    }

    /// <summary>(1/n) Σ |pᵢ − tᵢ| over all elements.</summary>
    public static float MeanAbsoluteError(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        SameLength(predictions, targets);
        if (predictions.IsEmpty) return 0f;
        double sum = 0;
        for (int i = 0; i < predictions.Length; i++) sum += Math.Abs((double)predictions[i] - targets[i]);
        return (float)(sum / predictions.Length);
    }

    private static int Rows(ReadOnlySpan<float> logits, int classes, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (logits.Length % classes != 0)
            throw new ArgumentException($"{logits.Length} logits are not a whole number of rows of {classes} classes.", name);
        return logits.Length / classes;
    }

    private static void SameLength(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        if (predictions.Length != targets.Length)
            throw new ArgumentException($"{predictions.Length} predictions but {targets.Length} targets; expected the same length.", nameof(targets));
    }
}
