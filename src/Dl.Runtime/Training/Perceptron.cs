namespace Dl.Training;

/// <summary>
/// Rosenblatt's perceptron: ŷ = g(w·x + b) with the step g(z) = 1 if z &gt; 0 else 0, trained sample by sample with
/// w ← w + η (y − ŷ) x and b ← b + η (y − ŷ). It converges on linearly separable data (AND, OR) and never on
/// data that is not (XOR).
/// </summary>
public sealed class Perceptron
{
    /// <summary>A perceptron with <paramref name="inputs"/> weights and the bias, all starting at zero.</summary>
    public Perceptron(int inputs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputs);
        Weights = new float[inputs];
    }

    /// <summary>w, one weight per input.</summary>
    public float[] Weights { get; }
    /// <summary>b.</summary>
    public float Bias { get; set; }
    public int Inputs => Weights.Length;

    /// <summary>The pre-activation z = w·x + b.</summary>
    public float Net(ReadOnlySpan<float> x)
    {
        if (x.Length != Weights.Length)
            throw new ArgumentException($"The perceptron has {Weights.Length} inputs; the sample has {x.Length}.", nameof(x));
        float z = Bias;
        for (int i = 0; i < x.Length; i++) z += Weights[i] * x[i];
        return z;
    }

    /// <summary>ŷ = 1 if w·x + b &gt; 0, else 0.</summary>
    public int Predict(ReadOnlySpan<float> x) => Net(x) > 0 ? 1 : 0;

    /// <summary>Trains on the rows of <paramref name="x"/> (n × d) with labels 0/1.</summary>
    /// <returns>The 1-based number of the first epoch in which every sample was classified correctly (that epoch made
    /// no update), or −1 when <paramref name="maxEpochs"/> epochs passed without one.</returns>
    public int Train(float[,] x, int[] y, int maxEpochs, float eta)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.GetLength(1) != Inputs)
            throw new ArgumentException($"The perceptron has {Inputs} inputs; x has {x.GetLength(1)} columns.", nameof(x));
        var flat = new float[x.Length];
        int k = 0;
        foreach (float v in x) flat[k++] = v;   // row-major enumeration
        return Train(flat, y, maxEpochs, eta);
    }

    /// <inheritdoc cref="Train(float[,], int[], int, float)"/>
    /// <param name="x">n × d features, row-major.</param>
    /// <param name="y">n labels, each 0 or 1.</param>
    /// <param name="maxEpochs">Most passes over the data.</param>
    /// <param name="eta">Learning rate η &gt; 0.</param>
    public int Train(ReadOnlySpan<float> x, ReadOnlySpan<int> y, int maxEpochs, float eta)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEpochs);
        if (!(eta > 0) || !float.IsFinite(eta))
            throw new ArgumentOutOfRangeException(nameof(eta), eta, "The learning rate eta must be finite and > 0.");
        int d = Inputs;
        if (x.Length != (long)y.Length * d)
            throw new ArgumentException($"{y.Length} labels with {d} inputs need {(long)y.Length * d} feature values; got {x.Length}.", nameof(x));
        for (int i = 0; i < y.Length; i++)
        {
            if (y[i] is not (0 or 1))
                throw new ArgumentOutOfRangeException(nameof(y), y[i], $"Label {i} is {y[i]}; a perceptron needs labels 0 or 1.");
        }
        for (int epoch = 1; epoch <= maxEpochs; epoch++)
        {
            int errors = 0;
            for (int i = 0; i < y.Length; i++)
            {
                ReadOnlySpan<float> xi = x.Slice(i * d, d);
                int delta = y[i] - Predict(xi);
                if (delta == 0) continue;
                errors++;
                float step = eta * delta;
                for (int j = 0; j < d; j++) Weights[j] += step * xi[j];
                Bias += step;
            }
            if (errors == 0) return epoch;
        }
        return -1;
    }
}
