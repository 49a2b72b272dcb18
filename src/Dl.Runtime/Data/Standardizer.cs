using System.Globalization;

namespace Dl.Data;

/// <summary>
/// Per-feature standardization, fitted on the training split only and applied to every split:
/// x' = (x − μ_j) / σ_j with μ_j the mean and σ_j the population standard deviation (divisor n, as scikit-learn's
/// StandardScaler) of feature j over the fitting set's samples, accumulated in double; a constant feature (σ_j = 0)
/// gets σ_j = 1, so it becomes 0 rather than NaN.
/// </summary>
public sealed class Standardizer
{
    /// <summary>A standardizer with known statistics (e.g. read back with <see cref="FromMetadata"/>).</summary>
    public Standardizer(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length != std.Length || mean.Length == 0)
            throw new ArgumentException($"Expected as many means as standard deviations (at least one); got {mean.Length} and {std.Length}.", nameof(std));
        for (int j = 0; j < std.Length; j++)
        {
            if (!float.IsFinite(mean[j]) || !(std[j] > 0) || !float.IsFinite(std[j]))
                throw new ArgumentException($"Feature {j}: mean {mean[j]} and standard deviation {std[j]}; expected a finite mean and a finite deviation > 0.", nameof(std));
        }
        Mean = mean;
        Std = std;
    }

    /// <summary>μ_j per feature.</summary>
    public float[] Mean { get; }
    /// <summary>σ_j per feature (1 for a constant feature).</summary>
    public float[] Std { get; }
    public int Features => Mean.Length;

    /// <summary>Fits the per-feature mean and deviation of <paramref name="train"/> (two passes, in double).</summary>
    public static Standardizer Fit(Dataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException("Cannot fit a standardization on an empty dataset.", nameof(train));
        int n = train.Count, d = train.Features;
        var sum = new double[d];
        ReadOnlySpan<float> x = train.X;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = x.Slice(i * d, d);
            for (int j = 0; j < d; j++) sum[j] += row[j];
        }
        var mean = new double[d];
        for (int j = 0; j < d; j++) mean[j] = sum[j] / n;
        var squares = new double[d];
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = x.Slice(i * d, d);
            for (int j = 0; j < d; j++)
            {
                double e = row[j] - mean[j];
                squares[j] += e * e;
            }
        }
        var m = new float[d];
        var s = new float[d];
        for (int j = 0; j < d; j++)
        {
            m[j] = (float)mean[j];
            float std = (float)Math.Sqrt(squares[j] / n);
            s[j] = std > 0 && float.IsFinite(std) ? std : 1f;
        }
        return new Standardizer(m, s);
    }

    /// <summary>Standardizes every sample of <paramref name="data"/> in place (its <see cref="Dataset.X"/>; an
    /// autoencoder's targets, which are its inputs, with them).</summary>
    public void Apply(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Features != Features)
            throw new ArgumentException($"The standardization was fitted on {Features} features; the dataset has {data.Features}.", nameof(data));
        Apply(data.X);
    }

    /// <summary>Standardizes rows of <see cref="Features"/> values in place (inputs to predict on).</summary>
    public void Apply(Span<float> rows)
    {
        int d = Features;
        if (rows.Length % d != 0)
            throw new ArgumentException($"{rows.Length} values are not whole rows of {d} features.", nameof(rows));
        for (int i = 0; i < rows.Length; i += d)
        {
            Span<float> row = rows.Slice(i, d);
            for (int j = 0; j < d; j++) row[j] = (row[j] - Mean[j]) / Std[j];
        }
    }

    /// <summary>The statistics as two metadata entries (<c>PREFIX.mean</c>, <c>PREFIX.std</c>: comma-separated
    /// round-trip floats), e.g. for <see cref="Training.TrainerOptions.CheckpointMetadata"/>, so a checkpoint carries the
    /// scaling its inputs need.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata(string prefix = "standardize") => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [prefix + ".mean"] = string.Join(",", Mean.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
        [prefix + ".std"] = string.Join(",", Std.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
    };

    /// <summary>Reads statistics written by <see cref="ToMetadata"/>; null when the entries are absent.</summary>
    /// <exception cref="InvalidDataException">The entries are malformed.</exception>
    public static Standardizer? FromMetadata(IReadOnlyDictionary<string, string> metadata, string prefix = "standardize")
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(prefix + ".mean", out string? mean) || !metadata.TryGetValue(prefix + ".std", out string? std)) return null;
        try
        {
            return new Standardizer(Parse(mean), Parse(std));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new InvalidDataException($"Metadata '{prefix}.mean' / '{prefix}.std' do not hold a standardization: {e.Message}", e);
        }
    }

    private static float[] Parse(string text) =>
        text.Split(',').Select(v => float.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
}
