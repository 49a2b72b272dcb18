namespace Dl.Models;

/// <summary>The perceptron learning rule on a generated model with parameters <c>w</c> and <c>b</c> and a step output:
/// for each sample, w ← w + η (y - ŷ) x and b ← b + η (y - ŷ).</summary>
public static class PerceptronTrainer
{
    /// <summary>Trains until every sample is classified correctly; returns the number of epochs that took,
    /// or -1 when <paramref name="maxEpochs"/> passed without converging (as for XOR).</summary>
    public static int Train(IModel model, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, float eta = 1f, int maxEpochs = 100)
    {
        ArgumentNullException.ThrowIfNull(model);
        int d = model.Description.InputSize;
        if (inputs.Length != labels.Length * d)
            throw new ArgumentException($"inputs has {inputs.Length} values; expected {labels.Length} samples x {d}.", nameof(inputs));
        var w = model.Parameter("w");
        var b = model.Parameter("b");
        Span<float> output = stackalloc float[1];
        for (int epoch = 1; epoch <= maxEpochs; epoch++)
        {
            int errors = 0;
            for (int s = 0; s < labels.Length; s++)
            {
                if (labels[s] is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(labels), labels[s], $"label of sample {s} must be 0 or 1.");
                var x = inputs.Slice(s * d, d);
                model.Predict(x, output, 1);
                float error = labels[s] - output[0];
                if (error == 0) continue;
                errors++;
                for (int i = 0; i < d; i++) w[i] += eta * error * x[i];
                b[0] += eta * error;
            }
            if (errors == 0) return epoch;
        }
        return -1;
    }
}

/// <summary>Truth tables of the logic gates of the course notes, inputs in {0, 1}².</summary>
public static class LogicGates
{
    public static readonly float[] Inputs = [0, 0, 0, 1, 1, 0, 1, 1];
    public static readonly int[] And = [0, 0, 0, 1];
    public static readonly int[] Or = [0, 1, 1, 1];
    public static readonly int[] Xor = [0, 1, 1, 0];
}
